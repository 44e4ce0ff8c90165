/**
 * Throw-away PostgreSQL clusters for ops integration tests: a fresh cluster directory in a temporary directory,
 * listening on 127.0.0.1 on a free port, stopped and deleted on `stop()`. When the tests run as root (CI, dev
 * VMs), the cluster runs as the `postgres` system user, since PostgreSQL refuses to run as root.
 *
 * The cluster directory is a copy of one made by initdb once per machine and PostgreSQL build (see
 * `templateDataDir`): initdb takes 1-6 s on the 2-core test machine, a copy 0.1-0.4 s, and the ops files start
 * about 13 clusters.
 */
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync, appendFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { freePort } from "./ports";

export function pgBinDir(): string {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, "bin", "initdb"))) : [];
  if (versions.length === 0)
    throw new Error("no PostgreSQL server found under /usr/lib/postgresql; run scripts/dev/ensure-deps.sh");
  versions.sort((a, b) => Number(b) - Number(a));
  return join(base, versions[0], "bin");
}

const isRoot = process.getuid?.() === 0;

/** Runs a server-side binary as the cluster owner. */
function asOwner(bin: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  const cmd = isRoot ? "runuser" : bin;
  const fullArgs = isRoot ? ["-u", "postgres", "--", bin, ...args] : args;
  const r = spawnSync(cmd, fullArgs, { encoding: "utf8" });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${bin} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

const INITDB_ARGS = ["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"];

/**
 * A cluster directory made by initdb with `INITDB_ARGS`, shared by every test file on this machine and never
 * started itself; `startPostgres` copies it (`cp -a`, owner and modes kept). Its name is keyed by the binaries'
 * path and version, the initdb options and the owner, so another PostgreSQL build gets its own. initdb runs in a
 * private directory that is renamed into place only when complete (rename(2) is atomic, and fails when another
 * test file got there first), so a half-made template is never used.
 */
function templateDataDir(binDir: string): string {
  const initdb = join(binDir, "initdb");
  const version = execFileSync(initdb, ["--version"], { encoding: "utf8" }).trim();
  const key = createHash("sha256")
    .update([binDir, version, ...INITDB_ARGS, isRoot ? "postgres" : String(process.getuid?.())].join("\n"))
    .digest("hex")
    .slice(0, 16);
  const template = join(tmpdir(), `zmanim-pgtemplate-${key}`);
  if (existsSync(join(template, "PG_VERSION"))) return template;
  const work = mkdtempSync(join(tmpdir(), "zmanim-pgtemplate-work-"));
  try {
    chmodSync(work, 0o755);
    if (isRoot) execFileSync("chown", ["postgres:postgres", work]);
    asOwner(initdb, ["-D", join(work, "data"), ...INITDB_ARGS]);
    try {
      renameSync(join(work, "data"), template);
    } catch (e) {
      if (!existsSync(join(template, "PG_VERSION"))) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return template;
}

export interface PgCluster {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Directory holding the Unix socket. */
  readonly socketDir: string;
  readonly binDir: string;
  /** libpq variables for a superuser connection over loopback TCP. */
  readonly env: Record<string, string>;
  /** A connection URL for `db` as the superuser. */
  url(db?: string): string;
  /** Runs SQL through psql (-X -A -t, ON_ERROR_STOP) and returns stdout. */
  psql(sql: string, db?: string): string;
  /** Appends settings to postgresql.conf and restarts. */
  restart(extraConf?: Record<string, string | number>): void;
  stop(): void;
}

export interface PgClusterOptions {
  /** Extra postgresql.conf lines. */
  conf?: Record<string, string | number>;
  /** Replace postgresql.conf entirely with this file's content (port/socket/listen are still appended). */
  confFileContent?: string;
  /** Replace pg_hba.conf with this content. Default: trust on loopback and local socket. */
  hbaContent?: string;
  /** Superuser password (sets password for `postgres`). */
  superuserPassword?: string;
}

export async function startPostgres(opts: PgClusterOptions = {}): Promise<PgCluster> {
  const binDir = pgBinDir();
  // pg_ctl starts the server in a session of its own, so it outlives an interrupted test run; the run's tag in
  // the directory name lets scripts/dev/test.sh stop exactly this run's servers on its way out.
  const run = process.env.ZMANIM_TEST_RUN;
  const base = mkdtempSync(join(tmpdir(), `zmanim-pg-${run && /^[A-Za-z0-9]+$/.test(run) ? `${run}-` : ""}`));
  chmodSync(base, 0o755);
  const dataDir = join(base, "data");
  const socketDir = join(base, "sock");
  execFileSync("mkdir", ["-p", socketDir]);
  if (isRoot) execFileSync("chown", ["-R", "postgres:postgres", base]);
  execFileSync("cp", ["-a", templateDataDir(binDir), dataDir]);
  const port = await freePort();
  const confPath = join(dataDir, "postgresql.conf");
  if (opts.confFileContent !== undefined) writeFileSync(confPath, opts.confFileContent);
  const lines = {
    listen_addresses: "'127.0.0.1'",
    port,
    unix_socket_directories: `'${socketDir}'`,
    fsync: "off",
    ...(opts.conf ?? {}),
  };
  appendFileSync(
    confPath,
    "\n# test harness\n" +
      Object.entries(lines)
        .map(([k, v]) => `${k} = ${v}`)
        .join("\n") +
      "\n",
  );
  if (opts.hbaContent !== undefined) writeFileSync(join(dataDir, "pg_hba.conf"), opts.hbaContent);
  if (isRoot) execFileSync("chown", ["-R", "postgres:postgres", base]);

  const logFile = join(base, "server.log");
  const start = () => asOwner(join(binDir, "pg_ctl"), ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "start"]);
  start();

  const env: Record<string, string> = {
    PGHOST: "127.0.0.1",
    PGPORT: String(port),
    PGUSER: "postgres",
    PGDATABASE: "postgres",
  };
  if (opts.superuserPassword) env.PGPASSWORD = opts.superuserPassword;
  const cluster: PgCluster = {
    host: "127.0.0.1",
    port,
    dataDir,
    socketDir,
    binDir,
    env,
    url: (db = "postgres") =>
      `postgresql://postgres${opts.superuserPassword ? `:${encodeURIComponent(opts.superuserPassword)}` : ""}@127.0.0.1:${port}/${db}`,
    psql(sql: string, db = "postgres"): string {
      const r = spawnSync("psql", ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql], {
        encoding: "utf8",
        env: { ...process.env, ...env },
      });
      if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr}\nSQL: ${sql}`);
      return r.stdout.trim();
    },
    restart(extraConf?: Record<string, string | number>) {
      if (extraConf) {
        appendFileSync(
          confPath,
          Object.entries(extraConf)
            .map(([k, v]) => `${k} = ${v}`)
            .join("\n") + "\n",
        );
      }
      asOwner(join(binDir, "pg_ctl"), ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "-m", "fast", "restart"]);
    },
    stop() {
      asOwner(join(binDir, "pg_ctl"), ["-D", dataDir, "-w", "-t", "30", "-m", "immediate", "stop"], {
        allowFail: true,
      });
      rmSync(base, { recursive: true, force: true });
    },
  };
  if (opts.superuserPassword) {
    cluster.psql(`ALTER ROLE postgres PASSWORD '${opts.superuserPassword.replace(/'/g, "''")}'`);
  }
  return cluster;
}
