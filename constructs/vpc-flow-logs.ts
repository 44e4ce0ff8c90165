import { Construct } from "constructs";
import { Fn } from "cdktf/lib/terraform-functions";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { RetainedLogGroup } from "./log-group";

export interface VpcFlowLogsProps {
  readonly vpcId: string;
  /** The destination log group (its retention is the caller's choice). */
  readonly logGroup: RetainedLogGroup;
  /** Name of the IAM role the flow log service assumes to write the group. */
  readonly roleName: string;
  /** The account and region of the VPC: the role trusts only flow logs of this account and region. */
  readonly accountId: string;
  readonly region: string;
  /** @default "ALL" (accepted and rejected flows) */
  readonly trafficType?: "ACCEPT" | "REJECT" | "ALL";
  /** Seconds per aggregation window (60 or 600). @default 600, to keep ingestion small */
  readonly maxAggregationInterval?: 60 | 600;
}

/**
 * VPC flow logs into a CloudWatch log group, through a role that only the account's flow logs of this region
 * may assume (aws:SourceAccount, aws:SourceArn: the confused-deputy guard of the VPC flow logs guide) and
 * that may only write that group. Logical ids are the construct ids (`flow-logs-role`, `flow-logs-policy`,
 * `flow-log`).
 */
export class VpcFlowLogs extends Construct {
  readonly role: IamRole;
  readonly flowLog: FlowLog;

  constructor(scope: Construct, id: string, props: VpcFlowLogsProps) {
    super(scope, id);
    const logs = props.logGroup;
    this.role = new IamRole(this, "flow-logs-role", {
      name: props.roleName,
      assumeRolePolicy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: {
              StringEquals: { "aws:SourceAccount": props.accountId },
              ArnLike: { "aws:SourceArn": `arn:aws:ec2:${props.region}:${props.accountId}:vpc-flow-log/*` },
            },
          },
        ],
      }),
    });
    this.role.overrideLogicalId("flow-logs-role");
    const policy = new IamRolePolicy(this, "flow-logs-policy", {
      role: this.role.id,
      name: "write-flow-logs",
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resource: [logs.arn, `${logs.arn}:*`],
          },
        ],
      }),
    });
    policy.overrideLogicalId("flow-logs-policy");
    this.flowLog = new FlowLog(this, "flow-log", {
      vpcId: props.vpcId,
      trafficType: props.trafficType ?? "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: logs.arn,
      iamRoleArn: this.role.arn,
      maxAggregationInterval: props.maxAggregationInterval ?? 600,
    });
    this.flowLog.overrideLogicalId("flow-log");
  }
}
