import { Construct } from "constructs";
import { CloudwatchMetricAlarm, CloudwatchMetricAlarmConfig } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";

/** One alarm of an `AlarmSet`: a CloudWatch metric alarm without its name prefix and its SNS actions. */
export interface AlarmSpec extends Omit<
  CloudwatchMetricAlarmConfig,
  "alarmName" | "alarmActions" | "okActions" | "treatMissingData"
> {
  /**
   * Construct id and Terraform logical id (`<logicalIdPrefix><id>`). Alarms hold no state, but a pinned id
   * keeps a refactor from showing up as destroy-and-create in the plan.
   */
  readonly id: string;
  /** Alarm name after the set's `namePrefix`. @default `id` */
  readonly name?: string;
  /**
   * How a period without data counts. "missing" keeps the alarm in its state, so a replacement's gap of a few
   * minutes neither alarms nor clears. Use "breaching" for a heartbeat (a metric whose absence is the problem)
   * and "notBreaching" for a rate over requests, where an idle period is healthy.
   * @default "missing"
   */
  readonly treatMissingData?: "missing" | "breaching" | "notBreaching" | "ignore";
  /**
   * Actions besides the SNS topic when the alarm fires (e.g. `arn:aws:automate:<region>:ec2:recover`). They come
   * before the topic. @default none
   */
  readonly extraAlarmActions?: string[];
}

export interface AlarmSetProps {
  /** SNS topic ARN that receives every alarm and every return to OK. */
  readonly topicArn: string;
  /** Prepended to every alarm name, e.g. `zmanim-prod-` (the account's alarm names are one flat list). */
  readonly namePrefix: string;
  /** The alarms. Ids must be unique within the set. */
  readonly alarms: AlarmSpec[];
  /**
   * Prepended to every alarm's logical id. Leave it empty while one set lives in a stack; give a second set in
   * the same stack its own prefix. @default ""
   */
  readonly logicalIdPrefix?: string;
}

/**
 * A list of CloudWatch metric alarms that all notify one SNS topic, on alarm and on return to OK.
 *
 * Defaults that each alarm may override: `treatMissingData = "missing"`; the topic in `alarmActions` (after any
 * `extraAlarmActions`) and in `okActions`. Construction fails on a duplicate id, an alarm that has neither a
 * metric nor a metric query, or one that has both.
 */
export class AlarmSet extends Construct {
  readonly alarms: CloudwatchMetricAlarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmSetProps) {
    super(scope, id);
    const prefix = props.logicalIdPrefix ?? "";
    const seen = new Set<string>();
    for (const spec of props.alarms) {
      const { id: alarmId, name, extraAlarmActions, treatMissingData, ...cfg } = spec;
      if (seen.has(alarmId))
        throw new Error(
          `AlarmSet ${id}: alarm id ${JSON.stringify(alarmId)} appears twice; give each alarm its own id`,
        );
      seen.add(alarmId);
      const hasMetric = cfg.metricName !== undefined;
      const hasQuery = Array.isArray(cfg.metricQuery) ? cfg.metricQuery.length > 0 : cfg.metricQuery !== undefined;
      if (hasMetric === hasQuery) {
        throw new Error(
          `AlarmSet ${id}: alarm ${JSON.stringify(alarmId)} needs exactly one of metricName or metricQuery`,
        );
      }
      const alarm = new CloudwatchMetricAlarm(this, alarmId, {
        ...cfg,
        alarmName: `${props.namePrefix}${name ?? alarmId}`,
        alarmActions: [...(extraAlarmActions ?? []), props.topicArn],
        okActions: [props.topicArn],
        treatMissingData: treatMissingData ?? "missing",
      });
      alarm.overrideLogicalId(`${prefix}${alarmId}`);
      this.alarms.push(alarm);
    }
  }
}
