/**
 * Shared plumbing of the backup/restore integration tests: run the scripts with a controlled environment,
 * list restic snapshots, build the PostGIS dataset and compare checksums.
 */
import { spawn, spawnSync } from "child_process";
import { resolve } from "path";
import type { PgCluster } from "./postgres";
import type { RedisServer } from "./redis";
import type { S3Server } from "./s3";

export const scriptsDir = resolve(__dirname, "..", "..", "scripts", "box");

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for the scripts: nothing from /etc/restic/env, TZ pinned, plus `extra`. */
export function scriptEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TZ: "UTC", ZMANIM_RESTIC_ENV_FILE: "/nonexistent/restic.env" };
  for (const k of [
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDISCLI_AUTH",
    "RESTIC_REPOSITORY",
    "RESTIC_PASSWORD",
    "RESTIC_PASSWORD_FILE",
    "RESTIC_CACERT",
  ]) {
    delete env[k];
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * The environment backup.sh and restore.sh get in the tests: a restic repository on the S3 server, the
 * PostgreSQL `zmanim` database, Redis, and a lock file in `work`; `extra` adds or overrides.
 */
export function backupScriptEnv(
  s3: S3Server,
  pg: PgCluster,
  redis: RedisServer,
  lockFile: string,
  extra: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  return scriptEnv({
    ...s3.resticEnv("restic"),
    RESTIC_PASSWORD: "repo-secret",
    ...pg.env,
    PGDATABASE: "zmanim",
    ...redis.env,
    ZMANIM_BACKUP_LOCK: lockFile,
    ...extra,
  });
}

export function runScript(name: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300000): RunResult {
  const r = spawnSync("bash", [resolve(scriptsDir, name), ...args], {
    env,
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

export function runScriptAsync(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((res) => {
    const child = spawn("bash", [resolve(scriptsDir, name), ...args], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (status) => res({ status, stdout, stderr }));
  });
}

export interface Snapshot {
  id: string;
  short_id: string;
  time: string;
  paths: string[];
  tags?: string[];
}

export function restic(env: NodeJS.ProcessEnv, args: string[], input?: string): string {
  const ca = env.RESTIC_CACERT ? ["--cacert", env.RESTIC_CACERT] : [];
  const r = spawnSync("restic", [...ca, ...args], { env, encoding: "utf8", input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`restic ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export function snapshots(env: NodeJS.ProcessEnv, ...filter: string[]): Snapshot[] {
  return (JSON.parse(restic(env, ["snapshots", "--json", ...filter])) as Snapshot[] | null) ?? [];
}

/** The ids of all snapshots, sorted (to compare "nothing new" across a failed run). */
export function snapshotIds(env: NodeJS.ProcessEnv): string[] {
  return snapshots(env)
    .map((s) => s.id)
    .sort();
}

/** The application role and database: PostGIS points and polygons, a quoted name, inheritance, pg_cron. */
export function createDataset(pg: PgCluster, rows: number): void {
  pg.psql("CREATE ROLE zmanim LOGIN PASSWORD 'app-secret'");
  pg.psql("CREATE DATABASE zmanim OWNER zmanim");
  pg.psql(
    `
    CREATE EXTENSION postgis;
    CREATE EXTENSION pg_cron;
    SET ROLE zmanim;
    CREATE TABLE locations (id bigint PRIMARY KEY, name text NOT NULL, tz text NOT NULL,
      geom geometry(Point, 4326) NOT NULL, area geometry(Polygon, 4326) NOT NULL);
    INSERT INTO locations
      SELECT i, 'shul ' || i || E' \\t "quoted" line\\nbreak', CASE WHEN i % 3 = 0 THEN 'Asia/Jerusalem' ELSE 'America/New_York' END,
             ST_SetSRID(ST_MakePoint(-74 + (i % 1000) / 1000.0, 40 + (i / 1000) / 1000.0), 4326),
             ST_Buffer(ST_SetSRID(ST_MakePoint(35 + (i % 500) / 500.0, 31 + (i / 500) / 5000.0), 4326), 0.001, 2)
      FROM generate_series(1, ${rows}) AS i;
    CREATE INDEX locations_geom ON locations USING gist (geom);
    CREATE TABLE "MinyanTimes" (id serial PRIMARY KEY, location_id bigint REFERENCES locations, at time NOT NULL);
    INSERT INTO "MinyanTimes" (location_id, at) SELECT i, time '06:30' + (i % 60) * interval '1 minute' FROM generate_series(1, 2000) AS i;
    CREATE TABLE events (id bigint, kind text);
    CREATE TABLE events_2026 () INHERITS (events);
    INSERT INTO events VALUES (1, 'parent'), (2, 'parent');
    INSERT INTO events_2026 VALUES (3, 'child'), (4, 'child'), (5, 'child');
    RESET ROLE;
    SELECT cron.schedule('nightly-refresh', '0 2 * * *', 'SELECT 1');
  `,
    "zmanim",
  );
}

/** Checksums of every table's content, PostGIS geometries as EWKB, in a stable order. */
export function checksums(pg: PgCluster, db = "zmanim"): Record<string, string> {
  return {
    locations: pg.psql(
      "SELECT count(*) || ':' || md5(string_agg(id || '|' || name || '|' || tz, ',' ORDER BY id)) FROM locations",
      db,
    ),
    geometries: pg.psql(
      "SELECT md5(string_agg(encode(ST_AsEWKB(geom), 'hex') || encode(ST_AsEWKB(area), 'hex'), ',' ORDER BY id)) FROM locations",
      db,
    ),
    minyan: pg.psql(`SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM "MinyanTimes" t`, db),
    events: pg.psql("SELECT count(*) || ':' || md5(string_agg(e::text, ',' ORDER BY id)) FROM ONLY events e", db),
    events2026: pg.psql("SELECT count(*) || ':' || md5(string_agg(e::text, ',' ORDER BY id)) FROM events_2026 e", db),
    gistIndex: pg.psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'locations_geom'", db),
    owner: pg.psql("SELECT tableowner FROM pg_tables WHERE tablename = 'locations'", db),
  };
}

/** Parses restic's "Added to the repository: 1.5 MiB (700 KiB stored)" lines; returns the stored bytes. */
export function storedBytes(output: string): number {
  const unit: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
  let total = 0;
  for (const m of output.matchAll(/Added to the repository: [\d.]+ \w+ \(([\d.]+) (B|KiB|MiB|GiB) stored\)/g)) {
    total += Number(m[1]) * unit[m[2]];
  }
  return total;
}
