/**
 * scripts/box/migrate-db against two real PostgreSQL clusters on loopback: the source (wal_level=logical, so
 * that replicate mode can run) plays Xata's endpoint, the target plays the box. Databases inside the
 * clusters are the separate "environments" of each scenario.
 */
import { spawn, spawnSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { startPostgres, PgCluster } from "../helpers/postgres";
import { freePort, waitFor } from "../helpers/ports";
import { expectStatus, MIGRATE_DB as TOOL, MigrateRun as Run, runMigrateDb } from "../helpers/migrate";

/** Passwords in the URLs: the clusters use trust auth, so they are never checked, but must never be printed. */
const PW = "S3cr3t-Pw_do-not-print";

/** The tool's temporary files and kept dumps go here (TMPDIR), removed in afterAll. */
let toolTmp = tmpdir();

function toolEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PGCONNECT_TIMEOUT: "5", TMPDIR: toolTmp };
}

function migrate(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Run {
  return runMigrateDb(args, { ...toolEnv(), ...(opts.env ?? {}) }, opts.timeoutMs);
}

function urlOf(pg: PgCluster, db: string): string {
  return `postgresql://postgres:${PW}@127.0.0.1:${pg.port}/${db}`;
}

/** Source seed: several schemas, PostGIS, foreign keys, a table without PK with duplicate rows,
 * advanced sequences, Xata-style metadata columns and Xata/pgroll internal schemas. */
const SEED = `
CREATE EXTENSION postgis;
-- Xata's internal schema, as the provider has it: its own implementations plus private state.
CREATE SCHEMA xata_private;
CREATE FUNCTION xata_private.xid() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT substr(md5(random()::text), 1, 20) $$;
CREATE FUNCTION xata_private.maintain_metadata_trigger_pgroll() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF TG_OP = 'UPDATE' THEN NEW.xata_updatedat := now(); NEW.xata_version := OLD.xata_version + 1; END IF; RETURN NEW; END $$;
CREATE TABLE xata_private.branch_state (k text PRIMARY KEY, v text);
INSERT INTO xata_private.branch_state VALUES ('branch', 'main');
CREATE SCHEMA pgroll;
CREATE TABLE pgroll.migrations (schema name NOT NULL, name text NOT NULL, migration jsonb, done boolean, PRIMARY KEY (schema, name));
INSERT INTO pgroll.migrations VALUES ('public', 'mig_cuvfbk5v5omnnkb7cnt0', '{}', true);

CREATE TABLE public.publishers (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  location geometry(Point, 4326),
  xata_id text NOT NULL DEFAULT ('rec_'::text || (xata_private.xid())::text),
  xata_version integer NOT NULL DEFAULT 0,
  xata_createdat timestamptz NOT NULL DEFAULT now(),
  xata_updatedat timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT publishers_xata_id_length CHECK (length(xata_id) < 256));
CREATE UNIQUE INDEX _pgroll_new_publishers_xata_id_key ON public.publishers (xata_id);
CREATE TRIGGER xata_maintain_metadata_trigger_pgroll BEFORE INSERT OR UPDATE ON public.publishers
  FOR EACH ROW EXECUTE FUNCTION xata_private.maintain_metadata_trigger_pgroll();
-- pgroll's version schema: views over the real tables.
CREATE SCHEMA public_mig_cuvfbk5v5omnnkb7cnt0;
CREATE VIEW public_mig_cuvfbk5v5omnnkb7cnt0.publishers AS SELECT * FROM public.publishers;

CREATE SCHEMA geo;
CREATE TABLE geo.locations (
  id bigserial PRIMARY KEY,
  publisher_id integer NOT NULL REFERENCES public.publishers (id),
  name text NOT NULL,
  boundary geometry(Polygon, 4326) NOT NULL,
  elevation_m double precision,
  tz text NOT NULL DEFAULT 'Asia/Jerusalem');
CREATE INDEX locations_boundary_gist ON geo.locations USING gist (boundary);

CREATE SCHEMA app;
CREATE TABLE app.zmanim_cache (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  location_id bigint NOT NULL REFERENCES geo.locations (id) ON DELETE CASCADE,
  day date NOT NULL,
  payload jsonb NOT NULL,
  computed_at timestamptz NOT NULL,
  UNIQUE (location_id, day));
CREATE SEQUENCE app.ticket_seq START 1000;
CREATE SEQUENCE app.never_used_seq;

CREATE SCHEMA audit;
CREATE TABLE audit.events (at timestamptz NOT NULL, kind text, detail jsonb, amount numeric(10,2), ratio float8, raw bytea);

INSERT INTO public.publishers (name, location)
  SELECT 'publisher ' || g, ST_SetSRID(ST_MakePoint(34.5 + g / 1000.0, 31.0 + g / 997.0), 4326) FROM generate_series(1, 120) g;
INSERT INTO geo.locations (publisher_id, name, boundary, elevation_m)
  SELECT 1 + g % 120, 'location ' || g,
         ST_SetSRID(ST_Buffer(ST_MakePoint(35.2137 + g / 10000.0, 31.7683 - g / 10000.0), 0.01, 4), 4326)::geometry(Polygon, 4326),
         CASE WHEN g % 7 = 0 THEN NULL ELSE 754.1234567 + g / 3.0 END
  FROM generate_series(1, 400) g;
INSERT INTO app.zmanim_cache (location_id, day, payload, computed_at)
  SELECT 1 + g % 400, date '2026-12-01' + (g / 400), jsonb_build_object('sunrise', '06:' || lpad((g % 60)::text, 2, '0'), 'n', g),
         timestamptz '2026-11-01 10:00:00+02' + g * interval '1 minute'
  FROM generate_series(1, 2000) g;
INSERT INTO audit.events SELECT timestamptz '2026-11-20 00:00:00+00' + g * interval '1 hour', 'kind-' || (g % 5), jsonb_build_object('g', g), g * 1.25, g / 7.0, decode(md5(g::text), 'hex')
  FROM generate_series(1, 150) g;
-- Duplicate rows in the table without a primary key.
INSERT INTO audit.events SELECT * FROM audit.events WHERE kind = 'kind-1';
SELECT setval('app.ticket_seq', 4242);
SELECT nextval('app.ticket_seq');
`;

describe("migrate-db (dump mode, verification, preflight, rollback direction)", () => {
  let src: PgCluster;
  let tgt: PgCluster;
  let work: string;

  beforeAll(async () => {
    src = await startPostgres({ conf: { wal_level: "logical", max_replication_slots: 10, max_wal_senders: 10 } });
    // The logical replication launcher starts at most one worker per wal_retrieve_retry_interval (5 s by
    // default); the target subscribes several times in a few seconds.
    tgt = await startPostgres({ conf: { wal_retrieve_retry_interval: "'200ms'" } });
    work = mkdtempSync(join(tmpdir(), "zmanim-migrate-test-"));
    toolTmp = join(work, "tool-tmp");
    mkdirSync(toolTmp);
    src.psql("CREATE DATABASE xata");
    src.psql(SEED, "xata");
    for (const db of ["box", "back", "failing", "killed", "nonempty", "unconfirmed"]) tgt.psql(`CREATE DATABASE ${db}`);
  }, 120000);

  afterAll(() => {
    src?.stop();
    tgt?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("documents every option in --help", () => {
    const r = migrate(["--help"]);
    expect(r.status).toBe(0);
    const script = readFileSync(TOOL, "utf8");
    // Every label of the option parser's case statement (e.g. `--yes|-y)`) appears in the help text.
    const labels = [...script.matchAll(/^ {4}((?:-{1,2}[a-z-]+\|?)+)\)/gm)]
      .flatMap((m) => m[1].split("|"))
      .filter((o) => o.startsWith("-"));
    expect(labels).toEqual(expect.arrayContaining(["--source", "--yes", "-y", "--dry-run", "--report", "--cutover"]));
    expect(labels.length).toBeGreaterThan(20);
    for (const opt of labels) expect(r.stdout).toMatch(new RegExp(`(^|[\\s,])${opt}\\b`, "m"));
  });

  it("copies everything but the provider-internal schemas and verifies green", () => {
    const report = join(work, "migrate.json");
    const r = migrate([
      "--source",
      urlOf(src, "xata"),
      "--target",
      urlOf(tgt, "box"),
      "--jobs",
      "3",
      "--yes",
      "--report",
      report,
    ]);
    expect(r.out).not.toContain(PW);
    expect(r.status).toBe(0);
    // per-table progress and the verification table
    expect(r.stdout).toMatch(/copying geo\.locations/);
    expect(r.stdout).toMatch(/audit\.events\s+180\s+180\s+same/);
    expect(r.stdout).toContain("verification passed");

    const rep = JSON.parse(readFileSync(report, "utf8"));
    expect(readFileSync(report, "utf8")).not.toContain(PW);
    expect(rep.result).toBe("ok");
    expect(rep.schemas.copied).toEqual(["app", "audit", "geo", "public"]);
    expect(rep.schemas.excluded).toEqual(
      expect.arrayContaining(["pgroll", "xata_private", "public_mig_cuvfbk5v5omnnkb7cnt0"]),
    );
    const tables = Object.fromEntries(rep.verification.tables.map((t: any) => [`${t.schema}.${t.table}`, t]));
    expect(Object.keys(tables).sort()).toEqual([
      "app.zmanim_cache",
      "audit.events",
      "geo.locations",
      "public.publishers",
    ]);
    expect(tables["geo.locations"]).toMatchObject({ source_rows: 400, target_rows: 400, status: "ok" });
    expect(tables["app.zmanim_cache"]).toMatchObject({
      source_constraints: 3,
      target_constraints: 3,
      source_indexes: 2,
      target_indexes: 2,
    });
    const seqs = Object.fromEntries(rep.verification.sequences.map((s: any) => [`${s.schema}.${s.sequence}`, s]));
    expect(seqs["app.ticket_seq"]).toMatchObject({ source_last_value: 4243, target_last_value: 4243, status: "ok" });
    expect(seqs["app.never_used_seq"]).toMatchObject({ source_is_called: "f", target_is_called: "f" });
    expect(rep.verification.extensions.map((e: any) => e.name)).toEqual(["postgis"]);

    // What arrived, checked independently of the tool.
    expect(tgt.psql("SELECT count(*) FROM audit.events", "box")).toBe("180");
    expect(tgt.psql("SELECT ST_AsText(location) FROM public.publishers WHERE id = 3", "box")).toBe(
      src.psql("SELECT ST_AsText(location) FROM public.publishers WHERE id = 3", "xata"),
    );
    expect(tgt.psql("SELECT nextval('public.publishers_id_seq')", "box")).toBe("121");
    expect(tgt.psql("SELECT count(*) FROM pg_constraint WHERE contype = 'f'", "box")).toBe("2");
    // Provider internals are absent; the xata_* columns are kept; the compatibility functions exist.
    expect(
      tgt.psql(
        "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('pgroll', 'public_mig_cuvfbk5v5omnnkb7cnt0', 'xata')",
        "box",
      ),
    ).toBe("");
    expect(tgt.psql("SELECT to_regclass('xata_private.branch_state') IS NULL", "box")).toBe("t");
    expect(
      tgt.psql(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'publishers' AND column_name LIKE 'xata_%'",
        "box",
      ),
    ).toBe("4");
    expect(tgt.psql("SELECT xata_id FROM public.publishers WHERE id = 5", "box")).toBe(
      src.psql("SELECT xata_id FROM public.publishers WHERE id = 5", "xata"),
    );
    const newId = tgt.psql(
      "WITH i AS (INSERT INTO public.publishers (name) VALUES ('new on aws') RETURNING xata_id) SELECT xata_id FROM i",
      "box",
    );
    expect(newId).toMatch(/^rec_[0-9a-v]{20}$/);
    tgt.psql("UPDATE public.publishers SET name = 'renamed on aws' WHERE name = 'new on aws'", "box");
    expect(tgt.psql("SELECT xata_version FROM public.publishers WHERE name = 'renamed on aws'", "box")).toBe("1");
    tgt.psql("DELETE FROM public.publishers WHERE name = 'renamed on aws'", "box");
    tgt.psql("SELECT setval('public.publishers_id_seq', 120)", "box");
    // The marker says complete.
    expect(tgt.psql("SELECT state FROM zmanim_migration.status ORDER BY started_at DESC LIMIT 1", "box")).toBe(
      "complete",
    );
  });

  it("runs as a non-superuser database owner, like the zmanim role on the box", () => {
    tgt.psql("CREATE ROLE app LOGIN");
    tgt.psql("CREATE DATABASE owned OWNER app");
    const asApp = `postgresql://app:${PW}@127.0.0.1:${tgt.port}/owned`;
    // PostGIS is not a trusted extension: preflight names it and the command that fixes it.
    const r = migrate(["--source", urlOf(src, "xata"), "--target", asApp, "--yes"]);
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(
      /\[FAIL\] extension rights +target role app may not create postgis .*sudo -u postgres psql -d owned -c 'CREATE EXTENSION postgis'/,
    );
    expect(r.stdout).toMatch(/\[warn\] disk headroom +.*free space unknown/);
    tgt.psql("CREATE EXTENSION postgis", "owned");
    // The empty data of the extension table spatial_ref_sys (owned by the superuser) is not restored.
    const r2 = migrate(["--source", urlOf(src, "xata"), "--target", asApp, "--yes"]);
    expectStatus(r2, 0);
    expect(r2.stdout).toContain("skipping public.spatial_ref_sys: extension table, no user rows in the dump");
    expect(
      tgt.psql(
        "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname IN ('app', 'audit', 'geo', 'zmanim_migration') OR tablename = 'publishers'",
        "owned",
      ),
    ).toBe("app");
  });

  it("verifies independently of physical row order", () => {
    // Rewrite every tuple (new physical positions) without changing content.
    tgt.psql("UPDATE audit.events SET kind = kind; UPDATE geo.locations SET name = name", "box");
    tgt.psql("VACUUM FULL app.zmanim_cache", "box");
    const r = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "box"), "--verify-only"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("verification passed");
  });

  it("works in the reverse direction (rollback): box -> fresh database, and back equals the original", () => {
    const r = migrate(["--source", urlOf(tgt, "box"), "--target", urlOf(tgt, "back"), "--yes"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("verification passed");
    // The box's xata_private holds only compatibility functions; they are provided again, not copied.
    expect(r.stdout).toMatch(/\[ok {2}\] references .*xata_private\.xid\(\)/);
    // Original source vs. the round-tripped copy.
    const v = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "back"), "--verify-only"]);
    expect(v.status).toBe(0);
  });

  it("catches and names a tampered row on the target, and a lost duplicate in the table without a primary key", () => {
    tgt.psql("UPDATE geo.locations SET boundary = ST_Translate(boundary, 0.000001, 0) WHERE id = 7", "box");
    const report = join(work, "tampered.json");
    const r = migrate([
      "--source",
      urlOf(src, "xata"),
      "--target",
      urlOf(tgt, "box"),
      "--verify-only",
      "--report",
      report,
    ]);
    expect(r.status).toBe(4);
    expect(r.stdout).toMatch(/geo\.locations\s+400\s+400\s+DIFFERS.*MISMATCH: content checksum differs/);
    expect(r.stderr).toContain("verification FAILED: 1 mismatch(es): geo.locations");
    const rep = JSON.parse(readFileSync(report, "utf8"));
    expect(rep.result).toBe("failed");
    expect(rep.verification.tables.filter((t: any) => t.status === "MISMATCH").map((t: any) => t.table)).toEqual([
      "locations",
    ]);

    // One of two identical rows removed: a multiset difference, caught by the row count and checksum.
    tgt.psql(
      "DELETE FROM audit.events WHERE ctid = (SELECT min(ctid) FROM audit.events WHERE kind = 'kind-1' AND amount = 1.25)",
      "box",
    );
    const r2 = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "box"), "--verify-only"]);
    expect(r2.status).toBe(4);
    expect(r2.stdout).toMatch(/audit\.events\s+180\s+179\s+DIFFERS.*row count 180 vs 179/);
    expect(r2.stderr).toMatch(/mismatch\(es\): audit\.events geo\.locations/);
    // A sequence that moved on the target is named too.
    tgt.psql("SELECT setval('app.ticket_seq', 5000)", "box");
    const r3 = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "box"), "--verify-only"]);
    expect(r3.stderr).toContain("sequence app.ticket_seq");
  });

  it("copies only the schemas selected with --include-schema/--exclude-schema (globs)", () => {
    tgt.psql("CREATE DATABASE partial");
    const bad = migrate([
      "--source",
      urlOf(src, "xata"),
      "--target",
      urlOf(tgt, "partial"),
      "--include-schema",
      "nosuch*",
      "--yes",
    ]);
    expect(bad.status).toBe(3);
    expect(bad.stdout).toContain("--include-schema 'nosuch*' matches no copyable schema on the source");
    const r = migrate([
      "--source",
      urlOf(src, "xata"),
      "--target",
      urlOf(tgt, "partial"),
      "--include-schema",
      "ge?",
      "--include-schema",
      "p*",
      "--exclude-schema",
      "public_*",
      "--yes",
    ]);
    expectStatus(r, 0);
    expect(r.stdout).toMatch(
      /\[ok {2}\] schemas +copy: geo public; excluded: app audit pgroll public_mig_cuvfbk5v5omnnkb7cnt0 xata_private/,
    );
    expect(
      tgt.psql(
        "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('app', 'audit', 'geo', 'public', 'pgroll')",
        "partial",
      ),
    ).toBe("geo,public");
    expect(tgt.psql("SELECT count(*) FROM geo.locations", "partial")).toBe("400");
  });

  it("refuses a non-empty target, and writes nothing without confirmation", () => {
    tgt.psql("CREATE SCHEMA geo; CREATE TABLE geo.locations (id int)", "nonempty");
    const r = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "nonempty"), "--yes"]);
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/\[FAIL\] target empty .*1 relations in app audit geo public.*--allow-nonempty/);
    expect(tgt.psql("SELECT to_regnamespace('zmanim_migration') IS NULL", "nonempty")).toBe("t");

    // stdin is not a terminal and --yes is missing
    const r2 = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "unconfirmed")]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toContain("stdin is not a terminal; pass --yes");
    expect(
      tgt.psql(
        "SELECT count(*) FROM pg_namespace WHERE nspname IN ('zmanim_migration', 'geo', 'app', 'audit')",
        "unconfirmed",
      ),
    ).toBe("0");
  });

  it("rejects a bad URL with a clear, masked error and exits before writing", async () => {
    const deadPort = await freePort();
    const r = migrate([
      "--source",
      `postgresql://postgres:${PW}@127.0.0.1:${deadPort}/xata`,
      "--target",
      urlOf(tgt, "back"),
      "--yes",
    ]);
    expect(r.status).toBe(3);
    expect(r.out).not.toContain(PW);
    expect(r.stdout).toContain(
      `[FAIL] connect source         cannot connect to the source postgresql://postgres:***@127.0.0.1:${deadPort}/xata`,
    );
    expect(r.stdout).toMatch(/Connection refused/);

    const r2 = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "no_such_db"), "--yes"]);
    expect(r2.status).toBe(3);
    expect(r2.stdout).toMatch(/cannot connect to the target .*no_such_db.*database "no_such_db" does not exist/);

    const r3 = migrate(["--source", `mysql://root:${PW}@db/x`, "--target", urlOf(tgt, "back")]);
    expect(r3.status).toBe(2);
    expect(r3.stderr).toContain("--source is not a postgresql:// URL");
    expect(r3.out).not.toContain(PW);

    const r4 = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "back"), "--jobs", "zero"]);
    expect(r4.status).toBe(2);
    expect(r4.stderr).toContain("--jobs 'zero' is not valid");

    for (const poll of ["0", "0.0", "61", "1.", "soon"]) {
      const r5 = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "back"), "--poll", poll]);
      expect(r5.status).toBe(2);
      expect(r5.stderr).toContain(`--poll '${poll}' is not valid; use seconds greater than 0 and at most 60`);
    }
  });

  it("passes percent-encoded passwords to libpq intact and never prints them", async () => {
    // A cluster that really checks passwords (scram), with a password full of URL-special characters.
    const secret = "p@ss w%rd:/?#&=x+y\\n";
    // (The password is set while the harness's default trust rules apply; then TCP switches to scram.)
    const auth = await startPostgres({ superuserPassword: secret });
    try {
      writeFileSync(
        join(auth.dataDir, "pg_hba.conf"),
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
      );
      auth.psql("SELECT pg_reload_conf()");
      auth.psql("CREATE DATABASE a");
      auth.psql("CREATE DATABASE b");
      const enc = encodeURIComponent(secret);
      const url = (db: string, pw: string) => `postgresql://postgres:${pw}@127.0.0.1:${auth.port}/${db}`;
      const ok = migrate(["--preflight-only", "--source", url("a", enc), "--target", url("b", enc)]);
      expectStatus(ok, 0);
      const wrong = migrate(["--preflight-only", "--source", url("a", enc), "--target", url("b", "not-it")]);
      expect(wrong.status).toBe(3);
      expect(wrong.stdout).toMatch(
        /cannot connect to the target postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/b: .*password authentication failed/,
      );
      for (const r of [ok, wrong]) {
        expect(r.out).not.toContain(secret);
        expect(r.out).not.toContain(enc);
        expect(r.out).not.toContain("not-it");
      }
    } finally {
      auth.stop();
    }
  }, 60000);

  it("leaves the target marked incomplete when the restore fails midway", () => {
    // A server-side fault on the target: as soon as app.zmanim_cache is created, it gets a constraint
    // that rejects every row, so pg_restore fails in the middle of the data phase.
    tgt.psql(
      `
      CREATE FUNCTION public.inject_fault() RETURNS event_trigger LANGUAGE plpgsql AS $$
      DECLARE r record;
      BEGIN
        FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' AND object_identity = 'app.zmanim_cache' LOOP
          EXECUTE 'ALTER TABLE app.zmanim_cache ADD CONSTRAINT injected_fault CHECK (false) NOT VALID';
        END LOOP;
      END $$;
      CREATE EVENT TRIGGER inject_fault ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION public.inject_fault();`,
      "failing",
    );
    const report = join(work, "failing.json");
    const r = migrate([
      "--source",
      urlOf(src, "xata"),
      "--target",
      urlOf(tgt, "failing"),
      "--yes",
      "--jobs",
      "2",
      "--report",
      report,
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/pg_restore failed: .*injected_fault/);
    expect(r.stderr).toContain("the target is marked INCOMPLETE");
    expect(
      tgt.psql(
        "SELECT state || ' ' || (message LIKE 'failed in phase restore%')::text FROM zmanim_migration.status",
        "failing",
      ),
    ).toBe("incomplete true");
    const rep = JSON.parse(readFileSync(report, "utf8"));
    expect(rep).toMatchObject({
      result: "failed",
      failed_phase: "restore",
      target_marked_incomplete: true,
      exit_code: 1,
    });
    // The dump of a failed run is kept for the analysis, and said so.
    const kept = r.stderr.match(/dump kept in (\S+)/);
    expect(kept && existsSync(join(kept[1], "toc.dat"))).toBe(true);
    expect(readdirSync(toolTmp)).toContain(kept![1].split("/").pop());
    // The half copy doesn't pass verification, and a plain rerun refuses the target.
    const v = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "failing"), "--verify-only"]);
    expect(v.status).toBe(4);
    const again = migrate(["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "failing"), "--yes"]);
    expect(again.status).toBe(3);
    expect(again.stdout).toMatch(/a previous run marked "incomplete"/);
  });

  it("leaves the target marked incomplete when the operator's session dies mid-restore (kill -9)", async () => {
    // The restore blocks on the target (an event trigger sleeps when app.zmanim_cache is created) while
    // the tool and its pg_restore are killed with SIGKILL: no exit handler runs, so only the marker row
    // written before the first restore statement tells the truth.
    tgt.psql(
      `
      CREATE FUNCTION public.stall() RETURNS event_trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE object_identity = 'app.zmanim_cache') THEN PERFORM pg_sleep(60); END IF;
      END $$;
      CREATE EVENT TRIGGER stall ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION public.stall();`,
      "killed",
    );
    const child = spawn(
      TOOL,
      ["--source", urlOf(src, "xata"), "--target", urlOf(tgt, "killed"), "--yes", "--jobs", "2"],
      {
        detached: true,
        stdio: "ignore",
        env: toolEnv(),
      },
    );
    const exited = new Promise((r) => child.on("close", r));
    try {
      await waitFor(
        () =>
          tgt.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'killed' AND wait_event = 'PgSleep'") === "1",
        60000,
        "the restore to stall",
      );
      process.kill(-child.pid!, "SIGKILL");
      await exited;
    } finally {
      tgt.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'killed' AND pid <> pg_backend_pid()",
      );
    }
    expect(tgt.psql("SELECT state || ' ' || message FROM zmanim_migration.status", "killed")).toBe(
      "incomplete copy in progress",
    );
    // Half a copy is there (schemas and extensions were created before the kill); the marker says so.
    expect(
      tgt.psql(
        "SELECT (to_regnamespace('geo') IS NOT NULL)::text || ' ' || (SELECT count(*) FROM pg_extension WHERE extname = 'postgis')",
        "killed",
      ),
    ).toBe("true 1");
  }, 90000);

  describe("replicate mode (logical replication, near-zero write downtime)", () => {
    beforeAll(() => {
      src.psql("CREATE DATABASE live");
      src.psql(SEED, "live");
      tgt.psql("CREATE DATABASE replica");
      tgt.psql("CREATE DATABASE replica2");
      src.psql("CREATE DATABASE replica_on_src");
    }, 60000);

    it("says when the source does not allow it (wal_level) and points to dump mode", () => {
      const r = migrate([
        "--mode",
        "replicate",
        "--preflight-only",
        "--source",
        urlOf(tgt, "box"),
        "--target",
        urlOf(src, "replica_on_src"),
      ]);
      expect(r.status).toBe(3);
      expect(r.stdout).toMatch(/\[FAIL\] replication +source wal_level=replica; .*use --mode dump/);
    });

    it("refuses tables whose updates could not be published", () => {
      const r = migrate([
        "--mode",
        "replicate",
        "--source",
        urlOf(src, "live"),
        "--target",
        urlOf(tgt, "replica"),
        "--yes",
      ]);
      expect(r.status).toBe(3);
      expect(r.stdout).toMatch(
        /\[FAIL\] replica identity +tables without a primary key or replica identity .*: audit\.events;/,
      );
      expect(
        tgt.psql("SELECT count(*) FROM pg_namespace WHERE nspname IN ('zmanim_migration', 'geo')", "replica"),
      ).toBe("0");
      expect(src.psql("SELECT count(*) FROM pg_publication", "live")).toBe("0");
    });

    it("replicates, keeps streaming writes, cuts over with synced sequences and detaches", () => {
      src.psql("ALTER TABLE audit.events REPLICA IDENTITY FULL", "live");
      const base = [
        "--mode",
        "replicate",
        "--source",
        urlOf(src, "live"),
        "--target",
        urlOf(tgt, "replica"),
        "--timeout",
        "120",
        "--poll",
        "0.2",
      ];
      const start = migrate([...base, "--yes"]);
      expect(start.out).not.toContain(PW);
      expect(start.status).toBe(0);
      expect(start.stdout).toContain("initial sync finished: all tables streaming");
      expect(start.stdout).toContain("replication running");
      expect(tgt.psql("SELECT count(*) FROM geo.locations", "replica")).toBe("400");
      expect(tgt.psql("SELECT state FROM zmanim_migration.status", "replica")).toBe("incomplete");

      // Writes on the source while replication runs.
      src.psql(
        `
        INSERT INTO public.publishers (name) SELECT 'late publisher ' || g FROM generate_series(1, 5) g;
        UPDATE geo.locations SET name = 'renamed during replication', boundary = ST_Translate(boundary, 0.5, 0) WHERE id = 11;
        DELETE FROM app.zmanim_cache WHERE location_id = 12;
        INSERT INTO audit.events SELECT * FROM audit.events WHERE kind = 'kind-2';
        DELETE FROM audit.events WHERE ctid = (SELECT min(ctid) FROM audit.events WHERE kind = 'kind-3');
        SELECT nextval('app.ticket_seq') FROM generate_series(1, 3);`,
        "live",
      );

      const status = migrate([...base, "--status"]);
      expect(status.status).toBe(0);
      expect(status.stdout).toMatch(
        /slot zmanim_migration: active=t, confirmed_flush_lsn=[0-9A-F]+\/[0-9A-F]+, lag=\d+ bytes/,
      );
      expect(status.stdout).toContain("table geo.locations: ready (streaming)");

      // The write freeze, enforced in the source database: the app can no longer write, the tool still can
      // drop its publication and slot.
      src.psql("ALTER DATABASE live SET default_transaction_read_only = on");
      expect(() => src.psql("INSERT INTO public.publishers (name) VALUES ('during freeze')", "live")).toThrow(
        /read-only transaction/,
      );
      const report = join(work, "cutover.json");
      // A narrower filter at cutover doesn't narrow the verification: the marker's schema list wins.
      const cut = migrate([...base, "--cutover", "--include-schema", "geo", "--yes", "--report", report]);
      expectStatus(cut, 0);
      expect(cut.stdout).toContain("zero lag");
      expect(cut.stdout).toContain("sequences copied: 4");
      expect(cut.stdout).toMatch(/audit\.events\s+209\s+209\s+same/);
      expect(cut.stdout).toContain("detached: subscription, slot and publication dropped");
      expect(JSON.parse(readFileSync(report, "utf8"))).toMatchObject({
        result: "ok",
        mode: "replicate",
        action: "cutover",
      });

      expect(tgt.psql("SELECT name FROM geo.locations WHERE id = 11", "replica")).toBe("renamed during replication");
      expect(tgt.psql("SELECT count(*) FROM app.zmanim_cache WHERE location_id = 12", "replica")).toBe("0");
      // Sequences: the next value on the box continues after the source's.
      expect(tgt.psql("SELECT nextval('public.publishers_id_seq')", "replica")).toBe("126");
      expect(tgt.psql("SELECT last_value FROM app.ticket_seq", "replica")).toBe("4246");
      expect(tgt.psql("SELECT count(*) FROM pg_subscription", "replica")).toBe("0");
      expect(src.psql("SELECT count(*) FROM pg_replication_slots")).toBe("0");
      expect(src.psql("SELECT count(*) FROM pg_publication", "live")).toBe("0");
      expect(tgt.psql("SELECT state FROM zmanim_migration.status", "replica")).toBe("complete");
      src.psql("ALTER DATABASE live RESET default_transaction_read_only");
    });

    it("aborts cleanly: subscription, slot and publication gone, target still marked incomplete", () => {
      const base = [
        "--mode",
        "replicate",
        "--source",
        urlOf(src, "live"),
        "--target",
        urlOf(tgt, "replica2"),
        "--timeout",
        "120",
        "--poll",
        "0.2",
        "--yes",
      ];
      const started = migrate(base);
      expectStatus(started, 0);
      expect(src.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'zmanim_migration'")).toBe("1");
      const r = migrate([...base, "--abort"]);
      expect(r.status).toBe(0);
      expect(src.psql("SELECT count(*) FROM pg_replication_slots")).toBe("0");
      expect(src.psql("SELECT count(*) FROM pg_publication", "live")).toBe("0");
      expect(tgt.psql("SELECT count(*) FROM pg_subscription", "replica2")).toBe("0");
      expect(tgt.psql("SELECT state FROM zmanim_migration.status", "replica2")).toBe("incomplete");
    });
  });

  describe("an extension that the target cannot provide", () => {
    // Both clusters share one extension directory. The test installs a tiny extension there, creates it in
    // a source database, and removes the files again: the source catalog still uses it, while the
    // target's pg_available_extensions (which reads the directory) no longer offers it.
    const sharedir = spawnSync("pg_config", ["--sharedir"], { encoding: "utf8" }).stdout.trim();
    const control = join(sharedir, "extension", "zmanim_test_only.control");
    const script = join(sharedir, "extension", "zmanim_test_only--1.0.sql");
    const removeFiles = () => {
      for (const f of [control, script]) if (existsSync(f)) unlinkSync(f);
    };
    afterAll(removeFiles);

    it("is caught by preflight, and nothing is written to the target", () => {
      writeFileSync(control, "comment = 'test only'\ndefault_version = '1.0'\nrelocatable = true\n");
      writeFileSync(script, "CREATE FUNCTION zmanim_test_only_answer() RETURNS int LANGUAGE sql AS 'SELECT 42';\n");
      try {
        src.psql("CREATE DATABASE withext");
        src.psql(
          "CREATE EXTENSION zmanim_test_only; CREATE TABLE public.t (id int PRIMARY KEY, v int DEFAULT zmanim_test_only_answer()); INSERT INTO public.t VALUES (1)",
          "withext",
        );
      } finally {
        removeFiles();
      }
      tgt.psql("CREATE DATABASE noext");
      expect(tgt.psql("SELECT count(*) FROM pg_available_extensions WHERE name = 'zmanim_test_only'", "noext")).toBe(
        "0",
      );
      const report = join(work, "noext.json");
      const r = migrate([
        "--source",
        urlOf(src, "withext"),
        "--target",
        urlOf(tgt, "noext"),
        "--yes",
        "--report",
        report,
      ]);
      expect(r.status).toBe(3);
      const rep = JSON.parse(readFileSync(report, "utf8"));
      expect(rep).toMatchObject({
        result: "failed",
        failed_phase: "preflight",
        exit_code: 3,
        target_marked_incomplete: false,
      });
      expect(rep.preflight.find((c: any) => c.check === "extensions")).toMatchObject({ status: "fail" });
      expect(r.stdout).toMatch(
        /\[FAIL\] extensions +used on the source but not available on the target: zmanim_test_only/,
      );
      expect(r.stderr).toContain("nothing was written to the target");
      expect(tgt.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'zmanim_migration'", "noext")).toBe("0");
      expect(tgt.psql("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace", "noext")).toBe("0");
    });
  });
});
