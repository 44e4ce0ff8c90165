/**
 * npm run cost [-- --env NAME --outdir DIR --json FILE --assumptions FILE --requests N --strict --update-doc FILE]
 *
 * Prices every resource in <outdir>/stacks/*\/cdk.tf.json (default cdktf.out) for one environment, prints a
 * per-stack, per-resource table with the on-demand and the committed totals, writes the report as JSON, and
 * exits non-zero when the configured total exceeds the environment's monthlyBudgetUsd. Resource types it
 * cannot price are listed; with --strict they fail the run. The README's cost block and the curve belong to
 * `npm run cost:curve` (scripts/tools/cost/curve-cli.ts).
 *
 * Exit codes: 0 within budget; 1 over budget; 2 bad input (nothing written); 3 unpriced types with --strict.
 */
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "fs";
import { dirname, extname, join, resolve } from "path";
import { selectEnvironment } from "../../../constructs/config/validate-environment";
import { AssumptionsError, UsageAssumptions, assumptionsFor, atTraffic, mergeAssumptions } from "./assumptions";
import { commitmentLabel, renderComparisonMarkdown, renderDetailMarkdown, renderText } from "./format";
import { estimate } from "./model";
import { RATES } from "./rates";
import { InputError, loadStacks, replaceBetweenMarkers, stacksOfEnvironment } from "./tfjson";
import { ConfigError } from "../../../constructs/config/errors";

const HELP = `Usage: npm run cost [-- options]

Prices the synthesized stacks of one environment from a dated rate table (scripts/tools/cost/rates.ts) and
usage assumptions (scripts/tools/cost/assumptions.ts); compares the total with the environment's monthlyBudgetUsd.

Options:
  --env NAME            environment (default: ZMANIM_ENV or prod)
  --outdir DIR          cdktf output directory to read (default: cdktf.out)
  --json FILE           where to write the JSON report (default: <outdir>/cost.json)
  --assumptions FILE    JSON (partial, deep-merged over the defaults and the environment's overrides in
                        scripts/tools/cost/assumptions.ts) or a .ts/.js module exporting \`assumptions\`
  --requests N          price at N viewer requests per month: the traffic-driven assumptions scale with
                        it (scripts/tools/cost/assumptions.ts atTraffic), as on the curve of npm run cost:curve
  --strict              exit 3 when any resource type cannot be priced
  --update-doc FILE     rewrite the blocks <!-- cost:begin/end --> (comparison) and <!-- cost-detail:begin/end -->
                        (every line item) in FILE
  -h, --help            this text

The total compared with the budget uses the environment's instance purchase option (assumptions.commitment)
and, when assumptions.alwaysFreeTier is true, the always-free allowances; on-demand is shown next to it.

Exit codes: 0 within budget, 1 over budget, 2 bad input, 3 unpriced types with --strict.
`;

interface Options {
  outdir: string;
  json?: string;
  assumptions?: string;
  requests?: number;
  strict: boolean;
  updateDocs: string[];
  help: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { outdir: "cdktf.out", strict: false, updateDocs: [], help: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new InputError(`${flag}: missing value; see --help`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf("=");
    const flag = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith("--") && eq > 0 ? a.slice(eq + 1) : undefined;
    const take = () => (inline !== undefined ? inline : value(i++, flag));
    switch (flag) {
      case "--env":
        take();
        break; // read by selectEnvironment
      case "--outdir":
        o.outdir = take();
        break;
      case "--json":
        o.json = take();
        break;
      case "--assumptions":
        o.assumptions = take();
        break;
      case "--requests": {
        const v = take();
        const n = Number(v.replace(/_/g, ""));
        if (!/^[0-9_]+(\.[0-9]+)?(e[0-9]+)?$/i.test(v) || !Number.isFinite(n))
          throw new InputError(
            `--requests ${JSON.stringify(v)}: use a number of viewer requests per month, e.g. 5000000 or 5e6`,
          );
        o.requests = n;
        break;
      }
      case "--strict":
        o.strict = true;
        break;
      case "--update-doc":
        o.updateDocs.push(take());
        break;
      case "-h":
      case "--help":
        o.help = true;
        break;
      default:
        throw new InputError(`${JSON.stringify(a)}: unknown option; see --help`);
    }
  }
  return o;
}

function loadAssumptions(file: string | undefined, base: UsageAssumptions): UsageAssumptions {
  if (!file) return base;
  const path = resolve(file);
  if (!existsSync(path)) throw new InputError(`--assumptions ${JSON.stringify(file)}: file not found`);
  const ext = extname(path);
  if (ext === ".json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8"));
    } catch (err) {
      throw new InputError(`--assumptions ${file}: not valid JSON (${(err as Error).message})`);
    }
    return mergeAssumptions(base, parsed, file);
  }
  if (ext === ".ts" || ext === ".js") {
    // A TypeScript or JavaScript assumptions file is loaded as a module (tsx resolves .ts at run time).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path) as { assumptions?: unknown; default?: unknown };
    const a = mod.assumptions ?? mod.default;
    if (!a) throw new InputError(`--assumptions ${file}: the module exports no \`assumptions\``);
    return mergeAssumptions(base, a, file);
  }
  throw new InputError(`--assumptions ${file}: use a .json, .ts or .js file`);
}

/** Runs the command; returns the exit code. Reads nothing from the process itself. */
export function main(
  argv: readonly string[],
  vars: Readonly<Record<string, string | undefined>>,
  print: (s: string) => void = (s) => process.stdout.write(s),
  printErr: (s: string) => void = (s) => process.stderr.write(s),
): number {
  let o: Options;
  try {
    o = parseArgs(argv);
    if (o.help) {
      print(HELP);
      return 0;
    }
    const env = selectEnvironment(argv, vars);
    const configured = loadAssumptions(o.assumptions, assumptionsFor(env.name));
    const assumptions = o.requests === undefined ? configured : atTraffic(configured, o.requests);
    const stacks = stacksOfEnvironment(loadStacks(o.outdir), env.name, o.outdir);
    const report = estimate(stacks, { environment: env.name, budgetUsd: env.monthlyBudgetUsd, assumptions });

    const comparison = renderComparisonMarkdown(report);

    // Render everything before writing anything, so a failure leaves no half-updated file.
    const writes: Array<[string, string]> = [];
    const jsonFile = o.json ?? join(o.outdir, "cost.json");
    // The rates behind the lines, with their sources, so the JSON can be audited on its own.
    const rates = Object.fromEntries([...new Set(report.lines.map((l) => l.rateKey))].sort().map((k) => [k, RATES[k]]));
    writes.push([jsonFile, JSON.stringify({ ...report, rates, assumptions }, null, 2) + "\n"]);
    for (const doc of o.updateDocs) {
      if (!existsSync(doc)) throw new InputError(`--update-doc ${JSON.stringify(doc)}: file not found`);
      let text = replaceBetweenMarkers(readFileSync(doc, "utf8"), "cost", comparison, doc);
      text = replaceBetweenMarkers(text, "cost-detail", renderDetailMarkdown(report), doc);
      writes.push([doc, text]);
    }
    for (const [file, text] of writes) {
      mkdirSync(dirname(resolve(file)), { recursive: true });
      writeFileSync(file, text);
    }

    print(renderText(report));
    print(`JSON report: ${jsonFile}\n`);
    if (report.overBudget) {
      printErr(
        `cost: estimate $${report.totalUsd.toFixed(2)} (${commitmentLabel(report.commitment)}) exceeds the ${env.name} budget of ` +
          `$${report.budgetUsd.toFixed(2)} (monthlyBudgetUsd in constructs/config/environments.ts)\n`,
      );
      return 1;
    }
    if (report.unpriced.length) {
      const msg = `cost: ${report.unpriced.length} resources of types ${report.unpricedTypes.join(", ")} are not priced; add rules to scripts/tools/cost/model.ts and rates to scripts/tools/cost/rates.ts`;
      printErr(`${msg}${o.strict ? "" : " (warning; --strict makes this fail)"}\n`);
      if (o.strict) return 3;
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      printErr(`cost: ${err.problems.join("; ")}\n`);
      return 2;
    }
    if (err instanceof InputError || err instanceof AssumptionsError) {
      printErr(`cost: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), process.env);
}
