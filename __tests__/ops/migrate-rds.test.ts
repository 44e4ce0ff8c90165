/**
 * The scale-out move of docs/runbooks/scale-out.md, end to end on two local clusters: "box" (PostGIS and
 * pg_cron in the zmanim database, as on the AMI) and "rds", a cluster held to what Amazon RDS allows.
 * Writes run during the initial sync and the streaming; the cutover verifies table by table; then the
 * rollback goes RDS -> box with the same tool.
 *
 * The model of RDS on this machine's PostgreSQL 15 (the RDS User Guide's "Understanding the rds_superuser
 * role" lists what the master user may do):
 * - the master user `zmanim_master` is what RDS creates (stacks/data.ts): LOGIN NOSUPERUSER CREATEDB
 *   CREATEROLE NOREPLICATION, plus pg_monitor and pg_signal_backend, and the owner of the database `zmanim`
 *   that RDS creates (db_name). It creates the `zmanim` role and hands the database over, as the runbook does.
 * - `zmanim`, the owner of the copy, is not a superuser and has none of pg_read_server_files,
 *   pg_write_server_files or pg_execute_server_program: no file access, no COPY ... PROGRAM.
 * - PostGIS and pg_cron are created beforehand by the cluster's superuser, where RDS lets rds_superuser
 *   create the extensions it supports; pg_cron lives in the database named by cron.database_name.
 * - rds_replication (for the rollback, RDS as publisher) is the REPLICATION attribute here.
 * - What PostgreSQL 15 cannot model: creating a subscription. It needs a superuser before 16 (16 adds
 *   pg_create_subscription, which RDS's master user uses), so the superuser stands in as --target-admin,
 *   and only for CREATE/DROP SUBSCRIPTION; the subscription therefore applies as a superuser here, where
 *   on 16 it switches to the tables' owner. The preflight's rules for a subscription owner that is not a
 *   superuser (16's pg_create_subscription, password_required, SET ROLE to the owner) are not reached here.
 * - TCP needs TLS and a SCRAM password for every role but the harness's superuser (rds.force_ssl, and the
 *   box's hostssl line for the subnets of RDS).
 */
import { spawn, execFileSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { startPostgres, PgCluster } from "../helpers/postgres";
import { waitFor } from "../helpers/ports";
import { expectStatus, MigrateRun, runMigrateDb } from "../helpers/migrate";

const BOX_PW = "box-Pw_never-printed";
const RDS_PW = "rds-Pw_never-printed";
const MASTER_PW = "master-Pw_never-printed";
const COMPAT = readFileSync(
  join(__dirname, "..", "..", "scripts", "box", "migrate", "compat", "xata_private.sql"),
  "utf8",
);

/** The harness's superuser trusts loopback; every other role needs TLS and a SCRAM password. */
const HBA = [
  "local all all trust",
  "host all postgres 127.0.0.1/32 trust",
  "hostssl all all 127.0.0.1/32 scram-sha-256",
  "host all all 127.0.0.1/32 reject",
  "",
].join("\n");

/** The box's database after the Xata move: PostGIS, a table without a primary key, sequences, a pg_cron job. */
const BOX_SEED = `
SET ROLE zmanim;
${COMPAT}
CREATE SCHEMA geo;
CREATE SCHEMA app;
CREATE TABLE public.publishers (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  location geometry(Point, 4326),
  xata_id text NOT NULL DEFAULT ('rec_'::text || xata_private.xid()));
CREATE TABLE geo.locations (
  id bigserial PRIMARY KEY,
  publisher_id integer NOT NULL REFERENCES public.publishers (id),
  name text NOT NULL,
  boundary geometry(Polygon, 4326) NOT NULL,
  elevation_m double precision);
CREATE INDEX locations_boundary_gist ON geo.locations USING gist (boundary);
CREATE TABLE app.zmanim_cache (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  location_id bigint NOT NULL REFERENCES geo.locations (id) ON DELETE CASCADE,
  day date NOT NULL,
  payload jsonb NOT NULL,
  UNIQUE (location_id, day));
CREATE TABLE app.events (at timestamptz NOT NULL, kind text, detail jsonb);
ALTER TABLE app.events REPLICA IDENTITY FULL;
CREATE SEQUENCE app.ticket_seq START 1000;
INSERT INTO public.publishers (name, location)
  SELECT 'publisher ' || g, ST_SetSRID(ST_MakePoint(34.5 + g / 1000.0, 31.0 + g / 997.0), 4326) FROM generate_series(1, 200) g;
INSERT INTO geo.locations (publisher_id, name, boundary, elevation_m)
  SELECT 1 + g % 200, 'location ' || g,
         ST_SetSRID(ST_Buffer(ST_MakePoint(35.2 + g / 100000.0, 31.7 - g / 100000.0), 0.01, 4), 4326)::geometry(Polygon, 4326),
         CASE WHEN g % 7 = 0 THEN NULL ELSE 700 + g / 3.0 END
  FROM generate_series(1, 20000) g;
INSERT INTO app.zmanim_cache (location_id, day, payload)
  SELECT 1 + g % 20000, date '2026-12-01' + g / 20000, jsonb_build_object('sunrise', '06:' || lpad((g % 60)::text, 2, '0'), 'n', g)
  FROM generate_series(1, 60000) g;
INSERT INTO app.events SELECT timestamptz '2026-11-20 00:00:00+00' + g * interval '1 hour', 'kind-' || (g % 5), jsonb_build_object('g', g)
  FROM generate_series(1, 300) g;
INSERT INTO app.events SELECT * FROM app.events WHERE kind = 'kind-1';
SELECT setval('app.ticket_seq', 4242);
RESET ROLE;
SELECT cron.schedule('purge-old-cache', '15 3 * * *', $$DELETE FROM app.zmanim_cache WHERE day < current_date - 30$$);
`;

/** One application transaction: insert, update (geometry included), delete, a duplicate-prone insert, nextval. */
const WRITER = `
set -u
i=0
while [ ! -e "$STOP" ]; do
  i=$((i + 1))
  psql -X -q -v ON_ERROR_STOP=1 -c "
    INSERT INTO public.publishers (name) VALUES ('$TAG writer $i');
    UPDATE geo.locations SET elevation_m = coalesce(elevation_m, 0) + 1, boundary = ST_Translate(boundary, 0.000001, 0) WHERE id = 1 + ($i * 37) % 20000;
    DELETE FROM app.zmanim_cache WHERE id = (SELECT id FROM app.zmanim_cache ORDER BY location_id, day LIMIT 1);
    INSERT INTO app.events VALUES (now(), '$TAG', jsonb_build_object('i', $i));
    SELECT nextval('app.ticket_seq');" >/dev/null || { echo "write $i failed" >&2; exit 1; }
  echo "$i" >"$COUNT"
done
`;

interface Writer {
  /** Transactions committed so far. */
  count(): number;
  /** Stops after the current transaction; resolves with the number committed. */
  stop(): Promise<number>;
}

describe("migrate-db: box -> RDS-like cluster and back (scale-out runbook)", () => {
  let box: PgCluster;
  let rds: PgCluster;
  let work: string;
  let toolTmp: string;

  const env = (): NodeJS.ProcessEnv => ({ ...process.env, PGCONNECT_TIMEOUT: "5", TMPDIR: toolTmp });
  const migrate = (args: string[]): MigrateRun => runMigrateDb(args, env(), 300000);
  /** The owner role over TLS with its password, as the API and migrate-db connect. */
  const ownerUrl = (pg: PgCluster, pw: string): string =>
    `postgresql://zmanim:${pw}@127.0.0.1:${pg.port}/zmanim?sslmode=require`;
  const adminUrl = (pg: PgCluster, db = "zmanim"): string => `postgresql://postgres@127.0.0.1:${pg.port}/${db}`;
  /** psql as `user` with its password over TLS. */
  const psqlAs = (pg: PgCluster, user: string, pw: string, sql: string, db = "zmanim"): string =>
    execFileSync("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PGHOST: "127.0.0.1",
        PGPORT: String(pg.port),
        PGUSER: user,
        PGPASSWORD: pw,
        PGDATABASE: db,
        PGSSLMODE: "require",
      },
    }).trim();

  function startWriter(pg: PgCluster, pw: string, tag: string): Writer {
    const dir = mkdtempSync(join(work, `writer-${tag}-`));
    const countFile = join(dir, "count");
    const child = spawn("bash", ["-c", WRITER], {
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        PGHOST: "127.0.0.1",
        PGPORT: String(pg.port),
        PGUSER: "zmanim",
        PGPASSWORD: pw,
        PGDATABASE: "zmanim",
        PGSSLMODE: "require",
        STOP: join(dir, "stop"),
        COUNT: countFile,
        TAG: tag,
      },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("close", r));
    const count = () => (existsSync(countFile) ? Number(readFileSync(countFile, "utf8").trim() || 0) : 0);
    return {
      count,
      async stop() {
        writeFileSync(join(dir, "stop"), "");
        const code = await exited;
        if (code !== 0) throw new Error(`writer ${tag} failed (${code}): ${stderr}`);
        return count();
      },
    };
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "zmanim-migrate-rds-"));
    chmodSync(work, 0o755);
    toolTmp = join(work, "tool-tmp");
    mkdirSync(toolTmp);
    // A self-signed server certificate: sslmode=require encrypts without verifying, as the subscription on
    // RDS does towards the box (docs/runbooks/scale-out.md says why).
    const tls = join(work, "tls");
    mkdirSync(tls);
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-days",
        "2",
        "-keyout",
        join(tls, "server.key"),
        "-out",
        join(tls, "server.crt"),
      ],
      { stdio: "ignore" },
    );
    chmodSync(join(tls, "server.key"), 0o600);
    if (process.getuid?.() === 0) execFileSync("chown", ["-R", "postgres:postgres", tls]);
    const conf = {
      wal_level: "logical",
      max_replication_slots: 10,
      max_wal_senders: 10,
      shared_preload_libraries: "'pg_cron'",
      "cron.database_name": "'zmanim'",
      ssl: "on",
      ssl_cert_file: `'${join(tls, "server.crt")}'`,
      ssl_key_file: `'${join(tls, "server.key")}'`,
      // The logical replication launcher starts at most one worker per wal_retrieve_retry_interval (5 s by
      // default); these servers subscribe several times in a few seconds.
      wal_retrieve_retry_interval: "'200ms'",
    };
    [box, rds] = await Promise.all([
      startPostgres({ conf, hbaContent: HBA }),
      startPostgres({ conf, hbaContent: HBA }),
    ]);

    // The box: zmanim owns its database; the superuser creates the extensions; the move needs REPLICATION.
    box.psql(`CREATE ROLE zmanim LOGIN PASSWORD '${BOX_PW}' REPLICATION`);
    box.psql("CREATE DATABASE zmanim OWNER zmanim");
    box.psql("CREATE EXTENSION postgis; CREATE EXTENSION pg_cron", "zmanim");
    box.psql(BOX_SEED, "zmanim");

    // RDS: the master user and its database exist; the runbook's grants create the owner role and hand it
    // the database. Only the master user runs them.
    rds.psql(`CREATE ROLE zmanim_master LOGIN PASSWORD '${MASTER_PW}' NOSUPERUSER CREATEDB CREATEROLE NOREPLICATION`);
    rds.psql("GRANT pg_monitor, pg_signal_backend TO zmanim_master");
    psqlAs(rds, "zmanim_master", MASTER_PW, "CREATE DATABASE zmanim", "postgres");
    psqlAs(
      rds,
      "zmanim_master",
      MASTER_PW,
      `CREATE ROLE zmanim LOGIN PASSWORD '${RDS_PW}'; GRANT zmanim TO zmanim_master; ALTER DATABASE zmanim OWNER TO zmanim`,
      "postgres",
    );
    rds.psql("CREATE EXTENSION postgis; CREATE EXTENSION pg_cron", "zmanim");
  }, 120000);

  afterAll(() => {
    box?.stop();
    rds?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("holds the RDS constraints: the owner is no superuser and may neither read files nor create a subscription", () => {
    expect(
      rds.psql("SELECT rolsuper || ' ' || rolreplication || ' ' || rolcreatedb FROM pg_roles WHERE rolname = 'zmanim'"),
    ).toBe("false false false");
    expect(
      rds.psql(
        "SELECT rolsuper || ' ' || rolcreaterole || ' ' || rolcreatedb FROM pg_roles WHERE rolname = 'zmanim_master'",
      ),
    ).toBe("false true true");
    for (const role of ["pg_read_server_files", "pg_write_server_files", "pg_execute_server_program"]) {
      expect(rds.psql(`SELECT pg_has_role('zmanim', '${role}', 'member')`)).toBe("f");
    }
    expect(() => psqlAs(rds, "zmanim", RDS_PW, "CREATE EXTENSION postgis_topology")).toThrow(/permission denied/);
    expect(() => psqlAs(rds, "zmanim", RDS_PW, "COPY (SELECT 1) TO '/tmp/zmanim-migrate-rds-probe'")).toThrow(
      /permission denied|must be superuser/,
    );

    // Without an admin connection, the owner would have to create the subscription: refused before any write.
    const r = migrate([
      "--mode",
      "replicate",
      "--preflight-only",
      "--source",
      ownerUrl(box, BOX_PW),
      "--target",
      ownerUrl(rds, RDS_PW),
    ]);
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(
      /\[FAIL\] subscription rights +zmanim may not CREATE SUBSCRIPTION on PostgreSQL 15 .*pass --target-admin/,
    );
    // The admin connection must point at the same database.
    const other = migrate([
      "--mode",
      "replicate",
      "--preflight-only",
      "--source",
      ownerUrl(box, BOX_PW),
      "--target",
      ownerUrl(rds, RDS_PW),
      "--target-admin",
      adminUrl(rds, "postgres"),
    ]);
    expect(other.status).toBe(3);
    expect(other.stdout).toContain(
      "[FAIL] target admin           --target-admin connects to database postgres, --target to zmanim",
    );
    for (const run of [r, other]) expect(run.out).not.toMatch(/Pw_never-printed/);
  });

  it("moves the box to RDS with writes during the sync, and verifies every table at the cutover", async () => {
    const base = [
      "--mode",
      "replicate",
      "--source",
      ownerUrl(box, BOX_PW),
      "--target",
      ownerUrl(rds, RDS_PW),
      "--target-admin",
      adminUrl(rds),
      "--timeout",
      "240",
      "--poll",
      "0.2",
    ];
    // Until the cutover the API's role may not write on RDS (the fleet may already run); the tool's sessions may.
    psqlAs(
      rds,
      "zmanim_master",
      MASTER_PW,
      "ALTER ROLE zmanim IN DATABASE zmanim SET default_transaction_read_only = on",
    );
    const writer = startWriter(box, BOX_PW, "box");
    await waitFor(() => writer.count() >= 5, 60000, "the first writes on the box");
    const startReport = join(work, "scale-out-start.json");
    const start = migrate([...base, "--yes", "--report", startReport]);
    expectStatus(start, 0);
    expect(start.stdout).toMatch(
      /\[ok {2}\] target admin +postgres \(superuser=t\) creates extensions and the subscription; zmanim owns the copy/,
    );
    // On the box the cron schema is the superuser's: the tool says it cannot list the jobs, and that they stay behind.
    expect(start.stdout).toMatch(
      /\[warn\] pg_cron jobs +zmanim may not read cron\.job on the source; list the jobs as a superuser and recreate them/,
    );
    expect(start.stdout).toContain("initial sync finished: all tables streaming");
    const atStart = writer.count();
    await waitFor(() => writer.count() >= atStart + 20, 60000, "writes while replication streams");
    const status = migrate([...base, "--status"]);
    expectStatus(status, 0);
    expect(status.stdout).toContain("table app.events: ready (streaming)");
    expect(() =>
      psqlAs(rds, "zmanim", RDS_PW, "INSERT INTO app.events VALUES (now(), 'fleet too early', NULL)"),
    ).toThrow(/read-only transaction/);

    // The freeze: the writer stops and the app's role can no longer write; migrate-db's sessions still can.
    const written = await writer.stop();
    box.psql("ALTER ROLE zmanim IN DATABASE zmanim SET default_transaction_read_only = on");
    expect(() => psqlAs(box, "zmanim", BOX_PW, "INSERT INTO app.events VALUES (now(), 'late', NULL)")).toThrow(
      /read-only transaction/,
    );
    const report = join(work, "scale-out-cutover.json");
    const cut = migrate([...base, "--cutover", "--yes", "--report", report]);
    expectStatus(cut, 0);
    expect(cut.out).not.toMatch(/Pw_never-printed/);
    expect(cut.stdout).toContain("zero lag");
    expect(cut.stdout).toContain("verification passed: 4 tables");
    const rep = JSON.parse(readFileSync(report, "utf8"));
    expect(
      rep.verification.tables.map(
        (t: { schema: string; table: string; status: string }) => `${t.schema}.${t.table} ${t.status}`,
      ),
    ).toEqual(["app.events ok", "app.zmanim_cache ok", "geo.locations ok", "public.publishers ok"]);
    const events = rep.verification.tables.find((t: { table: string }) => t.table === "events");
    expect(events.source_rows).toBe(360 + written);
    expect(events.target_rows).toBe(events.source_rows);
    expect(events.target_checksum).toBe(events.source_checksum);

    // The master user lifts the freeze of the API's role on RDS (runbook step 4.3).
    psqlAs(rds, "zmanim_master", MASTER_PW, "ALTER ROLE zmanim IN DATABASE zmanim RESET default_transaction_read_only");
    // Independently of the tool: the writes arrived, the sequences continue, the owner owns everything,
    // nothing of the replication is left.
    const wrote = "SELECT count(*) FROM public.publishers WHERE name LIKE 'box writer %'";
    expect(psqlAs(rds, "zmanim", RDS_PW, wrote)).toBe(String(written));
    expect(psqlAs(rds, "zmanim", RDS_PW, "SELECT last_value FROM app.ticket_seq")).toBe(String(4242 + written));
    expect(psqlAs(rds, "zmanim", RDS_PW, "SELECT nextval('public.publishers_id_seq')")).toBe(String(200 + written + 1));
    expect(
      rds.psql(
        "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname IN ('app', 'geo', 'xata_private', 'zmanim_migration') OR tablename = 'publishers'",
        "zmanim",
      ),
    ).toBe("zmanim");
    expect(rds.psql("SELECT count(*) FROM pg_subscription")).toBe("0");
    expect(box.psql("SELECT count(*) FROM pg_replication_slots")).toBe("0");
    expect(box.psql("SELECT count(*) FROM pg_publication", "zmanim")).toBe("0");
    expect(rds.psql("SELECT state FROM zmanim_migration.status", "zmanim")).toBe("complete");
    // New rows on RDS get Xata-shaped ids from the compatibility functions, as on the box.
    expect(
      psqlAs(rds, "zmanim", RDS_PW, "INSERT INTO public.publishers (name) VALUES ('first on rds') RETURNING xata_id"),
    ).toMatch(/^rec_[0-9a-v]{20}$/);
  }, 600000);

  it("recreates the pg_cron job on RDS as the owner, once granted the cron schema", () => {
    expect(rds.psql("SELECT count(*) FROM cron.job", "zmanim")).toBe("0");
    rds.psql("GRANT USAGE ON SCHEMA cron TO zmanim", "zmanim");
    const job = box.psql(
      "SELECT format('SELECT cron.schedule(%L, %L, %L)', jobname, schedule, command) FROM cron.job",
      "zmanim",
    );
    psqlAs(rds, "zmanim", RDS_PW, job);
    expect(rds.psql("SELECT jobname || ' ' || schedule || ' ' || username FROM cron.job", "zmanim")).toBe(
      "purge-old-cache 15 3 * * * zmanim",
    );
  });

  it("rolls back RDS -> box with the same tool, with writes on RDS during the sync", async () => {
    // The box's copy is stale: it is replaced by an empty database of the same name (the runbook keeps a dump).
    box.psql("DROP DATABASE zmanim WITH (FORCE)");
    box.psql("CREATE DATABASE zmanim OWNER zmanim");
    box.psql("CREATE EXTENSION postgis; CREATE EXTENSION pg_cron", "zmanim");
    rds.psql("ALTER ROLE zmanim REPLICATION"); // on RDS: GRANT rds_replication TO zmanim, as the master user
    const base = [
      "--mode",
      "replicate",
      "--source",
      ownerUrl(rds, RDS_PW),
      "--target",
      ownerUrl(box, BOX_PW),
      "--target-admin",
      adminUrl(box),
      "--timeout",
      "240",
      "--poll",
      "0.2",
    ];
    const writer = startWriter(rds, RDS_PW, "rds");
    await waitFor(() => writer.count() >= 5, 60000, "the first writes on RDS");
    const start = migrate([...base, "--yes"]);
    expectStatus(start, 0);
    expect(start.stdout).toMatch(/\[warn\] pg_cron jobs +1 job\(s\) of this database on the source are not copied/);
    const atStart = writer.count();
    await waitFor(() => writer.count() >= atStart + 20, 60000, "writes on RDS while replication streams");
    const written = await writer.stop();
    rds.psql("ALTER ROLE zmanim IN DATABASE zmanim SET default_transaction_read_only = on");
    box.psql("ALTER ROLE zmanim IN DATABASE zmanim RESET default_transaction_read_only");
    const cut = migrate([...base, "--cutover", "--yes"]);
    expectStatus(cut, 0);
    expect(cut.stdout).toContain("verification passed: 4 tables");
    expect(cut.stdout).toMatch(/app\.events\s+(\d+)\s+\1\s+same/);
    expect(psqlAs(box, "zmanim", BOX_PW, "SELECT count(*) FROM public.publishers WHERE name LIKE 'rds writer %'")).toBe(
      String(written),
    );
    expect(
      psqlAs(
        box,
        "zmanim",
        BOX_PW,
        "SELECT count(*) FROM public.publishers WHERE name IN ('first on rds') OR name LIKE 'box writer %'",
      ),
    ).toBe(
      psqlAs(
        rds,
        "zmanim",
        RDS_PW,
        "SELECT count(*) FROM public.publishers WHERE name IN ('first on rds') OR name LIKE 'box writer %'",
      ),
    );
    expect(psqlAs(box, "zmanim", BOX_PW, "SELECT last_value FROM app.ticket_seq")).toBe(
      psqlAs(rds, "zmanim", RDS_PW, "SELECT last_value FROM app.ticket_seq"),
    );
    expect(rds.psql("SELECT count(*) FROM pg_replication_slots")).toBe("0");
    expect(box.psql("SELECT count(*) FROM pg_subscription")).toBe("0");
    expect(box.psql("SELECT state FROM zmanim_migration.status", "zmanim")).toBe("complete");
  }, 600000);
});
