/**
 * The shipped environments: the selectable ones (`environments`) and those constructs/config/environments.ts exports as
 * examples (e.g. `scaled`), so the plan tests cover examples too. Imports no cdktf, so tools start quickly.
 */
import * as shipped from "../../../constructs/config/environments";
import { EnvironmentConfig } from "../../../constructs/config/environments";

function isEnvironment(v: unknown): v is EnvironmentConfig {
  const e = v as Partial<EnvironmentConfig> | undefined;
  return (
    typeof e === "object" &&
    e !== null &&
    typeof e.name === "string" &&
    typeof e.region === "string" &&
    typeof e.domain === "object"
  );
}

/** Every shipped environment by name: the selectable ones first, then exported examples. */
export function shippedEnvironments(): EnvironmentConfig[] {
  const byName = new Map<string, EnvironmentConfig>();
  for (const e of [...Object.values(shipped.environments), ...Object.values(shipped)]) {
    if (isEnvironment(e) && !byName.has(e.name)) byName.set(e.name, e);
  }
  return [...byName.values()];
}
