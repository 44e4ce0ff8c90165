/**
 * tsx scripts/tools/terraform/plan-tests-cli.ts --outdir DIR --schema FILE --into DIR [--installable "ns/name ..."|any] [STACK ...]
 *
 * Writes, for every synthesized stack (or the named ones), `<into>/<stack>/cdk.tf.json` (a private copy without
 * backend) and `<into>/<stack>.tftest.hcl`, its plan-mode test (see ./plan-tests.ts), beside a
 * `<into>/main.tf.json` test root. Prints one line per stack: `<stack>\tRUN\t<run name>\t<asserts>\t<notes>` or
 * `<stack>\tSKIP\t<reason>`. Exit 2 on bad input, naming the problem.
 */
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { InputError, JsonObject, loadStacks } from "../cost/tfjson";
import { EnvironmentFacts, PlanTestError, ProviderSchemas, moduleTestFile, planTestFor } from "./plan-tests";
import { shippedEnvironments } from "./environments";

function main(argv: string[]): number {
  const opts: Record<string, string> = {};
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--outdir" || a === "--schema" || a === "--into" || a === "--installable") {
      if (argv[i + 1] === undefined) throw new InputError(`${a}: missing value`);
      opts[a.slice(2)] = argv[++i];
    } else if (a.startsWith("--")) {
      throw new InputError(`${a}: unknown option; use --outdir, --schema, --into, --installable`);
    } else only.push(a);
  }
  for (const required of ["schema", "into"]) if (!opts[required]) throw new InputError(`--${required}: required`);
  const all = loadStacks(opts.outdir ?? "cdktf.out");
  const unknown = only.filter((s) => !all.some((x) => x.name === s));
  if (unknown.length > 0)
    throw new InputError(
      `${unknown.join(", ")}: no such synthesized stack (have: ${all.map((s) => s.name).join(", ")})`,
    );
  const schemas = JSON.parse(readFileSync(opts.schema, "utf8")) as ProviderSchemas;
  // "any": providers come from the registry, so every one can be installed.
  const listed = (opts.installable ?? "hashicorp/aws").split(/[\s,]+/).filter(Boolean);
  const installable = (provider: string) => listed.includes("any") || listed.includes(provider);
  let written = 0;
  let aws: unknown;
  for (const stack of all.filter((s) => only.length === 0 || only.includes(s.name))) {
    const envName = /^zmanim-([a-z][a-z0-9]*)-/.exec(stack.name)?.[1];
    const env = envName ? shippedEnvironments().find((e) => e.name === envName) : undefined;
    const environment: EnvironmentFacts | undefined = env
      ? { name: env.name, siteName: env.domain.siteName, monthlyBudgetUsd: env.monthlyBudgetUsd }
      : undefined;
    const t = planTestFor(stack, { stacks: all, schemas, installable, environment });
    if (t.skip) {
      console.log(`${stack.name}\tSKIP\t${t.skip}`);
      continue;
    }
    const dir = join(opts.into, stack.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify(t.json, null, 2));
    writeFileSync(join(opts.into, `${stack.name}.tftest.hcl`), moduleTestFile(t, `./${stack.name}`));
    written++;
    aws = aws ?? ((t.json?.terraform as JsonObject | undefined)?.required_providers as JsonObject | undefined)?.aws;
    console.log(`${stack.name}\tRUN\t${t.parts?.runName}\t${t.asserts}\t${t.notes.join("; ")}`);
  }
  if (written > 0) {
    // The test root: no resources of its own, only the provider the stacks' runs share.
    const root = { terraform: { required_providers: { aws: aws ?? { source: "hashicorp/aws" } } } };
    writeFileSync(join(opts.into, "main.tf.json"), JSON.stringify(root, null, 2));
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  if (err instanceof InputError || err instanceof PlanTestError) {
    console.error(`plan-tests: ${err.message}`);
    process.exitCode = 2;
  } else throw err;
}
