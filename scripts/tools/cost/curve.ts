/**
 * The cost curve: the estimate of each topology over a range of monthly traffic, its crossings of the budget,
 * and the README block, the SVG chart and the JSON that carry it. Pure computation over loaded stacks (no
 * I/O); scripts/tools/cost/curve-cli.ts synthesizes the environments and writes the files.
 *
 * Every point is `estimate()` on `atTraffic(assumptions, requests)`, exactly what
 * `npm run cost -- --env <env> --requests <requests>` prints, so a point on the curve and the command agree.
 */
import { UsageAssumptions, atTraffic } from "./assumptions";
import { commitmentLabel, usd } from "./format";
import { CostReport, estimate } from "./model";
import { RATES_VERSION } from "./rates";
import { LoadedStack } from "./tfjson";

/** 100k to 500M viewer requests per month, 1-2-5 per decade. */
export const CURVE_REQUESTS: readonly number[] = [1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 2e7, 5e7, 1e8, 2e8, 5e8];

export interface CurvePoint {
  requestsPerMonth: number;
  /** Everything on-demand, no always-free allowance (report.onDemandTotalUsd). */
  onDemandUsd: number;
  /** With the configured commitment (report.commitmentTotalUsd), at the discount range's midpoint. */
  commitmentUsd: number;
  /** The same at the range's ends: [largest discount, smallest discount]. */
  commitmentRangeUsd: [number, number];
  /** With the commitment and every always-free allowance (the account has them to itself). */
  allowancesUsd: number;
  /** What `npm run cost` compares with the budget (report.totalUsd). */
  configuredUsd: number;
}

/** Where a series crosses the budget: at some traffic, never (over at any traffic), or beyond the searched range. */
export type Crossing =
  | { kind: "at"; requestsPerMonth: number }
  | { kind: "over-at-any-traffic"; fixedUsd: number }
  | { kind: "beyond"; requestsPerMonth: number };

export type Series = "onDemandUsd" | "commitmentUsd" | "allowancesUsd";
export const SERIES: readonly Series[] = ["onDemandUsd", "commitmentUsd", "allowancesUsd"];

export interface TopologyCurve {
  topology: "single-box" | "scaled";
  environment: string;
  /** Set when some stacks of the topology come from an assumption, not from the synthesized environment. */
  assumed?: string;
  points: CurvePoint[];
  /** The point at the assumptions' own traffic. */
  current: CurvePoint;
  breakEven: Record<Series, Crossing>;
}

export interface CostCurve {
  ratesVersion: string;
  budgetUsd: number;
  /** The commitment behind `commitmentUsd`, in words. */
  commitment: string;
  currentRequestsPerMonth: number;
  topologies: TopologyCurve[];
}

export interface TopologyInput {
  topology: TopologyCurve["topology"];
  environment: string;
  stacks: LoadedStack[];
  assumed?: string;
}

function r2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** One point: the estimate at `requests`, reduced to the four totals. */
export function pointAt(
  stacks: LoadedStack[],
  environment: string,
  budgetUsd: number,
  a: UsageAssumptions,
  requests: number,
): CurvePoint {
  return toPoint(estimate(stacks, { environment, budgetUsd, assumptions: atTraffic(a, requests) }), requests);
}

/** The three series of one report, unrounded. */
export function seriesOf(r: CostReport): Record<Series, number> {
  const credits = r.freeTierCredits.filter((c) => !c.standing).reduce((s, c) => s + c.usd, 0);
  return {
    onDemandUsd: r.onDemandTotalUsd,
    commitmentUsd: r.commitmentTotalUsd,
    allowancesUsd: r.commitmentTotalUsd + credits,
  };
}

export function toPoint(r: CostReport, requests: number): CurvePoint {
  const s = seriesOf(r);
  return {
    requestsPerMonth: requests,
    onDemandUsd: r2(s.onDemandUsd),
    commitmentUsd: r2(s.commitmentUsd),
    commitmentRangeUsd: [
      r2(r.onDemandTotalUsd - r.commitment.savingsUsd.high),
      r2(r.onDemandTotalUsd - r.commitment.savingsUsd.low),
    ],
    allowancesUsd: r2(s.allowancesUsd),
    configuredUsd: r2(r.totalUsd),
  };
}

/**
 * The traffic at which `f` (monthly cost, rising with traffic) reaches `budget`, to 0.1%: a bisection on the
 * logarithm of the traffic between 1,000 and 50 billion requests per month.
 */
export function crossing(f: (requests: number) => number, budget: number): Crossing {
  let lo = 1e3;
  let hi = 5e10;
  if (f(lo) > budget) return { kind: "over-at-any-traffic", fixedUsd: r2(f(0)) };
  if (f(hi) <= budget) return { kind: "beyond", requestsPerMonth: hi };
  while (hi / lo > 1.001) {
    const mid = Math.sqrt(lo * hi);
    if (f(mid) > budget) hi = mid;
    else lo = mid;
  }
  return { kind: "at", requestsPerMonth: Math.floor(lo) };
}

export function topologyCurve(input: TopologyInput, budgetUsd: number, a: UsageAssumptions): TopologyCurve {
  const at = (requests: number) => pointAt(input.stacks, input.environment, budgetUsd, a, requests);
  const exact = (requests: number) =>
    seriesOf(
      estimate(input.stacks, { environment: input.environment, budgetUsd, assumptions: atTraffic(a, requests) }),
    );
  const breakEven = {} as Record<Series, Crossing>;
  for (const s of SERIES) breakEven[s] = crossing((requests) => exact(requests)[s], budgetUsd);
  const curve: TopologyCurve = {
    topology: input.topology,
    environment: input.environment,
    points: CURVE_REQUESTS.map(at),
    current: at(a.edge.requestsPerMonth),
    breakEven,
  };
  return input.assumed ? { ...curve, assumed: input.assumed } : curve;
}

export function costCurve(inputs: readonly TopologyInput[], budgetUsd: number, a: UsageAssumptions): CostCurve {
  return {
    ratesVersion: RATES_VERSION,
    budgetUsd,
    commitment: commitmentLabel(a.commitment),
    currentRequestsPerMonth: a.edge.requestsPerMonth,
    topologies: inputs.map((i) => topologyCurve(i, budgetUsd, a)),
  };
}

/** 1200000 -> "1.2M", 500000000 -> "500M", 100000 -> "100k". */
export function requestsText(n: number): string {
  const fmt = (x: number) => String(Number(x.toPrecision(2)));
  if (n >= 1e9) return `${fmt(n / 1e9)}B`;
  if (n >= 1e6) return `${fmt(n / 1e6)}M`;
  if (n >= 1e3) return `${fmt(n / 1e3)}k`;
  return fmt(n);
}

export function crossingText(c: Crossing): string {
  if (c.kind === "at") return `${requestsText(c.requestsPerMonth)} requests`;
  if (c.kind === "over-at-any-traffic") return `never under it (${usd(c.fixedUsd)} at no traffic)`;
  return `above ${requestsText(c.requestsPerMonth)} requests`;
}

const ROWS: ReadonlyArray<[Series, (commitment: string) => string]> = [
  ["onDemandUsd", () => "List price, on-demand"],
  ["commitmentUsd", (c) => `With the commitment (${c})`],
  ["allowancesUsd", () => "With the commitment and the always-free allowances"],
];

/** The README's cost block: one short table, the chart, and where the numbers come from. */
export function renderReadmeBlock(c: CostCurve, svgPath: string, jsonPath: string): string {
  const [box, scaled] = [
    c.topologies.find((t) => t.topology === "single-box"),
    c.topologies.find((t) => t.topology === "scaled"),
  ];
  const now = requestsText(c.currentRequestsPerMonth);
  const head = ["", `single-box at ${now} requests/month`, "single-box crosses the budget at"];
  if (scaled) head.push(`scaled at ${now}`, "scaled crosses the budget at");
  const rows = ROWS.map(([s, label]) => {
    const cells = [label(c.commitment)];
    const at = (t: TopologyCurve) => {
      const [lo, hi] = t.current.commitmentRangeUsd;
      return s === "commitmentUsd" && lo !== hi ? `${usd(t.current[s])} (${usd(lo)} to ${usd(hi)})` : usd(t.current[s]);
    };
    if (box) cells.push(at(box), crossingText(box.breakEven[s]));
    if (scaled) cells.push(at(scaled), crossingText(scaled.breakEven[s]));
    return `| ${cells.join(" | ")} |`;
  });
  const assumed = c.topologies
    .filter((t) => t.assumed)
    .map((t) => `The \`${t.topology}\` curve is built from ${t.assumed}.`);
  return (
    [
      `Monthly cost in USD from \`npm run cost:curve\` (rates of ${c.ratesVersion}; usage from scripts/tools/cost/assumptions.ts, ` +
        `traffic-driven parts scaled to each traffic; budget ${usd(c.budgetUsd)}):`,
      "",
      `| ${head.join(" | ")} |`,
      `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
      ...rows,
      "",
      `![Monthly cost of each topology from 100k to 500M requests a month, with the $${c.budgetUsd} budget](${svgPath})`,
      "",
      `Savings Plan rates per instance type could not be read from AWS's page, so the commitment is a discount range ` +
        `(midpoint in the totals, ends in brackets; scripts/tools/cost/rates.ts COMMITMENT_DISCOUNTS). ` +
        `The same series as JSON: [${jsonPath}](${jsonPath}). ${assumed.join(" ")}`.trimEnd(),
    ].join("\n") + "\n"
  );
}

// ---------------------------------------------------------------------------------------------------------
// The chart. SVG written directly from the curve: log-log axes, the budget line, both topologies (on-demand
// solid, with the commitment and allowances dashed), the current assumption's point, and the traffic where
// single-box crosses the budget. No charting library: this is smaller than any, renders without a browser,
// and is byte-for-byte reproducible, so a test can keep the committed file current.
// ---------------------------------------------------------------------------------------------------------

const W = 760;
const H = 440;
const M = { left: 64, right: 24, top: 44, bottom: 86 };
const COLORS: Record<TopologyCurve["topology"], string> = { "single-box": "#1f77b4", scaled: "#d62728" };

function niceCeil(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function niceFloor(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [5, 2, 1]) if (m * p <= x) return m * p;
  return p;
}

function f1(x: number): string {
  return (Math.round(x * 10) / 10).toFixed(1);
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function renderCurveSvg(c: CostCurve): string {
  const xs = CURVE_REQUESTS;
  const values = c.topologies.flatMap((t) => t.points.flatMap((p) => [p.onDemandUsd, p.allowancesUsd]));
  const yMin = niceFloor(Math.min(c.budgetUsd, ...values) * 0.8);
  const yMax = niceCeil(Math.max(c.budgetUsd, ...values) * 1.05);
  const [x0, x1] = [Math.log10(xs[0]), Math.log10(xs[xs.length - 1])];
  const px = (r: number) => M.left + ((Math.log10(r) - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (u: number) =>
    H -
    M.bottom -
    ((Math.log10(u) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - M.top - M.bottom);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(
    `<!-- Generated by \`npm run cost:curve\` from scripts/tools/cost (rates of ${c.ratesVersion}); do not edit by hand. -->`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text x="${M.left}" y="20" font-size="14" font-weight="bold">Monthly cost by traffic (USD, log scales)</text>`,
  );
  out.push(
    `<text x="${M.left}" y="34" fill="#555555">dashed: with ${esc(c.commitment)} and the always-free allowances</text>`,
  );
  // Grid and axes.
  for (let d = Math.floor(Math.log10(yMin)); d <= Math.ceil(Math.log10(yMax)); d++)
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (v < yMin || v > yMax) continue;
      out.push(`<line x1="${M.left}" y1="${f1(py(v))}" x2="${W - M.right}" y2="${f1(py(v))}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${M.left - 6}" y="${f1(py(v) + 4)}" text-anchor="end">$${v}</text>`);
    }
  for (const r of xs) {
    out.push(`<line x1="${f1(px(r))}" y1="${M.top}" x2="${f1(px(r))}" y2="${H - M.bottom}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${f1(px(r))}" y="${H - M.bottom + 16}" text-anchor="middle">${requestsText(r)}</text>`);
  }
  out.push(
    `<text x="${f1((M.left + W - M.right) / 2)}" y="${H - M.bottom + 34}" text-anchor="middle">viewer requests per month</text>`,
  );
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#999999"/>`,
  );
  // Budget.
  out.push(
    `<line x1="${M.left}" y1="${f1(py(c.budgetUsd))}" x2="${W - M.right}" y2="${f1(py(c.budgetUsd))}" stroke="#2ca02c" stroke-width="2" stroke-dasharray="2 3"/>`,
  );
  out.push(
    `<text x="${W - M.right - 4}" y="${f1(py(c.budgetUsd) - 5)}" text-anchor="end" fill="#2ca02c">budget $${c.budgetUsd}</text>`,
  );
  // Series.
  for (const t of c.topologies) {
    const color = COLORS[t.topology];
    for (const [series, dash] of [
      ["onDemandUsd", ""],
      ["allowancesUsd", ` stroke-dasharray="6 4"`],
    ] as Array<[Series, string]>) {
      const pts = t.points.map((p) => `${f1(px(p.requestsPerMonth))},${f1(py(p[series]))}`).join(" ");
      out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    }
  }
  // Where single-box crosses the budget.
  const box = c.topologies.find((t) => t.topology === "single-box");
  if (box)
    for (const [i, s] of (["onDemandUsd", "allowancesUsd"] as Series[]).entries()) {
      const x = box.breakEven[s];
      if (x.kind !== "at" || x.requestsPerMonth < xs[0] || x.requestsPerMonth > xs[xs.length - 1]) continue;
      const cx = px(x.requestsPerMonth);
      out.push(
        `<line x1="${f1(cx)}" y1="${f1(py(c.budgetUsd))}" x2="${f1(cx)}" y2="${H - M.bottom}" stroke="${COLORS["single-box"]}" stroke-dasharray="1 3"/>`,
      );
      out.push(
        `<circle cx="${f1(cx)}" cy="${f1(py(c.budgetUsd))}" r="4" fill="#ffffff" stroke="${COLORS["single-box"]}" stroke-width="2"/>`,
      );
      const label = `single-box ${s === "onDemandUsd" ? "on-demand" : "committed + free"} crosses $${c.budgetUsd} at ${requestsText(x.requestsPerMonth)}`;
      out.push(
        `<text x="${f1(cx + 5)}" y="${f1(py(c.budgetUsd) + 16 + 15 * i)}" fill="${COLORS["single-box"]}">${label}</text>`,
      );
    }
  // The current assumption's point (configured total of single-box).
  if (box) {
    const cx = px(box.current.requestsPerMonth);
    const cy = py(box.current.configuredUsd);
    out.push(`<circle cx="${f1(cx)}" cy="${f1(cy)}" r="5" fill="${COLORS["single-box"]}"/>`);
    out.push(
      `<text x="${f1(cx - 8)}" y="${f1(cy - 9)}" text-anchor="end">today's assumption: ${requestsText(box.current.requestsPerMonth)} requests, ${usd(box.current.configuredUsd)}</text>`,
    );
  }
  // Legend: one row per topology.
  for (const [i, t] of c.topologies.entries()) {
    const ly = H - 36 + i * 18;
    out.push(
      `<text x="${M.left}" y="${ly}" font-weight="bold" fill="${COLORS[t.topology]}">${esc(`${t.topology}${t.assumed ? " (assumed)" : ""}`)}</text>`,
    );
    let lx = M.left + 130;
    for (const [label, dash] of [
      ["on-demand", ""],
      ["committed, with the always-free allowances", ` stroke-dasharray="6 4"`],
    ]) {
      out.push(
        `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${COLORS[t.topology]}" stroke-width="2"${dash}/>`,
      );
      out.push(`<text x="${lx + 30}" y="${ly}">${esc(label)}</text>`);
      lx += 130;
    }
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

export function renderCurveJson(c: CostCurve): string {
  return JSON.stringify(c, null, 2) + "\n";
}
