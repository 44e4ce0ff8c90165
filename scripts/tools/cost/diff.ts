/**
 * npm run cost:diff -- BASE.json HEAD.json
 *
 * Compares two reports of `npm run cost -- --json FILE` (the base and the head of a pull request) and prints
 * Markdown for the job summary: both totals against the budget, and every resource whose monthly cost
 * changed (added, removed, or priced differently), largest change first.
 *
 * The budget gate, on the totals compared with each report's own budget (`totalUsd` vs `budgetUsd`):
 * - the head is over and the base was not: the change takes the estimate over budget: exit 1;
 * - the base was already over: a warning (a `::warning::` line on stderr for GitHub), exit 0, whatever the
 *   head does, so a pull request is never red for a budget that main already misses;
 * - otherwise: exit 0.
 *
 * Exit codes: 0 within budget, or already over before the change (warning); 1 the change takes the estimate
 * over budget; 2 bad input (a file missing or not a cost report, or reports of different environments).
 */
import { existsSync, readFileSync } from "fs";

/** The parts of a CostReport (scripts/tools/cost/model.ts) the diff reads. */
export interface CostReportJson {
  environment: string;
  budgetUsd: number;
  totalUsd: number;
  lines: Array<{ stack: string; address: string; usd: number }>;
}

export interface ResourceDelta {
  /** "<stack> <address>" */
  resource: string;
  baseUsd: number;
  headUsd: number;
  deltaUsd: number;
  kind: "added" | "removed" | "changed";
}

export interface CostDiff {
  environment: string;
  base: { totalUsd: number; budgetUsd: number; over: boolean };
  head: { totalUsd: number; budgetUsd: number; over: boolean };
  deltaUsd: number;
  resources: ResourceDelta[];
  verdict: "within" | "crosses" | "already-over";
  exitCode: 0 | 1;
}

export class DiffInputError extends Error {}

/** Amounts within half a cent are the same (the report's lines carry more digits than a bill). */
const SAME = 0.005;

function byResource(r: CostReportJson): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of r.lines) {
    const k = `${l.stack} ${l.address}`;
    m.set(k, (m.get(k) ?? 0) + l.usd);
  }
  return m;
}

export function diffReports(base: CostReportJson, head: CostReportJson): CostDiff {
  if (base.environment !== head.environment) {
    throw new DiffInputError(
      `the reports price different environments: base "${base.environment}", head "${head.environment}"; price the same --env twice`,
    );
  }
  const b = byResource(base);
  const h = byResource(head);
  const resources: ResourceDelta[] = [];
  for (const k of new Set([...b.keys(), ...h.keys()])) {
    const baseUsd = b.get(k) ?? 0;
    const headUsd = h.get(k) ?? 0;
    if (Math.abs(headUsd - baseUsd) < SAME && b.has(k) === h.has(k)) continue;
    resources.push({
      resource: k,
      baseUsd,
      headUsd,
      deltaUsd: headUsd - baseUsd,
      kind: !b.has(k) ? "added" : !h.has(k) ? "removed" : "changed",
    });
  }
  resources.sort((x, y) => Math.abs(y.deltaUsd) - Math.abs(x.deltaUsd) || x.resource.localeCompare(y.resource));
  const side = (r: CostReportJson) => ({
    totalUsd: r.totalUsd,
    budgetUsd: r.budgetUsd,
    over: r.totalUsd > r.budgetUsd,
  });
  const bs = side(base);
  const hs = side(head);
  const verdict = bs.over ? "already-over" : hs.over ? "crosses" : "within";
  return {
    environment: head.environment,
    base: bs,
    head: hs,
    deltaUsd: hs.totalUsd - bs.totalUsd,
    resources,
    verdict,
    exitCode: verdict === "crosses" ? 1 : 0,
  };
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const signed = (n: number) => `${n >= 0 ? "+" : "-"}$${Math.abs(n).toFixed(2)}`;

export function renderDiffMarkdown(d: CostDiff): string {
  const out: string[] = [];
  out.push(`### Monthly cost estimate (${d.environment})`, "");
  out.push("| | total | budget |", "|---|---:|---:|");
  out.push(`| base | ${usd(d.base.totalUsd)} | ${usd(d.base.budgetUsd)}${d.base.over ? " (over)" : ""} |`);
  out.push(`| head | ${usd(d.head.totalUsd)} | ${usd(d.head.budgetUsd)}${d.head.over ? " (over)" : ""} |`);
  out.push(`| change | **${signed(d.deltaUsd)}** | |`, "");
  if (d.resources.length === 0) out.push("No resource's monthly cost changed.");
  else {
    out.push("| resource | base | head | change |", "|---|---:|---:|---:|");
    for (const r of d.resources) {
      const label = r.kind === "changed" ? `\`${r.resource}\`` : `\`${r.resource}\` (${r.kind})`;
      out.push(`| ${label} | ${usd(r.baseUsd)} | ${usd(r.headUsd)} | ${signed(r.deltaUsd)} |`);
    }
  }
  out.push("");
  if (d.verdict === "crosses")
    out.push(`**This change takes the estimate over the budget: ${usd(d.head.totalUsd)} > ${usd(d.head.budgetUsd)}.**`);
  else if (d.verdict === "already-over")
    out.push(
      `Warning: the base was already over budget (${usd(d.base.totalUsd)} > ${usd(d.base.budgetUsd)}); not failing this change for it.`,
    );
  else out.push(`Within budget: ${usd(d.head.totalUsd)} <= ${usd(d.head.budgetUsd)}.`);
  return out.join("\n") + "\n";
}

function readReport(file: string): CostReportJson {
  if (!existsSync(file))
    throw new DiffInputError(`${file}: no such file; write it with \`npm run cost -- --json ${file}\``);
  let r: CostReportJson;
  try {
    r = JSON.parse(readFileSync(file, "utf8")) as CostReportJson;
  } catch (e) {
    throw new DiffInputError(`${file}: not JSON (${(e as Error).message})`);
  }
  for (const [k, t] of [
    ["environment", "string"],
    ["budgetUsd", "number"],
    ["totalUsd", "number"],
  ] as const) {
    if (typeof r[k] !== t)
      throw new DiffInputError(
        `${file}: field ${k} is ${JSON.stringify(r[k])}, expected a ${t}; is it a report of \`npm run cost -- --json\`?`,
      );
  }
  if (!Array.isArray(r.lines))
    throw new DiffInputError(`${file}: field lines is not an array; is it a report of \`npm run cost -- --json\`?`);
  return r;
}

export function main(
  argv: readonly string[],
  print: (s: string) => void = (s) => process.stdout.write(s),
  printErr: (s: string) => void = (s) => process.stderr.write(s),
): number {
  if (argv.includes("-h") || argv.includes("--help")) {
    print(
      "Usage: npm run cost:diff -- BASE.json HEAD.json\n\nExit codes: 0 within budget, or already over before the change (warning); 1 the change takes the estimate over budget; 2 bad input.\n",
    );
    return 0;
  }
  try {
    if (argv.length !== 2)
      throw new DiffInputError(`expected two reports, BASE.json and HEAD.json; got ${argv.length} argument(s)`);
    const d = diffReports(readReport(argv[0]), readReport(argv[1]));
    print(renderDiffMarkdown(d));
    if (d.verdict === "already-over")
      printErr(
        `::warning::cost: ${d.environment} was already over its budget before this change (${usd(d.base.totalUsd)} > ${usd(d.base.budgetUsd)}); head: ${usd(d.head.totalUsd)}\n`,
      );
    if (d.verdict === "crosses")
      printErr(
        `cost: this change takes ${d.environment} over its budget: ${usd(d.head.totalUsd)} > ${usd(d.head.budgetUsd)} (base ${usd(d.base.totalUsd)})\n`,
      );
    return d.exitCode;
  } catch (e) {
    if (e instanceof DiffInputError) {
      printErr(`cost:diff: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
