import { Construct } from "constructs";
import { TerraformProvider } from "cdktf/lib/terraform-provider";
import { Route53HealthCheck } from "@cdktf/provider-aws/lib/route53-health-check";
import { AlarmSet } from "./alarm-set";

/** Route 53 health checker regions (the minimum of three keeps the probe traffic small). */
export const HEALTH_CHECK_REGIONS = ["us-east-1", "us-west-2", "eu-west-1"];

export interface EdgeHealthCheckProps {
  /** The us-east-1 provider: Route 53 publishes health check metrics only there, so the alarm lives there. */
  readonly provider: TerraformProvider;
  /** SNS topic (in us-east-1) that receives the alarm and its return to OK. */
  readonly topicArn: string;
  /** Host name the checkers probe. */
  readonly fqdn: string;
  /** Path the checkers request; any 2xx or 3xx counts as healthy. */
  readonly resourcePath: string;
  /** Name of the health check (its Name tag) and of its alarm, e.g. `zmanim-prod-api-health`. */
  readonly name: string;
  /** @default 80 (plain HTTP: the check's HTTPS option costs extra for a non-AWS endpoint) */
  readonly port?: number;
  /** Construct id and logical id of the health check. @default "health-check" */
  readonly checkId?: string;
  /** Construct id and logical id of the alarm. @default "health-alarm" */
  readonly alarmId?: string;
}

/**
 * A Route 53 HTTP health check (every 30 s from three regions, unhealthy after 3 failures) and a CloudWatch
 * alarm on its `HealthCheckStatus` that fires after three failing minutes. A missing metric counts as failing:
 * a check that reports nothing is no evidence of health.
 */
export class EdgeHealthCheck extends Construct {
  readonly healthCheck: Route53HealthCheck;
  readonly alarms: AlarmSet;

  constructor(scope: Construct, id: string, props: EdgeHealthCheckProps) {
    super(scope, id);
    const port = props.port ?? 80;
    const url = `http://${props.fqdn}${port === 80 ? "" : `:${port}`}${props.resourcePath}`;
    const checkId = props.checkId ?? "health-check";
    this.healthCheck = new Route53HealthCheck(this, checkId, {
      type: "HTTP",
      fqdn: props.fqdn,
      port,
      resourcePath: props.resourcePath,
      requestInterval: 30,
      failureThreshold: 3,
      regions: HEALTH_CHECK_REGIONS,
      tags: { Name: props.name },
    });
    this.healthCheck.overrideLogicalId(checkId);
    this.alarms = new AlarmSet(this, "alarms", {
      topicArn: props.topicArn,
      namePrefix: "",
      alarms: [
        {
          id: props.alarmId ?? "health-alarm",
          name: props.name,
          provider: props.provider,
          alarmDescription: `${url} failing from Route 53 health checkers`,
          namespace: "AWS/Route53",
          metricName: "HealthCheckStatus",
          dimensions: { HealthCheckId: this.healthCheck.id },
          statistic: "Minimum",
          period: 60,
          evaluationPeriods: 3,
          threshold: 1,
          comparisonOperator: "LessThanThreshold",
          treatMissingData: "breaching",
        },
      ],
    });
  }
}
