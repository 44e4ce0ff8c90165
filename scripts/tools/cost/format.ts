/** Renders a CostReport as a terminal table and as Markdown (docs/cost.md, the README cost block). */
import { CommitmentSummary, CostReport, LineItem } from "./model";
import { RATES } from "./rates";

export function usd(x: number): string {
  const s =
    Math.abs(x) < 0.005 && x !== 0 ? (x < 0 ? "-<$0.01" : "<$0.01") : `${x < 0 ? "-" : ""}$${Math.abs(x).toFixed(2)}`;
  return s;
}

function qty(x: number): string {
  if (x >= 1000) return Math.round(x).toLocaleString("en-US");
  return String(Math.round(x * 1000) / 1000);
}

function rateText(l: LineItem): string {
  const r = RATES[l.rateKey];
  return r?.note && /per [\d,]+|per million/.test(r.note) ? r.note.split(";")[0] : `$${l.unitUsd}`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : " ".repeat(n - s.length) + s;
}

export function renderText(r: CostReport): string {
  const out: string[] = [];
  out.push(
    `Monthly cost estimate for environment "${r.environment}" (rates ${r.ratesVersion}; on-demand list prices, USD)`,
  );
  out.push("");
  const aw = Math.min(60, Math.max(20, ...r.lines.map((l) => l.address.length)));
  const cw = Math.min(70, Math.max(20, ...r.lines.map((l) => l.component.length)));
  for (const s of r.perStack) {
    const lines = r.lines.filter((l) => l.stack === s.stack);
    out.push(`${pad(s.stack, aw + cw + 4)}${lpad(usd(s.usd), 10)}`);
    for (const l of lines) {
      const q = `${qty(l.quantity)} x ${rateText(l)}`;
      out.push(
        `  ${pad(l.address, aw)} ${pad(l.component, cw).slice(0, cw)} ${lpad(usd(l.usd), 9)}   ${q} (${l.unit})${l.note ? `  [${l.note}]` : ""}`,
      );
    }
    if (lines.length === 0) out.push("  (nothing billed)");
  }
  out.push("");
  out.push(`List total: ${usd(r.listTotalUsd)}`);
  const standing = r.freeTierCredits.filter((c) => c.standing);
  const free = r.freeTierCredits.filter((c) => !c.standing);
  for (const c of standing)
    out.push(`  ${pad(`${c.description} (part of the price)`, aw + cw + 1)} ${lpad(usd(c.usd), 9)}`);
  const c = r.commitment;
  out.push("");
  out.push(`${pad("On-demand", 52)}${lpad(usd(r.onDemandTotalUsd), 10)}`);
  out.push(
    `${pad(`With ${commitmentLabel(c)}`, 52)}${lpad(usd(r.commitmentTotalUsd), 10)}` +
      (c.plan === "on-demand"
        ? ""
        : `   saves ${usd(c.savingsUsd.mid)} of ${usd(c.eligibleUsd)} instance hours (range ${usd(c.savingsUsd.low)} to ${usd(c.savingsUsd.high)}` +
          `${c.upfrontUsd > 0 ? `; ${usd(c.upfrontUsd)} paid up front` : ""})`),
  );
  if (free.length) {
    out.push(
      `Always-free allowances (${r.freeTierApplied ? "applied" : "not applied; set assumptions.alwaysFreeTier to apply"}):`,
    );
    for (const f of free) out.push(`  ${pad(f.description, aw + cw + 1)} ${lpad(usd(f.usd), 9)}`);
  }
  const range =
    r.totalRangeUsd.low === r.totalRangeUsd.high
      ? ""
      : ` (discount range: ${usd(r.totalRangeUsd.low)} to ${usd(r.totalRangeUsd.high)})`;
  out.push(
    `Total: ${usd(r.totalUsd)}${range} / budget ${usd(r.budgetUsd)}  ${r.overBudget ? "OVER BUDGET" : "within budget"}`,
  );
  out.push("");
  const freeCount = r.free.reduce((s, f) => s + f.count, 0);
  out.push(
    `Free of charge: ${freeCount} resources of ${r.free.length} types (${r.free.map((f) => `${f.type} x${f.count}`).join(", ")})`,
  );
  if (r.unpriced.length) {
    out.push(`UNPRICED: ${r.unpriced.length} resources of ${r.unpricedTypes.length} types are not in the total:`);
    for (const u of r.unpriced) out.push(`  ${u.stack} ${u.address}: ${u.reason}`);
  } else {
    out.push("Unpriced: none");
  }
  return out.join("\n") + "\n";
}

/** "a 1-year Compute Savings Plan, no upfront", or "on-demand only". */
export function commitmentLabel(c: Pick<CommitmentSummary, "plan" | "term" | "upfront">): string {
  if (c.plan === "on-demand") return "no commitment (on-demand)";
  const plan = c.plan === "compute-savings-plan" ? "Compute Savings Plan" : "EC2 Instance Savings Plan";
  const upfront = c.upfront === "none" ? "no upfront" : c.upfront === "partial" ? "partial upfront" : "all upfront";
  return `a ${c.term === "1yr" ? "1-year" : "3-year"} ${plan}, ${upfront}`;
}

/** The epic's cost table (Epic 7, "Cost Breakdown"), for the comparison. */
export const EPIC_ESTIMATE: ReadonlyArray<{ category: string; usd: number; text: string }> = [
  { category: "EC2 instance", usd: 30, text: "~$30" },
  { category: "EBS root volume", usd: 1, text: "~$1" },
  { category: "EBS data volume", usd: 2, text: "~$2" },
  { category: "Public IPv4 (Elastic IP)", usd: 0, text: "Free" },
  { category: "S3", usd: 2, text: "~$2" },
  { category: "CloudFront", usd: 5, text: "~$5" },
  { category: "API Gateway", usd: 2, text: "~$2" },
  { category: "Route 53 hosted zone and queries", usd: 0.5, text: "~$0.50" },
  { category: "SSM Parameter Store", usd: 0, text: "Free" },
];
export const EPIC_TOTAL = 42.5;

export function category(l: LineItem): string {
  const item = l.rateKey.slice(l.rateKey.indexOf(":") + 1);
  if (l.type.startsWith("aws_service_discovery_")) return "Cloud Map";
  if (item.startsWith("ebs."))
    return l.type === "aws_instance" || l.type === "aws_autoscaling_group" ? "EBS root volume" : "EBS data volume";
  if (item.startsWith("rds.") || item.startsWith("secretsmanager.")) return "RDS PostgreSQL";
  if (item.startsWith("elasticache.")) return "ElastiCache Valkey";
  if (item.startsWith("elb.")) return "Load balancer";
  if (item.startsWith("ec2.data-transfer")) return "Data transfer out of EC2";
  if (item.startsWith("ec2.")) return "EC2 instance";
  if (item === "vpc.public-ipv4") return "Public IPv4 (Elastic IP)";
  if (item.startsWith("vpc.")) return "VPC endpoints and NAT";
  if (item.startsWith("s3.")) return "S3";
  if (item.startsWith("cloudfront.")) return "CloudFront";
  if (item.startsWith("apigw.")) return "API Gateway";
  if (item.startsWith("route53.health-check")) return "Route 53 health check";
  if (item.startsWith("route53.")) return "Route 53 hosted zone and queries";
  if (item.startsWith("cloudwatch.alarm")) return "CloudWatch alarms";
  if (item.startsWith("cloudwatch.")) return "CloudWatch custom metrics and API";
  if (item === "logs.ingest.vended" || (item === "logs.storage" && /flow/.test(l.address + (l.note ?? ""))))
    return "VPC flow logs";
  if (item.startsWith("logs.")) return "CloudWatch Logs";
  if (item.startsWith("cloudmap.")) return "Cloud Map";
  if (item.startsWith("ses.") || item.startsWith("sns.")) return "SES and SNS";
  if (item.startsWith("ssm.")) return "SSM Parameter Store";
  return "Other";
}

/** Per-category totals next to the epic's figures; the README cost block. */
export function renderComparisonMarkdown(r: CostReport): string {
  const totals = new Map<string, number>();
  for (const l of r.lines) totals.set(category(l), (totals.get(category(l)) ?? 0) + l.usd);
  const rows: string[] = [];
  const seen = new Set<string>();
  for (const e of EPIC_ESTIMATE) {
    seen.add(e.category);
    rows.push(`| ${e.category} | ${e.text} | ${usd(totals.get(e.category) ?? 0)} |`);
  }
  for (const [c, v] of [...totals.entries()].sort((x, y) => y[1] - x[1])) {
    if (seen.has(c)) continue;
    rows.push(`| ${c} | not in the epic | ${usd(v)} |`);
  }
  const credits = r.freeTierCredits.filter((c) => !c.standing).reduce((s, c) => s + c.usd, 0);
  const standing = r.freeTierCredits.filter((c) => c.standing);
  const out = [
    `Estimate for \`${r.environment}\` from \`npm run cost\` (rates of ${r.ratesVersion}, on-demand list prices in USD per month, ` +
      `usage from scripts/tools/cost/assumptions.ts):`,
    "",
    "| Item | Epic 7 estimate | This repository |",
    "|---|---:|---:|",
    ...rows,
    ...standing.map((c) => `| ${c.description} (part of the price) | | ${usd(c.usd)} |`),
    `| **Total, on-demand** | **~$${EPIC_TOTAL.toFixed(2)}** | **${usd(r.onDemandTotalUsd)}** |`,
    `| With ${commitmentLabel(r.commitment)} | | ${usd(r.commitmentTotalUsd)} |`,
    "",
    `Budget: ${usd(r.budgetUsd)} per month; the configured total (${commitmentLabel(r.commitment)}, ` +
      `always-free allowances ${r.freeTierApplied ? "applied" : "not applied"}) is ${usd(r.totalUsd)} (${r.overBudget ? "**exceeded**" : "within budget"}). ` +
      (r.freeTierCredits.length
        ? `AWS's always-free allowances would take off another ${usd(-credits)} if this account has them to itself` +
          `${r.freeTierApplied ? " (applied in the total)" : " (not applied)"}. `
        : "") +
      (r.unpriced.length
        ? `Unpriced resources (not in the total): ${r.unpricedTypes.join(", ")}.`
        : "Every resource is priced or known to be free."),
  ];
  return out.join("\n") + "\n";
}

/** Every line item, grouped by stack; docs/cost.md. */
export function renderDetailMarkdown(r: CostReport): string {
  const out = ["| Stack | Resource | Item | Quantity | Monthly |", "|---|---|---|---:|---:|"];
  for (const l of r.lines)
    out.push(
      `| ${l.stack.replace(/^zmanim-[a-z0-9]+-/, "")} | \`${l.address}\` | ${l.component} | ${qty(l.quantity)} ${l.unit} | ${usd(l.usd)} |`,
    );
  out.push(`| | | **List total** | | **${usd(r.listTotalUsd)}** |`);
  for (const c of r.freeTierCredits.filter((x) => x.standing))
    out.push(`| | | part of the price: ${c.description} | ${qty(c.quantity)} | ${usd(c.usd)} |`);
  const c = r.commitment;
  if (c.plan !== "on-demand")
    out.push(
      `| | | ${commitmentLabel(c)}: ${Math.round(c.discount.mid * 100)}% off (range ${Math.round(c.discount.low * 100)}-${Math.round(c.discount.high * 100)}%) | ${usd(c.eligibleUsd)} of instance hours | ${usd(-c.savingsUsd.mid)} |`,
    );
  for (const f of r.freeTierCredits.filter((x) => !x.standing))
    out.push(`| | | always free: ${f.description} | ${qty(f.quantity)} | ${usd(f.usd)} |`);
  out.push(
    `| | | **Total compared with the budget** (${r.freeTierApplied ? "free tier applied" : "free tier not applied"}) | | **${usd(r.totalUsd)}** |`,
  );
  if (r.unpriced.length) {
    out.push("", "Unpriced (listed, not in the total):", "");
    for (const u of r.unpriced) out.push(`- ${u.stack} \`${u.address}\`: ${u.reason}`);
  }
  return out.join("\n") + "\n";
}
