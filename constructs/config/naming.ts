import { EnvironmentConfig } from "./environments";

/**
 * Deterministic names and ARNs that several stacks agree on without a Terraform reference. They break
 * what would otherwise be cycles in the stack graph (a bucket policy naming the instance role, an IAM
 * policy naming the SES identity) and they are part of the on-box contract (SSM paths).
 */

export type BucketPurpose = "backups" | "releases" | "static" | "logs";

/** `zmanim-<env>-<purpose>-<account>`: unique per account and environment. */
export function bucketName(env: EnvironmentConfig, purpose: BucketPurpose): string {
  return `zmanim-${env.name}-${purpose}-${env.accountId}`;
}

export function bucketArn(env: EnvironmentConfig, purpose: BucketPurpose): string {
  return `arn:aws:s3:::${bucketName(env, purpose)}`;
}

/** SSM parameter path prefix for the environment, without trailing slash: `/zmanim/<env>`. */
export function ssmPrefix(env: EnvironmentConfig): string {
  return `/zmanim/${env.name}`;
}

export function ssmParameterName(env: EnvironmentConfig, leaf: string): string {
  return `${ssmPrefix(env)}/${leaf}`;
}

export function ssmParameterArnPattern(env: EnvironmentConfig): string {
  return `arn:aws:ssm:${env.region}:${env.accountId}:parameter${ssmPrefix(env)}/*`;
}

/** IAM role the EC2 instance runs as. */
export function instanceRoleName(env: EnvironmentConfig): string {
  return `zmanim-${env.name}-instance`;
}

export function roleArn(env: EnvironmentConfig, name: string): string {
  return `arn:aws:iam::${env.accountId}:role/${name}`;
}

/** GitHub OIDC roles (cicd stack). */
export function ciRoleName(env: EnvironmentConfig, kind: "plan" | "deploy" | "release"): string {
  return `zmanim-${env.name}-gha-${kind}`;
}

/** Break-glass administrators assume this role (created outside this project, by the account owner). */
export function breakGlassRoleName(env: EnvironmentConfig): string {
  return `zmanim-${env.name}-breakglass`;
}

/** The SES domain identity that backup-failure mail is sent from. */
export function sesIdentityArn(env: EnvironmentConfig): string {
  return `arn:aws:ses:${env.region}:${env.accountId}:identity/${env.domain.siteName}`;
}

/** The address backup-failure mail is sent from. */
export function mailFromAddress(env: EnvironmentConfig): string {
  return `backup@${env.domain.siteName}`;
}

/** CloudWatch namespace for the box's custom metrics (backup freshness, agent metrics). */
export function metricsNamespace(env: EnvironmentConfig): string {
  return `Zmanim/${env.name}`;
}

/**
 * CloudWatch namespace of the deploy durations scripts/ci/deploy-stacks.sh sends: DeployDuration (Environment)
 * and StackDeployDuration (Environment, Stack), in seconds. One namespace for every environment (the
 * Environment dimension tells them apart), so a dashboard reads it by name.
 */
export const DEPLOY_METRICS_NAMESPACE = "Zmanim/Deploy";

/** Prefix of every CloudWatch log group the project writes. */
export function logGroupPrefix(env: EnvironmentConfig): string {
  return `/zmanim/${env.name}`;
}

/**
 * The instance's fixed private address: host 10 of the public subnet. A replacement instance comes back
 * on the same address (Terraform destroys the old one first), so the Cloud Map registration behind the
 * API Gateway VPC link never changes and the api stack needs no instance attribute.
 */
export function instancePrivateIp(env: EnvironmentConfig): string {
  const [addr] = env.publicSubnetCidr.split("/");
  const o = addr.split(".").map(Number);
  return `${o[0]}.${o[1]}.${o[2]}.${o[3] + 10}`;
}

/** Regional SNS topic every alarm of the environment notifies (compute stack owns it). */
export function alarmTopicName(env: EnvironmentConfig): string {
  return `zmanim-${env.name}-alarms`;
}

export function alarmTopicArn(env: EnvironmentConfig, region: string = env.region): string {
  return `arn:aws:sns:${region}:${env.accountId}:${alarmTopicName(env)}`;
}

/** The API's own host name, `api.<siteName>`: the base URL the frontend is built with (`NEXT_PUBLIC_API_URL`). */
export function apiHostName(env: EnvironmentConfig): string {
  return `api.${env.domain.siteName}`;
}

/** Every name the distribution answers to (its aliases), and so every name its certificate must cover. */
export function edgeHostNames(env: EnvironmentConfig): string[] {
  return [env.domain.siteName, apiHostName(env)];
}

/** The browser origins allowed to call the API cross-origin (CORS): the environment's own site. */
export function siteOrigins(env: EnvironmentConfig): string[] {
  return [`https://${env.domain.siteName}`];
}

/** IAM role of the API fleet's instances (scaled topology, app stack). */
export function fleetRoleName(env: EnvironmentConfig): string {
  return `zmanim-${env.name}-api-fleet`;
}

/** `zmanim-<env>-<short>`: the stack name, the cdktf.out directory and the Terraform Cloud workspace. */
export function stackName(env: EnvironmentConfig, short: string): string {
  return `zmanim-${env.name}-${short}`;
}

/** `<env>/<short>.tfstate`: the S3 state key of a stack. */
export function stateKey(env: EnvironmentConfig, short: string): string {
  return `${env.name}/${short}.tfstate`;
}

/** `zmanim-<env>`: the prefix of every name the environment owns (stacks, roles, buckets, alarms, ...). */
export function resourcePrefix(env: Pick<EnvironmentConfig, "name">): string {
  return `zmanim-${env.name}`;
}

/** `zmanim-<env>-<suffix>`. */
export function resourceName(env: Pick<EnvironmentConfig, "name">, suffix: string): string {
  return `${resourcePrefix(env)}-${suffix}`;
}

/**
 * Leaf names of the SSM parameters under `/zmanim/<env>/`. This is the on-box contract
 * (docs/on-box-layout.md): the compute stack's IAM policy and user data use these names as plain strings,
 * never as references to this stack, so the compute stack never needs the random provider.
 */
export const SSM_LEAVES = {
  postgresPassword: "postgres-password",
  redisPassword: "redis-password",
  resticPassword: "restic-password",
  clerkSecretKey: "clerk-secret-key",
  config: "config",
  /** Written by the compute stack: the CloudWatch agent configuration. */
  cloudwatchAgent: "cloudwatch-agent",
  /** Written by the AMI pipeline: the AMI the instance boots from. */
  amiId: "ami-id",
  /** Scaled topology: password of the application's own PostgreSQL role on RDS (never the master user). */
  databaseAppPassword: "database-app-password",
  /** Scaled topology: password of the application's ElastiCache user. */
  cachePassword: "cache-password",
  /** Scaled topology, written by the data stack: endpoints of RDS and ElastiCache (JSON of KEY: value). */
  dataConfig: "data-config",
} as const;

/** SSM leaf of the fleet's CloudWatch agent configuration (the box's is `cloudwatch-agent`). */
export const FLEET_CW_AGENT_LEAF = "cloudwatch-agent-api";

/**
 * The key value store of the export's object keys (spa-router.js asks it whether a path exists); the
 * static-site deploy finds it by this name and fills it (scripts/ci/static-site-sync.sh).
 */
export function sitePathsStoreName(env: EnvironmentConfig): string {
  return resourceName(env, "site-paths");
}

/** The optional CloudFront web ACL (`env.waf`) and the prefix of its rule metrics. */
export function webAclName(env: EnvironmentConfig): string {
  return resourceName(env, "edge");
}
