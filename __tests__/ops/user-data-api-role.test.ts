/**
 * The boot script in its api role (a fleet instance of the scaled topology), run exactly as the app stack
 * synthesizes it (the launch template's user data, base64-decoded). The instance keeps no data: nothing is
 * mounted, PostgreSQL, Redis and the backup timers are masked, and the API's connection strings reach a REAL
 * PostgreSQL that accepts only TLS logins (like RDS with rds.force_ssl) and a REAL Redis that speaks only TLS
 * with an ACL user (like ElastiCache with transit encryption).
 *
 * Stand-ins, at the edges only:
 * - `aws`: the TEST DOUBLE of the AWS CLI (__tests__/helpers/bin/aws) answers the SSM reads.
 * - `systemctl`: PID 1 here is not systemd, so a recorder logs every call (order is asserted).
 * - `amazon-cloudwatch-agent-ctl`: not installable here; a recorder logs its arguments.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { awsDouble, AwsDouble } from "../helpers/aws-double";
import { freePort, waitFor } from "../helpers/ports";
import { PgCluster, startPostgres } from "../helpers/postgres";
import { scaled } from "../../constructs/config/environments";
import { boxConfig } from "../../stacks/secrets";
import { fleetCloudwatchAgentConfig } from "../../constructs/builders/cloudwatch-agent";
import { synthAll } from "../helpers/synth";

const PREFIX = `/zmanim/${scaled.name}`;
const DB_PASSWORD = "DbAppSecret0123456789abcdefGH";
const CACHE_PASSWORD = "CacheSecret0123456789abcdefXY";
const CLERK = "sk_test_0123456789abcdef";
const UNIT_SOURCE = join(__dirname, "..", "..", "packer", "files", "systemd", "zmanim-api.service");

const base = mkdtempSync(join(tmpdir(), "zmanim-userdata-api-"));
chmodSync(base, 0o755);
let pg: PgCluster;
let redis: ChildProcess;
let redisPort: number;
let aws: AwsDouble;
let script: string;

/** The fleet's user data as the launch template carries it. */
function fleetUserData(): string {
  const lts = synthAll(scaled).stacks.app.resource?.aws_launch_template ?? {};
  const [lt] = Object.values(lts);
  return Buffer.from(String(lt.user_data), "base64").toString("utf8");
}

function dataConfig(overrides: Record<string, string> = {}): string {
  return JSON.stringify({
    ZMANIM_DB_HOST: "127.0.0.1",
    ZMANIM_DB_PORT: String(pg.port),
    ZMANIM_DB_NAME: "zmanim",
    ZMANIM_DB_USER: "zmanim",
    ZMANIM_CACHE_HOST: "127.0.0.1",
    ZMANIM_CACHE_PORT: String(redisPort),
    ZMANIM_CACHE_USER: "zmanim",
    ZMANIM_CACHE_TLS: "true",
    ...overrides,
  });
}

function ssm(values: Record<string, string>) {
  return Object.entries(values).map(([leaf, value]) => ({
    match: ["ssm", "get-parameter", "--name", `${PREFIX}/${leaf}`],
    stdout: value,
  }));
}

function ssmValues(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    config: JSON.stringify(boxConfig(scaled)),
    "data-config": dataConfig(),
    "database-app-password": DB_PASSWORD,
    "cache-password": CACHE_PASSWORD,
    "clerk-secret-key": CLERK,
    "cloudwatch-agent-api": JSON.stringify(fleetCloudwatchAgentConfig(scaled)),
    ...overrides,
  };
}

/** One simulated fleet instance: its own /etc (holding the AMI's API unit), fstab, mount point and recorders. */
function newInstance(name: string) {
  const dir = join(base, name);
  const etc = join(dir, "etc");
  mkdirSync(join(etc, "systemd", "system"), { recursive: true });
  copyFileSync(UNIT_SOURCE, join(etc, "systemd", "system", "zmanim-api.service"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(
    join(bin, "systemctl"),
    `#!/usr/bin/env bash\necho "$*" >>"${join(dir, "systemctl.log")}"\n[[ "$1" != is-active ]] || exit 3\n`,
  );
  writeFileSync(
    join(bin, "amazon-cloudwatch-agent-ctl"),
    `#!/usr/bin/env bash\necho "$*" >>"${join(dir, "agent.log")}"\n`,
  );
  chmodSync(join(bin, "systemctl"), 0o755);
  chmodSync(join(bin, "amazon-cloudwatch-agent-ctl"), 0o755);
  const fstab = join(dir, "fstab");
  writeFileSync(fstab, "# static file system information\n");
  return { dir, etc, fstab, mnt: join(dir, "data"), scriptFile: join(dir, "user-data.sh") };
}
type Instance = ReturnType<typeof newInstance>;

function run(inst: Instance, opts: { script?: string; env?: Record<string, string> } = {}) {
  writeFileSync(inst.scriptFile, opts.script ?? script);
  const r = spawnSync("bash", [inst.scriptFile], {
    encoding: "utf8",
    timeout: 60000,
    env: {
      ...(process.env as Record<string, string>),
      ...aws.env,
      ZMANIM_ETC: inst.etc,
      ZMANIM_FSTAB: inst.fstab,
      ZMANIM_DATA_MOUNT: inst.mnt,
      ZMANIM_SYSTEMCTL: join(inst.dir, "bin", "systemctl"),
      ZMANIM_CW_AGENT_CTL: join(inst.dir, "bin", "amazon-cloudwatch-agent-ctl"),
      ZMANIM_CW_AGENT_CONFIG: join(inst.dir, "cwagent", "amazon-cloudwatch-agent.json"),
      ZMANIM_AWS_ATTEMPTS: "1",
      ...(opts.env ?? {}),
    },
  });
  return { status: r.status, stderr: r.stderr };
}
const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : []);
const envFile = (file: string) =>
  Object.fromEntries(lines(file).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));

beforeAll(async () => {
  script = fleetUserData();
  const tls = join(base, "tls");
  mkdirSync(tls);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(tls, "key.pem"),
      "-out",
      join(tls, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
    ],
    { stdio: "ignore" },
  );

  // PostgreSQL that, like RDS with rds.force_ssl = 1, lets the application role in over TLS only.
  pg = await startPostgres();
  pg.psql(`CREATE ROLE zmanim LOGIN PASSWORD '${DB_PASSWORD}'`);
  pg.psql("CREATE DATABASE zmanim OWNER zmanim");
  for (const f of ["cert.pem", "key.pem"]) copyFileSync(join(tls, f), join(pg.dataDir, f));
  chmodSync(join(pg.dataDir, "key.pem"), 0o600);
  if (process.getuid?.() === 0)
    execFileSync("chown", ["postgres:postgres", join(pg.dataDir, "cert.pem"), join(pg.dataDir, "key.pem")]);
  writeFileSync(
    join(pg.dataDir, "pg_hba.conf"),
    "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhostssl zmanim zmanim 127.0.0.1/32 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject\n",
  );
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres:postgres", join(pg.dataDir, "pg_hba.conf")]);
  pg.restart({ ssl: "on", ssl_cert_file: "'cert.pem'", ssl_key_file: "'key.pem'" });

  // Redis that, like ElastiCache with transit encryption and a user group, speaks TLS only and knows the user.
  redisPort = await freePort();
  redis = spawn(
    "redis-server",
    [
      "--port",
      "0",
      "--tls-port",
      String(redisPort),
      "--bind",
      "127.0.0.1",
      "--dir",
      tls,
      "--save",
      "",
      "--appendonly",
      "no",
      "--tls-cert-file",
      join(tls, "cert.pem"),
      "--tls-key-file",
      join(tls, "key.pem"),
      "--tls-ca-cert-file",
      join(tls, "cert.pem"),
      "--tls-auth-clients",
      "no",
      "--user",
      "zmanim",
      "on",
      `>${CACHE_PASSWORD}`,
      "~*",
      "&*",
      "+@all",
    ],
    { stdio: "ignore" },
  );
  await waitFor(
    () =>
      spawnSync("redis-cli", ["--tls", "--insecure", "-p", String(redisPort), "PING"], {
        encoding: "utf8",
      }).stdout.trim() === "PONG",
    10000,
    "redis-server with TLS",
  );
  aws = awsDouble(ssm(ssmValues()));
}, 120000);

afterAll(() => {
  pg?.stop();
  redis?.kill("SIGKILL");
  aws?.cleanup();
  rmSync(base, { recursive: true, force: true });
});

describe("user data, api role (a fleet instance)", () => {
  let inst: Instance;
  let first: ReturnType<typeof run>;
  beforeAll(() => {
    inst = newInstance("first");
    first = run(inst);
  });

  it("is the boot script rendered with the api role and no data volume", () => {
    expect(script).toMatch(/^export ZMANIM_ROLE='api'$/m);
    expect(script).not.toMatch(/^export ZMANIM_DATA_VOLUME_ID/m);
    expect([first.status, first.stderr]).toEqual([0, expect.stringContaining("done (api role)")]);
  });

  it("mounts nothing and masks PostgreSQL, Redis and the backup and restore-drill timers before anything starts", () => {
    expect(readFileSync(inst.fstab, "utf8")).toBe("# static file system information\n");
    expect(existsSync(inst.mnt)).toBe(false);
    const calls = lines(join(inst.dir, "systemctl.log"));
    expect(calls.slice(0, 4)).toEqual([
      "mask --now postgresql@16-main.service",
      "mask --now redis-server.service",
      "mask --now zmanim-backup.timer",
      "mask --now zmanim-restore-drill.timer",
    ]);
    expect(calls.filter((c) => /^(start|restart) /.test(c))).toEqual(["restart zmanim-api.service"]);
  });

  it("points the API at the database over TLS as the application role: a real login succeeds", () => {
    const env = envFile(join(inst.etc, "zmanim", "api.env"));
    expect(env.DATABASE_URL).toBe(`postgres://zmanim:${DB_PASSWORD}@127.0.0.1:${pg.port}/zmanim?sslmode=require`);
    const r = spawnSync(
      "psql",
      [
        "-X",
        "-A",
        "-t",
        "-d",
        env.DATABASE_URL,
        "-c",
        "SELECT current_user || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
      ],
      { encoding: "utf8" },
    );
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, "zmanim true", ""]);
    // The server really refuses the same login without TLS, so the test above proves the URL asks for it.
    const plain = spawnSync(
      "psql",
      ["-X", "-d", env.DATABASE_URL.replace("sslmode=require", "sslmode=disable"), "-c", "SELECT 1"],
      { encoding: "utf8" },
    );
    expect(plain.status).not.toBe(0);
  });

  it("points the API at the cache over TLS as its user: a real PING answers", () => {
    const env = envFile(join(inst.etc, "zmanim", "api.env"));
    expect(env.REDIS_URL).toBe(`rediss://zmanim:${CACHE_PASSWORD}@127.0.0.1:${redisPort}/0`);
    const r = spawnSync("redis-cli", ["--no-auth-warning", "-u", env.REDIS_URL, "--insecure", "PING"], {
      encoding: "utf8",
    });
    expect(r.stdout.trim()).toBe("PONG");
    expect(env).toEqual(
      expect.objectContaining({ ZMANIM_ENV: "scaled", PORT: String(scaled.api.port), CLERK_SECRET_KEY: CLERK }),
    );
    expect(execFileSync("stat", ["-c", "%a", join(inst.etc, "zmanim", "api.env")], { encoding: "utf8" }).trim()).toBe(
      "600",
    );
  });

  it("rewrites the API unit without its dependencies on the local data services, and keeps every other line", () => {
    const before = readFileSync(UNIT_SOURCE, "utf8").split("\n");
    const after = readFileSync(join(inst.etc, "systemd", "system", "zmanim-api.service"), "utf8").split("\n");
    expect(before.filter((l) => /^(Requires|ConditionPathIsMountPoint)=/.test(l)).length).toBe(2);
    expect(after).toEqual(before.filter((l) => !/^(Requires|ConditionPathIsMountPoint)=/.test(l)));
  });

  it("loads the fleet's CloudWatch agent configuration and reads only its own SSM parameters", () => {
    const cfg = JSON.parse(readFileSync(join(inst.dir, "cwagent", "amazon-cloudwatch-agent.json"), "utf8"));
    expect(cfg).toEqual(fleetCloudwatchAgentConfig(scaled));
    expect(lines(join(inst.dir, "agent.log"))).toEqual([expect.stringContaining("-a fetch-config -m ec2 -s -c file:")]);
    const names = aws.calls().map((argv) => argv[argv.indexOf("--name") + 1]);
    expect(new Set(names)).toEqual(new Set(Object.keys(ssmValues()).map((leaf) => `${PREFIX}/${leaf}`)));
  });

  it("changes nothing on a second run: no file rewritten, the API started, not restarted", () => {
    const again = run(inst);
    expect(again.status).toBe(0);
    expect(again.stderr).not.toMatch(/wrote /);
    expect(lines(join(inst.dir, "systemctl.log")).slice(-1)).toEqual(["start zmanim-api.service"]);
  });
});

describe("user data, api role: bad input stops the boot with the field named", () => {
  it("refuses an unknown role", () => {
    const r = run(newInstance("bad-role"), { script: script.replace("ZMANIM_ROLE='api'", "ZMANIM_ROLE='worker'") });
    expect([r.status, r.stderr]).toEqual([
      2,
      expect.stringContaining("ZMANIM_ROLE='worker' is not a role; use box or api"),
    ]);
  });

  it("refuses a data-config without the database host, before the API starts", () => {
    aws.setRules(ssm(ssmValues({ "data-config": dataConfig({ ZMANIM_DB_HOST: "" }) })));
    const inst = newInstance("no-db-host");
    const r = run(inst);
    aws.setRules(ssm(ssmValues()));
    expect([r.status, r.stderr]).toEqual([
      1,
      expect.stringContaining("data-config ZMANIM_DB_HOST is empty or missing"),
    ]);
    expect(
      lines(join(inst.dir, "systemctl.log")).filter((c) => c.startsWith("start") || c.startsWith("restart")),
    ).toEqual([]);
  });

  it("refuses a cache password that the secrets stack did not generate", () => {
    aws.setRules(ssm(ssmValues({ "cache-password": "short" })));
    const r = run(newInstance("bad-cache-password"));
    aws.setRules(ssm(ssmValues()));
    expect([r.status, r.stderr]).toEqual([
      1,
      expect.stringContaining("cache-password must be at least 16 letters or digits"),
    ]);
  });
});
