/**
 * The AMI's postgresql.conf and pg_hba.conf (packer/files/postgresql), loaded into a real PostgreSQL (15 here,
 * 16 on the box). Only paths and the port are overridden; every other line of the shipped file must be in
 * effect, the tuned values must show, the 4 GiB memory budget must add up, remote clients must be refused,
 * and PostGIS and pg_cron must install under that configuration.
 */
import { spawnSync } from "child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "fs";
import { connect } from "net";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { PgCluster, startPostgres } from "../helpers/postgres";
import { waitFor } from "../helpers/ports";

const repo = resolve(__dirname, "../..");
const shippedConf = readFileSync(join(repo, "packer/files/postgresql/postgresql.conf"), "utf8");
const shippedHba = readFileSync(join(repo, "packer/files/postgresql/pg_hba.conf"), "utf8");
const shippedIdent = readFileSync(join(repo, "packer/files/postgresql/pg_ident.conf"), "utf8");
const PASSWORD = "AmiConfigTest2026";
/** The only settings the test changes: where files live, and the port. */
const OVERRIDDEN = ["data_directory", "hba_file", "ident_file", "external_pid_file", "unix_socket_directories", "port"];

/** `name = value` lines of the shipped file, with their 1-based line numbers. */
function shippedSettings(): { name: string; value: string; line: number }[] {
  return shippedConf.split("\n").flatMap((l, i) => {
    const m = /^\s*([a-z_.]+)\s*=\s*(.*?)\s*(#.*)?$/.exec(l);
    return m ? [{ name: m[1], value: m[2].replace(/^'(.*)'$/, "$1"), line: i + 1 }] : [];
  });
}

/** Sends a protocol-3 StartupMessage from `localAddress` and returns the server's first reply (latin1). */
function startup(port: number, localAddress: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const params = Buffer.from("user\0postgres\0database\0postgres\0\0", "latin1");
    const msg = Buffer.alloc(8 + params.length);
    msg.writeInt32BE(msg.length, 0);
    msg.writeInt32BE(196608, 4);
    params.copy(msg, 8);
    const sock = connect({ host: "127.0.0.1", port, localAddress });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error("no reply within 10 s"));
    }, 10000);
    sock.on("connect", () => sock.write(msg));
    sock.on("data", (d) => {
      chunks.push(d);
      clearTimeout(timer);
      sock.destroy();
      resolvePromise(Buffer.concat(chunks).toString("latin1"));
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function tcpConnect(host: string, port: number): Promise<string> {
  return new Promise((res) => {
    const s = connect({ host, port });
    s.on("connect", () => {
      s.destroy();
      res("connected");
    });
    s.on("error", (e: NodeJS.ErrnoException) => res(e.code ?? e.message));
  });
}

describe("AMI PostgreSQL configuration under a real server", () => {
  let pg: PgCluster;
  let confPath: string;

  beforeAll(async () => {
    // Start with the harness defaults (trust) to set the superuser's SCRAM password, then swap in the
    // shipped files and restart.
    pg = await startPostgres({ superuserPassword: PASSWORD });
    confPath = join(pg.dataDir, "postgresql.conf");
    const overrides = {
      data_directory: `'${pg.dataDir}'`,
      hba_file: `'${join(pg.dataDir, "pg_hba.conf")}'`,
      ident_file: `'${join(pg.dataDir, "pg_ident.conf")}'`,
      external_pid_file: "''",
      unix_socket_directories: `'${pg.socketDir}'`,
      port: pg.port,
    };
    writeFileSync(
      confPath,
      shippedConf +
        "\n# test overrides: paths and port only\n" +
        Object.entries(overrides)
          .map(([k, v]) => `${k} = ${v}`)
          .join("\n") +
        "\n",
    );
    writeFileSync(join(pg.dataDir, "pg_hba.conf"), shippedHba);
    writeFileSync(join(pg.dataDir, "pg_ident.conf"), shippedIdent);
    spawnSync("chown", [
      "postgres:postgres",
      confPath,
      join(pg.dataDir, "pg_hba.conf"),
      join(pg.dataDir, "pg_ident.conf"),
    ]);
    pg.restart();
  }, 120000);
  afterAll(() => pg?.stop());

  it("puts every line of the shipped postgresql.conf into effect, from that file and line", () => {
    const settings = shippedSettings().filter((s) => !OVERRIDDEN.includes(s.name));
    expect(settings.length).toBeGreaterThan(40);
    const rows = pg.psql(
      "SELECT name || '|' || source || '|' || coalesce(sourceline::text, '') FROM pg_settings WHERE source = 'configuration file' OR name LIKE 'cron.%'",
    );
    const seen = new Map(
      rows.split("\n").map((r) => {
        const [n, src, line] = r.split("|");
        return [n.toLowerCase(), `${src}:${line}`];
      }),
    );
    for (const s of settings) {
      expect({ name: s.name, from: seen.get(s.name) }).toEqual({ name: s.name, from: `configuration file:${s.line}` });
    }
    expect(pg.psql("SELECT count(*) FROM pg_file_settings WHERE error IS NOT NULL")).toBe("0");
  });

  it("shows the tuned values", () => {
    const show = (n: string) => pg.psql(`SHOW ${n}`);
    expect(show("shared_buffers")).toBe("512MB");
    expect(show("effective_cache_size")).toBe("1536MB");
    expect(show("work_mem")).toBe("8MB");
    expect(show("maintenance_work_mem")).toBe("128MB");
    expect(show("autovacuum_work_mem")).toBe("64MB");
    expect(show("max_connections")).toBe("50");
    expect(show("max_parallel_workers_per_gather")).toBe("0");
    expect(show("random_page_cost")).toBe("1.1");
    expect(show("listen_addresses")).toBe("localhost");
    expect(show("password_encryption")).toBe("scram-sha-256");
    expect(show("shared_preload_libraries")).toBe("pg_cron");
    expect(show("cron.database_name")).toBe("zmanim");
    expect(show("cron.max_running_jobs")).toBe("4");
    expect(show("logging_collector")).toBe("off");
    expect(show("log_destination")).toBe("stderr");
    expect(show("TimeZone")).toBe("UTC");
  });

  it("names the box's data directory and parses without a running server (postgres -C, as the smoke test does)", () => {
    const dir = mkdtempSync(join(tmpdir(), "zmanim-pgconf-"));
    try {
      chmodSync(dir, 0o755);
      copyFileSync(join(repo, "packer/files/postgresql/postgresql.conf"), join(dir, "postgresql.conf"));
      const r = spawnSync(
        "runuser",
        [
          "-u",
          "postgres",
          "--",
          join(pg.binDir, "postgres"),
          "-C",
          "data_directory",
          "-c",
          `config_file=${join(dir, "postgresql.conf")}`,
        ],
        { encoding: "utf8" },
      );
      expect({ status: r.status, out: r.stdout.trim() }).toEqual({ status: 0, out: "/data/postgres/16/main" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fits PostgreSQL, Redis and the API into the 4 GiB box with at least 1 GiB of page cache", () => {
    const mb = (n: string) =>
      Number(
        pg.psql(
          `SELECT (setting::bigint * coalesce(pg_size_bytes(CASE WHEN unit ~ '^[0-9]' THEN unit ELSE '1' || unit END), 1) / 1048576)::bigint FROM pg_settings WHERE name = '${n}'`,
        ),
      );
    const redisConf = readFileSync(join(repo, "packer/files/redis/redis.conf"), "utf8");
    const redisMaxGb = Number(/^maxmemory (\d+)gb$/m.exec(redisConf)![1]);
    const apiUnit = readFileSync(join(repo, "packer/files/systemd/zmanim-api.service"), "utf8");
    const goMemMiB = Number(/^Environment=GOMEMLIMIT=(\d+)MiB$/m.exec(apiUnit)![1]);
    const os = 400;
    const redis = redisMaxGb * 1024 * 1.15 + 200; // allocator overhead + fork copy-on-write headroom
    const api = goMemMiB + 44;
    const backends = 20 * 8;
    const sorts = 8 * mb("work_mem");
    const committed = os + redis + api + mb("shared_buffers") + backends + sorts + mb("maintenance_work_mem");
    expect(committed).toBeLessThanOrEqual(4096 - 1024);
    expect(mb("effective_cache_size")).toBeLessThanOrEqual(mb("shared_buffers") + (4096 - committed));
  });

  it("has exactly the intended pg_hba rules: local peer, loopback SCRAM, reject everything else", () => {
    const rules = pg.psql(
      "SELECT type || ' ' || array_to_string(database, ',') || ' ' || array_to_string(user_name, ',') || ' ' || coalesce(address, '-') || ' ' || coalesce(netmask, '-') || ' ' || auth_method || ' ' || coalesce(error, 'ok') FROM pg_hba_file_rules ORDER BY line_number",
    );
    expect(rules.split("\n")).toEqual([
      "local all postgres - - peer ok",
      "local all all - - peer ok",
      "host all all 127.0.0.1 255.255.255.255 scram-sha-256 ok",
      "host all all ::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff scram-sha-256 ok",
      "host all all 0.0.0.0 0.0.0.0 reject ok",
      "host all all :: :: reject ok",
    ]);
  });

  it("asks a loopback client for a SCRAM password and refuses a client from any other address", async () => {
    const fromLoopback = await startup(pg.port, "127.0.0.1");
    expect(fromLoopback[0]).toBe("R"); // AuthenticationSASL
    expect(fromLoopback).toContain("SCRAM-SHA-256");
    const fromElsewhere = await startup(pg.port, "127.0.0.2");
    expect(fromElsewhere[0]).toBe("E");
    expect(fromElsewhere).toMatch(/pg_hba\.conf rejects connection for host "127\.0\.0\.2"/);
  });

  it("does not even listen beyond localhost", async () => {
    expect(await tcpConnect("127.0.0.2", pg.port)).toBe("ECONNREFUSED");
    expect(await tcpConnect("127.0.0.1", pg.port)).toBe("connected");
  });

  it("authenticates local socket connections by peer: postgres may, another OS user may not", () => {
    const asPostgres = spawnSync(
      "runuser",
      [
        "-u",
        "postgres",
        "--",
        "psql",
        "-X",
        "-A",
        "-t",
        "-h",
        pg.socketDir,
        "-p",
        String(pg.port),
        "-d",
        "postgres",
        "-c",
        "SELECT current_user",
      ],
      { encoding: "utf8" },
    );
    expect({ status: asPostgres.status, out: asPostgres.stdout.trim() }).toEqual({ status: 0, out: "postgres" });
    const asNobody = spawnSync(
      "runuser",
      [
        "-u",
        "nobody",
        "--",
        "psql",
        "-X",
        "-h",
        pg.socketDir,
        "-p",
        String(pg.port),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-c",
        "SELECT 1",
      ],
      { encoding: "utf8", env: { PATH: process.env.PATH } },
    );
    expect(asNobody.status).not.toBe(0);
    expect(asNobody.stderr).toMatch(/Peer authentication failed/);
  });

  it("maps OS root to the superuser over the socket (backups run as root), and to nothing else", () => {
    const psqlAsRoot = (role: string) =>
      spawnSync(
        "psql",
        [
          "-X",
          "-A",
          "-t",
          "-h",
          pg.socketDir,
          "-p",
          String(pg.port),
          "-U",
          role,
          "-d",
          "postgres",
          "-c",
          "SELECT current_user",
        ],
        {
          encoding: "utf8",
          env: { PATH: process.env.PATH },
        },
      );
    expect(process.getuid?.()).toBe(0);
    const superuser = psqlAsRoot("postgres");
    expect({ status: superuser.status, out: superuser.stdout.trim() }).toEqual({ status: 0, out: "postgres" });
    pg.psql("CREATE ROLE ident_probe LOGIN");
    const other = psqlAsRoot("ident_probe");
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/Peer authentication failed for user "ident_probe"/);
    expect(
      pg
        .psql(
          "SELECT map_name || ' ' || sys_name || ' ' || pg_username || ' ' || coalesce(error, 'ok') FROM pg_ident_file_mappings ORDER BY line_number",
        )
        .split("\n"),
    ).toEqual(["superuser postgres postgres ok", "superuser root postgres ok"]);
  });

  it("installs PostGIS and pg_cron (in cron.database_name only) and schedules a job", () => {
    pg.psql("CREATE DATABASE zmanim");
    pg.psql("CREATE EXTENSION postgis", "zmanim");
    expect(pg.psql("SELECT ST_AsText(ST_SetSRID(ST_MakePoint(35.2137, 31.7683), 4326))", "zmanim")).toBe(
      "POINT(35.2137 31.7683)",
    );
    pg.psql("CREATE EXTENSION pg_cron", "zmanim");
    expect(pg.psql("SELECT cron.schedule('ami-test', '0 4 * * *', 'SELECT 1')", "zmanim")).toMatch(/^\d+$/);
    expect(() => pg.psql("CREATE EXTENSION pg_cron", "postgres")).toThrow(
      /can only create extension in database zmanim/,
    );
  });

  it("runs a scheduled pg_cron job owned by the zmanim role (background worker: no loopback password needed)", async () => {
    expect(pg.psql("SHOW cron.use_background_workers")).toBe("on");
    pg.psql("CREATE ROLE zmanim LOGIN PASSWORD 'NotUsedByCron2026'");
    pg.psql(
      "CREATE TABLE public.cron_probe (at timestamptz NOT NULL DEFAULT now()); GRANT INSERT ON public.cron_probe TO zmanim",
      "zmanim",
    );
    pg.psql("SELECT cron.schedule('ami-probe', '* * * * *', 'INSERT INTO public.cron_probe DEFAULT VALUES')", "zmanim");
    pg.psql("UPDATE cron.job SET username = 'zmanim' WHERE jobname = 'ami-probe'", "zmanim");
    // pg_cron's smallest schedule is one minute: wait for the next minute's run (bounded).
    const status = () =>
      pg.psql(
        "SELECT coalesce(string_agg(status || ': ' || coalesce(return_message, ''), '; '), '') FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'ami-probe'",
        "zmanim",
      );
    await waitFor(() => status() !== "" && !/running|starting/.test(status()), 90000, "the pg_cron job to run");
    expect(status()).toMatch(/^succeeded: INSERT 0 1/);
    expect(Number(pg.psql("SELECT count(*) FROM public.cron_probe", "zmanim"))).toBeGreaterThanOrEqual(1);
  }, 120000);
});
