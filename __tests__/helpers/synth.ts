/**
 * Synthesizes a whole environment exactly as `npm run synth` does (same code path, atomic output) into a
 * temporary directory and returns every stack's parsed Terraform JSON. Cached per environment name
 * within one test file.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { EnvironmentConfig, prod } from "../../constructs/config/environments";
import { synthEnvironment } from "../../main";

/** The parts of a synthesized stack the tests look at. */
export interface TfJson {
  terraform: { backend?: Record<string, Record<string, unknown>>; cloud?: Record<string, unknown>; required_providers?: Record<string, unknown> };
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
  const base = mkdtempSync(join(tmpdir(), "zmanim-synth-"));
  const outdir = synthEnvironment(env, join(base, "cdktf.out"));
  const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8"));
  const stacks: Record<string, TfJson> = {};
  for (const dir of readdirSync(join(outdir, "stacks"))) {
    const short = dir.replace(`zmanim-${env.name}-`, "");
    stacks[short] = JSON.parse(readFileSync(join(outdir, "stacks", dir, "cdk.tf.json"), "utf8"));
  }
  const result = { outdir, manifest, stacks };
  cache.set(key, result);
  process.on("exit", () => rmSync(base, { recursive: true, force: true }));
  return result;
}

/** Every resource of `type` across all stacks, as [stack, logicalId, body]. */
export function resourcesOfType(s: Synthesized, type: string): Array<[string, string, Record<string, unknown>]> {
  const out: Array<[string, string, Record<string, unknown>]> = [];
  for (const [stack, json] of Object.entries(s.stacks)) {
    for (const [id, body] of Object.entries(json.resource?.[type] ?? {})) out.push([stack, id, body]);
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
