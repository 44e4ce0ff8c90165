/**
 * restore.sh and restore-drill.sh against real servers: overwrite protection, a live restore that keeps
 * pg_cron where it lives, an AOF-safe Redis restore that survives a restart, and the weekly drill.
 */
import { spawnSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { startPostgres, PgCluster } from "../helpers/postgres";
import { startRedis, RedisServer } from "../helpers/redis";
import { startS3, S3Server } from "../helpers/s3";
import { backupScriptEnv, checksums, createDataset, restic, runScript } from "../helpers/backup-env";
import { awsDouble, AwsDouble } from "../helpers/aws-double";

jest.setTimeout(300000);

let s3: S3Server;
let pg: PgCluster;
let redis: RedisServer;
let work: string;
let env: NodeJS.ProcessEnv;
let sourceSums: Record<string, string>;
let sourceDigest: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "zmanim-restore-test-"));
  s3 = await startS3(["restic"]);
  pg = await startPostgres({ conf: { shared_preload_libraries: "'pg_cron'", "cron.database_name": "'zmanim'" } });
  createDataset(pg, 5000);
  sourceSums = checksums(pg);
  redis = await startRedis({
    password: "redis-secret",
    args: { appendonly: "yes", "enable-debug-command": "local", "repl-diskless-sync-delay": "0" },
  });
  for (let i = 0; i < 100; i++) redis.cli("SET", `zman:${i}`, `value ${i}`);
  redis.cli("HSET", "location:1", "name", "shul", "tz", "Asia/Jerusalem");
  for (let i = 0; i < 5; i++) redis.cli("SET", `cache:big:${i}`, "x".repeat(100000));
  sourceDigest = redis.cli("DEBUG", "DIGEST");
  env = backupScriptEnv(s3, pg, redis, join(work, "backup.lock"));
  const b = runScript("backup.sh", ["--init", "--no-check"], env);
  if (b.status !== 0) throw new Error(`backup failed: ${b.stderr}`);
  s3.useLowCostResticKey(env.RESTIC_PASSWORD!);
}, 300000);

afterAll(async () => {
  await redis?.stop();
  pg?.stop();
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("restore.sh", () => {
  it("refuses to overwrite a live database or a Redis holding keys without the explicit flag", () => {
    pg.psql("INSERT INTO events VALUES (99, 'written after the backup')", "zmanim");
    const live = pg.psql("SELECT count(*) FROM ONLY events", "zmanim");
    const r = runScript("restore.sh", ["--postgres"], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("database 'zmanim' already exists");
    expect(r.stderr).toContain("--i-know-this-overwrites-live");
    expect(pg.psql("SELECT count(*) FROM ONLY events", "zmanim")).toBe(live);

    redis.cli("SET", "written-after-backup", "1");
    const rr = runScript("restore.sh", ["--redis"], env);
    expect(rr.status).toBe(2);
    expect(rr.stderr).toContain("holds keys");
    expect(redis.cli("GET", "written-after-backup")).toBe("1");
  });

  it("with --i-know-this-overwrites-live, replaces the live database and keeps pg_cron where it lives", () => {
    const r = runScript("restore.sh", ["--postgres", "--i-know-this-overwrites-live"], env);
    expect(r.stderr).toContain("restore verified");
    expect(r.status).toBe(0);
    expect(checksums(pg)).toEqual(sourceSums);
    expect(r.stdout).toContain("pg_cron: restored (cron.database_name = zmanim)");
    expect(r.stdout).toContain("roles: applied from postgres-globals.sql");
    expect(pg.psql("SELECT jobname || ' ' || schedule FROM cron.job", "zmanim")).toBe("nightly-refresh 0 2 * * *");
  });

  it("restores Redis with AOF enabled so that a restart keeps the restored data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zmanim-redis-aof-"));
    let target = await startRedis({
      dir,
      password: "target-secret",
      args: { appendonly: "yes", "enable-debug-command": "local" },
    });
    try {
      target.cli("SET", "stale", "from before the restore");
      target.cli("SET", "zman:1", "overwritten");
      const r = runScript("restore.sh", ["--redis", "--i-know-this-overwrites-live"], { ...env, ...target.env });
      expect(r.stdout).toContain("redis: AOF rewritten from the restored data (appendonly yes)");
      expect(r.status).toBe(0);
      expect(target.cli("DEBUG", "DIGEST")).toBe(sourceDigest);
      expect(target.cli("INFO", "replication")).toContain("role:master");
      // Redis rebuilds from the AOF on start: the restored data must be what the AOF holds.
      await target.stop();
      target = await startRedis({
        dir,
        password: "target-secret",
        args: { appendonly: "yes", "enable-debug-command": "local" },
      });
      expect(target.cli("DEBUG", "DIGEST")).toBe(sourceDigest);
      expect(target.cli("EXISTS", "stale")).toBe("0");
    } finally {
      await target.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails verification with exit 13 when the target Redis cannot hold the backup", async () => {
    // A real server-side loss: a target whose maxmemory is below the dataset evicts keys after the sync.
    const target = await startRedis({ args: { "maxmemory-policy": "allkeys-random" } });
    try {
      // Room for about half of the five 100 KB values.
      const used = Number(/used_memory:(\d+)/.exec(target.cli("INFO", "memory"))![1]);
      target.cli("CONFIG", "SET", "maxmemory", String(used + 250000));
      const r = runScript("restore.sh", ["--redis"], { ...env, ...target.env, REDISCLI_AUTH: undefined });
      // Depending on when the replica hits maxmemory, the target ends with part of the keys or none.
      expect(r.stdout).toMatch(/redis: MISMATCH: the RDB holds 'db0=106', the target '(db0=\d+|no keys)'/);
      expect(r.stderr).toContain("verification failed");
      expect(r.status).toBe(13);
    } finally {
      await target.stop();
    }
  });

  it("refuses a snapshot of a run that never completed", () => {
    const out = restic(
      env,
      ["backup", "--stdin", "--stdin-filename", "postgres.dump", "--tag", "zmanim,postgres,run:19990101T000000Z-1-1"],
      "truncated",
    );
    const id = /snapshot ([0-9a-f]+) saved/.exec(out)![1];
    const r = runScript("restore.sh", ["--postgres", "--target-db", "never", "--snapshot", id], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("never completed");
    expect(pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'never'")).toBe("0");
    restic(env, ["forget", id]);
  });
});

describe("restore-drill.sh", () => {
  let aws: AwsDouble;
  let stamp: string;
  let drillEnv: NodeJS.ProcessEnv;
  beforeEach(() => {
    aws = awsDouble([{ match: ["cloudwatch", "put-metric-data"], exit: 0 }]);
    stamp = join(work, "state", "restore-drill-passed");
    rmSync(stamp, { force: true });
    drillEnv = { ...env, ...aws.env, ZMANIM_METRICS_NAMESPACE: "Zmanim/test", ZMANIM_DRILL_STAMP: stamp };
  });
  afterEach(() => aws.cleanup());
  const cloudwatch = () => aws.calls().filter((c) => c[0] === "cloudwatch");

  it("restores the latest run into scratch servers, verifies it and reports RTO and RPO", () => {
    const drillDir = mkdtempSync(join(tmpdir(), "zmanim-drill-test-"));
    chmodSync(drillDir, 0o755); // the scratch cluster runs as the postgres user
    try {
      const before = Math.floor(Date.now() / 1000);
      const r = runScript("restore-drill.sh", [], {
        ...drillEnv,
        ZMANIM_PG_BINDIR: pg.binDir,
        ZMANIM_DRILL_DIR: drillDir,
      });
      expect(r.stdout).toMatch(/restore drill PASSED: RTO [\d.]+ s \(restore and verification\), RPO \d+ s/);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/public\.locations\s+5000\s+5000\s+ok/);
      expect(r.stdout).toContain(
        "pg_cron: NOT restored (this server does not preload pg_cron); 1 job(s) in the dump skipped",
      );
      expect(r.stdout).toMatch(/redis: restored from [0-9a-f]+ .*keys per database equal to the RDB \(db0=106\)/);
      expect(readdirSync(drillDir)).toEqual([]);
      // The live servers were not touched.
      expect(redis.cli("GET", "written-after-backup")).toBe("1");
      // One metric call per drill: passed, and the age of the last pass reset; the pass is recorded.
      expect(cloudwatch()).toEqual([
        [
          "cloudwatch",
          "put-metric-data",
          "--namespace",
          "Zmanim/test",
          "--metric-data",
          "MetricName=RestoreDrillSuccess,Value=1,Unit=Count",
          "MetricName=RestoreDrillAgeSeconds,Value=0,Unit=Seconds",
        ],
      ]);
      const passed = Number(readFileSync(stamp, "utf8").trim());
      expect(passed).toBeGreaterThanOrEqual(before);
    } finally {
      rmSync(drillDir, { recursive: true, force: true });
    }
  });

  it("exits non-zero when the restore fails, and leaves no scratch server or data behind", () => {
    const drillDir = mkdtempSync(join(tmpdir(), "zmanim-drill-test-"));
    chmodSync(drillDir, 0o755); // the scratch cluster runs as the postgres user
    try {
      const r = runScript("restore-drill.sh", ["--snapshot", "deadbeef"], {
        ...drillEnv,
        ZMANIM_PG_BINDIR: pg.binDir,
        ZMANIM_DRILL_DIR: drillDir,
      });
      expect(r.status).not.toBe(0);
      expect(r.stdout).toContain("restore drill FAILED");
      // A failed drill is counted (0) and neither resets the age nor records a pass.
      expect(cloudwatch()).toEqual([
        [
          "cloudwatch",
          "put-metric-data",
          "--namespace",
          "Zmanim/test",
          "--metric-data",
          "MetricName=RestoreDrillSuccess,Value=0,Unit=Count",
        ],
      ]);
      expect(existsSync(stamp)).toBe(false);
      expect(readdirSync(drillDir)).toEqual([]);
      const leftovers = spawnSync("pgrep", ["-f", drillDir], { encoding: "utf8" }).stdout.trim();
      expect(leftovers).toBe("");
    } finally {
      rmSync(drillDir, { recursive: true, force: true });
    }
  });

  it("backup.sh publishes the age of the last passed drill after each backup, and nothing while no drill has passed", () => {
    const none = runScript("backup.sh", ["--no-check"], drillEnv);
    expect(none.status).toBe(0);
    expect(none.stderr).toContain(`no passed restore drill recorded in ${stamp}`);
    expect(cloudwatch().map((c) => c[5])).toEqual(["BackupSuccess"]);

    const passed = Math.floor(Date.now() / 1000) - 3 * 86400;
    mkdirSync(join(work, "state"), { recursive: true });
    writeFileSync(stamp, `${passed}\n`);
    aws.setRules([{ match: ["cloudwatch", "put-metric-data"], exit: 0 }]);
    const r = runScript("backup.sh", ["--no-check"], drillEnv);
    expect(r.status).toBe(0);
    const age = cloudwatch().filter((c) => c.includes("RestoreDrillAgeSeconds"));
    expect(age).toHaveLength(1);
    expect(age[0].slice(0, 6)).toEqual([
      "cloudwatch",
      "put-metric-data",
      "--namespace",
      "Zmanim/test",
      "--metric-name",
      "RestoreDrillAgeSeconds",
    ]);
    const value = Number(age[0][age[0].indexOf("--value") + 1]);
    expect(value).toBeGreaterThanOrEqual(3 * 86400);
    expect(value).toBeLessThan(3 * 86400 + 600);
    expect(age[0].slice(-2)).toEqual(["--unit", "Seconds"]);
  });
});
