/** Runs scripts/box/migrate-db for the ops tests and reports its whole output when the exit status is not the expected one. */
import { spawnSync } from "child_process";
import { join } from "path";

export const MIGRATE_DB = join(__dirname, "..", "..", "scripts", "box", "migrate-db");

export interface MigrateRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout followed by stderr. */
  out: string;
}

/** Runs migrate-db with `env` as its whole environment (stdin closed, so confirmation needs --yes). */
export function runMigrateDb(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 180000): MigrateRun {
  const r = spawnSync(MIGRATE_DB, args, {
    encoding: "utf8",
    env,
    timeout: timeoutMs,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: r.stdout + r.stderr };
}

/** Asserts the exit status and shows the tool's whole output when it differs. */
export function expectStatus(r: MigrateRun, code: number): void {
  if (r.status !== code) throw new Error(`migrate-db exited ${r.status}, expected ${code}; output:\n${r.out}`);
}
