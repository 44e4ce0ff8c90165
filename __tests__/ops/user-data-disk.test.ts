/**
 * The boot script (the box role, assembled from scripts/box/user-data/) against REAL block devices: loop devices with real XFS/ext4
 * filesystems, real mounts, a real PostgreSQL cluster initialized on the volume, and a real password login.
 *
 * Stand-ins, at the edges only:
 * - `aws`: the TEST DOUBLE of the AWS CLI (__tests__/helpers/bin/aws) answers the SSM reads.
 * - `systemctl`: PID 1 here is not systemd, so a small recorder logs every call (order is asserted) and
 *   starts/restarts the real PostgreSQL with pg_ctl when asked for the PostgreSQL unit.
 * - `amazon-cloudwatch-agent-ctl`: not installable here; a recorder logs its arguments.
 */
import { execFileSync, spawnSync } from "child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { awsDouble, AwsDouble, AwsRule } from "../helpers/aws-double";
import { pgBinDir } from "../helpers/postgres";
import { freePort } from "../helpers/ports";
import { prod } from "../../constructs/config/environments";
import { boxConfig } from "../../stacks/secrets";
import { cloudwatchAgentConfig } from "../../constructs/builders/cloudwatch-agent";
import { readUserDataScript, renderUserDataText } from "../../constructs/builders/user-data";

const PARTS = join(__dirname, "..", "..", "scripts", "box", "user-data");
/** The box role's boot script as the compute stack assembles it (common.sh + box.sh), in a file to run. */
const SCRIPT = join(mkdtempSync(join(tmpdir(), "zmanim-user-data-script-")), "user-data.sh");
writeFileSync(SCRIPT, readUserDataScript(PARTS, "box"));
const PG_BINDIR = pgBinDir();
const PG_MAJOR = PG_BINDIR.split("/").slice(-2, -1)[0];
const SECRETS = {
  pg: "PgSecret0123456789abcdefGHIJ",
  redis: "RedisSecret0123456789abcdefXY",
  restic: "ResticSecret0123456789abcdefZ",
  clerk: "sk_test_0123456789abcdef",
};

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8" }).trim();
const blkidValue = (dev: string, tag: string) =>
  spawnSync("blkid", ["-p", "-s", tag, "-o", "value", dev], { encoding: "utf8" }).stdout.trim();
const mountSource = (mnt: string) =>
  spawnSync("findmnt", ["-n", "-o", "SOURCE", "--mountpoint", mnt], { encoding: "utf8" }).stdout.trim();
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
const owner = (p: string) => sh("stat", ["-c", "%U:%G", p]);

function ssmRules(prefix: string, overrides: Partial<Record<string, AwsRule>> = {}): AwsRule[] {
  const values: Record<string, string> = {
    config: JSON.stringify(boxConfig(prod)),
    "postgres-password": SECRETS.pg,
    "redis-password": SECRETS.redis,
    "restic-password": SECRETS.restic,
    "clerk-secret-key": SECRETS.clerk,
    "cloudwatch-agent": JSON.stringify(cloudwatchAgentConfig(prod)),
  };
  return Object.entries(values).map(
    ([leaf, value]) =>
      overrides[leaf] ?? { match: ["ssm", "get-parameter", "--name", `${prefix}/${leaf}`], stdout: value },
  );
}

/** One simulated box: a loop device exposed under a by-id name, its own mount point, fstab, /etc and PostgreSQL. */
interface Box {
  dir: string;
  dev: string;
  volumeId: string;
  byId: string;
  mnt: string;
  fstab: string;
  etc: string;
  sock: string;
  port: number;
  systemctlLog: string;
  agentLog: string;
  aws: AwsDouble;
}

const base = mkdtempSync(join(tmpdir(), "zmanim-userdata-"));
chmodSync(base, 0o755);
const loops: string[] = [];
const boxes: Box[] = [];

function writeRecorders(dir: string): { systemctl: string; agentCtl: string } {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const systemctl = join(bin, "systemctl");
  // Recorder standing in for systemctl (no systemd as PID 1 here). The PostgreSQL unit maps to a real pg_ctl.
  writeFileSync(
    systemctl,
    `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >>"$REC_SYSTEMCTL_LOG"
pgctl() { runuser -u postgres -- "$REC_PG_BINDIR/pg_ctl" -D "$REC_PGDATA" -l "$REC_PGDATA/../server.log" -w -s "$@"; }
opts="-p $REC_PG_PORT -k $REC_PG_SOCK -c listen_addresses=127.0.0.1 -c fsync=off"
case "$1 \${2:-}" in
  "is-active "*) exit 3 ;;
  "start postgresql@"*) pgctl status >/dev/null 2>&1 || pgctl -o "$opts" start ;;
  "restart postgresql@"*) if pgctl status >/dev/null 2>&1; then pgctl -o "$opts" restart; else pgctl -o "$opts" start; fi ;;
esac
`,
  );
  const agentCtl = join(bin, "amazon-cloudwatch-agent-ctl");
  writeFileSync(agentCtl, `#!/usr/bin/env bash\necho "$*" >>"$REC_AGENT_LOG"\n`);
  chmodSync(systemctl, 0o755);
  chmodSync(agentCtl, 0o755);
  return { systemctl, agentCtl };
}

async function newBox(name: string, prepare?: (dev: string) => void): Promise<Box> {
  const dir = join(base, name);
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  const img = join(dir, "volume.img");
  execFileSync("truncate", ["-s", "300M", img]);
  const dev = sh("losetup", ["--find", "--show", img]);
  loops.push(dev);
  prepare?.(dev);
  const volumeId = `vol-0${Buffer.from(name).toString("hex").padEnd(16, "0").slice(0, 16)}`;
  const byId = join(dir, "by-id");
  mkdirSync(byId);
  const sock = join(dir, "sock");
  mkdirSync(sock);
  execFileSync("chown", ["postgres:postgres", sock]);
  const box: Box = {
    dir,
    dev,
    volumeId,
    byId,
    mnt: join(dir, "data"),
    fstab: join(dir, "fstab"),
    etc: join(dir, "etc"),
    sock,
    port: await freePort(),
    systemctlLog: join(dir, "systemctl.log"),
    agentLog: join(dir, "agent.log"),
    aws: awsDouble(ssmRules(`/zmanim/${prod.name}`)),
  };
  writeFileSync(box.fstab, "# static file system information\nproc /proc proc defaults 0 0\n");
  boxes.push(box);
  return box;
}

/** Makes the volume "attached": its NVMe by-id link appears. */
function attach(box: Box): void {
  symlinkSync(box.dev, join(box.byId, `nvme-Amazon_Elastic_Block_Store_${box.volumeId.replace("-", "")}`));
}

function run(box: Box, opts: { scriptFile?: string; env?: Record<string, string> } = {}) {
  const rec = writeRecorders(box.dir);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...box.aws.env,
    ZMANIM_ENV: prod.name,
    ZMANIM_REGION: prod.region,
    ZMANIM_SSM_PREFIX: `/zmanim/${prod.name}`,
    ZMANIM_DATA_VOLUME_ID: box.volumeId,
    ZMANIM_BY_ID_DIR: box.byId,
    ZMANIM_DATA_MOUNT: box.mnt,
    ZMANIM_FSTAB: box.fstab,
    ZMANIM_ETC: box.etc,
    ZMANIM_PG_MAJOR: PG_MAJOR,
    ZMANIM_PG_BINDIR: PG_BINDIR,
    ZMANIM_PG_SOCKET_DIR: box.sock,
    ZMANIM_PG_PORT: String(box.port),
    ZMANIM_SYSTEMCTL: rec.systemctl,
    ZMANIM_CW_AGENT_CTL: rec.agentCtl,
    ZMANIM_CW_AGENT_CONFIG: join(box.dir, "cwagent", "amazon-cloudwatch-agent.json"),
    ZMANIM_VOLUME_WAIT_SECONDS: "20",
    ZMANIM_VOLUME_POLL_SECONDS: "1",
    ZMANIM_AWS_ATTEMPTS: "1",
    REC_SYSTEMCTL_LOG: box.systemctlLog,
    REC_AGENT_LOG: box.agentLog,
    REC_PG_BINDIR: PG_BINDIR,
    REC_PGDATA: join(box.mnt, "postgres", PG_MAJOR, "main"),
    REC_PG_PORT: String(box.port),
    REC_PG_SOCK: box.sock,
    ...(opts.env ?? {}),
  };
  const r = spawnSync("bash", [opts.scriptFile ?? SCRIPT], { env, encoding: "utf8", timeout: 180000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

const systemctlCalls = (box: Box) =>
  existsSync(box.systemctlLog) ? readFileSync(box.systemctlLog, "utf8").trim().split("\n") : [];

function stopPg(box: Box): void {
  const pgdata = join(box.mnt, "postgres", PG_MAJOR, "main");
  if (existsSync(join(pgdata, "postmaster.pid"))) {
    spawnSync("runuser", ["-u", "postgres", "--", join(PG_BINDIR, "pg_ctl"), "-D", pgdata, "-m", "fast", "-w", "stop"]);
  }
}

afterAll(() => {
  for (const box of boxes) {
    stopPg(box);
    if (mountSource(box.mnt)) spawnSync("umount", [box.mnt]);
    if (mountSource(box.mnt)) spawnSync("umount", ["-l", box.mnt]);
    box.aws.cleanup();
  }
  for (const dev of loops) spawnSync("losetup", ["-d", dev]);
  rmSync(base, { recursive: true, force: true });
});

describe("user data: a blank data volume", () => {
  let box: Box;
  let first: ReturnType<typeof run>;
  beforeAll(async () => {
    box = await newBox("blank");
    expect(spawnSync("blkid", ["-p", box.dev]).status).toBe(2); // really blank
    attach(box);
    // The rendered user data exactly as the instance receives it (header with the values + the script).
    const rendered = join(box.dir, "rendered-user-data.sh");
    writeFileSync(
      rendered,
      renderUserDataText(readUserDataScript(PARTS), {
        ZMANIM_ENV: prod.name,
        ZMANIM_REGION: prod.region,
        ZMANIM_SSM_PREFIX: `/zmanim/${prod.name}`,
        ZMANIM_DATA_VOLUME_ID: box.volumeId,
      }),
    );
    first = run(box, { scriptFile: rendered, env: { ZMANIM_ENV: "", ZMANIM_DATA_VOLUME_ID: "" } });
  }, 240000);

  it("is formatted with XFS and mounted on the mount point by UUID", () => {
    expect(first.stderr).toContain("is blank (blkid found no signature); creating an XFS filesystem");
    expect(first.status).toBe(0);
    expect(blkidValue(box.dev, "TYPE")).toBe("xfs");
    expect(blkidValue(box.dev, "LABEL")).toBe("zmanim-data");
    expect(mountSource(box.mnt)).toBe(box.dev);
    const uuid = blkidValue(box.dev, "UUID");
    const lines = readFileSync(box.fstab, "utf8").trim().split("\n");
    expect(lines).toEqual([
      "# static file system information",
      "proc /proc proc defaults 0 0",
      `UUID=${uuid} ${box.mnt} xfs defaults,nofail 0 0`,
    ]);
  });

  it("creates the data directories with the right owners and initializes PostgreSQL", () => {
    expect([owner(box.mnt), mode(box.mnt)]).toEqual(["root:root", "755"]);
    expect([owner(join(box.mnt, "postgres")), mode(join(box.mnt, "postgres"))]).toEqual(["postgres:postgres", "700"]);
    const pgdata = join(box.mnt, "postgres", PG_MAJOR, "main");
    expect([owner(pgdata), mode(pgdata)]).toEqual(["postgres:postgres", "700"]);
    expect(readFileSync(join(pgdata, "PG_VERSION"), "utf8").trim()).toBe(PG_MAJOR);
    expect([owner(join(box.mnt, "redis")), mode(join(box.mnt, "redis"))]).toEqual(["redis:redis", "750"]);
  });

  it("sets the zmanim role's password from SSM: a real login over TCP with scram succeeds", () => {
    const r = spawnSync(
      join(PG_BINDIR, "psql"),
      [
        "-X",
        "-A",
        "-t",
        "-h",
        "127.0.0.1",
        "-p",
        String(box.port),
        "-U",
        "zmanim",
        "-d",
        "zmanim",
        "-c",
        "SELECT current_user",
      ],
      {
        env: { ...process.env, PGPASSWORD: SECRETS.pg },
        encoding: "utf8",
      },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("zmanim");
    const wrong = spawnSync(
      join(PG_BINDIR, "psql"),
      ["-X", "-h", "127.0.0.1", "-p", String(box.port), "-U", "zmanim", "-d", "zmanim", "-c", "SELECT 1"],
      {
        env: { ...process.env, PGPASSWORD: "wrong" },
        encoding: "utf8",
      },
    );
    expect(wrong.status).not.toBe(0);
  });

  it("writes the env files from SSM, secrets with mode 0600", () => {
    const apiEnv = join(box.etc, "zmanim", "api.env");
    expect([owner(apiEnv), mode(apiEnv)]).toEqual(["root:root", "600"]);
    expect(readFileSync(apiEnv, "utf8")).toBe(
      [
        `ZMANIM_ENV=${prod.name}`,
        `PORT=${prod.api.port}`,
        `DATABASE_URL=postgres://zmanim:${SECRETS.pg}@127.0.0.1:${box.port}/zmanim?sslmode=disable`,
        `REDIS_URL=redis://:${SECRETS.redis}@127.0.0.1:6379/0`,
        `CLERK_SECRET_KEY=${SECRETS.clerk}`,
        "",
      ].join("\n"),
    );
    const restic = join(box.etc, "restic", "env");
    expect([owner(restic), mode(restic)]).toEqual(["root:root", "600"]);
    const resticEnv = readFileSync(restic, "utf8");
    expect(resticEnv).toContain(`RESTIC_PASSWORD=${SECRETS.restic}\n`);
    expect(resticEnv).toContain(`RESTIC_REPOSITORY=${boxConfig(prod).RESTIC_REPOSITORY}\n`);
    expect(resticEnv).toContain(`REDISCLI_AUTH=${SECRETS.redis}\n`);
    // backup.sh reads only /etc/restic/env and publishes BackupSuccess into this namespace.
    expect(resticEnv).toContain(`ZMANIM_METRICS_NAMESPACE=Zmanim/${prod.name}\n`);
    const auth = join(box.etc, "redis", "auth.conf");
    expect([owner(auth), mode(auth), readFileSync(auth, "utf8")]).toEqual([
      "redis:redis",
      "600",
      `requirepass ${SECRETS.redis}\n`,
    ]);
    const boxEnv = join(box.etc, "zmanim", "box.env");
    expect(mode(boxEnv)).toBe("644");
    const expected = Object.entries(boxConfig(prod))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`);
    expect(readFileSync(boxEnv, "utf8")).toBe(expected.join("\n") + "\n");
  });

  it("makes PostgreSQL and Redis require the data mount", () => {
    for (const unit of [`postgresql@${PG_MAJOR}-main.service`, "redis-server.service"]) {
      expect(readFileSync(join(box.etc, "systemd", "system", `${unit}.d`, "10-zmanim-data.conf"), "utf8")).toBe(
        `[Unit]\nRequiresMountsFor=${box.mnt}\n`,
      );
    }
  });

  it("loads the CloudWatch agent configuration from SSM and starts services in order", () => {
    const cfgPath = join(box.dir, "cwagent", "amazon-cloudwatch-agent.json");
    expect(JSON.parse(readFileSync(cfgPath, "utf8"))).toEqual(cloudwatchAgentConfig(prod));
    expect(readFileSync(box.agentLog, "utf8").trim()).toBe(`-a fetch-config -m ec2 -s -c file:${cfgPath}`);
    const starts = systemctlCalls(box).filter((c) => /^(start|restart) /.test(c));
    expect(starts).toEqual([
      `restart postgresql@${PG_MAJOR}-main.service`,
      "restart redis-server.service",
      "restart zmanim-api.service",
      "start zmanim-backup.timer",
    ]);
  });

  it("reads only its own SSM parameters, each with decryption", () => {
    const calls = box.aws.calls();
    expect(calls).toHaveLength(6);
    for (const c of calls) {
      expect(c.slice(0, 4)).toEqual(["--region", prod.region, "ssm", "get-parameter"]);
      expect(c).toContain("--with-decryption");
      expect(c[c.indexOf("--name") + 1]).toMatch(new RegExp(`^/zmanim/${prod.name}/`));
    }
  });

  it("changes nothing on a second run: same filesystem, same files, no restarts", () => {
    const uuid = blkidValue(box.dev, "UUID");
    writeFileSync(join(box.mnt, "marker.txt"), "written after the first boot\n");
    const fstabBefore = readFileSync(box.fstab, "utf8");
    const inodes = ["zmanim/api.env", "restic/env", "redis/auth.conf", "zmanim/box.env"].map(
      (f) => statSync(join(box.etc, f)).ino,
    );
    writeFileSync(box.systemctlLog, "");
    writeFileSync(box.agentLog, "");
    const second = run(box);
    expect(second.stderr).toContain("already holds a xfs filesystem; not formatting");
    expect(second.stderr).toContain("is already mounted from");
    expect(second.stderr).not.toContain("wrote ");
    expect(second.status).toBe(0);
    expect(blkidValue(box.dev, "UUID")).toBe(uuid);
    expect(readFileSync(join(box.mnt, "marker.txt"), "utf8")).toBe("written after the first boot\n");
    expect(readFileSync(box.fstab, "utf8")).toBe(fstabBefore);
    expect(
      ["zmanim/api.env", "restic/env", "redis/auth.conf", "zmanim/box.env"].map((f) => statSync(join(box.etc, f)).ino),
    ).toEqual(inodes);
    expect(systemctlCalls(box).filter((c) => c.startsWith("restart"))).toEqual([]);
    expect(systemctlCalls(box).filter((c) => c.startsWith("start"))).toEqual([
      `start postgresql@${PG_MAJOR}-main.service`,
      "start redis-server.service",
      "start zmanim-api.service",
      "start zmanim-backup.timer",
    ]);
  }, 120000);

  it("after a password rotation in SSM, rewrites the secrets, restarts their readers and updates the role", () => {
    const rotated = "RotatedPg0123456789abcdefXYZ";
    box.aws.setRules(
      ssmRules(`/zmanim/${prod.name}`, {
        "postgres-password": {
          match: ["ssm", "get-parameter", "--name", `/zmanim/${prod.name}/postgres-password`],
          stdout: rotated,
        },
      }),
    );
    writeFileSync(box.systemctlLog, "");
    const r = run(box);
    expect(r.status).toBe(0);
    expect(readFileSync(join(box.etc, "zmanim", "api.env"), "utf8")).toContain(`postgres://zmanim:${rotated}@`);
    expect(systemctlCalls(box).filter((c) => /^(start|restart) /.test(c))).toEqual([
      `start postgresql@${PG_MAJOR}-main.service`,
      "start redis-server.service",
      "restart zmanim-api.service",
      "start zmanim-backup.timer",
    ]);
    const login = spawnSync(
      join(PG_BINDIR, "psql"),
      ["-X", "-A", "-t", "-h", "127.0.0.1", "-p", String(box.port), "-U", "zmanim", "-d", "zmanim", "-c", "SELECT 1"],
      {
        env: { ...process.env, PGPASSWORD: rotated },
        encoding: "utf8",
      },
    );
    expect(login.stdout.trim()).toBe("1");
  }, 120000);
});

describe("user data: a volume that already holds a filesystem and data", () => {
  let box: Box;
  let uuid: string;
  beforeAll(async () => {
    box = await newBox("existing", (dev) => {
      // A previous instance's volume: ext4 (not what user data would create) with a file on it.
      execFileSync("mkfs.ext4", ["-q", "-L", "olddata", dev]);
      const tmpMnt = mkdtempSync(join(tmpdir(), "zmanim-prefill-"));
      execFileSync("mount", [dev, tmpMnt]);
      try {
        writeFileSync(join(tmpMnt, "precious.txt"), "zmanim for 5786\n");
      } finally {
        execFileSync("umount", [tmpMnt]);
        rmSync(tmpMnt, { recursive: true, force: true });
      }
    });
    uuid = blkidValue(box.dev, "UUID");
    attach(box);
    // This AMI already ships the PostgreSQL drop-in (packer/files/systemd/...).
    const amiDropIn = join(box.etc, "systemd", "system", `postgresql@${PG_MAJOR}-main.service.d`);
    mkdirSync(amiDropIn, { recursive: true });
    writeFileSync(join(amiDropIn, "10-data-mount.conf"), `[Unit]\nRequiresMountsFor=${box.mnt}\nAfter=data.mount\n`);
  }, 60000);

  it("is mounted untouched on the first run: same filesystem type, UUID and content", () => {
    const r = run(box);
    expect(r.stderr).toContain("already holds a ext4 filesystem; not formatting");
    expect(r.stderr).not.toContain("creating an XFS filesystem");
    expect(r.status).toBe(0);
    expect(blkidValue(box.dev, "TYPE")).toBe("ext4");
    expect(blkidValue(box.dev, "UUID")).toBe(uuid);
    expect(blkidValue(box.dev, "LABEL")).toBe("olddata");
    expect(mountSource(box.mnt)).toBe(box.dev);
    expect(readFileSync(join(box.mnt, "precious.txt"), "utf8")).toBe("zmanim for 5786\n");
    expect(readFileSync(box.fstab, "utf8")).toContain(`UUID=${uuid} ${box.mnt} ext4 defaults,nofail 0 0\n`);
    // The AMI's drop-in is kept as it is and not duplicated; Redis, without one, gets the script's.
    const pgDir = join(box.etc, "systemd", "system", `postgresql@${PG_MAJOR}-main.service.d`);
    expect(readFileSync(join(pgDir, "10-data-mount.conf"), "utf8")).toBe(
      `[Unit]\nRequiresMountsFor=${box.mnt}\nAfter=data.mount\n`,
    );
    expect(existsSync(join(pgDir, "10-zmanim-data.conf"))).toBe(false);
    expect(existsSync(join(box.etc, "systemd", "system", "redis-server.service.d", "10-zmanim-data.conf"))).toBe(true);
  }, 120000);

  it("stays untouched on a rerun after an unmount (a new instance on the same volume)", () => {
    stopPg(box);
    execFileSync("umount", [box.mnt]);
    rmSync(box.fstab); // the new instance's root disk has a fresh fstab
    const r = run(box);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("exists (version");
    expect(blkidValue(box.dev, "UUID")).toBe(uuid);
    expect(readFileSync(join(box.mnt, "precious.txt"), "utf8")).toBe("zmanim for 5786\n");
    expect(readFileSync(box.fstab, "utf8")).toBe(`UUID=${uuid} ${box.mnt} ext4 defaults,nofail 0 0\n`);
  }, 120000);
});

describe("user data: refusals", () => {
  it("exits 2 naming every missing value, or the malformed volume id, before touching anything", () => {
    const clean = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
    const none = spawnSync("bash", [SCRIPT], { env: clean, encoding: "utf8" });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("missing value(s): ZMANIM_ENV ZMANIM_REGION ZMANIM_SSM_PREFIX ZMANIM_DATA_VOLUME_ID");
    const bad = spawnSync("bash", [SCRIPT], {
      env: {
        ...clean,
        ZMANIM_ENV: "prod",
        ZMANIM_REGION: "eu-west-1",
        ZMANIM_SSM_PREFIX: "/zmanim/prod",
        ZMANIM_DATA_VOLUME_ID: "/dev/nvme1n1",
      },
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("ZMANIM_DATA_VOLUME_ID='/dev/nvme1n1' is not an EBS volume id (vol-<hex>)");
    const arg = spawnSync("bash", [SCRIPT, "--format"], { env: clean, encoding: "utf8" });
    expect([arg.status, arg.stderr.trim()]).toEqual([2, "user-data: unknown argument '--format'; run with --help"]);
  });

  it("fails clearly after the bounded wait when the volume never appears, and formats nothing", async () => {
    const box = await newBox("missing");
    // The device exists, but it is never attached under its volume id.
    const r = run(box, { env: { ZMANIM_VOLUME_WAIT_SECONDS: "2" } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `ERROR: data volume ${box.volumeId} did not appear at ${box.byId}/nvme-Amazon_Elastic_Block_Store_${box.volumeId.replace("-", "")} within 2s`,
    );
    expect(r.stderr).toContain("Nothing was formatted or mounted.");
    expect(spawnSync("blkid", ["-p", box.dev]).status).toBe(2); // still blank
    expect(mountSource(box.mnt)).toBe("");
    expect(readFileSync(box.fstab, "utf8")).not.toContain("nofail");
    expect(box.aws.calls()).toEqual([]);
    expect(systemctlCalls(box)).toEqual([]);
  }, 60000);

  it("refuses a device that carries a signature but no filesystem (a partition table)", async () => {
    const box = await newBox("partitioned", (dev) => {
      // A DOS partition table with one Linux partition, written byte by byte (no partitioning tool needed).
      const mbr = Buffer.alloc(512);
      mbr[446 + 4] = 0x83;
      mbr.writeUInt32LE(2048, 446 + 8);
      mbr.writeUInt32LE(100000, 446 + 12);
      mbr[510] = 0x55;
      mbr[511] = 0xaa;
      writeFileSync(dev, mbr);
    });
    expect(blkidValue(box.dev, "PTTYPE")).toBe("dos");
    attach(box);
    const before = sh("sha256sum", [box.dev]);
    const r = run(box);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("carries a signature but no filesystem");
    expect(sh("sha256sum", [box.dev])).toBe(before);
    expect(mountSource(box.mnt)).toBe("");
  }, 60000);

  it("refuses a device that holds a non-data signature (swap)", async () => {
    const box = await newBox("swap", (dev) => execFileSync("mkswap", ["-q", dev]));
    attach(box);
    const uuid = blkidValue(box.dev, "UUID");
    const r = run(box);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("holds a 'swap' signature, not a data filesystem; refusing to format or mount it");
    expect([blkidValue(box.dev, "TYPE"), blkidValue(box.dev, "UUID")]).toEqual(["swap", uuid]);
    expect(mountSource(box.mnt)).toBe("");
  }, 60000);

  it("starts no service when a secret cannot be read from SSM", async () => {
    const box = await newBox("nossm");
    attach(box);
    box.aws.setRules(
      ssmRules(`/zmanim/${prod.name}`, {
        "restic-password": {
          match: ["ssm", "get-parameter", "--name", `/zmanim/${prod.name}/restic-password`],
          stderr: "An error occurred (ParameterNotFound)",
          exit: 254,
        },
      }),
    );
    const r = run(box);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `cannot read SSM parameter /zmanim/${prod.name}/restic-password after 1 attempt(s): An error occurred (ParameterNotFound)`,
    );
    expect(systemctlCalls(box).filter((c) => /^(start|restart) /.test(c))).toEqual([]);
    expect(existsSync(join(box.etc, "restic", "env"))).toBe(false);
    stopPg(box);
    unlinkSync(join(box.byId, `nvme-Amazon_Elastic_Block_Store_${box.volumeId.replace("-", "")}`));
  }, 60000);
});
