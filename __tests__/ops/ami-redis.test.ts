/**
 * The AMI's redis.conf (packer/files/redis/redis.conf) loaded by a real redis-server. The test changes only
 * what must differ off the box: dir (replaced in a copy: Redis changes into it while parsing), port, the
 * include of auth.conf (a temporary file), and the log and pid files. CONFIG GET must show the intended values, the password must be required, and writes must land in
 * both the AOF and the RDB under `dir`.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { freePort, waitFor } from "../helpers/ports";

const repo = resolve(__dirname, "../..");
const shipped = readFileSync(join(repo, "packer/files/redis/redis.conf"), "utf8");
const PASSWORD = "AmiRedisTest2026";

describe("AMI redis.conf under a real redis-server", () => {
  let dir: string;
  let port: number;
  let child: ChildProcess;
  let exited = false;
  const cli = (args: string[], auth = true) => {
    const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], {
      encoding: "utf8",
      env: { ...process.env, ...(auth ? { REDISCLI_AUTH: PASSWORD } : {}) },
    });
    return r.stdout.trim();
  };
  const get = (name: string) => cli(["CONFIG", "GET", name]).split("\n")[1];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "zmanim-redis-ami-"));
    const includeLine = "include /etc/redis/auth.conf";
    expect(shipped.split("\n").filter((l) => l === includeLine)).toHaveLength(1);
    writeFileSync(join(dir, "auth.conf"), `requirepass ${PASSWORD}\n`);
    // Redis changes into `dir` while it parses the file, so /data/redis (absent here) is replaced in the copy
    // rather than overridden on the command line.
    expect(shipped.split("\n").filter((l) => l === "dir /data/redis")).toHaveLength(1);
    writeFileSync(
      join(dir, "redis.conf"),
      shipped
        .replace(includeLine, `include ${join(dir, "auth.conf")}`)
        .replace("\ndir /data/redis\n", `\ndir ${dir}\n`),
    );
    port = await freePort();
    child = spawn(
      "redis-server",
      [
        join(dir, "redis.conf"),
        "--port",
        String(port),
        "--dir",
        dir,
        "--logfile",
        join(dir, "redis.log"),
        "--pidfile",
        join(dir, "redis.pid"),
      ],
      { stdio: "ignore" },
    );
    child.on("exit", () => (exited = true));
    await waitFor(() => !exited && cli(["PING"]) === "PONG", 10000, `redis-server on port ${port}`);
  }, 20000);

  afterAll(async () => {
    if (child && !exited) {
      child.kill("SIGTERM");
      await waitFor(() => exited, 10000, "redis-server to exit");
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("binds loopback only, in protected mode", () => {
    expect(get("bind")).toBe("127.0.0.1 -::1");
    expect(get("protected-mode")).toBe("yes");
  });

  it("requires the password from auth.conf", () => {
    expect(cli(["PING"], false)).toMatch(/NOAUTH/);
    expect(get("requirepass")).toBe(PASSWORD);
  });

  it("persists with RDB snapshots and an AOF fsynced every second", () => {
    expect(get("appendonly")).toBe("yes");
    expect(get("appendfsync")).toBe("everysec");
    expect(get("save")).toBe("3600 1 300 100 60 10000");
    expect(get("aof-use-rdb-preamble")).toBe("yes");
    expect(get("dbfilename")).toBe("dump.rdb");
  });

  it("caps memory at 1 GiB and evicts only keys with a TTL", () => {
    expect(get("maxmemory")).toBe("1073741824");
    expect(get("maxmemory-policy")).toBe("volatile-lru");
  });

  it("ships the box's data directory and log file (overridden here only)", () => {
    expect(shipped).toMatch(/^dir \/data\/redis$/m);
    expect(shipped).toMatch(/^logfile \/var\/log\/redis\/redis-server\.log$/m);
    expect(shipped).toMatch(/^supervised systemd$/m);
    expect(get("dir")).toBe(dir);
  });

  it("writes a key to the AOF and to the RDB under dir", async () => {
    expect(cli(["SET", "ami:test", "persisted"])).toBe("OK");
    const aofDir = join(dir, "appendonlydir");
    await waitFor(
      () =>
        existsSync(aofDir) &&
        readdirSync(aofDir).some(
          (f) => f.endsWith(".incr.aof") && readFileSync(join(aofDir, f), "latin1").includes("ami:test"),
        ),
      10000,
      "the key in the AOF",
    );
    expect(cli(["SAVE"])).toBe("OK");
    expect(readFileSync(join(dir, "dump.rdb"), "latin1")).toContain("ami:test");
  });
});
