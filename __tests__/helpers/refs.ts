/**
 * Resolves references between synthesized resources, including cdktf's cross-stack wiring
 * (`data.terraform_remote_state.<x>.outputs.<name>` in the consumer, `output.<name>` in the producer).
 */
import { Synthesized } from "./synth";

export interface ResourceAddress {
  stack: string;
  type: string;
  id: string;
  attr: string;
}

const DIRECT = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$/;
const REMOTE = /^\$\{data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\}$/;

/** The resource an attribute value points at, or undefined for literals and unresolvable expressions. */
export function resolveRef(s: Synthesized, stack: string, value: unknown): ResourceAddress | undefined {
  if (typeof value !== "string") return undefined;
  const remote = REMOTE.exec(value);
  if (remote) {
    const ds = s.stacks[stack].data?.terraform_remote_state?.[remote[1]] as { config?: { key?: string } } | undefined;
    const key = ds?.config?.key;
    if (!key) return undefined;
    const producer = key.replace(/^.*\//, "").replace(/\.tfstate$/, "");
    const out = s.stacks[producer]?.output?.[remote[2]] as { value?: unknown } | undefined;
    return out ? resolveRef(s, producer, out.value) : undefined;
  }
  const direct = DIRECT.exec(value);
  if (direct && direct[1] !== "data" && direct[1] !== "var" && direct[1] !== "local") {
    return { stack, type: direct[1], id: direct[2], attr: direct[3] };
  }
  return undefined;
}

/** True when `value` (in `stack`) refers to the given resource, directly, across stacks, or by literal name. */
export function refersTo(
  s: Synthesized,
  stack: string,
  value: unknown,
  target: { stack: string; type: string; id: string; names?: string[] },
): boolean {
  const r = resolveRef(s, stack, value);
  if (r) return r.stack === target.stack && r.type === target.type && r.id === target.id;
  return typeof value === "string" && (target.names ?? []).includes(value);
}
