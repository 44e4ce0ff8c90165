/**
 * backup.sh and restore.sh against real servers on loopback: PostgreSQL 15 + PostGIS + pg_cron, Redis 7
 * with AOF, restic 0.14, and an S3-compatible server (s3rver over TLS). The only stand-in is the AWS CLI
 * TEST DOUBLE (CloudWatch metric). The tests run in order and share one repository.
 */
import { spawn, spawnSync, ChildProcess } from "child_process";
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { startPostgres, PgCluster } from "../helpers/postgres";
import { startRedis, RedisServer } from "../helpers/redis";
import { startS3, S3Server } from "../helpers/s3";
import { awsDouble, AwsDouble } from "../helpers/aws-double";
import { freePort, waitFor } from "../helpers/ports";
import {
  backupScriptEnv,
  checksums,
  createDataset,
  restic,
  runScript,
  runScriptAsync,
  snapshotIds,
  snapshots,
  storedBytes,
} from "../helpers/backup-env";

jest.setTimeout(300000);

const ROWS = 300000;
let s3: S3Server;
let pg: PgCluster;
let redis: RedisServer;
let aws: AwsDouble;
let work: string;
let env: NodeJS.ProcessEnv;
let sourceSums: Record<string, string>;

function redisFill(r: RedisServer): void {
  const cmds: string[] = [];
  for (let i = 0; i < 300; i++) cmds.push(`SET zman:${i} "alot ${i} 04:${String(i % 60).padStart(2, "0")}"`);
  for (let i = 0; i < 50; i++) cmds.push(`HSET location:${i} name "shul ${i}" tz Asia/Jerusalem`);
  cmds.push("RPUSH queue a b c d", "SADD users u1 u2 u3", "ZADD scores 1 a 2 b", "SET session:x token EX 86400");
  const res = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(r.port)], {
    input: cmds.join("\n") + "\n",
    env: { ...process.env, ...r.env },
    encoding: "utf8",
  });
  if (res.status !== 0) throw new Error(res.stderr);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "zmanim-backup-test-"));
  s3 = await startS3(["restic", "retention"]);
  pg = await startPostgres({ conf: { shared_preload_libraries: "'pg_cron'", "cron.database_name": "'zmanim'" } });
  createDataset(pg, ROWS);
  sourceSums = checksums(pg);
  // repl-diskless-sync-delay 0: `redis-cli --rdb -` would otherwise wait Redis's default 5 s per run before the
  // stream starts (the box keeps the default, see D9 in docs/decisions.md).
  redis = await startRedis({
    password: "redis-secret",
    args: { appendonly: "yes", "enable-debug-command": "local", "repl-diskless-sync-delay": "0" },
  });
  redisFill(redis);
  aws = awsDouble([{ match: ["cloudwatch", "put-metric-data"], exit: 0 }]);
  env = backupScriptEnv(s3, pg, redis, join(work, "backup.lock"), {
    ...aws.env,
    ZMANIM_METRICS_NAMESPACE: "Zmanim/test",
  });
}, 300000);

afterAll(async () => {
  await redis?.stop();
  pg?.stop();
  await s3?.stop();
  aws?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe("backup.sh", () => {
  it("never creates a repository implicitly: exit 10 and the command that would", () => {
    const r = runScript("backup.sh", [], env);
    expect(r.status).toBe(10);
    expect(r.stderr).toContain("no restic repository at RESTIC_REPOSITORY=");
    expect(r.stderr).toContain("backup.sh --init");
    expect(s3.bucketBytes("restic")).toBeLessThan(4096);
  });

  it("streams PostgreSQL, its roles and Redis as one complete run and publishes BackupSuccess", () => {
    const r = runScript("backup.sh", ["--init"], env);
    expect(r.stderr).toContain("backup finished");
    expect(r.status).toBe(0);
    const snaps = snapshots(env);
    expect(snaps.map((s) => s.paths[0]).sort()).toEqual(["/postgres-globals.sql", "/postgres.dump", "/redis.rdb"]);
    const runTags = new Set(snaps.map((s) => (s.tags ?? []).find((t) => t.startsWith("run:"))));
    expect(runTags.size).toBe(1);
    for (const s of snaps) expect(s.tags).toEqual(expect.arrayContaining(["zmanim", "complete"]));
    expect(snaps.find((s) => s.paths[0] === "/redis.rdb")!.tags).toContain("redis");
    // The stored dump is a custom-format archive of the whole database (--no-lock: pg_restore -l stops
    // reading early and restic dies of SIGPIPE, which would leave a stale lock).
    const toc = spawnSync(
      "bash",
      [
        "-c",
        `restic --cacert "$RESTIC_CACERT" --no-lock dump latest --path /postgres.dump postgres.dump | pg_restore -l`,
      ],
      { env, encoding: "utf8" },
    );
    expect(toc.stdout).toContain("TABLE DATA public locations zmanim");
    expect(toc.stdout).toMatch(/Compression: 0/);
    const metric = aws.calls().filter((c) => c[0] === "cloudwatch");
    expect(metric).toHaveLength(1);
    expect(metric[0]).toEqual([
      "cloudwatch",
      "put-metric-data",
      "--namespace",
      "Zmanim/test",
      "--metric-name",
      "BackupSuccess",
      "--value",
      "1",
      "--unit",
      "Count",
    ]);
    expect(metric[0].join(" ")).not.toContain("--dimensions");
    // The calibrated key has served a real first run; from here on every restic command opens the repository
    // with a low-cost key for the same password (restic-key.ts).
    s3.useLowCostResticKey(env.RESTIC_PASSWORD!);
  });

  it("restores into fresh servers with checksum-equal data, PostGIS geometries included", async () => {
    const fresh = await startPostgres();
    const freshRedis = await startRedis({
      password: "other-secret",
      args: { appendonly: "yes", "enable-debug-command": "local" },
    });
    try {
      const r = runScript("restore.sh", ["--snapshot", "latest", "--globals"], {
        ...env,
        ...fresh.env,
        PGDATABASE: "zmanim",
        ...freshRedis.env,
      });
      expect(r.stderr).toContain("restore verified");
      expect(r.status).toBe(0);
      expect(checksums(fresh)).toEqual(sourceSums);
      expect(fresh.psql("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'zmanim'")).toBe("t");
      expect(fresh.psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'zmanim'")).toBe("zmanim");
      // The summary: row counts per table (inheritance counted per table, not parent+children) and pg_cron.
      expect(r.stdout).toMatch(new RegExp(`public\\.locations\\s+${ROWS}\\s+${ROWS}\\s+ok`));
      expect(r.stdout).toMatch(/public\.events\s+2\s+2\s+ok/);
      expect(r.stdout).toMatch(/public\."MinyanTimes"\s+2000\s+2000\s+ok/);
      expect(r.stdout).toContain(
        "pg_cron: NOT restored (this server does not preload pg_cron); 1 job(s) in the dump skipped",
      );
      expect(freshRedis.cli("DEBUG", "DIGEST")).toBe(redis.cli("DEBUG", "DIGEST"));
      expect(Number(freshRedis.cli("TTL", "session:x"))).toBeGreaterThan(80000);
    } finally {
      fresh.stop();
      await freshRedis.stop();
    }
  });

  it("a second backup of unchanged data adds almost nothing (and --check reads this week's subset)", () => {
    const before = s3.bucketBytes("restic");
    const r = runScript("backup.sh", ["--check"], env);
    expect(r.status).toBe(0);
    const added = storedBytes(r.stdout);
    expect(added).toBeGreaterThan(0);
    expect(added / before).toBeLessThan(0.05);
    expect(s3.bucketBytes("restic") / before).toBeLessThan(1.05);
    // Two runs on one day: retention keeps the newer one per path.
    expect(snapshots(env)).toHaveLength(3);
    const week = Number(spawnSync("date", ["-u", "+%V"], { encoding: "utf8" }).stdout.trim());
    expect(r.stderr).toContain(`restic check --read-data-subset=${(week % 4) + 1}/4`);
    expect(r.stdout).toContain("no errors were found");
  });

  describe("a dump failing midway", () => {
    let goodIds: string[];
    beforeAll(() => {
      // A table whose heap page is corrupted: pg_dump has streamed every other table when it fails on it.
      pg.psql("CREATE TABLE zz_broken AS SELECT i FROM generate_series(1, 1000) AS i; CHECKPOINT", "zmanim");
      const rel = pg.psql("SELECT pg_relation_filepath('zz_broken')", "zmanim");
      const fd = openSync(join(pg.dataDir, rel), "r+");
      writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 0);
      closeSync(fd);
      pg.restart();
      goodIds = snapshotIds(env);
    });
    afterAll(() => pg.psql("DROP TABLE zz_broken", "zmanim"));

    it("leaves no snapshot (restic without --stdin-from-command: the run's snapshots are forgotten)", () => {
      const r = runScript("backup.sh", ["--no-check"], env);
      expect(r.stderr).toMatch(/invalid page in block 0/);
      expect(r.stderr).toContain("postgres.dump: 'pg_dump' failed");
      expect(r.stderr).toContain("stdin-from-command: no");
      expect(r.status).toBe(1);
      // restic did save the truncated stream before the cleanup removed it.
      expect(r.stdout).toMatch(/snapshot [0-9a-f]+ saved/);
      expect(snapshotIds(env)).toEqual(goodIds);
    });

    it("leaves no snapshot with --stdin-from-command (restic 0.17 semantics, emulated by a labelled wrapper)", () => {
      const wrapper = join(work, "restic-with-stdin-from-command");
      const log = join(work, "wrapper.log");
      // TEST WRAPPER: restic 0.14 lacks `backup --stdin-from-command`; this wrapper advertises it and
      // implements restic 0.17's contract (run the command, save its stdout, keep no snapshot if the
      // command fails) on top of the real restic, so that backup.sh's other branch runs for real.
      writeFileSync(
        wrapper,
        `#!/usr/bin/env bash
set -uo pipefail
echo "$*" >>"${log}"
args=("$@")
if [[ " $* " == *" backup "* && " $* " == *" --help "* ]]; then
  restic "$@"; echo "      --stdin-from-command   interpret arguments as command to execute and store its stdout"; exit 0
fi
[[ " $* " == *" --stdin-from-command "* ]] || exec restic "$@"
global=() opts=() cmd=() seen_backup=0 seen_dashdash=0
for a in "\${args[@]}"; do
  if [[ $seen_dashdash -eq 1 ]]; then cmd+=("$a")
  elif [[ $a == -- ]]; then seen_dashdash=1
  elif [[ $a == backup ]]; then seen_backup=1
  elif [[ $a == --stdin-from-command ]]; then :
  elif [[ $seen_backup -eq 0 ]]; then global+=("$a")
  else opts+=("$a"); fi
done
out=$(mktemp)
"\${cmd[@]}" | restic "\${global[@]}" backup --stdin "\${opts[@]}" | tee "$out"
st=("\${PIPESTATUS[@]}")
if [[ \${st[0]} -ne 0 ]]; then
  id=$(sed -n 's/^snapshot \\([0-9a-f]*\\) saved$/\\1/p' "$out")
  [[ -n $id ]] && restic "\${global[@]}" forget "$id" >/dev/null
  echo "Fatal: command failed: exit status \${st[0]}" >&2; rm -f "$out"; exit 1
fi
rm -f "$out"; exit "\${st[1]}"
`,
      );
      chmodSync(wrapper, 0o755);
      const r = runScript("backup.sh", ["--no-check"], { ...env, RESTIC: wrapper });
      expect(r.stderr).toContain("stdin-from-command: yes");
      expect(r.stderr).toMatch(/invalid page in block 0/);
      expect(r.status).toBe(1);
      expect(spawnSync("cat", [log], { encoding: "utf8" }).stdout).toMatch(
        /backup --stdin-from-command --stdin-filename postgres\.dump .* -- pg_dump/,
      );
      expect(snapshotIds(env)).toEqual(goodIds);
    });

    it("latest still restores the previous good backup", () => {
      const r = runScript("restore.sh", ["--postgres", "--target-db", "after_failure"], env);
      expect(r.status).toBe(0);
      expect(checksums(pg, "after_failure")).toEqual(sourceSums);
      expect(pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'zz_broken'", "after_failure")).toBe("0");
      expect(r.stdout).toContain(
        "pg_cron: NOT restored (this server runs pg_cron in database 'zmanim', not 'after_failure')",
      );
      pg.psql("DROP DATABASE after_failure");
    });
  });

  it("a Redis failure after PostgreSQL was saved removes the whole run", async () => {
    const before = snapshotIds(env);
    const r = runScript("backup.sh", ["--no-check"], { ...env, REDIS_PORT: String(await freePort()) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("redis.rdb: 'redis-cli' failed");
    expect(r.stderr).toMatch(/snapshots of run .* removed/);
    expect(snapshotIds(env)).toEqual(before);
  });

  it("an unreachable S3 endpoint gives a clear error and a non-zero exit", async () => {
    const port = await freePort();
    const r = runScript("backup.sh", [], {
      ...env,
      RESTIC_REPOSITORY: `s3:https://127.0.0.1:${port}/restic`,
      ZMANIM_RESTIC_TIMEOUT: "60",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("connection refused");
    expect(r.stderr).toContain(
      `the repository at RESTIC_REPOSITORY=s3:https://127.0.0.1:${port}/restic could not be used`,
    );
  });

  it("a wrong password gives exit 12 and says where the password comes from", () => {
    const r = runScript("backup.sh", [], { ...env, RESTIC_PASSWORD: "not-the-password" });
    expect(r.status).toBe(12);
    expect(r.stderr).toContain("wrong repository password");
    expect(r.stderr).toContain("RESTIC_PASSWORD");
  });

  it("a missing variable is named with its fix, before anything runs", () => {
    const r = runScript("backup.sh", [], { ...env, PGDATABASE: undefined });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("PGDATABASE is not set");
  });

  it("a concurrent run waits for the lock, or gives up cleanly with exit 11", async () => {
    const lock = env.ZMANIM_BACKUP_LOCK!;
    const holder: ChildProcess = spawn("flock", [lock, "sleep", "6"], { stdio: "ignore" });
    try {
      await waitFor(() => spawnSync("flock", ["-n", lock, "true"]).status !== 0, 10000, "the lock holder");
      const before = snapshotIds(env);
      const busy = runScript("backup.sh", ["--lock-wait", "1"], env);
      expect(busy.status).toBe(11);
      expect(busy.stderr).toContain("another backup run still holds");
      expect(snapshotIds(env)).toEqual(before);
      const waited = await runScriptAsync("backup.sh", ["--no-check"], env);
      expect(waited.stderr).toContain("waiting up to 3600 s");
      expect(waited.status).toBe(0);
    } finally {
      holder.kill();
    }
  });
});

describe("retention", () => {
  it("keeps exactly daily 7, weekly 4, monthly 3, per path, and only zmanim snapshots", () => {
    const renv = { ...env, ...s3.resticEnv("retention") };
    restic(renv, ["init"]);
    s3.useLowCostResticKey(renv.RESTIC_PASSWORD!, "retention");
    // As backup.sh makes them: every run has its own run:<id> tag, and snapshots from before March come
    // from a replaced instance with another hostname. Neither may split a path's history.
    let run = 0;
    const mk = (time: string, file = "postgres.dump", tags = "zmanim,postgres,complete") =>
      restic(
        renv,
        [
          "backup",
          "--stdin",
          "--stdin-filename",
          file,
          "--tag",
          `${tags},run:${++run}`,
          "--time",
          time,
          "--host",
          time < "2026-03" ? "ip-10-0-1-10-old" : "ip-10-0-1-10",
        ],
        `dump at ${time}`,
      );
    const pgTimes = [
      "2026-03-31 12:00:00",
      "2026-03-31 06:00:00",
      "2026-03-30 12:00:00",
      "2026-03-29 12:00:00",
      "2026-03-28 12:00:00",
      "2026-03-27 12:00:00",
      "2026-03-26 12:00:00",
      "2026-03-25 12:00:00",
      "2026-03-24 12:00:00",
      "2026-03-18 12:00:00",
      "2026-03-10 12:00:00",
      "2026-03-03 12:00:00",
      "2026-02-20 12:00:00",
      "2026-01-15 12:00:00",
      "2025-12-20 12:00:00",
      "2025-11-10 12:00:00",
    ];
    for (const t of pgTimes) mk(t);
    mk("2026-03-31 10:00:00", "redis.rdb", "zmanim,redis,complete"); // own history: kept although pg has a newer one that day
    mk("2025-11-11 12:00:00", "postgres.dump", "other-tool"); // not ours: never touched
    const r = runScript("backup.sh", ["--forget-only"], renv);
    expect(r.status).toBe(0);
    const left = snapshots(renv)
      .map((s) => `${s.paths[0]} ${s.time.slice(0, 16).replace("T", " ")}`)
      .sort();
    expect(left).toEqual([
      // daily 7: 03-31 (newest of that day), 03-30 ... 03-25; weekly 4 (ISO weeks 14, 13, 12, 11): adds 03-18, 03-10;
      // monthly 3 (Mar, Feb, Jan): adds 02-20, 01-15. Dropped: 03-31 06:00, 03-24, 03-03, 2025-12-20, 2025-11-10.
      "/postgres.dump 2025-11-11 12:00",
      "/postgres.dump 2026-01-15 12:00",
      "/postgres.dump 2026-02-20 12:00",
      "/postgres.dump 2026-03-10 12:00",
      "/postgres.dump 2026-03-18 12:00",
      "/postgres.dump 2026-03-25 12:00",
      "/postgres.dump 2026-03-26 12:00",
      "/postgres.dump 2026-03-27 12:00",
      "/postgres.dump 2026-03-28 12:00",
      "/postgres.dump 2026-03-29 12:00",
      "/postgres.dump 2026-03-30 12:00",
      "/postgres.dump 2026-03-31 12:00",
      "/redis.rdb 2026-03-31 10:00",
    ]);
  });
});
