/**
 * The epic's success metrics, measured: which CloudWatch and Cost Explorer reads answer each one, and the
 * verdict. Pure: the CLI (cli.ts) runs the AWS CLI and hands the parsed answers here. docs/monitoring.md.
 */
import {
  DashboardBody,
  dashboardMetrics,
  DEPLOY_METRICS,
  EDGE_METRICS,
  SLO_TARGETS,
} from "../../../constructs/builders/dashboard";

export type Verdict = "met" | "MISSED" | "no data";

export interface Row {
  id: string;
  metric: string;
  target: string;
  measured: string;
  verdict: Verdict;
  /** How it was measured (printed under the table). */
  how: string;
}

/** One query of a GetMetricData request (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html). */
export interface MetricDataQuery {
  Id: string;
  MetricStat: {
    Metric: { Namespace: string; MetricName: string; Dimensions?: Array<{ Name: string; Value: string }> };
    Period: number;
    Stat: string;
  };
  ReturnData: true;
}

export interface MetricDataResult {
  Id: string;
  Label?: string;
  Timestamps: string[];
  Values: number[];
  StatusCode?: string;
}

export interface SloContext {
  env: string;
  region: string;
  namespace: string;
  budgetUsd: number;
  days: number;
  /** The ids the dashboard draws (read from GetDashboard): API id, health check id. */
  apiId?: string;
  healthCheckId?: string;
  /** The box runs (backups are measured). */
  box: boolean;
}

/** The ids the success-metric queries need, from the environment's dashboard body. */
export function idsFromDashboard(body: DashboardBody): { apiId?: string; healthCheckId?: string; box: boolean } {
  const metrics = dashboardMetrics(body);
  const api = metrics.find((m) => m.namespace === "AWS/ApiGateway" && m.metricName === "IntegrationLatency");
  const hc = metrics.find((m) => m.namespace === "AWS/Route53" && m.metricName === "HealthCheckStatus");
  const box = metrics.some((m) => m.metricName === "BackupSuccess");
  return { apiId: api?.dimensions.ApiId, healthCheckId: hc?.dimensions.HealthCheckId, box };
}

const dims = (d: Record<string, string>) => Object.entries(d).map(([Name, Value]) => ({ Name, Value }));
const q = (
  Id: string,
  Namespace: string,
  MetricName: string,
  d: Record<string, string>,
  Period: number,
  Stat: string,
): MetricDataQuery => ({
  Id,
  MetricStat: {
    Metric: { Namespace, MetricName, ...(Object.keys(d).length ? { Dimensions: dims(d) } : {}) },
    Period,
    Stat,
  },
  ReturnData: true,
});

/** The GetMetricData queries per region: the window is `days` whole days ending now. */
export function metricQueries(c: SloContext): Record<string, MetricDataQuery[]> {
  const window = c.days * 86400;
  const regional: MetricDataQuery[] = [];
  if (c.apiId)
    regional.push(
      q("origin", "AWS/ApiGateway", "IntegrationLatency", { ApiId: c.apiId, Stage: "$default" }, window, "p95"),
    );
  regional.push(
    q("deploy", DEPLOY_METRICS.namespace, DEPLOY_METRICS.duration, { Environment: c.env }, window, "Maximum"),
  );
  if (c.box) regional.push(q("backups", c.namespace, "BackupSuccess", {}, 86400, "Sum"));
  const edge: MetricDataQuery[] = [q("edge", c.namespace, EDGE_METRICS.hitTimeTaken, {}, window, "p95")];
  if (c.healthCheckId)
    edge.push(q("health", "AWS/Route53", "HealthCheckStatus", { HealthCheckId: c.healthCheckId }, window, "Minimum"));
  return c.region === "us-east-1"
    ? { [c.region]: [...regional, ...edge] }
    : { [c.region]: regional, "us-east-1": edge };
}

/** Cost Explorer filter: the project's tags (active cost allocation tags, docs/monitoring.md). */
export function costFilter(env: string): unknown {
  return { And: [{ Tags: { Key: "Project", Values: ["zmanim"] } }, { Tags: { Key: "Environment", Values: [env] } }] };
}

export interface CostAnswers {
  /** Month-to-date UnblendedCost, USD; undefined when Cost Explorer has no data. */
  monthToDateUsd?: number;
  /** Forecast of the whole month (month to date plus the rest), USD; undefined when CE cannot forecast. */
  forecastUsd?: number;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The rows, in the epic's order. `results` is every MetricDataResult by Id. */
export function evaluate(c: SloContext, results: Map<string, MetricDataResult>, cost: CostAnswers): Row[] {
  const rows: Row[] = [];
  const window = `${c.days} d`;
  const single = (id: string) => {
    const r = results.get(id);
    return r && r.Values.length > 0 ? Math.max(...r.Values) : undefined;
  };
  const row = (
    id: string,
    metric: string,
    target: string,
    value: number | undefined,
    ok: (v: number) => boolean,
    show: (v: number) => string,
    how: string,
  ) =>
    rows.push({
      id,
      metric,
      target,
      measured: value === undefined ? "-" : show(value),
      verdict: value === undefined ? "no data" : ok(value) ? "met" : "MISSED",
      how,
    });

  if (c.healthCheckId) {
    const health = results.get("health")?.Values ?? [];
    row(
      "always-on",
      "No cold starts (API always answering)",
      "every probe healthy",
      health.length ? Math.min(...health) : undefined,
      (v) => v >= 1,
      (v) => (v >= 1 ? "healthy throughout" : "unhealthy at least once"),
      `AWS/Route53 HealthCheckStatus Minimum over ${window} (us-east-1)`,
    );
  } else {
    rows.push({
      id: "always-on",
      metric: "No cold starts (API always answering)",
      target: "every probe healthy",
      measured: "-",
      verdict: "no data",
      how: "no health check on the dashboard",
    });
  }
  row(
    "edge-p95",
    "Cached responses at the edge, p95",
    `< ${SLO_TARGETS.edgeHitP95Seconds * 1000} ms`,
    single("edge"),
    (v) => v < SLO_TARGETS.edgeHitP95Seconds,
    (v) => `${fmt(v * 1000)} ms`,
    `${c.namespace} ${EDGE_METRICS.hitTimeTaken} p95 over ${window} (CloudFront access log, Hit only; us-east-1)`,
  );
  if (c.apiId) {
    row(
      "origin-p95",
      "Origin responses, p95",
      `< ${SLO_TARGETS.originP95Ms} ms`,
      single("origin"),
      (v) => v < SLO_TARGETS.originP95Ms,
      (v) => `${fmt(v)} ms`,
      `AWS/ApiGateway IntegrationLatency p95 over ${window}`,
    );
  } else {
    rows.push({
      id: "origin-p95",
      metric: "Origin responses, p95",
      target: `< ${SLO_TARGETS.originP95Ms} ms`,
      measured: "-",
      verdict: "no data",
      how: "no API on the dashboard",
    });
  }
  row(
    "cost-mtd",
    "Monthly bill, month to date",
    `<= $${fmt(c.budgetUsd, 2)}`,
    cost.monthToDateUsd,
    (v) => v <= c.budgetUsd,
    (v) => `$${fmt(v, 2)}`,
    "Cost Explorer GetCostAndUsage, UnblendedCost, tags Project=zmanim and Environment",
  );
  row(
    "cost-forecast",
    "Monthly bill, forecast for the month",
    `<= $${fmt(c.budgetUsd, 2)}`,
    cost.forecastUsd,
    (v) => v <= c.budgetUsd,
    (v) => `$${fmt(v, 2)}`,
    "Cost Explorer GetCostForecast, UNBLENDED_COST, same tags",
  );
  row(
    "deploy",
    "Deploy duration, longest",
    `< ${SLO_TARGETS.deploySeconds / 60} min`,
    single("deploy"),
    (v) => v < SLO_TARGETS.deploySeconds,
    (v) => `${fmt(v / 60, 1)} min`,
    `${DEPLOY_METRICS.namespace} ${DEPLOY_METRICS.duration} Maximum over ${window}, Environment=${c.env}`,
  );
  if (c.box) {
    const b = results.get("backups");
    const daysWithBackup = b ? b.Values.filter((v) => v >= 1).length : 0;
    const measured = b && b.Values.length > 0 ? daysWithBackup / c.days : undefined;
    row(
      "backups",
      "Backup success",
      "100% of days",
      measured,
      (v) => v >= 1,
      () => `${daysWithBackup} of ${c.days} days`,
      `${c.namespace} BackupSuccess Sum per day over ${window}`,
    );
  }
  return rows;
}

/** 0 every target met; 1 a target missed; 4 none missed but some have no data. */
export function exitCode(rows: Row[]): number {
  if (rows.some((r) => r.verdict === "MISSED")) return 1;
  if (rows.some((r) => r.verdict === "no data")) return 4;
  return 0;
}

export function formatRows(title: string, rows: Row[]): string {
  const cols: Array<[string, (r: Row) => string]> = [
    ["success metric", (r) => r.metric],
    ["target", (r) => r.target],
    ["measured", (r) => r.measured],
    ["verdict", (r) => r.verdict],
  ];
  const widths = cols.map(([h, f]) => Math.max(h.length, ...rows.map((r) => f(r).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, k) => c.padEnd(widths[k]))
      .join("  ")
      .trimEnd();
  const out = [title, line(cols.map(([h]) => h)), line(widths.map((w) => "-".repeat(w)))];
  for (const r of rows) out.push(line(cols.map(([, f]) => f(r))));
  out.push("");
  for (const r of rows) out.push(`  ${r.id}: ${r.how}`);
  return out.join("\n");
}
