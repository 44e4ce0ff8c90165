/**
 * npm run slo -- [--env NAME] [--days N] [--now TIME] [--help]
 *
 * Read-only: prints each of the epic's success metrics with its target, the measured value and a verdict, from
 * CloudWatch (GetDashboard for the ids, GetMetricData) and Cost Explorer (GetCostAndUsage, GetCostForecast,
 * filtered by the project's tags), through the AWS CLI. docs/monitoring.md.
 */
import { spawnSync } from "child_process";
import { selectEnvironment } from "../../../constructs/config/validate-environment";
import { topologyOf } from "../../../constructs/config/environments";
import { metricsNamespace, stackName } from "../../../constructs/config/naming";

import { DashboardBody, dashboardNameFor } from "../../../constructs/builders/dashboard";
import {
  CostAnswers,
  costFilter,
  evaluate,
  exitCode,
  formatRows,
  idsFromDashboard,
  MetricDataResult,
  metricQueries,
  SloContext,
} from "./slo";
import { ConfigError } from "../../../constructs/config/errors";

const HELP = `Usage: npm run slo -- [options]

Prints each success metric of the epic (docs/monitoring.md) with its target, the measured value and a
verdict: met, MISSED, or "no data" (never counted as met). Read-only; it calls, through the AWS CLI:
  cloudwatch get-dashboard      the environment's dashboard, for the API and health check ids
  cloudwatch get-metric-data    latency, health, deploy and backup metrics (the region and us-east-1)
  ce get-cost-and-usage         month-to-date cost, filtered by the tags Project=zmanim and Environment
  ce get-cost-forecast          the month's forecast, same filter
The plan role (zmanim-<env>-gha-plan) has these permissions.

Options:
  --env NAME     environment (default: ZMANIM_ENV or prod)
  --days N       the window of the CloudWatch metrics, in whole days up to now (1 to 63; default 7)
  --now TIME     evaluate as if it were TIME (ISO 8601, e.g. 2026-12-07T12:00:00Z; default: now)
  -h, --help     this text

Uses the AWS CLI with the usual credentials variables; the region comes from the environment.
Exit: 0 every target met; 1 a target missed; 2 bad usage or configuration; 3 an AWS call failed;
      4 no target missed, but at least one has no data yet.`;

class AwsError extends Error {}

function aws(args: string[]): unknown {
  const r = spawnSync("aws", [...args, "--output", "json"], { encoding: "utf8" });
  if (r.error)
    throw new AwsError(
      `could not run the AWS CLI (aws ${args.slice(0, 2).join(" ")}): ${r.error.message}; install it or put it on PATH`,
    );
  if (r.status !== 0) {
    const msg = (r.stderr || r.stdout || "").trim().split("\n").filter(Boolean).pop() ?? `exit ${r.status}`;
    throw new AwsError(`aws ${args.slice(0, 2).join(" ")} failed: ${msg}`);
  }
  try {
    return JSON.parse(r.stdout || "{}");
  } catch {
    throw new AwsError(
      `aws ${args.slice(0, 2).join(" ")} answered something that is not JSON: ${r.stdout.slice(0, 200)}`,
    );
  }
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

function main(argv: string[]): number {
  let days = 7;
  let now = new Date();
  const envArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") {
      console.log(HELP);
      return 0;
    } else if (a === "--env" && argv[i + 1]) envArgs.push(a, argv[++i]);
    else if (a === "--days" && argv[i + 1]) {
      const v = argv[++i];
      days = Number(v);
      if (!/^\d+$/.test(v) || days < 1 || days > 63) {
        console.error(`slo: --days = ${JSON.stringify(v)}; use a whole number of days from 1 to 63`);
        return 2;
      }
    } else if (a === "--now" && argv[i + 1]) {
      const v = argv[++i];
      now = new Date(v);
      if (Number.isNaN(now.getTime())) {
        console.error(`slo: --now = ${JSON.stringify(v)}; use an ISO 8601 time such as 2026-12-07T12:00:00Z`);
        return 2;
      }
    } else {
      console.error(`slo: unknown or incomplete argument "${a}"; see --help`);
      return 2;
    }
  }
  const env = selectEnvironment(envArgs, process.env);

  const dash = aws([
    "cloudwatch",
    "get-dashboard",
    "--dashboard-name",
    dashboardNameFor(env.name),
    "--region",
    env.region,
  ]) as { DashboardBody?: string };
  let body: DashboardBody;
  try {
    body = JSON.parse(dash.DashboardBody ?? "");
  } catch {
    throw new AwsError(
      `dashboard ${dashboardNameFor(env.name)} has no readable body; deploy the monitoring stack (${stackName(env, "monitoring")})`,
    );
  }
  const ids = idsFromDashboard(body);
  const ctx: SloContext = {
    env: env.name,
    region: env.region,
    namespace: metricsNamespace(env),
    budgetUsd: env.monthlyBudgetUsd,
    days,
    apiId: ids.apiId,
    healthCheckId: ids.healthCheckId,
    box: ids.box || topologyOf(env).kind === "single-box",
  };

  const end = new Date(Math.floor(now.getTime() / 60000) * 60000);
  const start = new Date(end.getTime() - days * 86400 * 1000);
  const results = new Map<string, MetricDataResult>();
  for (const [region, queries] of Object.entries(metricQueries(ctx))) {
    const r = aws([
      "cloudwatch",
      "get-metric-data",
      "--region",
      region,
      "--start-time",
      start.toISOString(),
      "--end-time",
      end.toISOString(),
      "--metric-data-queries",
      JSON.stringify(queries),
    ]) as { MetricDataResults?: MetricDataResult[] };
    for (const m of r.MetricDataResults ?? []) {
      const prev = results.get(m.Id);
      results.set(
        m.Id,
        prev
          ? { ...prev, Timestamps: [...prev.Timestamps, ...m.Timestamps], Values: [...prev.Values, ...m.Values] }
          : m,
      );
    }
  }

  // Cost Explorer: month to date (End is exclusive: tomorrow), and the forecast from today to the month's end.
  const monthStart = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), 1));
  const nextMonth = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 1));
  const tomorrow = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate() + 1));
  const filter = JSON.stringify(costFilter(env.name));
  const usage = aws([
    "ce",
    "get-cost-and-usage",
    "--region",
    "us-east-1",
    "--time-period",
    `Start=${isoDay(monthStart)},End=${isoDay(tomorrow)}`,
    "--granularity",
    "MONTHLY",
    "--metrics",
    "UnblendedCost",
    "--filter",
    filter,
  ]) as { ResultsByTime?: Array<{ Total?: { UnblendedCost?: { Amount?: string } } }> };
  const amounts = (usage.ResultsByTime ?? [])
    .map((t) => t.Total?.UnblendedCost?.Amount)
    .filter((a): a is string => a !== undefined);
  const cost: CostAnswers = { monthToDateUsd: amounts.length ? amounts.reduce((s, a) => s + Number(a), 0) : undefined };
  if (tomorrow < nextMonth) {
    const f = spawnSync(
      "aws",
      [
        "ce",
        "get-cost-forecast",
        "--region",
        "us-east-1",
        "--time-period",
        `Start=${isoDay(tomorrow)},End=${isoDay(nextMonth)}`,
        "--metric",
        "UNBLENDED_COST",
        "--granularity",
        "MONTHLY",
        "--filter",
        filter,
        "--output",
        "json",
      ],
      { encoding: "utf8" },
    );
    if (f.status === 0) {
      const rest = Number((JSON.parse(f.stdout) as { Total?: { Amount?: string } }).Total?.Amount);
      if (!Number.isNaN(rest) && cost.monthToDateUsd !== undefined) cost.forecastUsd = cost.monthToDateUsd + rest;
    } else if (!/DataUnavailableException/.test(f.stderr)) {
      // Too little history is "no data"; anything else is an error.
      throw new AwsError(`aws ce get-cost-forecast failed: ${f.stderr.trim().split("\n").pop()}`);
    }
  } else {
    cost.forecastUsd = cost.monthToDateUsd;
  }

  const rows = evaluate(ctx, results, cost);
  console.log(
    formatRows(
      `Success metrics of ${env.name} (${env.region}), ${days} days to ${end.toISOString()}; cost: ${isoDay(monthStart)} to ${isoDay(end)}`,
      rows,
    ),
  );
  const code = exitCode(rows);
  console.log(
    code === 0
      ? "\nslo: every target met"
      : code === 1
        ? `\nslo: MISSED: ${rows
            .filter((r) => r.verdict === "MISSED")
            .map((r) => r.id)
            .join(", ")}`
        : `\nslo: no data yet for ${rows
            .filter((r) => r.verdict === "no data")
            .map((r) => r.id)
            .join(", ")}; nothing missed`,
  );
  return code;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof AwsError) {
    console.error(`slo: ${e.message}`);
    process.exitCode = 3;
  } else if (e instanceof ConfigError) {
    console.error(`slo: ${e.message}`);
    process.exitCode = 2;
  } else {
    console.error(`slo: unexpected error: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 3;
  }
}
