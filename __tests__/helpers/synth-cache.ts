/**
 * Jest globalSetup/globalTeardown of the unit and iam projects: synthesizes every shipped environment ONCE per
 * run (the same atomic synth as `npm run synth`) into a temporary cache that `synthAll` reads, so a test file
 * parses JSON instead of synthesizing the app again. Variant environments (a test's own edits) are not in the
 * cache and are synthesized in-process as before.
 */
import { createHash } from "crypto";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { EnvironmentConfig } from "../../constructs/config/environments";

export const CACHE_VAR = "ZMANIM_SYNTH_CACHE";

/** The cache key of an environment: its whole definition, so any edit misses the cache. */
export function environmentKey(env: EnvironmentConfig): string {
  return createHash("sha256").update(JSON.stringify(env)).digest("hex").slice(0, 16);
}

export default async function globalSetup(): Promise<void> {
  if (process.env[CACHE_VAR]) return;
  // Loaded here, not at the top: the teardown export must not pull in the whole app.
  const { synthEnvironment } = await import("../../main");
  const { shippedEnvironments } = await import("../../scripts/tools/terraform/environments");
  const dir = mkdtempSync(join(tmpdir(), "zmanim-synth-cache-"));
  for (const env of shippedEnvironments()) synthEnvironment(env, join(dir, environmentKey(env)));
  process.env[CACHE_VAR] = dir;
}

export async function teardown(): Promise<void> {
  const dir = process.env[CACHE_VAR];
  if (dir && dir.includes("zmanim-synth-cache-")) rmSync(dir, { recursive: true, force: true });
}
