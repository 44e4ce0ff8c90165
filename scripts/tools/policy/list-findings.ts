/**
 * Prints every finding of the policy rule set (scripts/tools/policy/rules.ts) over every stack of every shipped
 * environment, and over the state bootstrap (backend.tf.json, as the stack `state-bootstrap`), one line each:
 * `<rule id> <address> (<environment>)`.
 *
 *   npx tsx scripts/tools/policy/list-findings.ts [--outdir DIR]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { environments } from "../../../constructs/config/environments";
import { repoPath } from "../../../constructs/config/repo-root";
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

/** backend.tf.json as one stack, `state-bootstrap` (applied with plain terraform before any stack). */
export function stateBootstrapStack(file = repoPath("backend.tf.json")): StackJson {
  const json = JSON.parse(readFileSync(file, "utf8")) as { resource?: StackJson["resources"] };
  return { stack: "state-bootstrap", resources: json.resource ?? {} };
}

if (require.main === module) {
  for (const name of Object.keys(environments)) {
    for (const f of findings(stacksOf(name))) console.log(`${f.id} ${f.address} (${name})`);
  }
  for (const f of findings([stateBootstrapStack()])) console.log(`${f.id} ${f.address} (backend.tf.json)`);
}
