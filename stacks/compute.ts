import { Construct } from "constructs";
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { AlarmSet, AlarmSpec } from "../constructs/alarm-set";
import { Box } from "../constructs/box";
import { IamStatement, InstanceRole } from "../constructs/instance-role";
import { PersistentVolume } from "../constructs/persistent-volume";
import { RetainedLogGroup } from "../constructs/log-group";
import { addAlarmTopic } from "../constructs/alarm-topic";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { EnvironmentConfig } from "../constructs/config/environments";
import {
  bucketArn,
  instancePrivateIp,
  instanceRoleName,
  mailFromAddress,
  metricsNamespace,
  sesIdentityArn,
  ssmParameterArnPattern,
  ssmParameterName,
  ssmPrefix,
  resourcePrefix,
  SSM_LEAVES,
} from "../constructs/config/naming";

import {
  BOX_LOGS,
  METRICS,
  MONITORED_PATHS,
  boxLogGroupName,
  cloudwatchAgentConfig,
} from "../constructs/builders/cloudwatch-agent";
import { NetworkStack } from "./network";
import { SecretsStack } from "./secrets";
import { StorageStack } from "./storage";
import { readUserDataScript, renderUserDataForTerraform } from "../constructs/builders/user-data";

export type { IamStatement };

export interface ComputeStackProps extends ZmanimStackProps {
  readonly network: NetworkStack;
  readonly storage: StorageStack;
  /**
   * Deploy-order dependency only. The compute stack reads secrets by SSM name at boot and never references
   * a value of the secrets stack, so it needs no random provider and stays `terraform validate`-able.
   */
  readonly secrets: SecretsStack;
  /**
   * The boot script's text. @default the box role's boot script, assembled from scripts/box/user-data/ (common.sh + box.sh)
   */
  readonly userDataScript?: string;
}

/**
 * What the SSM agent needs for Session Manager and Run Command. This replaces the AWS managed policy
 * AmazonSSMManagedInstanceCore, which also grants ssm:GetParameter(s) on every parameter of the account.
 * The message-channel actions (ssmmessages, ec2messages) have no resource type; the agent's ssm: calls
 * concern the calling instance itself.
 */
export const SSM_AGENT_ACTIONS = [
  "ssm:UpdateInstanceInformation",
  "ssm:ListInstanceAssociations",
  "ssm:UpdateInstanceAssociationStatus",
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
  "ec2messages:AcknowledgeMessage",
  "ec2messages:DeleteMessage",
  "ec2messages:FailMessage",
  "ec2messages:GetEndpoint",
  "ec2messages:GetMessages",
  "ec2messages:SendReply",
];

/**
 * The SES identities a failure mail is authorized against: the project's sending identity and, for the SES
 * sandbox, the recipient's identity as an address and as a domain (either may be the verified one).
 */
export function sesSendIdentityArns(env: EnvironmentConfig): string[] {
  const identity = (name: string) => `arn:aws:ses:${env.region}:${env.accountId}:identity/${name}`;
  const recipientDomain = env.alarmEmail.slice(env.alarmEmail.indexOf("@") + 1);
  return [...new Set([sesIdentityArn(env), identity(env.alarmEmail), identity(recipientDomain)])];
}

/** The instance role's inline policy: what the box itself needs, and nothing else. */
export function instancePolicyStatements(env: EnvironmentConfig): IamStatement[] {
  const backups = bucketArn(env, "backups");
  const releases = bucketArn(env, "releases");
  const logGroupArn = (group: string) =>
    `arn:aws:logs:${env.region}:${env.accountId}:log-group:${boxLogGroupName(env, group)}`;
  return [
    // restic: list, read, write, and delete (prune, lock files). Versioning on the bucket keeps deleted
    // objects recoverable for noncurrentVersionDays (D10).
    { Sid: "BackupsBucket", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: backups },
    {
      Sid: "BackupsObjects",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      Resource: `${backups}/*`,
    },
    { Sid: "ReleasesBucket", Effect: "Allow", Action: ["s3:ListBucket"], Resource: releases },
    { Sid: "ReleasesObjects", Effect: "Allow", Action: ["s3:GetObject"], Resource: `${releases}/*` },
    {
      Sid: "ReadOwnParameters",
      Effect: "Allow",
      Action: ["ssm:GetParameter", "ssm:GetParameters"],
      Resource: ssmParameterArnPattern(env),
    },
    {
      // SecureString values under /zmanim/<env>/ only: SSM passes the parameter ARN as encryption context.
      Sid: "DecryptOwnParametersViaSsm",
      Effect: "Allow",
      Action: ["kms:Decrypt"],
      Resource: `arn:aws:kms:${env.region}:${env.accountId}:key/*`,
      Condition: {
        StringEquals: { "kms:ViaService": `ssm.${env.region}.amazonaws.com` },
        StringLike: { "kms:EncryptionContext:PARAMETER_ARN": ssmParameterArnPattern(env) },
      },
    },
    {
      // While the account is in the SES sandbox, a send is also authorized against the recipient's verified
      // identity (the address itself, or its domain), so both are listed; the conditions keep the box to its
      // own sender address and the alarm recipient whichever identity authorizes the send.
      // https://docs.aws.amazon.com/ses/latest/dg/sending-authorization-policies.html
      Sid: "SendMailFromProjectIdentity",
      Effect: "Allow",
      Action: ["ses:SendEmail", "ses:SendRawEmail"],
      Resource: sesSendIdentityArns(env),
      Condition: {
        StringEquals: { "ses:FromAddress": mailFromAddress(env) },
        "ForAllValues:StringEquals": { "ses:Recipients": [env.alarmEmail] },
      },
    },
    {
      // PutMetricData has no resource type; the namespace condition is the scope.
      Sid: "PutProjectMetrics",
      Effect: "Allow",
      Action: ["cloudwatch:PutMetricData"],
      Resource: "*",
      Condition: { StringEquals: { "cloudwatch:namespace": metricsNamespace(env) } },
    },
    { Sid: "SessionManagerAndRunCommand", Effect: "Allow", Action: [...SSM_AGENT_ACTIONS], Resource: "*" },
    {
      Sid: "WriteProjectLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
      Resource: BOX_LOGS.flatMap((l) => [logGroupArn(l.group), `${logGroupArn(l.group)}:log-stream:*`]),
    },
  ];
}

/**
 * The box: one always-on Graviton instance from the AMI published in SSM, its persistent /data volume and
 * Elastic IP (both outlive every instance), its IAM role, the boot script, log groups, the CloudWatch agent
 * configuration, and the alarms with their SNS topic.
 *
 * Replacement (new AMI id, new user data, new instance type): Terraform stops the old instance, detaches the
 * volume, destroys the instance, creates the new one on the same private address, then re-attaches the
 * volume and re-associates the Elastic IP. See docs/runbooks/instance-changes.md.
 */
export class ComputeStack extends ZmanimStack {
  readonly instance: Instance;
  readonly alarmTopic: SnsTopic;
  readonly dataVolume: PersistentVolume;
  readonly eip: Eip;
  readonly role: IamRole;
  readonly alarms: CloudwatchMetricAlarm[];

  constructor(scope: Construct, props: ComputeStackProps) {
    super(scope, "compute", props);
    const env = props.env;
    const name = resourcePrefix(env);

    // ---- alarms topic ----
    this.alarmTopic = addAlarmTopic(this, env);

    // ---- log groups the agent ships to ----
    for (const l of BOX_LOGS) {
      new RetainedLogGroup(this, `log-${l.group}`, {
        name: boxLogGroupName(env, l.group),
        retentionDays: env.logRetentionDays,
      });
    }

    // ---- CloudWatch agent configuration, read by user data ----
    new SsmParameter(this, "cloudwatch-agent-config", {
      name: ssmParameterName(env, SSM_LEAVES.cloudwatchAgent),
      description: "CloudWatch agent configuration of the box (loaded by user data)",
      type: "String",
      tier: "Standard",
      value: JSON.stringify(cloudwatchAgentConfig(env)),
    });

    // ---- IAM ----
    const { role, profile } = new InstanceRole(this, "instance-role", {
      name: instanceRoleName(env),
      description: "The Zmanim box: backups, releases, its own SSM parameters, SES, metrics and logs",
      policyName: "zmanim-box",
      statements: instancePolicyStatements(env),
      accountId: env.accountId,
    });
    this.role = role;

    // ---- stateful: the data volume and the Elastic IP reference nothing of the instance ----
    const ami = new DataAwsSsmParameter(this, "ami-id", { name: ssmParameterName(env, SSM_LEAVES.amiId) });

    const userDataScript = props.userDataScript ?? readUserDataScript();
    const box = new Box(this, "box", {
      name,
      ami: ami.insecureValue,
      instanceType: env.instanceType,
      subnetId: props.network.publicSubnet.id,
      availabilityZone: env.availabilityZone,
      privateIp: instancePrivateIp(env),
      securityGroupIds: [props.network.instanceSecurityGroup.id],
      instanceProfileName: profile.name,
      rootVolumeGb: env.rootVolumeGb,
      dataVolumeGb: env.dataVolumeGb,
      userData: (dataVolumeId) =>
        renderUserDataForTerraform(
          userDataScript,
          { ZMANIM_ENV: env.name, ZMANIM_REGION: env.region, ZMANIM_SSM_PREFIX: ssmPrefix(env) },
          { ZMANIM_DATA_VOLUME_ID: dataVolumeId },
        ),
    });
    this.instance = box.instance;
    this.eip = box.eip;
    this.dataVolume = box.dataVolume;

    // ---- alarms ----
    this.alarms = new AlarmSet(this, "alarms", {
      topicArn: this.alarmTopic.arn,
      namePrefix: `${name}-`,
      alarms: boxAlarms(env, this.instance.id),
    }).alarms;
  }
}

/** The box's alarms: EC2 CPU and status checks (with auto-recovery), agent disk and memory, backup freshness. */
export function boxAlarms(env: EnvironmentConfig, instanceId: string): AlarmSpec[] {
  const ec2 = { namespace: "AWS/EC2", dimensions: { InstanceId: instanceId } };
  const ns = metricsNamespace(env);
  return [
    {
      ...ec2,
      id: "cpu-high",
      alarmDescription: "CPU above 80% for 5 minutes",
      metricName: "CPUUtilization",
      statistic: "Average",
      period: 300,
      evaluationPeriods: 1,
      threshold: 80,
      comparisonOperator: "GreaterThanThreshold",
    },
    {
      ...ec2,
      id: "status-check-failed",
      alarmDescription: "An instance or system status check failed for 2 minutes",
      metricName: "StatusCheckFailed",
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 2,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
    },
    {
      ...ec2,
      id: "auto-recover",
      alarmDescription:
        "System status check failed: EC2 recovers the instance onto healthy hardware (same id, IP, volumes)",
      metricName: "StatusCheckFailed_System",
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 2,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      extraAlarmActions: [`arn:aws:automate:${env.region}:ec2:recover`],
    },
    ...MONITORED_PATHS.map((path): AlarmSpec => {
      const slug = path === "/" ? "root" : path.replace(/[^a-z0-9]/gi, "");
      return {
        id: `disk-high-${slug}`,
        alarmDescription: `Disk usage of ${path} above 80% (CloudWatch agent)`,
        namespace: ns,
        metricName: METRICS.diskUsedPercent,
        dimensions: { path },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 80,
        comparisonOperator: "GreaterThanThreshold",
      };
    }),
    {
      id: "memory-high",
      alarmDescription: "Memory usage above 90% for 10 minutes (CloudWatch agent)",
      namespace: ns,
      metricName: METRICS.memUsedPercent,
      statistic: "Average",
      period: 300,
      evaluationPeriods: 2,
      threshold: 90,
      comparisonOperator: "GreaterThanThreshold",
    },
    // The disk and memory alarms keep their state when data is missing (a replacement leaves a gap of a few
    // minutes); this one notices an agent, or a box, that stopped reporting altogether.
    {
      id: "agent-silent",
      alarmDescription: "The CloudWatch agent has published no mem_used_percent for 15 minutes",
      namespace: ns,
      metricName: METRICS.memUsedPercent,
      statistic: "SampleCount",
      period: 300,
      evaluationPeriods: 3,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
    },
    // D11: a missing metric is breaching, so a backup timer that never fires alarms as surely as a failure.
    {
      id: "backup-stale",
      alarmDescription: "No successful backup (BackupSuccess) in the last 26 hours",
      namespace: ns,
      metricName: METRICS.backupSuccess,
      statistic: "Sum",
      period: 3600,
      evaluationPeriods: 26,
      datapointsToAlarm: 26,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
    },
    // No drill passed for 8 days. An alarm may look back at most 7 days, so the box publishes the age of the last
    // pass (RestoreDrillAgeSeconds: 0 at a pass, the stamp's age after each daily backup) and the alarm fires once
    // 26 hours hold no datapoint of at most RESTORE_DRILL_MAX_AGE_SECONDS. A missed Sunday drill: Monday's backup
    // publishes ~7 d 22 h, and the alarm fires 26 h after Sunday's last good datapoint, 8 days after the last pass.
    // A box that stops publishing (no backups, no drills, no box) breaches too. docs/monitoring.md.
    {
      id: "restore-drill-stale",
      alarmDescription:
        "No restore drill has passed for 8 days (RestoreDrillAgeSeconds above 7 days, or missing, for 26 hours)",
      namespace: ns,
      metricName: METRICS.restoreDrillAgeSeconds,
      statistic: "Minimum",
      period: 3600,
      evaluationPeriods: 26,
      datapointsToAlarm: 26,
      threshold: RESTORE_DRILL_MAX_AGE_SECONDS,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "breaching",
    },
  ];
}

/** Age of the last passed restore drill above which a daily datapoint breaches (see `restore-drill-stale`). */
export const RESTORE_DRILL_MAX_AGE_SECONDS = 7 * 86400;
