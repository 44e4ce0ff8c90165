import { Construct } from "constructs";
import { TerraformOutput } from "cdktf/lib/terraform-output";
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { AlarmSet, AlarmSpec } from "../constructs/alarm-set";
import { Fleet } from "../constructs/fleet";
import { IamStatement, InstanceRole } from "../constructs/instance-role";
import { RetainedLogGroup } from "../constructs/log-group";
import { ZmanimStack, ZmanimStackProps, defaultTagsOf } from "./base";
import { FLEET_LOGS, boxLogGroupName, fleetCloudwatchAgentConfig } from "../constructs/builders/cloudwatch-agent";
import { instancePolicyStatements } from "./compute";
import { EnvironmentConfig, ScaledTopology } from "../constructs/config/environments";
import {
  alarmTopicArn,
  fleetRoleName,
  ssmParameterName,
  ssmPrefix,
  resourceName,
  resourcePrefix,
  SSM_LEAVES,
  FLEET_CW_AGENT_LEAF,
} from "../constructs/config/naming";

import { NetworkStack } from "./network";
import { ALB_LISTENER_PORT } from "../constructs/scaled-network";
import { escapeTerraformTemplate, readUserDataScript, renderUserDataText } from "../constructs/builders/user-data";

/** The role the boot script plays on a fleet instance: the API only, no local data. */
export const FLEET_USER_DATA_ROLE = "api";

export interface AppStackProps extends ZmanimStackProps {
  readonly network: NetworkStack;
  readonly topology: ScaledTopology;
  /** The boot script's text. @default the api role's boot script, assembled from scripts/box/user-data/ (common.sh + api.sh) */
  readonly userDataScript?: string;
}

/** Statements of the box's instance policy that an API-only instance needs as they are. */
export const FLEET_SHARED_SIDS = [
  "ReleasesBucket",
  "ReleasesObjects",
  "ReadOwnParameters",
  "DecryptOwnParametersViaSsm",
  "PutProjectMetrics",
  "SessionManagerAndRunCommand",
] as const;

/**
 * What an API-only instance needs, and nothing else: its environment's SSM parameters (endpoints, passwords,
 * the agent configuration), the releases bucket (read), its own metrics and log group, and the SSM agent. These
 * are the box's statements of the same name, so a fix to one reaches both; no backups bucket and no SES, as
 * there is no data on the host and no backup job to report on.
 */
export function fleetPolicyStatements(env: EnvironmentConfig): IamStatement[] {
  const box = instancePolicyStatements(env);
  const shared = FLEET_SHARED_SIDS.map((sid) => {
    const st = box.find((s) => s.Sid === sid);
    if (!st)
      throw new Error(
        `fleet policy: the box's instance policy has no statement ${sid}; update FLEET_SHARED_SIDS in stacks/app-stack.ts`,
      );
    return st;
  });
  const logGroupArn = (group: string) =>
    `arn:aws:logs:${env.region}:${env.accountId}:log-group:${boxLogGroupName(env, group)}`;
  return [
    ...shared,
    {
      // The agent's ec2tagger resolves the `${aws:AutoScalingGroupName}` dimension (fleetCloudwatchAgentConfig)
      // from the instance's aws:autoscaling:groupName tag with ec2:DescribeTags (instance metadata tags are off),
      // and holds back every metric until that call succeeds. AWS's CloudWatchAgentServerPolicy grants it for this
      // reason: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/create-iam-roles-for-cloudwatch-agent.html
      // (agent source: aws/amazon-cloudwatch-agent, plugins/processors/ec2tagger). DescribeTags supports no
      // resource-level permissions (service authorization reference, Amazon EC2): `*`, held to the region.
      Sid: "AgentDescribeOwnTags",
      Effect: "Allow",
      Action: ["ec2:DescribeTags"],
      Resource: "*",
      Condition: { StringEquals: { "aws:RequestedRegion": env.region } },
    },
    {
      Sid: "WriteFleetLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
      Resource: FLEET_LOGS.flatMap((l) => [logGroupArn(l.group), `${logGroupArn(l.group)}:log-stream:*`]),
    },
  ];
}

/** The fleet's alarms: targets failing health checks, no healthy target at all, and the 5xx rate at the ALB. */
export function fleetAlarms(fleet: Fleet): AlarmSpec[] {
  const dims = { TargetGroup: fleet.targetGroup.arnSuffix, LoadBalancer: fleet.loadBalancer.arnSuffix };
  const alb = (id: string, metricName: string, dimensions: Record<string, string>) => ({
    id,
    returnData: false,
    metric: { namespace: "AWS/ApplicationELB", metricName, period: 60, stat: "Sum", dimensions },
  });
  const lbOnly = { LoadBalancer: fleet.loadBalancer.arnSuffix };
  return [
    {
      id: "fleet-unhealthy-hosts",
      alarmDescription: "At least one API instance failed the target group's health check for 3 minutes",
      namespace: "AWS/ApplicationELB",
      metricName: "UnHealthyHostCount",
      dimensions: dims,
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 3,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    },
    {
      // Missing data is breaching: a target group with no registered target publishes nothing.
      id: "fleet-no-healthy-hosts",
      alarmDescription: "No healthy API instance behind the internal ALB for 2 minutes (the API is down)",
      namespace: "AWS/ApplicationELB",
      metricName: "HealthyHostCount",
      dimensions: dims,
      statistic: "Minimum",
      period: 60,
      evaluationPeriods: 2,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
    },
    {
      // Target 5xx (the API's own) and ELB 5xx (no target, a timeout) over all requests, above 1% for 5 minutes.
      id: "fleet-5xx-rate",
      alarmDescription: "5xx responses at the internal ALB (API and load balancer) above 1% of requests for 5 minutes",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 1,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      treatMissingData: "notBreaching",
      metricQuery: [
        alb("target5xx", "HTTPCode_Target_5XX_Count", dims),
        alb("elb5xx", "HTTPCode_ELB_5XX_Count", lbOnly),
        alb("requests", "RequestCount", lbOnly),
        {
          id: "rate",
          expression: "IF(FILL(requests, 0) > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)",
          label: "5xx rate (%)",
          returnData: true,
        },
      ],
    },
  ];
}

/**
 * The scaled topology's API tier (`zmanim-<env>-app`): an Auto Scaling group of API-only instances behind an
 * internal ALB in the app subnets (constructs/fleet.ts), their IAM role, CloudWatch agent configuration and log
 * group, and their alarms. The boot script runs in its `api` role: no `/data`, no PostgreSQL, Redis or backups;
 * the API reaches RDS and ElastiCache at the endpoints the data stack writes to SSM.
 *
 * The alarm topic is named, not owned (constructs/alarm-topic.ts).
 */
export class AppStack extends ZmanimStack {
  readonly fleet: Fleet;

  constructor(scope: Construct, props: AppStackProps) {
    super(scope, "app", props);
    const { env, topology: t } = props;
    const net = props.network.scaled;
    if (!net)
      throw new Error(
        `app stack: environment "${env.name}" has no scaled network; the app stack exists only in the scaled topology`,
      );
    const name = resourceName(env, "api");

    for (const l of FLEET_LOGS) {
      new RetainedLogGroup(this, `log-${l.group.replace(/\//g, "-")}`, {
        name: boxLogGroupName(env, l.group),
        retentionDays: env.logRetentionDays,
      });
    }
    new SsmParameter(this, "cloudwatch-agent-config", {
      name: ssmParameterName(env, FLEET_CW_AGENT_LEAF),
      description: "CloudWatch agent configuration of the API fleet (loaded by user data in the api role)",
      type: "String",
      tier: "Standard",
      // The agent's own ${aws:...} placeholders must reach SSM as they are, not as Terraform interpolations.
      value: escapeTerraformTemplate(JSON.stringify(fleetCloudwatchAgentConfig(env))),
    });
    const { profile } = new InstanceRole(this, "role", {
      name: fleetRoleName(env),
      description: "Zmanim API fleet: its own SSM parameters, releases, metrics and logs; no data, no backups",
      policyName: "zmanim-api-fleet",
      statements: fleetPolicyStatements(env),
      accountId: env.accountId,
      logicalIdPrefix: "fleet-",
    });
    const ami = new DataAwsSsmParameter(this, "ami-id", { name: ssmParameterName(env, SSM_LEAVES.amiId) });

    this.fleet = new Fleet(this, "fleet", {
      name,
      ami: ami.insecureValue,
      instanceType: t.fleet.instanceType,
      vpcId: props.network.vpc.id,
      subnetIds: net.appSubnets.map((s) => s.id),
      instanceSecurityGroupIds: [net.appSecurityGroup.id],
      associatePublicIpAddress: t.egress === "public-ip",
      loadBalancerSecurityGroupIds: [net.albSecurityGroup.id],
      instanceProfileName: profile.name,
      userData: renderUserDataText(props.userDataScript ?? readUserDataScript(undefined, "api"), {
        ZMANIM_ENV: env.name,
        ZMANIM_REGION: env.region,
        ZMANIM_SSM_PREFIX: ssmPrefix(env),
        ZMANIM_ROLE: FLEET_USER_DATA_ROLE,
      }),
      targetPort: env.api.port,
      healthCheckPath: env.api.healthPath,
      listenerPort: ALB_LISTENER_PORT,
      minSize: t.fleet.min,
      maxSize: t.fleet.max,
      targetCpuPercent: t.fleet.targetCpuPercent,
      rootVolumeGb: env.rootVolumeGb,
      launchTags: defaultTagsOf(env, this.shortName),
    });

    new AlarmSet(this, "alarms", {
      topicArn: alarmTopicArn(env),
      namePrefix: `${resourcePrefix(env)}-`,
      alarms: fleetAlarms(this.fleet),
    });

    new TerraformOutput(this, "load-balancer-dns", { value: this.fleet.loadBalancer.dnsName });
    new TerraformOutput(this, "auto-scaling-group", { value: this.fleet.group.name });
  }
}
