/**
 * Reads the synthesized Terraform JSON of every stack (`<outdir>/stacks/<stack>/cdk.tf.json`). Shared by
 * `npm run cost` and `npm run diagram`; pure file reading, no cdktf import, so both tools start in milliseconds.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "fs";
import { join } from "path";
import { resourcePrefix } from "../../../constructs/config/naming";

export type JsonObject = Record<string, unknown>;

/** The parts of a synthesized stack these tools read. */
export interface StackJson {
  terraform?: {
    backend?: Record<string, JsonObject>;
    cloud?: JsonObject;
  };
  provider?: Record<string, JsonObject[]>;
  resource?: Record<string, Record<string, JsonObject>>;
  data?: Record<string, Record<string, JsonObject>>;
  output?: Record<string, JsonObject>;
}

export interface LoadedStack {
  /** Directory name under `stacks/`, which cdktf sets to the stack name, e.g. `zmanim-prod-compute`. */
  name: string;
  json: StackJson;
}

/** Raised for unusable input; the message names the path or option and the fix. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** Every stack under `<outdir>/stacks`, sorted by name. Throws InputError when there is nothing to read. */
export function loadStacks(outdir: string): LoadedStack[] {
  const dir = join(outdir, "stacks");
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError(
      `--outdir ${JSON.stringify(outdir)}: no stacks/ directory there; run \`npm run synth\` first or pass the cdktf output directory`,
    );
  }
  const stacks: LoadedStack[] = [];
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name, "cdk.tf.json");
    if (!existsSync(file)) continue;
    let json: StackJson;
    try {
      json = JSON.parse(readFileSync(file, "utf8")) as StackJson;
    } catch (err) {
      throw new InputError(`${file}: not valid JSON (${(err as Error).message}); re-run \`npm run synth\``);
    }
    stacks.push({ name, json });
  }
  if (stacks.length === 0) {
    throw new InputError(
      `--outdir ${JSON.stringify(outdir)}: stacks/ holds no */cdk.tf.json; run \`npm run synth\` first`,
    );
  }
  return stacks;
}

/** Keeps only the stacks of one environment (`zmanim-<env>-*`); errors when none match. */
export function stacksOfEnvironment(stacks: LoadedStack[], envName: string, outdir: string): LoadedStack[] {
  const prefix = `${resourcePrefix({ name: envName })}-`;
  const mine = stacks.filter((s) => s.name.startsWith(prefix));
  if (mine.length === 0) {
    const found = stacks.map((s) => s.name).join(", ");
    throw new InputError(
      `--env ${JSON.stringify(envName)}: ${outdir} holds no ${prefix}* stacks (found: ${found}); ` +
        `synthesize that environment first (ZMANIM_ENV=${envName} npm run synth) or pass the matching --env`,
    );
  }
  return mine;
}

/** `zmanim-prod-compute` -> `compute`; other names are returned unchanged. */
export function shortStackName(name: string): string {
  const m = /^zmanim-[a-z][a-z0-9]*-(.+)$/.exec(name);
  return m ? m[1] : name;
}

/** One resource block of a stack. */
export interface ResourceRef {
  stack: string;
  type: string;
  name: string;
  body: JsonObject;
}

export function resourcesOf(stack: LoadedStack): ResourceRef[] {
  const out: ResourceRef[] = [];
  for (const [type, byName] of Object.entries(stack.json.resource ?? {})) {
    for (const [name, body] of Object.entries(byName)) out.push({ stack: stack.name, type, name, body });
  }
  return out;
}

/**
 * The region a resource is created in: the region of the provider it names (`provider = "aws.<alias>"`),
 * or the default AWS provider's region. `undefined` when the stack declares no AWS provider.
 */
export function regionOf(stack: LoadedStack, body: JsonObject): string | undefined {
  const providers = stack.json.provider?.aws ?? [];
  const ref = typeof body.provider === "string" ? body.provider : undefined;
  const alias = ref && ref.startsWith("aws.") ? ref.slice(4) : undefined;
  const p = alias ? providers.find((x) => x.alias === alias) : providers.find((x) => x.alias === undefined);
  return typeof p?.region === "string" ? p.region : undefined;
}

/** Replaces the text between `<!-- <tag>:begin -->` and `<!-- <tag>:end -->`. Throws when a marker is missing. */
export function replaceBetweenMarkers(text: string, tag: string, body: string, file: string): string {
  const begin = `<!-- ${tag}:begin -->`;
  const end = `<!-- ${tag}:end -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < 0 || j < i) {
    throw new InputError(
      `${file}: markers ${begin} ... ${end} not found (in that order); add them where the block belongs`,
    );
  }
  return text.slice(0, i + begin.length) + "\n" + body.replace(/\n*$/, "\n") + text.slice(j);
}

/** The text between the markers, or undefined when they are missing. */
export function textBetweenMarkers(text: string, tag: string): string | undefined {
  const begin = `<!-- ${tag}:begin -->`;
  const end = `<!-- ${tag}:end -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < 0 || j < i) return undefined;
  return text.slice(i + begin.length, j);
}
