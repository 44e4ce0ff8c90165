/**
 * The resources of synthesized stacks as the IAM simulation sees them: type, configuration, region (the
 * aliased us-east-1 provider included), tags (the provider's default_tags merged with the resource's own)
 * and the ARN variables known before apply.
 */
import type { TypeKind } from "./action-map";
import type { ArnTarget } from "./arns";
import { TfDocument } from "./tf-document";

export interface SimResource {
  stack: string;
  kind: TypeKind;
  type: string;
  id: string;
  body: Record<string, unknown>;
  region: string;
  tags: Record<string, string>;
  target: ArnTarget;
}

type Body = Record<string, unknown>;

/** `${aws_x.y.attr}` -> [aws_x, y, attr]; anything else (literals, remote state, functions) -> undefined. */
function parseRef(v: unknown): [string, string, string] | undefined {
  if (typeof v !== "string") return undefined;
  const m = /^\$\{(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$/.exec(v);
  return m ? [m[1], m[2], m[3]] : undefined;
}

/** `id` (and the attribute itself) equal one configured attribute of the resource. */
const idIs = (attr: string): Record<string, string> => ({ id: attr, [attr]: attr });

/** Attributes whose value equals a configured attribute of the same resource (per provider 5.100 docs). */
const SAME_AS: Record<string, Record<string, string>> = {
  ...Object.fromEntries(
    [
      "aws_iam_role",
      "aws_iam_instance_profile",
      "aws_ssm_parameter",
      "aws_cloudwatch_log_group",
      "aws_cloudwatch_log_delivery_source",
      "aws_cloudwatch_log_delivery_destination",
      "aws_db_parameter_group",
      "aws_db_subnet_group",
      "aws_elasticache_serverless_cache",
    ].map((t) => [t, idIs("name")]),
  ),
  aws_s3_bucket: idIs("bucket"),
  aws_sesv2_email_identity: idIs("email_identity"),
  aws_sns_topic: { name: "name" },
  aws_db_instance: idIs("identifier"),
  aws_elasticache_user: idIs("user_id"),
  aws_elasticache_subnet_group: idIs("name"),
  aws_elasticache_user_group: idIs("user_group_id"),
};

/**
 * Terraform's suffix for `name_prefix` names: 26 digits (a timestamp and a counter), known only at apply.
 * https://developer.hashicorp.com/terraform/plugin/sdkv2/resources/ids (id.PrefixedUniqueId)
 */
export const NAME_PREFIX_SUFFIX = "20261127000000000000000001";

/** The literal value of `v`, following `${aws_x.y.attr}` references inside one stack; undefined if unknown. */
export function resolve(stack: TfDocument, v: unknown, depth = 0): string | undefined {
  if (typeof v !== "string" || depth > 5) return undefined;
  const ref = parseRef(v);
  if (!ref) return v.includes("${") ? undefined : v;
  const [type, id, attr] = ref;
  const body = stack.resource?.[type]?.[id];
  const same = SAME_AS[type]?.[attr];
  if (!body || !same) return undefined;
  if (same === "name" && body.name === undefined && typeof body.name_prefix === "string")
    return body.name_prefix + NAME_PREFIX_SUFFIX;
  return resolve(stack, body[same], depth + 1);
}

/** The body of the resource a reference points to, within the stack. */
function target(stack: TfDocument, v: unknown): Body | undefined {
  const ref = parseRef(v);
  return ref ? stack.resource?.[ref[0]]?.[ref[1]] : undefined;
}

const stripSlash = (s: string) => s.replace(/^\//, "");
const defined = (o: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined));

/**
 * Each type's own IAM resource type and the ARN variables its configuration fixes. Types not listed
 * here are evaluated with placeholders only (their policies grant by account or region, not by name).
 */
interface TargetSpec {
  primary?: string;
  also?: string[];
  vars: Record<string, string | undefined>;
  generated?: Record<string, string>;
  generatedPatterns?: Record<string, string>;
}

const TARGETS: Record<string, (b: Body, s: TfDocument) => TargetSpec> = {
  aws_s3_bucket: (b) => ({ primary: "s3:bucket", vars: { BucketName: b.bucket as string } }),
  ...Object.fromEntries(
    [
      "policy",
      "versioning",
      "lifecycle_configuration",
      "logging",
      "ownership_controls",
      "public_access_block",
      "server_side_encryption_configuration",
    ].map((t) => [
      `aws_s3_bucket_${t}`,
      (b: Body, s: TfDocument) => ({ primary: "s3:bucket", vars: { BucketName: resolve(s, b.bucket) } }),
    ]),
  ),
  aws_iam_role: (b) => ({ primary: "iam:role", vars: { RoleNameWithPath: b.name as string } }),
  aws_iam_role_policy: (b, s) => ({ primary: "iam:role", vars: { RoleNameWithPath: resolve(s, b.role) } }),
  aws_iam_role_policy_attachment: (b, s) => ({ primary: "iam:role", vars: { RoleNameWithPath: resolve(s, b.role) } }),
  aws_iam_policy: (b) => ({ primary: "iam:policy", vars: { PolicyNameWithPath: b.name as string } }),
  aws_iam_instance_profile: (b, s) => ({
    primary: "iam:instance-profile",
    vars: { InstanceProfileNameWithPath: b.name as string, RoleNameWithPath: resolve(s, b.role) },
  }),
  aws_iam_openid_connect_provider: (b) => ({
    primary: "iam:oidc-provider",
    vars: { OidcProviderName: String(b.url).replace(/^https:\/\//, "") },
  }),
  aws_instance: (b, s) => ({
    primary: "ec2:instance",
    // iam:PassRole of the instance profile's role
    vars: { RoleNameWithPath: resolve(s, target(s, b.iam_instance_profile)?.role) },
  }),
  aws_flow_log: (b, s) => ({
    primary: "ec2:vpc-flow-log",
    vars: {
      RoleNameWithPath: resolve(s, target(s, b.iam_role_arn)?.name),
      LogGroupName: resolve(s, target(s, b.log_destination)?.name),
    },
  }),
  aws_autoscaling_group: (b, s) => {
    // The launch template's instance profile's role: CreateAutoScalingGroup checks that the caller may pass it.
    const lt = target(s, (b.launch_template as Body | undefined)?.id);
    const profile = target(s, (lt?.iam_instance_profile as Body | undefined)?.name);
    return {
      primary: "autoscaling:autoScalingGroup",
      vars: { GroupFriendlyName: b.name as string | undefined, RoleNameWithPath: resolve(s, profile?.role) },
      generated: { GroupId: "0123abcd-4567-89ef-0123-456789abcdef" },
    };
  },
  aws_ssm_parameter: (b) => ({
    primary: "ssm:parameter",
    vars: { ParameterNameWithoutLeadingSlash: stripSlash(String(b.name)) },
  }),
  aws_cloudwatch_log_group: (b) => ({ primary: "logs:log-group", vars: { LogGroupName: b.name as string } }),
  aws_sns_topic: (b) => ({ primary: "sns:topic", vars: { TopicName: b.name as string } }),
  aws_sns_topic_subscription: (b, s) => ({
    primary: "sns:topic",
    vars: { TopicName: resolve(s, target(s, b.topic_arn)?.name) },
  }),
  aws_cloudwatch_metric_alarm: (b) => ({ primary: "cloudwatch:alarm", vars: { AlarmName: b.alarm_name as string } }),
  aws_cloudwatch_log_delivery_source: (b) => ({
    primary: "logs:delivery-source",
    vars: { DeliverySourceName: b.name as string },
  }),
  aws_cloudwatch_log_delivery_destination: (b) => ({
    primary: "logs:delivery-destination",
    vars: { DeliveryDestinationName: b.name as string },
  }),
  aws_cloudwatch_log_delivery: (b, s) => ({
    primary: "logs:delivery",
    vars: {
      DeliverySourceName: resolve(s, b.delivery_source_name),
      DeliveryDestinationName: resolve(s, target(s, b.delivery_destination_arn)?.name),
    },
  }),
  aws_budgets_budget: (b) => ({ primary: "budgets:budget", vars: { BudgetName: b.name as string } }),
  aws_cloudwatch_dashboard: (b) => ({
    primary: "cloudwatch:dashboard",
    vars: { DashboardName: b.dashboard_name as string },
  }),
  aws_cloudwatch_log_metric_filter: (b, s) => ({
    primary: "logs:log-group",
    vars: { LogGroupName: resolve(s, b.log_group_name) },
  }),
  aws_sesv2_email_identity: (b) => ({ primary: "ses:identity", vars: { IdentityName: b.email_identity as string } }),
  aws_sesv2_email_identity_mail_from_attributes: (b, s) => ({
    primary: "ses:identity",
    vars: { IdentityName: resolve(s, b.email_identity) },
  }),
  ...Object.fromEntries(
    (
      [
        ["aws_apigatewayv2_api", "api", "apis"],
        ["aws_apigatewayv2_route", "route", "routes"],
        ["aws_apigatewayv2_integration", "integration", "integrations"],
        ["aws_apigatewayv2_authorizer", "authorizer", "authorizers"],
        ["aws_apigatewayv2_vpc_link", "vpclink", "vpclinks"],
      ] as const
    ).map(([t, item, collection]) => [
      t,
      () => ({ primary: `apigateway:${item}`, also: [`apigateway:${collection}`], vars: {} }),
    ]),
  ),
  aws_apigatewayv2_stage: (b, s) => ({
    primary: "apigateway:stage",
    also: ["apigateway:stages"],
    vars: { LogGroupName: resolve(s, target(s, (b.access_log_settings as Body | undefined)?.destination_arn)?.name) },
  }),
  aws_db_instance: (b, s) => ({
    primary: "rds:db",
    vars: {
      DbInstanceName: b.identifier as string,
      // The groups CreateDBInstance is authorized against, named or implied: without a name, RDS uses the
      // engine's default option group (default:<engine>-<major>) and parameter group (default.<family>), and
      // the default subnet group. RDS's example policies grant CreateDBInstance on og:default* for this.
      // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/security_iam_id-based-policy-examples-create-and-modify-examples.html
      OptionGroupName: resolve(s, b.option_group_name) ?? defaultOptionGroup(b),
      ParameterGroupName:
        b.parameter_group_name === undefined ? defaultParameterGroup(b) : resolve(s, b.parameter_group_name),
      SubnetGroupName: b.db_subnet_group_name === undefined ? "default" : resolve(s, b.db_subnet_group_name),
      SnapshotName: b.final_snapshot_identifier as string | undefined,
    },
    // RDS-managed master password: RDS names the secret rds!db-<uuid>.
    generated: { SecretId: "rds!db-0123abcd-4567-89ef-0123-456789abcdef-AbCdEf" },
    generatedPatterns: { SecretId: "rds!db-*" },
  }),
  aws_db_parameter_group: (b) => ({
    primary: "rds:pg",
    vars: { ParameterGroupName: (b.name as string | undefined) ?? `${String(b.name_prefix)}${NAME_PREFIX_SUFFIX}` },
  }),
  aws_db_subnet_group: (b) => ({ primary: "rds:subgrp", vars: { SubnetGroupName: b.name as string } }),
  aws_db_event_subscription: (b, s) => ({
    primary: "rds:es",
    vars: {
      SubscriptionName: b.name as string,
      DbInstanceName: resolve(s, (b.source_ids as string[] | undefined)?.[0]),
    },
  }),
  aws_elasticache_serverless_cache: (b) => ({
    primary: "elasticache:serverlesscache",
    vars: { ServerlessCacheName: b.name as string },
  }),
  aws_elasticache_user: (b) => ({ primary: "elasticache:user", vars: { UserId: b.user_id as string } }),
  aws_elasticache_subnet_group: (b) => ({
    primary: "elasticache:subnetgroup",
    vars: { CacheSubnetGroupName: b.name as string },
  }),
  aws_elasticache_replication_group: (b, s) => ({
    primary: "elasticache:replicationgroup",
    vars: {
      ReplicationGroupId: b.replication_group_id as string,
      CacheParameterGroupName: resolve(s, b.parameter_group_name),
      CacheSubnetGroupName: resolve(s, b.subnet_group_name),
      UserGroupId: resolve(s, (b.user_group_ids as string[] | undefined)?.[0]),
      // ElastiCache names a replication group's member clusters <group id>-001, -002, ...
      CacheClusterId: `${String(b.replication_group_id)}-001`,
    },
  }),
  aws_elasticache_user_group: (b, s) => ({
    primary: "elasticache:usergroup",
    vars: { UserGroupId: b.user_group_id as string, UserId: resolve(s, (b.user_ids as string[] | undefined)?.[0]) },
  }),
  aws_acm_certificate: () => ({ primary: "acm:certificate", vars: {} }),
  aws_acm_certificate_validation: () => ({ primary: "acm:certificate", vars: {} }),
  aws_route53_zone: () => ({ primary: "route53:hostedzone", vars: {} }),
  aws_route53_record: () => ({ primary: "route53:hostedzone", vars: {} }),
  aws_route53_health_check: () => ({ primary: "route53:healthcheck", vars: {} }),
  aws_cloudfront_distribution: () => ({ primary: "cloudfront:distribution", vars: {} }),
  aws_ebs_volume: () => ({ primary: "ec2:volume", vars: {} }),
  aws_eip: () => ({ primary: "ec2:elastic-ip", vars: {} }),
  aws_vpc: () => ({ primary: "ec2:vpc", vars: {} }),
  aws_subnet: () => ({ primary: "ec2:subnet", vars: {} }),
  aws_security_group: () => ({ primary: "ec2:security-group", vars: {} }),
  aws_route_table: () => ({ primary: "ec2:route-table", vars: {} }),
  aws_internet_gateway: () => ({ primary: "ec2:internet-gateway", vars: {} }),
  aws_vpc_endpoint: () => ({ primary: "ec2:vpc-endpoint", vars: {} }),
  aws_volume_attachment: () => ({ primary: "ec2:volume", vars: {} }),
  // CLOUDFRONT-scoped web ACLs carry `global` in their ARN, regional ones `regional`.
  aws_wafv2_web_acl: (b) => ({
    primary: "wafv2:webacl",
    vars: { Scope: b.scope === "CLOUDFRONT" ? "global" : "regional", Name: b.name as string },
  }),
};

/** The engine's major version as RDS names default groups: `16` of postgres 16.x, `8-0` of mysql 8.0.x. */
function engineMajor(b: Body): string {
  const v = String(b.engine_version ?? "");
  const parts = v.split(".");
  return b.engine === "postgres" ? parts[0] : parts.slice(0, 2).join("-");
}

/** The default option group RDS gives an instance created without one: `default:postgres-16`. */
const defaultOptionGroup = (b: Body) => `default:${String(b.engine)}-${engineMajor(b)}`;

/** The default DB parameter group: `default.postgres16` (the family's name). */
const defaultParameterGroup = (b: Body) => `default.${String(b.engine)}${engineMajor(b).replace("-", ".")}`;

/** Reads `provider` blocks: default region, aliased regions, and default tags. */
function providers(stack: TfDocument): {
  regions: Record<string, string>;
  tags: Record<string, Record<string, string>>;
} {
  const regions: Record<string, string> = {};
  const tags: Record<string, Record<string, string>> = {};
  for (const p of stack.provider?.aws ?? []) {
    const key = p.alias ? `aws.${p.alias}` : "aws";
    regions[key] = String(p.region);
    const dt = (p.default_tags as Array<{ tags?: Record<string, string> }> | undefined)?.[0]?.tags ?? {};
    tags[key] = dt;
  }
  return { regions, tags };
}

/** Every AWS resource and data source of one stack, ready to simulate. */
export function simResources(stackName: string, stack: TfDocument, account: string): SimResource[] {
  const p = providers(stack);
  const out: SimResource[] = [];
  for (const kind of ["resource", "data"] as const) {
    for (const [type, byId] of Object.entries(stack[kind] ?? {})) {
      if (!type.startsWith("aws_")) continue;
      for (const [id, body] of Object.entries(byId)) {
        const prov = typeof body.provider === "string" ? body.provider : "aws";
        const region = p.regions[prov] ?? p.regions.aws;
        const tags = { ...(p.tags[prov] ?? {}), ...((body.tags as Record<string, string> | undefined) ?? {}) };
        const t = TARGETS[type]?.(body, stack) ?? { vars: {} };
        const target = {
          region,
          account,
          primary: t.primary,
          also: t.also,
          vars: defined(t.vars),
          generated: t.generated,
          generatedPatterns: t.generatedPatterns,
        };
        out.push({ stack: stackName, kind, type, id, body, region, tags, target });
      }
    }
  }
  return out;
}
