/**
 * The monitoring stack and the success metrics in the account: the budget and its notifications, cost anomaly
 * detection, cost allocation tags, the latency alarms (origin and edge), the edge metric filters against
 * real-format CloudFront log records, and the dashboard, whose every metric must be one something emits.
 */
import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { prod, scaled, staging, EnvironmentConfig } from "../../constructs/config/environments";
import {
  cloudwatchAgentConfig,
  fleetCloudwatchAgentConfig,
  FLEET_METRIC_DIMENSION,
  MONITORED_PATHS,
} from "../../constructs/builders/cloudwatch-agent";
import { alarmTopicArn, metricsNamespace } from "../../constructs/config/naming";
import { budgetName, dashboardName, edgeLogGroupName } from "../../stacks/monitoring";
import { DashboardBody, dashboardMetrics, DEPLOY_METRICS, EDGE_METRICS } from "../../constructs/builders/dashboard";
import { EDGE_LOG_DELIMITER, EDGE_LOG_FIELDS, edgeMetricFilters } from "../../constructs/builders/edge-log-metrics";
import { AWS_DOCUMENTED_METRICS } from "../../constructs/builders/aws-metrics";
import { evaluateMetricFilter } from "../helpers/metric-filter";
import { allResources, resourcesOfType, synthAll, Synthesized } from "../helpers/synth";

type Body = Record<string, unknown>;
const root = join(__dirname, "..", "..");

function one(s: Synthesized, stack: string, type: string): Body {
  const all = Object.values(s.stacks[stack].resource?.[type] ?? {});
  expect(all).toHaveLength(1);
  return all[0];
}

describe("monitoring stack (prod)", () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthAll(prod);
  });

  it("is last in the deploy order: it depends on the api, cdn and compute stacks and nothing depends on it", () => {
    const deps = s.manifest.stacks["zmanim-prod-monitoring"].dependencies;
    expect(deps).toEqual(expect.arrayContaining(["zmanim-prod-api", "zmanim-prod-cdn", "zmanim-prod-compute"]));
    for (const [name, st] of Object.entries(s.manifest.stacks))
      expect([name, st.dependencies]).not.toEqual([name, expect.arrayContaining(["zmanim-prod-monitoring"])]);
  });

  it("has a monthly cost budget at monthlyBudgetUsd for this environment's tag, with the three notifications to the alarm address", () => {
    const b = one(s, "monitoring", "aws_budgets_budget");
    expect(b).toEqual(
      expect.objectContaining({
        name: budgetName(prod),
        budget_type: "COST",
        limit_amount: "50",
        limit_unit: "USD",
        time_unit: "MONTHLY",
      }),
    );
    expect(b.cost_filter).toEqual([{ name: "TagKeyValue", values: ["user:Environment$prod"] }]);
    const n = b.notification as Body[];
    expect(
      n.map((x) => [
        x.notification_type,
        x.comparison_operator,
        x.threshold,
        x.threshold_type,
        x.subscriber_email_addresses,
      ]),
    ).toEqual([
      ["ACTUAL", "GREATER_THAN", 80, "PERCENTAGE", ["admin@shtetl.io"]],
      ["ACTUAL", "GREATER_THAN", 100, "PERCENTAGE", ["admin@shtetl.io"]],
      ["FORECASTED", "GREATER_THAN", 100, "PERCENTAGE", ["admin@shtetl.io"]],
    ]);
  });

  it("has a cost anomaly monitor on the Environment tag and a daily e-mail subscription to it", () => {
    const m = one(s, "monitoring", "aws_ce_anomaly_monitor");
    expect(m.monitor_type).toBe("CUSTOM");
    expect(JSON.parse(m.monitor_specification as string)).toEqual({
      Tags: { Key: "Environment", Values: ["prod"], MatchOptions: ["EQUALS"] },
    });
    const sub = one(s, "monitoring", "aws_ce_anomaly_subscription");
    expect(sub.frequency).toBe("DAILY");
    expect(sub.monitor_arn_list).toEqual(["${aws_ce_anomaly_monitor.anomaly-monitor.arn}"]);
    expect(sub.subscriber).toEqual([{ type: "EMAIL", address: "admin@shtetl.io" }]);
    expect(sub.threshold_expression).toEqual({
      dimension: { key: "ANOMALY_TOTAL_IMPACT_ABSOLUTE", match_options: ["GREATER_THAN_OR_EQUAL"], values: ["5"] },
    });
  });

  it("activates Project and Environment as cost allocation tags in prod only (they are account-wide)", () => {
    const tags = resourcesOfType(s, "aws_ce_cost_allocation_tag").map(([, , b]) => [b.tag_key, b.status]);
    expect(tags.sort()).toEqual([
      ["Environment", "Active"],
      ["Project", "Active"],
    ]);
    for (const env of [staging, scaled])
      expect(resourcesOfType(synthAll(env), "aws_ce_cost_allocation_tag", { min: 0 })).toEqual([]);
  });

  it("alarms on the origin p95 (IntegrationLatency) above 200 ms in the api stack", () => {
    const a = s.stacks.api.resource!.aws_cloudwatch_metric_alarm["api-origin-latency-p95"];
    expect(a).toEqual(
      expect.objectContaining({
        alarm_name: "zmanim-prod-api-origin-latency-p95",
        namespace: "AWS/ApiGateway",
        metric_name: "IntegrationLatency",
        extended_statistic: "p95",
        threshold: 200,
        comparison_operator: "GreaterThanThreshold",
        period: 300,
        evaluation_periods: 3,
        treat_missing_data: "notBreaching",
        alarm_actions: [alarmTopicArn(prod)],
      }),
    );
    expect(a.dimensions).toEqual({ ApiId: "${aws_apigatewayv2_api.http_api.id}", Stage: "$default" });
  });

  it("delivers CloudFront's time-taken, result type and status to a us-east-1 log group and alarms on the cached p95 above 50 ms", () => {
    const group = one(s, "monitoring", "aws_cloudwatch_log_group");
    expect(group).toEqual(
      expect.objectContaining({ name: edgeLogGroupName(prod), retention_in_days: 30, provider: "aws.us-east-1" }),
    );
    const dest = one(s, "monitoring", "aws_cloudwatch_log_delivery_destination");
    expect(dest.output_format).toBe("plain");
    expect(dest.delivery_destination_configuration).toEqual([
      { destination_resource_arn: "${aws_cloudwatch_log_group.edge_log_group.arn}" },
    ]);
    const d = one(s, "monitoring", "aws_cloudwatch_log_delivery");
    expect(d).toEqual(
      expect.objectContaining({
        delivery_source_name: "zmanim-prod-cloudfront",
        record_fields: ["time-taken", "x-edge-result-type", "sc-status"],
        field_delimiter: " ",
        provider: "aws.us-east-1",
      }),
    );
    // The source is the cdn stack's, by that name.
    expect(Object.values(s.stacks.cdn.resource!.aws_cloudwatch_log_delivery_source).map((x) => x.name)).toEqual([
      "zmanim-prod-cloudfront",
    ]);
    const a = one(s, "monitoring", "aws_cloudwatch_metric_alarm");
    expect(a).toEqual(
      expect.objectContaining({
        alarm_name: "zmanim-prod-edge-hit-p95",
        namespace: "Zmanim/prod",
        metric_name: "EdgeHitTimeTaken",
        extended_statistic: "p95",
        threshold: 0.05,
        provider: "aws.us-east-1",
        alarm_actions: [alarmTopicArn(prod, "us-east-1")],
      }),
    );
  });

  it("has one dashboard named after the environment", () => {
    expect(one(s, "monitoring", "aws_cloudwatch_dashboard").dashboard_name).toBe(dashboardName(prod));
  });
});

describe("edge metric filters against real-format CloudFront log records", () => {
  // Whole standard-log records (the W3C field list of
  // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html), then cut
  // to the delivered fields, in the delivered order, joined by the delivery's delimiter: what the log group holds.
  const header =
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end".split(
      " ",
    );
  const records = {
    hit: "2026-12-06\t21:02:31\tFRA56-P1\t1045\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/api/v1/zmanim\t200\t-\tMozilla/5.0%20(X11;%20Linux%20x86_64)\tlat=31.77&lon=35.21\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\tapi.zmanim.shtetl.io\thttps\t92\t0.004\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t51234\t0.003\tHit\tapplication/json\t812\t-\t-",
    slowHit:
      "2026-12-06\t21:02:32\tFRA56-P1\t1045\t192.0.2.101\tGET\td111111abcdef8.cloudfront.net\t/api/v1/zmanim\t200\t-\tcurl/8.5.0\tlat=31.77&lon=35.21\t-\tHit\tk6WGMNkEzR5BEM_SaF47gjtX9zBDO2m349OY2an0QPEaUum1ZOLrow==\tapi.zmanim.shtetl.io\thttps\t88\t0.061\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t40112\t0.060\tHit\tapplication/json\t812\t-\t-",
    refreshHit:
      "2026-12-06\t21:02:33\tFRA56-P1\t1045\t192.0.2.102\tGET\td111111abcdef8.cloudfront.net\t/api/v1/zmanim\t200\t-\tcurl/8.5.0\tlat=40.71&lon=-74.0\t-\tRefreshHit\tAaRbhbbdQ0x7DnSeLtx3LN6cG9fjM7UCLm_H_LwEvXiWHNTEl0cjlA==\tapi.zmanim.shtetl.io\thttps\t88\t0.140\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tRefreshHit\tHTTP/2.0\t-\t-\t40113\t0.139\tRefreshHit\tapplication/json\t812\t-\t-",
    miss: "2026-12-06\t21:02:34\tFRA56-P1\t1045\t192.0.2.103\tGET\td111111abcdef8.cloudfront.net\t/api/v1/zmanim\t200\t-\tcurl/8.5.0\tlat=51.5&lon=-0.12\t-\tMiss\tLJXe8xwwQeUvgfTcL3-DVhRNKl8y6HWZfGOBKBdExScw0oeDRjFMRg==\tapi.zmanim.shtetl.io\thttps\t88\t0.182\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tMiss\tHTTP/2.0\t-\t-\t40114\t0.181\tMiss\tapplication/json\t812\t-\t-",
    originError:
      "2026-12-06\t21:02:35\tFRA56-P1\t562\t192.0.2.104\tGET\td111111abcdef8.cloudfront.net\t/api/v1/zmanim\t502\t-\tcurl/8.5.0\t-\t-\tError\t9L7Ltj4PzL6W3WPF3Ui4EO1F9ApwBqpl1oJpzTrp0ETOrdsfFCxqag==\tapi.zmanim.shtetl.io\thttps\t88\t0.030\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tError\tHTTP/2.0\t-\t-\t40115\t0.030\tOriginConnectError\ttext/html\t562\t-\t-",
    functionResponse:
      "2026-12-06\t21:02:36\tFRA56-P1\t410\t192.0.2.105\tGET\td111111abcdef8.cloudfront.net\t/no-such-page\t404\t-\tcurl/8.5.0\t-\t-\tFunctionGeneratedResponse\tz5nWm3qX0jY4A5yQk0KxQ2d2b8Qm4ZC8eQe6o1S2Jq3mZQyWbq1xXw==\tzmanim.shtetl.io\thttps\t80\t0.001\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tFunctionGeneratedResponse\tHTTP/2.0\t-\t-\t40116\t0.001\tFunctionGeneratedResponse\ttext/html\t410\t-\t-",
  };
  const delivered = (record: string) => {
    const values = record.split("\t");
    expect(values).toHaveLength(header.length);
    return EDGE_LOG_FIELDS.map((f) => values[header.indexOf(f)]).join(EDGE_LOG_DELIMITER);
  };
  const filter = (metric: string) => {
    const f = edgeMetricFilters().find((x) => x.metricName === metric)!;
    return (record: string) => evaluateMetricFilter(f.pattern, f.value, delivered(record))?.value;
  };

  it("cuts a record to the three delivered fields", () => {
    expect(delivered(records.hit)).toBe("0.004 Hit 200");
    expect(delivered(records.originError)).toBe("0.030 Error 502");
  });

  it("publishes time-taken for Hit only: not RefreshHit (the origin revalidated), Miss, Error or a function's response", () => {
    const hitTime = filter(EDGE_METRICS.hitTimeTaken);
    expect(hitTime(records.hit)).toBe(0.004);
    expect(hitTime(records.slowHit)).toBe(0.061);
    for (const r of [records.refreshHit, records.miss, records.originError, records.functionResponse])
      expect(hitTime(r)).toBeUndefined();
  });

  it("publishes time-taken for Miss only, as the origin latency seen from the edge", () => {
    const missTime = filter(EDGE_METRICS.missTimeTaken);
    expect(Object.values(records).map(missTime)).toEqual([
      undefined,
      undefined,
      undefined,
      0.182,
      undefined,
      undefined,
    ]);
  });

  it("counts every request, and Hit and RefreshHit as hits, for the cache hit ratio", () => {
    const all = Object.values(records);
    expect(all.map(filter(EDGE_METRICS.requests))).toEqual([1, 1, 1, 1, 1, 1]);
    expect(all.map(filter(EDGE_METRICS.hits))).toEqual([1, 1, 1, undefined, undefined, undefined]);
  });

  it("the synthesized filters are exactly these patterns, on the edge log group, in the project namespace", () => {
    const s = synthAll(prod);
    const synthesized = resourcesOfType(s, "aws_cloudwatch_log_metric_filter").map(([, , b]) => [
      b.pattern,
      b.metric_transformation,
      b.log_group_name,
    ]);
    const byName = (a: unknown[], b: unknown[]) => JSON.stringify(a[1]).localeCompare(JSON.stringify(b[1]));
    expect(synthesized.sort(byName)).toEqual(
      edgeMetricFilters()
        .map((f) => [
          f.pattern,
          { namespace: "Zmanim/prod", name: f.metricName, value: f.value, unit: f.unit },
          "${aws_cloudwatch_log_group.edge_log_group.name}",
        ])
        .sort(byName),
    );
  });
});

/** What something in this repository emits: namespace, metric, region and dimension names. */
interface Emitted {
  namespace: string;
  metricName: string;
  region: string;
  dimensions: string[];
  source: string;
}

function emittedMetrics(env: EnvironmentConfig, s: Synthesized): Emitted[] {
  const out: Emitted[] = [];
  const regionOfProvider = (b: Body) => (b.provider === "aws.us-east-1" ? "us-east-1" : env.region);
  // 1. The synthesized alarms (a metric or a metric query) and metric filters.
  for (const [stack, type, id, b] of allResources(s)) {
    if (type === "aws_cloudwatch_metric_alarm") {
      const metrics = b.metric_name
        ? [{ namespace: b.namespace, metric_name: b.metric_name, dimensions: b.dimensions }]
        : ((b.metric_query as Body[]) ?? []).map((q) => q.metric as Body | undefined).filter((m): m is Body => !!m);
      for (const m of metrics) {
        out.push({
          namespace: m.namespace as string,
          metricName: m.metric_name as string,
          region: regionOfProvider(b),
          dimensions: Object.keys((m.dimensions as Body) ?? {}).sort(),
          source: `alarm ${stack}/${id}`,
        });
      }
    }
    if (type === "aws_cloudwatch_log_metric_filter") {
      const t = b.metric_transformation as Body;
      out.push({
        namespace: t.namespace as string,
        metricName: t.name as string,
        region: regionOfProvider(b),
        dimensions: [],
        source: `metric filter ${stack}/${id}`,
      });
    }
  }
  // 2. The CloudWatch agent configurations (box and fleet).
  const ns = metricsNamespace(env);
  const box = s.stacks.compute?.resource?.aws_instance !== undefined;
  if (box) {
    const cfg = cloudwatchAgentConfig(env) as { metrics: { metrics_collected: { mem: unknown; disk: unknown } } };
    expect(Object.keys(cfg.metrics.metrics_collected).sort()).toEqual(["disk", "mem"]);
    out.push({
      namespace: ns,
      metricName: "mem_used_percent",
      region: env.region,
      dimensions: [],
      source: "agent (box)",
    });
    out.push({
      namespace: ns,
      metricName: "disk_used_percent",
      region: env.region,
      dimensions: ["path"],
      source: "agent (box)",
    });
  }
  if (s.stacks.app) {
    const cfg = fleetCloudwatchAgentConfig(env) as { metrics: { aggregation_dimensions: string[][] } };
    expect(cfg.metrics.aggregation_dimensions).toEqual([[FLEET_METRIC_DIMENSION]]);
    for (const m of ["mem_used_percent", "disk_used_percent"])
      out.push({
        namespace: ns,
        metricName: m,
        region: env.region,
        dimensions: [FLEET_METRIC_DIMENSION],
        source: "agent (fleet)",
      });
  }
  // 3. The box scripts' put-metric-data calls (no --dimensions, no Dimensions=), when the box runs.
  if (box) {
    for (const script of ["backup.sh", "restore-drill.sh"]) {
      const text = readFileSync(join(root, "scripts", "box", script), "utf8");
      const calls = text.split("\n").filter((l) => l.includes("put-metric-data") || l.includes("MetricName="));
      for (const l of calls) expect(l).not.toMatch(/--dimensions|Dimensions=/);
      const names = [...text.matchAll(/--metric-name (\w+)|MetricName=(\w+)/g)].map((m) => m[1] ?? m[2]);
      for (const n of new Set(names))
        out.push({ namespace: ns, metricName: n, region: env.region, dimensions: [], source: `scripts/${script}` });
    }
  }
  // 4. The deploy workflow's duration metric (namespace Zmanim/Deploy, dimension Environment).
  out.push({
    namespace: DEPLOY_METRICS.namespace,
    metricName: DEPLOY_METRICS.duration,
    region: env.region,
    dimensions: ["Environment"],
    source: "deploy workflow",
  });
  // 5. AWS's documented metrics of the resources that exist.
  const types = new Set(allResources(s).map(([, t]) => t));
  for (const d of AWS_DOCUMENTED_METRICS) {
    if (d.requires && !types.has(d.requires)) continue;
    const region = ["AWS/CloudFront", "AWS/Route53", "AWS/Billing"].includes(d.namespace) ? "us-east-1" : env.region;
    for (const m of d.metrics)
      out.push({ namespace: d.namespace, metricName: m, region, dimensions: [...d.dimensions].sort(), source: d.doc });
  }
  return out;
}

describe.each([
  ["prod", prod],
  ["scaled", scaled],
])("dashboard (%s)", (_name, env) => {
  let s: Synthesized;
  let body: DashboardBody;
  beforeAll(() => {
    s = synthAll(env);
    body = JSON.parse(one(s, "monitoring", "aws_cloudwatch_dashboard").dashboard_body as string);
  });

  it("draws only metrics that something emits, with exactly the dimensions they carry, in their region", () => {
    const emitted = emittedMetrics(env, s);
    const drawn = dashboardMetrics(body);
    expect(drawn.length).toBeGreaterThan(10);
    for (const m of drawn) {
      const match = emitted.find(
        (e) =>
          e.namespace === m.namespace &&
          e.metricName === m.metricName &&
          e.region === m.region &&
          e.dimensions.join() === Object.keys(m.dimensions).sort().join(),
      );
      expect([
        m.title,
        m.namespace,
        m.metricName,
        Object.keys(m.dimensions),
        m.region,
        match ? "emitted" : "NOT EMITTED",
      ]).toEqual([m.title, m.namespace, m.metricName, Object.keys(m.dimensions), m.region, "emitted"]);
    }
  });

  it("draws every success metric with its target", () => {
    const targets = Object.fromEntries(
      body.widgets.map((w) => [w.properties.title, w.properties.annotations?.horizontal[0]?.value]),
    );
    expect(targets["Origin latency p95 (API Gateway -> EC2), ms"]).toBe(200);
    expect(targets["Edge: cache hits p95 time-taken, s"]).toBe(0.05);
    expect(targets["Deploy duration, s"]).toBe(600);
    expect(targets["Estimated charges this month, USD (whole account)"]).toBe(env.monthlyBudgetUsd);
    expect(targets["Always on: API health through CloudFront (Route 53)"]).toBe(1);
  });

  it("follows the topology: the box's widgets in single-box, the fleet's, ALB's, RDS's and ElastiCache's in scaled", () => {
    const titles = body.widgets.map((w) => w.properties.title);
    const boxTitles = [
      "Box: CPU %",
      "Box: memory %",
      "Box: disk used %",
      "Box: network bytes",
      "Backups: successful runs per day",
      "Restore drill: result and age",
    ];
    const scaledTitles = [
      "Fleet: CPU %",
      "Fleet: memory and root disk %",
      "Fleet: network bytes",
      "ALB: target response time p95, s and 5xx",
      "RDS: CPU % and free storage",
      "ElastiCache",
    ];
    const common = [
      "Origin latency p95 (API Gateway -> EC2), ms",
      "Edge: cache hits p95 time-taken, s",
      "Edge: cache hit ratio, %",
      "Edge: origin latency seen from the edge (time-taken of Miss) p95, s",
      "API Gateway: 4xx and 5xx",
    ];
    expect(titles).toEqual(expect.arrayContaining(common));
    if (env.topology?.kind === "scaled") {
      expect(titles).toEqual(expect.arrayContaining(scaledTitles));
      for (const t of boxTitles) expect(titles).not.toContain(t);
    } else {
      expect(titles).toEqual(expect.arrayContaining(boxTitles));
      for (const t of scaledTitles) expect(titles).not.toContain(t);
      const disk = body.widgets.find((w) => w.properties.title === "Box: disk used %")!;
      expect(disk.properties.metrics.map((l) => l[3])).toEqual([...MONITORED_PATHS]);
    }
  });
});

it("the deploy script sends DeployDuration in the namespace and with the dimension the dashboard reads", () => {
  // Written out, not read from DEPLOY_METRICS: renaming the metric on one side only must fail here.
  expect(DEPLOY_METRICS).toEqual({
    namespace: "Zmanim/Deploy",
    duration: "DeployDuration",
    stackDuration: "StackDeployDuration",
  });
  const dir = join(root, ".github", "workflows");
  const texts = [
    ...readdirSync(dir).map((f) => readFileSync(join(dir, f), "utf8")),
    ...readdirSync(join(root, "scripts", "ci")).map((f) => readFileSync(join(root, "scripts", "ci", f), "utf8")),
  ];
  const senders = texts.filter((t) => t.includes("DeployDuration"));
  expect(senders.length).toBeGreaterThan(0);
  for (const t of senders) {
    expect(t).toContain("Zmanim/Deploy");
    expect(t).toMatch(/Environment/);
  }
});

it("refuses a second environment of the same account that activates the cost allocation tags, naming both and the fix", () => {
  const { environmentSetProblems } = jest.requireActual(
    "../../constructs/config/validate-environment",
  ) as typeof import("../../constructs/config/validate-environment");
  expect(environmentSetProblems({ prod, staging, scaled })).toEqual([]);
  expect(environmentSetProblems({ prod, staging: { ...staging, activatesCostAllocationTags: true }, scaled })).toEqual([
    "environments.staging.activatesCostAllocationTags = true: environments.prod already activates the account's cost allocation tags in account 111111111111; set it false here (one environment per account owns them)",
  ]);
  // Another account may own its own.
  expect(
    environmentSetProblems({
      prod,
      staging: { ...staging, accountId: "222222222222", activatesCostAllocationTags: true },
      scaled,
    }),
  ).toEqual([]);
});
