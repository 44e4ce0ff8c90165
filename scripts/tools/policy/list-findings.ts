/**
 * Prints every finding of the policy rule set (scripts/tools/policy/rules.ts) over every stack of every shipped
 * environment, one line each: `<rule id> <address> (<environment>)`.
 *
 *   npx tsx scripts/tools/policy/list-findings.ts [--outdir DIR]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { environments } from "../../../constructs/config/environments";
import { synthEnvironment } from "../../../main";
import { findings, StackJson } from "./rules";
import { resourcePrefix } from "../../../constructs/config/naming";

/** The stacks of one environment, synthesized into a temporary directory. */
export function stacksOf(envName: string): StackJson[] {
  const env = environments[envName];
  const base = mkdtempSync(join(tmpdir(), "zmanim-policy-"));
  try {
    const outdir = synthEnvironment(env, join(base, "cdktf.out"));
    return readdirSync(join(outdir, "stacks")).map((dir) => {
      const json = JSON.parse(readFileSync(join(outdir, "stacks", dir, "cdk.tf.json"), "utf8"));
      return { stack: dir.replace(`${resourcePrefix(env)}-`, ""), resources: json.resource ?? {} };
    });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

if (require.main === module) {
  for (const name of Object.keys(environments)) {
    for (const f of findings(stacksOf(name))) console.log(`${f.id} ${f.address} (${name})`);
  }
}
