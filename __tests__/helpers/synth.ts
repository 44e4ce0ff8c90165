/**
 * Synthesizes a whole environment exactly as `npm run synth` does (same code path, atomic output) into a
 * temporary directory and returns every stack's parsed Terraform JSON. Shipped environments come from the
 * run's shared cache (synth-cache.ts); others are synthesized here, once per test file.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { EnvironmentConfig, prod } from "../../constructs/config/environments";
import { CACHE_VAR, environmentKey } from "./synth-cache";

/** The parts of a synthesized stack the tests look at. */
export interface TfJson {
  terraform: {
    backend?: Record<string, Record<string, unknown>>;
    cloud?: Record<string, unknown>;
    required_providers?: Record<string, unknown>;
  };
  provider?: Record<string, Record<string, unknown>[]>;
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export interface Synthesized {
  outdir: string;
  manifest: { stacks: Record<string, { dependencies: string[]; synthesizedStackPath: string }> };
  /** Keyed by short stack name: network, storage, ... */
  stacks: Record<string, TfJson>;
}

const cache = new Map<string, Synthesized>();

export function synthAll(env: EnvironmentConfig = prod): Synthesized {
  const key = JSON.stringify(env);
  const hit = cache.get(key);
  if (hit) return hit;
  // The run's global setup synthesized every shipped environment once (synth-cache.ts).
  const shared = process.env[CACHE_VAR] ? join(process.env[CACHE_VAR], environmentKey(env)) : undefined;
  let outdir: string;
  if (shared && existsSync(join(shared, "manifest.json"))) {
    outdir = shared;
  } else {
    // Loaded only on a miss: a test file that reads the cache never loads the app.
    const { synthEnvironment } = require("../../main") as typeof import("../../main");
    const base = mkdtempSync(join(tmpdir(), "zmanim-synth-"));
    outdir = synthEnvironment(env, join(base, "cdktf.out"));
    process.on("exit", () => rmSync(base, { recursive: true, force: true }));
  }
  const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8"));
  const stacks: Record<string, TfJson> = {};
  for (const dir of readdirSync(join(outdir, "stacks"))) {
    const short = dir.replace(`zmanim-${env.name}-`, "");
    stacks[short] = JSON.parse(readFileSync(join(outdir, "stacks", dir, "cdk.tf.json"), "utf8"));
  }
  const result = { outdir, manifest, stacks };
  cache.set(key, result);
  return result;
}

/** What a "for every resource of this type" check must find before it may pass. */
export interface MinimumCount {
  /** Fewer than this many resources of the type is an error. @default 1 */
  readonly min?: number;
}

/**
 * Every resource of `type` across all stacks, as [stack, logicalId, body]. Throws when it finds fewer than
 * `min` (default 1): an invariant checked over no resource proves nothing, so a renamed type or a stack that
 * stopped synthesizing fails loudly. Pass `{ min: 0 }` only where absence is the point of the test.
 */
export function resourcesOfType(
  s: Synthesized,
  type: string,
  { min = 1 }: MinimumCount = {},
): Array<[string, string, Record<string, unknown>]> {
  const out: Array<[string, string, Record<string, unknown>]> = [];
  for (const [stack, json] of Object.entries(s.stacks)) {
    for (const [id, body] of Object.entries(json.resource?.[type] ?? {})) out.push([stack, id, body]);
  }
  if (out.length < min) {
    throw new Error(
      `expected at least ${min} ${type} resource(s) across stacks [${Object.keys(s.stacks).join(", ")}], found ${out.length}: ` +
        `a check over every ${type} would pass vacuously; fix the type name or pass { min: 0 } where absence is intended`,
    );
  }
  return out;
}

/** Every resource of `type` in one stack's JSON, as [logicalId, body]; the same minimum rule as `resourcesOfType`. */
export function stackResourcesOfType(
  json: TfJson,
  type: string,
  { min = 1 }: MinimumCount = {},
): Array<[string, Record<string, unknown>]> {
  const out = Object.entries(json.resource?.[type] ?? {});
  if (out.length < min) {
    throw new Error(
      `expected at least ${min} ${type} resource(s) in this stack, found ${out.length}: a check over every ${type} ` +
        `would pass vacuously; fix the type name or pass { min: 0 } where absence is intended`,
    );
  }
  return out;
}

/** Every resource in every stack, as [stack, type, logicalId, body]. */
export function allResources(s: Synthesized): Array<[string, string, string, Record<string, unknown>]> {
  const out: Array<[string, string, string, Record<string, unknown>]> = [];
  for (const [stack, json] of Object.entries(s.stacks)) {
    for (const [type, byId] of Object.entries(json.resource ?? {})) {
      for (const [id, body] of Object.entries(byId)) out.push([stack, type, id, body]);
    }
  }
  return out;
}
