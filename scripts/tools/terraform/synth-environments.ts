/**
 * tsx scripts/tools/terraform/synth-environments.ts OUTBASE [--except NAME]
 *
 * Synthesizes every shipped environment into OUTBASE/<name>/ (the same atomic synth as `npm run synth`) and
 * prints one line per environment, `<name>\t<dir>`. Shipped means selectable (`environments`) or exported
 * from constructs/config/environments.ts as an example (e.g. `scaled`), so the plan tests cover examples too.
 */
import { join } from "path";
import { synthEnvironment } from "../../../main";
import { shippedEnvironments } from "./environments";

const [outbase, flag, except] = process.argv.slice(2);
if (!outbase || (flag !== undefined && flag !== "--except")) {
  console.error("usage: synth-environments.ts OUTBASE [--except NAME]");
  process.exit(2);
}
for (const env of shippedEnvironments()) {
  if (flag && env.name === except) continue;
  console.log(`${env.name}\t${synthEnvironment(env, join(outbase, env.name))}`);
}
