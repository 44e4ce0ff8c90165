import { Construct } from "constructs";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";

export interface RetainedLogGroupProps {
  /** Full log group name, e.g. `/zmanim/prod/vpc-flow-logs`. */
  readonly name: string;
  /** Retention in days (CloudWatch's allowed values). Required: a log group without retention grows forever. */
  readonly retentionDays: number;
}

/** A CloudWatch log group that always has retention. */
export class RetainedLogGroup extends Construct {
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: RetainedLogGroupProps) {
    super(scope, id);
    if (!Number.isInteger(props.retentionDays) || props.retentionDays <= 0) {
      throw new Error(
        `RetainedLogGroup ${id}: retentionDays = ${JSON.stringify(props.retentionDays)}; use a positive CloudWatch retention such as 30`,
      );
    }
    this.logGroup = new CloudwatchLogGroup(this, "group", {
      name: props.name,
      retentionInDays: props.retentionDays,
    });
  }

  get name(): string {
    return this.logGroup.name;
  }

  get arn(): string {
    return this.logGroup.arn;
  }
}
