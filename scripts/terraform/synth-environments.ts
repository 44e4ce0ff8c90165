/**
 * tsx scripts/terraform/synth-environments.ts OUTBASE [--except NAME]
 *
 * Synthesizes every shipped environment into OUTBASE/<name>/ (the same atomic synth as `npm run synth`) and
 * prints one line per environment, `<name>\t<dir>`. Shipped means selectable (`environments`) or exported
 * from stacks/environments.ts as an example (e.g. `scaled`), so the plan tests cover examples too.
 */
import { join } from "path";
import * as shipped from "../../stacks/environments";
import { EnvironmentConfig } from "../../stacks/environments";
import { synthEnvironment } from "../../stacks/synth";

function isEnvironment(v: unknown): v is EnvironmentConfig {
  const e = v as Partial<EnvironmentConfig> | undefined;
  return typeof e === "object" && e !== null && typeof e.name === "string" && typeof e.region === "string" && typeof e.domain === "object";
}

/** Every shipped environment by name: the selectable ones first, then exported examples. */
export function shippedEnvironments(): EnvironmentConfig[] {
  const byName = new Map<string, EnvironmentConfig>();
  for (const e of [...Object.values(shipped.environments), ...Object.values(shipped)]) {
    if (isEnvironment(e) && !byName.has(e.name)) byName.set(e.name, e);
  }
  return [...byName.values()];
}

if (require.main === module) {
  const [outbase, flag, except] = process.argv.slice(2);
  if (!outbase || (flag !== undefined && flag !== "--except")) {
    console.error("usage: synth-environments.ts OUTBASE [--except NAME]");
    process.exit(2);
  }
  for (const env of shippedEnvironments()) {
    if (flag && env.name === except) continue;
    console.log(`${env.name}\t${synthEnvironment(env, join(outbase, env.name))}`);
  }
}
