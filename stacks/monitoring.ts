import { Construct } from "constructs";
import { TerraformOutput } from "cdktf/lib/terraform-output";
import { BudgetsBudget } from "@cdktf/provider-aws/lib/budgets-budget";
import { CeAnomalyMonitor } from "@cdktf/provider-aws/lib/ce-anomaly-monitor";
import { CeAnomalySubscription } from "@cdktf/provider-aws/lib/ce-anomaly-subscription";
import { CeCostAllocationTag } from "@cdktf/provider-aws/lib/ce-cost-allocation-tag";
import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import { CloudwatchLogDelivery } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery";
import { CloudwatchLogDeliveryDestination } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-destination";
import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import { AlarmSet } from "../constructs/alarm-set";
import { RetainedLogGroup } from "../constructs/log-group";
import {
  dashboardBody,
  DashboardInput,
  dashboardNameFor,
  EDGE_METRICS,
  SLO_TARGETS,
} from "../constructs/builders/dashboard";
import { EDGE_LOG_DELIMITER, EDGE_LOG_FIELDS, edgeMetricFilters } from "../constructs/builders/edge-log-metrics";
import { ZmanimStack, ZmanimStackProps } from "./base";
import type { AppStack } from "./app-stack";
import type { ApiStack } from "./api";
import type { CdnStack } from "./cdn";
import type { ComputeStack } from "./compute";
import type { DataStack } from "./data";
import { MONITORED_PATHS } from "../constructs/builders/cloudwatch-agent";
import { EnvironmentConfig, topologyOf } from "../constructs/config/environments";
import {
  alarmTopicArn,
  logGroupPrefix,
  metricsNamespace,
  resourceName,
  resourcePrefix,
} from "../constructs/config/naming";

export interface MonitoringStackProps extends ZmanimStackProps {
  readonly api: ApiStack;
  readonly cdn: CdnStack;
  /** The box, when it runs (single-box, or scaled while keepBox holds). */
  readonly compute?: ComputeStack;
  readonly data?: DataStack;
  readonly app?: AppStack;
}

/** The project's tags that Cost Explorer, the budget and the anomaly monitor filter by (stacks/base.ts sets them). */
export const COST_TAG_KEYS = ["Project", "Environment"] as const;

/** Notification thresholds of the monthly budget: [type, percent of the limit]. */
export const BUDGET_NOTIFICATIONS: ReadonlyArray<readonly ["ACTUAL" | "FORECASTED", number]> = [
  ["ACTUAL", 80],
  ["ACTUAL", 100],
  ["FORECASTED", 100],
];

/** A cost anomaly whose total impact reaches this many USD is mailed in the daily summary. */
export const ANOMALY_IMPACT_USD = 5;

export function budgetName(env: EnvironmentConfig): string {
  return resourceName(env, "monthly");
}

export function dashboardName(env: EnvironmentConfig): string {
  return dashboardNameFor(env.name);
}

/** CloudWatch Logs group (us-east-1) that receives the fields of CloudFront's access log the edge metrics read. */
export function edgeLogGroupName(env: EnvironmentConfig): string {
  return `${logGroupPrefix(env)}/cloudfront-edge`;
}

/**
 * The epic's success metrics, in the account (docs/monitoring.md):
 * - Cost: a monthly AWS Budgets cost budget at `monthlyBudgetUsd`, filtered to the environment's `Environment` tag,
 *   mailing the alarm address at ACTUAL >= 80%, ACTUAL >= 100% and FORECASTED >= 100%; a Cost Anomaly Detection
 *   monitor on the same tag with a daily e-mail subscription; in the environment that owns them
 *   (`activatesCostAllocationTags`), the `Project` and `Environment` cost allocation tags.
 * - The edge: CloudFront's access log (only time-taken, result type, status) also delivered to a log group in
 *   us-east-1, metric filters for hit latency, requests and hits, and the cached p95 alarm.
 * - The dashboard (constructs/builders/dashboard.ts). It takes no id from the distribution: the distribution derives
 *   from the certificate (create_before_destroy), which must not be consumed outside the cdn stack; the edge's
 *   numbers come from the access log instead.
 * Last in the deploy order: it reads the api, cdn, compute and scaled stacks' ids through remote state.
 */
export class MonitoringStack extends ZmanimStack {
  readonly budget: BudgetsBudget;
  readonly dashboard: CloudwatchDashboard;

  constructor(scope: Construct, props: MonitoringStackProps) {
    super(scope, "monitoring", props);
    const env = props.env;
    const prefix = resourcePrefix(env);
    const envTag = `user:Environment$${env.name}`;

    // ---- cost ----
    // Budgets mails the address itself; an SNS subscriber would need a topic policy that lets
    // budgets.amazonaws.com publish (https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html),
    // on a topic whose owner moves between stacks (alarm-topic.ts). Non-action budgets are free:
    // https://aws.amazon.com/aws-cost-management/aws-budgets/pricing/
    this.budget = new BudgetsBudget(this, "budget", {
      name: budgetName(env),
      budgetType: "COST",
      limitAmount: String(env.monthlyBudgetUsd),
      limitUnit: "USD",
      timeUnit: "MONTHLY",
      // The environments share an account: the budget counts what carries this environment's tag (once the tag
      // is an active cost allocation tag; docs/monitoring.md "Cost allocation tags").
      costFilter: [{ name: "TagKeyValue", values: [envTag] }],
      // Budgets' operators are GREATER_THAN, LESS_THAN and EQUAL_TO (no "at least"): GREATER_THAN is the closest.
      notification: BUDGET_NOTIFICATIONS.map(([type, threshold]) => ({
        notificationType: type,
        comparisonOperator: "GREATER_THAN",
        threshold,
        thresholdType: "PERCENTAGE",
        subscriberEmailAddresses: [env.alarmEmail],
      })),
    });

    this.addCostWatch(env);

    // ---- the edge: CloudFront's access log fields into CloudWatch Logs (us-east-1) ----
    const useast1 = this.regionalProvider("us-east-1", "us-east-1");
    const edgeLogs = new RetainedLogGroup(this, "edge-log-group", {
      name: edgeLogGroupName(env),
      retentionDays: env.logRetentionDays,
    });
    edgeLogs.logGroup.provider = useast1;
    edgeLogs.logGroup.overrideLogicalId("edge_log_group");
    const destination = new CloudwatchLogDeliveryDestination(this, "edge-log-destination", {
      provider: useast1,
      name: `${prefix}-cloudfront-cwl`,
      outputFormat: "plain",
      deliveryDestinationConfiguration: [{ destinationResourceArn: edgeLogs.arn }],
    });
    new CloudwatchLogDelivery(this, "edge-log-delivery", {
      provider: useast1,
      // The delivery source is the cdn stack's (SiteDistribution: `<prefix>-cloudfront`); a source may have one
      // delivery per destination.
      deliverySourceName: `${prefix}-cloudfront`,
      deliveryDestinationArn: destination.arn,
      recordFields: [...EDGE_LOG_FIELDS],
      fieldDelimiter: EDGE_LOG_DELIMITER,
    });
    const ns = metricsNamespace(env);
    for (const f of edgeMetricFilters()) {
      new CloudwatchLogMetricFilter(this, `edge-filter-${f.id}`, {
        provider: useast1,
        name: `${prefix}-edge-${f.id}`,
        logGroupName: edgeLogs.name,
        pattern: f.pattern,
        metricTransformation: { namespace: ns, name: f.metricName, value: f.value, unit: f.unit },
      });
    }
    new AlarmSet(this, "edge-alarms", {
      topicArn: alarmTopicArn(env, "us-east-1"),
      namePrefix: `${prefix}-`,
      alarms: [
        {
          id: "edge-hit-p95",
          provider: useast1,
          alarmDescription: `Cached responses: p95 time-taken of CloudFront cache hits above ${SLO_TARGETS.edgeHitP95Seconds * 1000} ms for 15 minutes`,
          namespace: ns,
          metricName: EDGE_METRICS.hitTimeTaken,
          extendedStatistic: "p95",
          period: 300,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          threshold: SLO_TARGETS.edgeHitP95Seconds,
          comparisonOperator: "GreaterThanThreshold",
          // No hits in a period (no traffic) is healthy.
          treatMissingData: "notBreaching",
        },
      ],
    });

    // ---- dashboard ----
    this.dashboard = new CloudwatchDashboard(this, "dashboard", {
      dashboardName: dashboardName(env),
      dashboardBody: JSON.stringify(dashboardBody(monitoringDashboardInput(props))),
    });

    new TerraformOutput(this, "dashboard-name", { value: this.dashboard.dashboardName });
  }
  /** Cost anomaly detection on the Environment tag, and (one environment per account) the cost allocation tags. */
  private addCostWatch(env: EnvironmentConfig): void {
    const prefix = resourcePrefix(env);
    // Cost Anomaly Detection is free (https://aws.amazon.com/aws-cost-management/aws-cost-anomaly-detection/pricing/).
    // A CUSTOM monitor on the Environment tag: an account has one DIMENSIONAL/SERVICE monitor, and the
    // environments share the account.
    const monitor = new CeAnomalyMonitor(this, "anomaly-monitor", {
      name: `${prefix}-cost`,
      monitorType: "CUSTOM",
      monitorSpecification: JSON.stringify({
        Tags: { Key: "Environment", Values: [env.name], MatchOptions: ["EQUALS"] },
      }),
    });
    new CeAnomalySubscription(this, "anomaly-subscription", {
      name: `${prefix}-cost-anomalies`,
      frequency: "DAILY",
      monitorArnList: [monitor.arn],
      subscriber: [{ type: "EMAIL", address: env.alarmEmail }],
      thresholdExpression: {
        dimension: {
          key: "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
          matchOptions: ["GREATER_THAN_OR_EQUAL"],
          values: [String(ANOMALY_IMPACT_USD)],
        },
      },
    });
    // Account-wide settings, so one environment owns them. Activation works only in the payer (management)
    // account and only for a key that has already appeared in the billing data (up to 24 hours after the first
    // tagged resource): https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/activating-tags.html
    if (env.activatesCostAllocationTags) {
      for (const key of COST_TAG_KEYS) {
        new CeCostAllocationTag(this, `cost-tag-${key.toLowerCase()}`, { tagKey: key, status: "Active" });
      }
    }
  }
}

/** The dashboard's input from the stacks that exist in this environment's topology. */
export function monitoringDashboardInput(props: MonitoringStackProps): DashboardInput {
  const env = props.env;
  const scaled =
    topologyOf(env).kind === "scaled" && props.app && props.data ? { app: props.app, data: props.data } : undefined;
  const t = topologyOf(env);
  return {
    env: env.name,
    region: env.region,
    namespace: metricsNamespace(env),
    monthlyBudgetUsd: env.monthlyBudgetUsd,
    api: { apiId: props.api.api.id, stage: "$default" },
    healthCheckId: props.cdn.apiHealth.healthCheck.id,
    box: props.compute ? { instanceId: props.compute.instance.id, monitoredPaths: MONITORED_PATHS } : undefined,
    scaled:
      scaled && t.kind === "scaled"
        ? {
            autoScalingGroupName: scaled.app.fleet.group.name,
            loadBalancerArnSuffix: scaled.app.fleet.loadBalancer.arnSuffix,
            dbInstanceIdentifier: scaled.data.database.instance.identifier,
            cache:
              t.cache.kind === "serverless"
                ? { kind: "serverless", name: resourcePrefix(env) }
                : {
                    kind: "replication-group",
                    nodeIds: Array.from({ length: 1 + t.cache.replicas }, (_, k) =>
                      resourceName(env, String(k + 1).padStart(3, "0")),
                    ),
                  },
          }
        : undefined,
  };
}
