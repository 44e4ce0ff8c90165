/**
 * `npm run slo` against the AWS CLI double, with answers in the shapes of CloudWatch's GetDashboard and
 * GetMetricData and Cost Explorer's GetCostAndUsage and GetCostForecast: no data, every target met, a latency
 * breach, month to date under the budget with a forecast over it, and an API error.
 */
import { spawnSync } from "child_process";
import { join } from "path";
import { prod } from "../../constructs/config/environments";
import { dashboardBody } from "../../constructs/builders/dashboard";
import { ciRoleName } from "../../constructs/config/naming";
import { cliRequests } from "../../constructs/builders/iam/cli-map";
import { denials, formatDenial, rolePolicies } from "../../scripts/tools/iam/simulate";
import { synthStacks } from "../../scripts/tools/iam/types";
import { awsDouble, AwsDouble, AwsRule } from "../helpers/aws-double";

jest.setTimeout(60000);

const root = join(__dirname, "..", "..");
const tsx = join(root, "node_modules", ".bin", "tsx");
const NOW = "2026-12-07T12:00:00Z";

const body = dashboardBody({
  env: "prod",
  region: "eu-west-1",
  namespace: "Zmanim/prod",
  monthlyBudgetUsd: prod.monthlyBudgetUsd,
  api: { apiId: "a1b2c3d4e5", stage: "$default" },
  healthCheckId: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
  box: { instanceId: "i-0123456789abcdef0", monitoredPaths: ["/", "/data"] },
});

/** GetDashboard (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetDashboard.html). */
const getDashboard: AwsRule = {
  match: ["cloudwatch", "get-dashboard", "--dashboard-name", "zmanim-prod"],
  stdout: JSON.stringify({
    DashboardArn: "arn:aws:cloudwatch::111111111111:dashboard/zmanim-prod",
    DashboardBody: JSON.stringify(body),
    DashboardName: "zmanim-prod",
  }),
};

/** One MetricDataResult (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataResult.html). */
const result = (Id: string, values: number[], label = Id) => ({
  Id,
  Label: label,
  Timestamps: values.map((_, k) => new Date(Date.parse(NOW) - (k + 1) * 86400000).toISOString().replace(".000Z", "Z")),
  Values: values,
  StatusCode: "Complete",
});
const metricData = (region: string, results: unknown[]): AwsRule => ({
  match: ["cloudwatch", "get-metric-data", "--region", region],
  stdout: JSON.stringify({ MetricDataResults: results, Messages: [] }),
});

/** GetCostAndUsage (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostAndUsage.html). */
const costAndUsage = (amount: string): AwsRule => ({
  match: ["ce", "get-cost-and-usage"],
  stdout: JSON.stringify({
    GroupDefinitions: [],
    ResultsByTime: [
      {
        TimePeriod: { Start: "2026-12-01", End: "2026-12-08" },
        Total: { UnblendedCost: { Amount: amount, Unit: "USD" } },
        Groups: [],
        Estimated: true,
      },
    ],
    DimensionValueAttributes: [],
  }),
});
/** GetCostForecast (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostForecast.html). */
const costForecast = (amount: string): AwsRule => ({
  match: ["ce", "get-cost-forecast"],
  stdout: JSON.stringify({
    Total: { Amount: amount, Unit: "USD" },
    ForecastResultsByTime: [{ TimePeriod: { Start: "2026-12-08", End: "2027-01-01" }, MeanValue: amount }],
  }),
});

const healthy = (overrides: { origin?: number; edge?: number } = {}): AwsRule[] => [
  getDashboard,
  metricData("eu-west-1", [
    result("origin", [overrides.origin ?? 41.5]),
    result("deploy", [412]),
    result("backups", [1, 1, 1, 1, 1, 1, 1]),
  ]),
  metricData("us-east-1", [result("edge", [overrides.edge ?? 0.012]), result("health", [1])]),
  costAndUsage("9.8412"),
  costForecast("28.1"),
];

let aws: AwsDouble;
beforeEach(() => {
  aws = awsDouble();
});
afterEach(() => aws.cleanup());

function slo(args: string[]) {
  const r = spawnSync(tsx, [join(root, "scripts", "tools", "slo", "cli.ts"), "--env", "prod", "--now", NOW, ...args], {
    env: { ...process.env, ...aws.env, ZMANIM_ENV: "" },
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const verdicts = (stdout: string) =>
  Object.fromEntries(
    stdout
      .split("\n")
      .map((l) => /^(.+?)\s{2,}.+\s{2,}(met|MISSED|no data)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1].trim(), m[2]]),
  );

it("--help lists every option and exit code and exits 0", () => {
  const r = slo(["--help"]);
  expect(r.status).toBe(0);
  for (const o of ["--env NAME", "--days N", "--now TIME", "--help"]) expect(r.stdout).toContain(o);
  for (const code of [
    "0 every target met",
    "1 a target missed",
    "2 bad usage",
    "3 an AWS call failed",
    "4 no target missed",
  ])
    expect(r.stdout).toContain(code);
  expect(aws.calls()).toEqual([]);
});

it("every target met: exit 0, each success metric with its target and measured value", () => {
  aws.setRules(healthy());
  const r = slo([]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(verdicts(r.stdout)).toEqual({
    "No cold starts (API always answering)": "met",
    "Cached responses at the edge, p95": "met",
    "Origin responses, p95": "met",
    "Monthly bill, month to date": "met",
    "Monthly bill, forecast for the month": "met",
    "Deploy duration, longest": "met",
    "Backup success": "met",
  });
  expect(r.stdout).toMatch(/Cached responses at the edge, p95\s+< 50 ms\s+12 ms\s+met/);
  expect(r.stdout).toMatch(/Origin responses, p95\s+< 200 ms\s+42 ms\s+met/);
  expect(r.stdout).toMatch(/Monthly bill, month to date\s+<= \$50\.00\s+\$9\.84\s+met/);
  expect(r.stdout).toMatch(/Monthly bill, forecast for the month\s+<= \$50\.00\s+\$37\.94\s+met/);
  expect(r.stdout).toMatch(/Deploy duration, longest\s+< 10 min\s+6\.9 min\s+met/);
  expect(r.stdout).toMatch(/Backup success\s+100% of days\s+7 of 7 days\s+met/);
  expect(r.stdout).toContain("slo: every target met");
  // The calls: read-only, with the ids from the dashboard, the project's tags, the month's period.
  const calls = aws.calls();
  expect(calls.map((c) => c.slice(0, 2).join(" "))).toEqual([
    "cloudwatch get-dashboard",
    "cloudwatch get-metric-data",
    "cloudwatch get-metric-data",
    "ce get-cost-and-usage",
    "ce get-cost-forecast",
  ]);
  const regional = JSON.parse(calls[1][calls[1].indexOf("--metric-data-queries") + 1]);
  expect(regional[0]).toEqual({
    Id: "origin",
    MetricStat: {
      Metric: {
        Namespace: "AWS/ApiGateway",
        MetricName: "IntegrationLatency",
        Dimensions: [
          { Name: "ApiId", Value: "a1b2c3d4e5" },
          { Name: "Stage", Value: "$default" },
        ],
      },
      Period: 604800,
      Stat: "p95",
    },
    ReturnData: true,
  });
  expect(calls[1]).toEqual(
    expect.arrayContaining(["--start-time", "2026-11-30T12:00:00.000Z", "--end-time", "2026-12-07T12:00:00.000Z"]),
  );
  const usage = calls[3];
  expect(usage).toEqual(
    expect.arrayContaining(["--time-period", "Start=2026-12-01,End=2026-12-08", "--metrics", "UnblendedCost"]),
  );
  expect(JSON.parse(usage[usage.indexOf("--filter") + 1])).toEqual({
    And: [{ Tags: { Key: "Project", Values: ["zmanim"] } }, { Tags: { Key: "Environment", Values: ["prod"] } }],
  });
  expect(calls[4]).toEqual(
    expect.arrayContaining(["--time-period", "Start=2026-12-08,End=2027-01-01", "--metric", "UNBLENDED_COST"]),
  );
});

it("runs with the plan role's permissions: every recorded call, simulated against the synthesized plan role, is allowed", async () => {
  aws.setRules(healthy());
  expect(slo([]).status).toBe(0);
  const requests = aws.calls().flatMap((argv) => cliRequests(argv, prod));
  expect(requests.map((r) => `${r.action} ${r.resource}`)).toEqual([
    "cloudwatch:GetDashboard arn:aws:cloudwatch::111111111111:dashboard/zmanim-prod",
    "cloudwatch:GetMetricData *",
    "cloudwatch:GetMetricData *",
    "ce:GetCostAndUsage *",
    "ce:GetCostForecast *",
  ]);
  const stacks = synthStacks(prod);
  const plan = rolePolicies(stacks, ciRoleName(prod, "plan"), prod.accountId);
  expect((await denials(plan, requests)).map(formatDenial)).toEqual([]);
  // The release role, which has no read-only policy, is refused the same calls: the simulation can say no.
  const release = rolePolicies(stacks, ciRoleName(prod, "release"), prod.accountId);
  expect((await denials(release, requests)).map(formatDenial)).toEqual([
    "cloudwatch:GetDashboard on arn:aws:cloudwatch::111111111111:dashboard/zmanim-prod (aws cloudwatch get-dashboard): ImplicitlyDenied",
    "cloudwatch:GetMetricData on * (aws cloudwatch get-metric-data): ImplicitlyDenied",
    "ce:GetCostAndUsage on * (aws ce get-cost-and-usage): ImplicitlyDenied",
    "ce:GetCostForecast on * (aws ce get-cost-forecast): ImplicitlyDenied",
  ]);
});

it("no data: every metric says so, none passes, exit 4", () => {
  aws.setRules([
    getDashboard,
    metricData("eu-west-1", [result("origin", []), result("deploy", []), result("backups", [])]),
    metricData("us-east-1", [result("edge", []), result("health", [])]),
    {
      match: ["ce", "get-cost-and-usage"],
      stdout: JSON.stringify({ ResultsByTime: [], DimensionValueAttributes: [] }),
    },
    {
      match: ["ce", "get-cost-forecast"],
      exit: 254,
      stderr:
        "\nAn error occurred (DataUnavailableException) when calling the GetCostForecast operation: Insufficient amount of historical data to generate forecast.\n",
    },
  ]);
  const r = slo([]);
  expect(r.status).toBe(4);
  const v = verdicts(r.stdout);
  expect(Object.values(v)).toHaveLength(7);
  for (const [metric, verdict] of Object.entries(v)) expect([metric, verdict]).toEqual([metric, "no data"]);
  expect(r.stdout).toContain(
    "slo: no data yet for always-on, edge-p95, origin-p95, cost-mtd, cost-forecast, deploy, backups; nothing missed",
  );
  expect(r.stdout).not.toContain("every target met");
});

it("a latency breach: origin p95 above 200 ms is MISSED, exit 1", () => {
  aws.setRules(healthy({ origin: 237.2 }));
  const r = slo(["--days", "3"]);
  expect(r.status).toBe(1);
  expect(r.stdout).toMatch(/Origin responses, p95\s+< 200 ms\s+237 ms\s+MISSED/);
  expect(verdicts(r.stdout)["Cached responses at the edge, p95"]).toBe("met");
  expect(r.stdout).toContain("slo: MISSED: origin-p95");
  const queries = JSON.parse(aws.calls()[1][aws.calls()[1].indexOf("--metric-data-queries") + 1]);
  expect(queries[0].MetricStat.Period).toBe(3 * 86400);
});

it("month to date under the budget with a forecast over it: the forecast is MISSED, exit 1", () => {
  aws.setRules([...healthy().filter((r) => r.match[1] !== "get-cost-forecast"), costForecast("44.75")]);
  const r = slo([]);
  expect(r.status).toBe(1);
  expect(r.stdout).toMatch(/Monthly bill, month to date\s+<= \$50\.00\s+\$9\.84\s+met/);
  expect(r.stdout).toMatch(/Monthly bill, forecast for the month\s+<= \$50\.00\s+\$54\.59\s+MISSED/);
  expect(r.stdout).toContain("slo: MISSED: cost-forecast");
});

it("an API error: a clear message naming the call and AWS's reason, no stack trace, exit 3", () => {
  aws.setRules([
    getDashboard,
    {
      match: ["cloudwatch", "get-metric-data"],
      exit: 254,
      stderr:
        "\nAn error occurred (AccessDenied) when calling the GetMetricData operation: User: arn:aws:sts::111111111111:assumed-role/zmanim-prod-gha-plan/gha is not authorized to perform: cloudwatch:GetMetricData\n",
    },
  ]);
  const r = slo([]);
  expect(r.status).toBe(3);
  expect(r.stderr.trim()).toBe(
    "slo: aws cloudwatch get-metric-data failed: An error occurred (AccessDenied) when calling the GetMetricData operation: User: arn:aws:sts::111111111111:assumed-role/zmanim-prod-gha-plan/gha is not authorized to perform: cloudwatch:GetMetricData",
  );
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).not.toContain("verdict");
});

it("bad usage names the option, the value and the fix, exit 2", () => {
  const r = slo(["--days", "0"]);
  expect(r.status).toBe(2);
  expect(r.stderr.trim()).toBe('slo: --days = "0"; use a whole number of days from 1 to 63');
  expect(aws.calls()).toEqual([]);
});
