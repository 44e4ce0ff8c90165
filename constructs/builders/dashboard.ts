/**
 * The environment's CloudWatch dashboard as a pure document: one widget per success metric of the epic (with its
 * target drawn as a horizontal annotation) and per monitoring item (EC2 or fleet CPU, memory, disk, network; API
 * Gateway latency, 4xx, 5xx; CloudFront cache hit ratio and origin latency; backups; restore drill; deploy
 * duration; cost). Widget and body format:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
 *
 * Values may be Terraform tokens (an instance id from another stack's state); they are plain strings here and
 * become `${...}` interpolations in the synthesized JSON.
 */
import { resourcePrefix } from "../config/naming";

/** One metric line: namespace, metric name, dimension name/value pairs, then rendering options. */
export type MetricLine = [string, string, ...Array<string | MetricOptions>];

export interface MetricOptions {
  stat?: string;
  label?: string;
  region?: string;
  id?: string;
  visible?: boolean;
  expression?: string;
  yAxis?: "left" | "right";
}

export interface MetricWidget {
  type: "metric";
  x: number;
  y: number;
  width: number;
  height: number;
  properties: {
    title: string;
    region: string;
    view: "timeSeries" | "singleValue";
    stat: string;
    period: number;
    metrics: Array<MetricLine | [MetricOptions]>;
    annotations?: { horizontal: Array<{ label: string; value: number; color?: string }> };
    yAxis?: { left?: { min?: number; max?: number; label?: string; showUnits?: boolean } };
  };
}

export interface DashboardBody {
  start: string;
  periodOverride: "inherit";
  widgets: MetricWidget[];
}

/** `zmanim-<env>`: the environment's dashboard (`npm run slo` reads its ids from it). */
export function dashboardNameFor(envName: string): string {
  return resourcePrefix({ name: envName });
}

/** Targets of the epic's success metrics; the same numbers the alarms and `npm run slo` use. */
export const SLO_TARGETS = {
  /** API Gateway IntegrationLatency p95, ms ("origin responses under 200 ms, direct to EC2"). */
  originP95Ms: 200,
  /** CloudFront time-taken of cache hits p95, seconds ("cached API responses under 50 ms at the edge"). */
  edgeHitP95Seconds: 0.05,
  /** Whole deploy, seconds ("deploys under 10 minutes"). */
  deploySeconds: 600,
  /** Successful backups per day ("100% backup success"). */
  backupsPerDay: 1,
} as const;

/** The deploy workflow's metrics (sent with put-metric-data by the deploy job). */
export const DEPLOY_METRICS = {
  namespace: "Zmanim/Deploy",
  duration: "DeployDuration",
  stackDuration: "StackDeployDuration",
} as const;

/** Metrics the CloudFront access-log metric filters publish (us-east-1, the project namespace, no dimensions). */
export const EDGE_METRICS = {
  hitTimeTaken: "EdgeHitTimeTaken",
  missTimeTaken: "EdgeMissTimeTaken",
  requests: "EdgeRequests",
  hits: "EdgeHits",
} as const;

export interface DashboardInput {
  /** Environment name (the deploy metrics' Environment dimension). */
  env: string;
  /** The environment's region: API Gateway, EC2, RDS, the project's box metrics. */
  region: string;
  /** `Zmanim/<env>`: agent, backup, restore-drill and edge-log metrics. */
  namespace: string;
  monthlyBudgetUsd: number;
  api: { apiId: string; stage: string };
  /** Route 53 health check of the API through CloudFront (metrics in us-east-1). */
  healthCheckId: string;
  /** single-box (or scaled while the box is kept): the box. */
  box?: { instanceId: string; monitoredPaths: readonly string[] };
  /** scaled: the fleet, its ALB, RDS and ElastiCache. */
  scaled?: {
    autoScalingGroupName: string;
    loadBalancerArnSuffix: string;
    dbInstanceIdentifier: string;
    cache: { kind: "serverless"; name: string } | { kind: "replication-group"; nodeIds: string[] };
  };
}

const W = 8;
const H = 6;

/** Builds the dashboard body. Pure: the same input gives the same document. */
export function dashboardBody(i: DashboardInput): DashboardBody {
  const widgets: MetricWidget[] = [];
  const add = (
    title: string,
    metrics: MetricWidget["properties"]["metrics"],
    opts: Partial<MetricWidget["properties"]> = {},
  ) => {
    const n = widgets.length;
    widgets.push({
      type: "metric",
      x: (n % 3) * W,
      y: Math.floor(n / 3) * H,
      width: W,
      height: H,
      properties: { title, region: i.region, view: "timeSeries", stat: "Average", period: 300, metrics, ...opts },
    });
  };
  const target = (label: string, value: number) => ({
    annotations: { horizontal: [{ label, value, color: "#d62728" }] },
  });
  const useast1 = "us-east-1";
  const apiDims = ["ApiId", i.api.apiId, "Stage", i.api.stage] as const;

  // ---- success metrics (targets drawn) ----
  add(
    "Origin latency p95 (API Gateway -> EC2), ms",
    [
      ["AWS/ApiGateway", "IntegrationLatency", ...apiDims, { stat: "p95", label: "IntegrationLatency p95" }],
      ["AWS/ApiGateway", "Latency", ...apiDims, { stat: "p95", label: "Latency p95 (with API Gateway)" }],
    ],
    target(`target p95 < ${SLO_TARGETS.originP95Ms} ms`, SLO_TARGETS.originP95Ms),
  );
  add(
    "Edge: cache hits p95 time-taken, s",
    [[i.namespace, EDGE_METRICS.hitTimeTaken, { stat: "p95", region: useast1, label: "time-taken of Hit p95" }]],
    {
      ...target(`target p95 < ${SLO_TARGETS.edgeHitP95Seconds * 1000} ms`, SLO_TARGETS.edgeHitP95Seconds),
      region: useast1,
    },
  );
  add(
    "Always on: API health through CloudFront (Route 53)",
    [
      [
        "AWS/Route53",
        "HealthCheckStatus",
        "HealthCheckId",
        i.healthCheckId,
        { stat: "Minimum", region: useast1, label: "healthy (1) / unhealthy (0)" },
      ],
    ],
    {
      ...target("target: 1 (always answering, no cold start)", 1),
      region: useast1,
      yAxis: { left: { min: 0, max: 1 } },
    },
  );
  add(
    "Deploy duration, s",
    [
      [
        DEPLOY_METRICS.namespace,
        DEPLOY_METRICS.duration,
        "Environment",
        i.env,
        { stat: "Maximum", label: "whole deploy" },
      ],
    ],
    { ...target(`target < ${SLO_TARGETS.deploySeconds} s`, SLO_TARGETS.deploySeconds), period: 86400 },
  );
  add(
    "Estimated charges this month, USD (whole account)",
    [["AWS/Billing", "EstimatedCharges", "Currency", "USD", { stat: "Maximum", region: useast1 }]],
    { ...target(`budget $${i.monthlyBudgetUsd}`, i.monthlyBudgetUsd), region: useast1, period: 21600 },
  );

  // ---- edge ----
  add(
    "Edge: cache hit ratio, %",
    [
      [i.namespace, EDGE_METRICS.hits, { stat: "Sum", region: useast1, id: "hits", visible: false }],
      [i.namespace, EDGE_METRICS.requests, { stat: "Sum", region: useast1, id: "requests", visible: false }],
      [
        {
          expression: "IF(requests > 0, 100 * hits / requests, 0)",
          label: "hits / requests (access logs)",
          id: "ratio",
          region: useast1,
        },
      ],
    ],
    { region: useast1, yAxis: { left: { min: 0, max: 100 } } },
  );
  add(
    "Edge: origin latency seen from the edge (time-taken of Miss) p95, s",
    [[i.namespace, EDGE_METRICS.missTimeTaken, { stat: "p95", region: useast1, label: "time-taken of Miss p95" }]],
    { region: useast1 },
  );

  // ---- API Gateway ----
  add("API Gateway: 4xx and 5xx", [
    ["AWS/ApiGateway", "4xx", ...apiDims, { stat: "Sum" }],
    ["AWS/ApiGateway", "5xx", ...apiDims, { stat: "Sum" }],
    ["AWS/ApiGateway", "Count", ...apiDims, { stat: "Sum", yAxis: "right" }],
  ]);

  // ---- compute: the box or the fleet ----
  if (i.box) {
    const ec2 = ["InstanceId", i.box.instanceId] as const;
    add("Box: CPU %", [["AWS/EC2", "CPUUtilization", ...ec2]], target("alarm 80%", 80));
    add("Box: memory %", [[i.namespace, "mem_used_percent"]], target("alarm 90%", 90));
    add(
      "Box: disk used %",
      i.box.monitoredPaths.map((p): MetricLine => [i.namespace, "disk_used_percent", "path", p, { stat: "Maximum" }]),
      target("alarm 80%", 80),
    );
    add("Box: network bytes", [
      ["AWS/EC2", "NetworkIn", ...ec2, { stat: "Sum" }],
      ["AWS/EC2", "NetworkOut", ...ec2, { stat: "Sum" }],
    ]);
    add("Backups: successful runs per day", [[i.namespace, "BackupSuccess", { stat: "Sum" }]], {
      ...target(`target ${SLO_TARGETS.backupsPerDay} a day (100%)`, SLO_TARGETS.backupsPerDay),
      period: 86400,
    });
    add(
      "Restore drill: result and age",
      [
        [
          i.namespace,
          "RestoreDrillSuccess",
          { stat: "Minimum", yAxis: "right", label: "drill passed (1) / failed (0)" },
        ],
        [i.namespace, "RestoreDrillAgeSeconds", { stat: "Maximum", label: "seconds since the last passed drill" }],
      ],
      { ...target("7 days: a daily age above it for 26 h alarms (8 days without a pass)", 7 * 86400), period: 86400 },
    );
  }
  if (i.scaled) {
    const s = i.scaled;
    const asg = ["AutoScalingGroupName", s.autoScalingGroupName] as const;
    add("Fleet: CPU %", [["AWS/EC2", "CPUUtilization", ...asg]]);
    add("Fleet: memory and root disk %", [
      [i.namespace, "mem_used_percent", ...asg],
      [i.namespace, "disk_used_percent", ...asg],
    ]);
    add("Fleet: network bytes", [
      ["AWS/EC2", "NetworkIn", ...asg, { stat: "Sum" }],
      ["AWS/EC2", "NetworkOut", ...asg, { stat: "Sum" }],
    ]);
    add("ALB: target response time p95, s and 5xx", [
      ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", s.loadBalancerArnSuffix, { stat: "p95" }],
      [
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        "LoadBalancer",
        s.loadBalancerArnSuffix,
        { stat: "Sum", yAxis: "right" },
      ],
    ]);
    const db = ["DBInstanceIdentifier", s.dbInstanceIdentifier] as const;
    add("RDS: CPU % and free storage", [
      ["AWS/RDS", "CPUUtilization", ...db],
      ["AWS/RDS", "FreeStorageSpace", ...db, { stat: "Minimum", yAxis: "right" }],
    ]);
    add(
      "ElastiCache",
      s.cache.kind === "serverless"
        ? [
            ["AWS/ElastiCache", "BytesUsedForCache", "clusterId", s.cache.name, { stat: "Maximum" }],
            [
              "AWS/ElastiCache",
              "ElastiCacheProcessingUnits",
              "clusterId",
              s.cache.name,
              { stat: "Sum", yAxis: "right" },
            ],
          ]
        : s.cache.nodeIds.map((n): MetricLine => ["AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", n]),
    );
  }
  return { start: "-PT24H", periodOverride: "inherit", widgets };
}

/** Every metric a body draws, with its region (expressions left out). */
export function dashboardMetrics(
  body: DashboardBody,
): Array<{ title: string; region: string; namespace: string; metricName: string; dimensions: Record<string, string> }> {
  const out: ReturnType<typeof dashboardMetrics> = [];
  for (const w of body.widgets) {
    for (const line of w.properties.metrics) {
      if (line.length === 1) continue;
      const [namespace, metricName, ...rest] = line as MetricLine;
      const dims: Record<string, string> = {};
      let opts: MetricOptions = {};
      for (let k = 0; k < rest.length; k++) {
        const v = rest[k];
        if (typeof v === "object") opts = v;
        else dims[v] = rest[++k] as string;
      }
      out.push({
        title: w.properties.title,
        region: opts.region ?? w.properties.region,
        namespace,
        metricName,
        dimensions: dims,
      });
    }
  }
  return out;
}
