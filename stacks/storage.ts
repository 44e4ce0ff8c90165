import { Construct } from "constructs";
import { HardenedBucket, PolicyStatement } from "../constructs/hardened-bucket";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { EnvironmentConfig } from "../constructs/config/environments";
import {
  bucketArn,
  bucketName,
  breakGlassRoleName,
  ciRoleName,
  instanceRoleName,
  roleArn,
  resourcePrefix,
} from "../constructs/config/naming";
import { NetworkStack } from "./network";

export interface StorageStackProps extends ZmanimStackProps {
  readonly network: NetworkStack;
}

/**
 * Region whose CloudWatch Logs delivery sources may write to the logs bucket: CloudFront's standard
 * logging (v2) delivery source lives in us-east-1 whatever the bucket's region.
 */
export const CLOUDFRONT_LOG_DELIVERY_REGION = "us-east-1";

/** Key prefix of CloudFront access logs in the logs bucket (the cdn stack's delivery destination). */
export const CLOUDFRONT_LOG_PREFIX = "cloudfront";

/** Key prefix of S3 server access logs in the logs bucket (HardenedBucket's default `s3/`). */
export const S3_ACCESS_LOG_PREFIX = "s3";

/**
 * The roles the bucket policies name. Principals are matched with `aws:PrincipalArn` conditions, never
 * written as `Principal: { AWS: <role arn> }`: S3 rejects a policy naming a role that does not exist yet
 * (the instance role comes from the compute stack and the CI roles from the cicd stack, both deployed after
 * this one; the break-glass role is created by the account owner), and a principal ARN in a policy turns
 * into a dangling unique id when its role is recreated. A condition on the ARN has neither problem.
 */
export function bucketPolicyRoles(env: EnvironmentConfig) {
  return {
    instance: roleArn(env, instanceRoleName(env)),
    ciDeploy: roleArn(env, ciRoleName(env, "deploy")),
    ciRelease: roleArn(env, ciRoleName(env, "release")),
    breakGlass: roleArn(env, breakGlassRoleName(env)),
    accountRoot: `arn:aws:iam::${env.accountId}:root`,
  };
}

/** `Principal` of every Allow statement: the account, so IAM policies of its roles still have to grant too. */
function accountPrincipal(env: EnvironmentConfig) {
  return { AWS: `arn:aws:iam::${env.accountId}:root` };
}

const both = (arn: string) => [arn, `${arn}/*`];

/**
 * The instance role may use `actions` on the bucket only through the VPC's S3 gateway endpoint; a Deny
 * catches it anywhere else, so stolen instance credentials are useless outside the VPC.
 */
function instanceViaEndpoint(
  env: EnvironmentConfig,
  arn: string,
  s3EndpointId: string,
  sid: string,
  actions: string[],
): PolicyStatement[] {
  const instance = bucketPolicyRoles(env).instance;
  return [
    {
      Sid: sid,
      Effect: "Allow",
      Principal: accountPrincipal(env),
      Action: actions,
      Resource: both(arn),
      Condition: { ArnEquals: { "aws:PrincipalArn": instance }, StringEquals: { "aws:SourceVpce": s3EndpointId } },
    },
    {
      Sid: "DenyInstanceOutsideEndpoint",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: both(arn),
      Condition: { ArnEquals: { "aws:PrincipalArn": instance }, StringNotEquals: { "aws:SourceVpce": s3EndpointId } },
    },
  ];
}

/**
 * Backups (the restic repository).
 * - The instance lists, reads, writes and deletes objects (restic backup, forget, prune, locks), and only
 *   through the VPC's S3 gateway endpoint. A Deny catches the instance role anywhere else, so stolen
 *   instance credentials are useless outside the VPC.
 * - D10: a compromised host must not destroy its own backups. The instance may delete objects (which only
 *   adds delete markers in a versioned bucket) but never object versions, never the lifecycle, versioning
 *   or policy of the bucket. Noncurrent versions stay restorable for `noncurrentVersionDays`.
 * - The break-glass role reads everything, including old versions, for restores.
 * - Nobody else reads or writes objects. The account root and the break-glass role are excluded from that
 *   Deny, so operators are never locked out; bucket configuration (Terraform) is not affected.
 */
export function backupsPolicyStatements(env: EnvironmentConfig, s3EndpointId: string): PolicyStatement[] {
  const arn = bucketArn(env, "backups");
  const r = bucketPolicyRoles(env);
  return [
    ...instanceViaEndpoint(env, arn, s3EndpointId, "InstanceResticViaEndpoint", [
      "s3:ListBucket",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
    ]),
    {
      Sid: "DenyInstanceDestroyingHistory",
      Effect: "Deny",
      Principal: "*",
      Action: [
        "s3:DeleteObjectVersion",
        "s3:DeleteBucket",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:PutBucketVersioning",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketObjectLockConfiguration",
        "s3:PutObjectRetention",
        "s3:PutObjectLegalHold",
        "s3:BypassGovernanceRetention",
      ],
      Resource: both(arn),
      Condition: { ArnEquals: { "aws:PrincipalArn": r.instance } },
    },
    {
      Sid: "BreakGlassRestore",
      Effect: "Allow",
      Principal: accountPrincipal(env),
      Action: ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion"],
      Resource: both(arn),
      Condition: { ArnEquals: { "aws:PrincipalArn": r.breakGlass } },
    },
    {
      Sid: "DenyObjectAccessToOthers",
      Effect: "Deny",
      Principal: "*",
      Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
      Resource: `${arn}/*`,
      Condition: { ArnNotEquals: { "aws:PrincipalArn": [r.instance, r.breakGlass, r.accountRoot] } },
    },
  ];
}

/**
 * Releases (API binaries + latest.txt).
 * - The instance reads (update-binary.sh at boot and on deploy) only through the S3 gateway endpoint, and
 *   may never write: a compromised host must not plant a binary that the next instance would run.
 * - The CI deploy and release roles publish binaries and latest.txt.
 * - The break-glass role reads (and its own IAM policy decides anything beyond that).
 */
export function releasesPolicyStatements(env: EnvironmentConfig, s3EndpointId: string): PolicyStatement[] {
  const arn = bucketArn(env, "releases");
  const r = bucketPolicyRoles(env);
  return [
    ...instanceViaEndpoint(env, arn, s3EndpointId, "InstanceReadViaEndpoint", [
      "s3:ListBucket",
      "s3:GetBucketLocation",
      "s3:GetObject",
    ]),
    {
      Sid: "DenyInstanceWrites",
      Effect: "Deny",
      Principal: "*",
      Action: [
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:PutBucketPolicy",
        "s3:PutLifecycleConfiguration",
      ],
      Resource: both(arn),
      Condition: { ArnEquals: { "aws:PrincipalArn": r.instance } },
    },
    ...ciWriterStatements(env, arn),
    {
      Sid: "BreakGlassRead",
      Effect: "Allow",
      Principal: accountPrincipal(env),
      Action: ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetObject", "s3:GetObjectVersion"],
      Resource: both(arn),
      Condition: { ArnEquals: { "aws:PrincipalArn": r.breakGlass } },
    },
  ];
}

/** The CI deploy and release roles publish objects (`aws s3 cp` / `aws s3 sync --delete`). */
export function ciWriterStatements(env: EnvironmentConfig, arn: string): PolicyStatement[] {
  const r = bucketPolicyRoles(env);
  return [
    {
      Sid: "CiPublish",
      Effect: "Allow",
      Principal: accountPrincipal(env),
      Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      Resource: both(arn),
      Condition: { ArnEquals: { "aws:PrincipalArn": [r.ciDeploy, r.ciRelease] } },
    },
  ];
}

/**
 * Logs: S3 server access logs of the other buckets (logging.s3.amazonaws.com) and CloudFront standard
 * logging v2 (CloudWatch Logs delivery, delivery.logs.amazonaws.com). The bucket is BucketOwnerEnforced, so
 * both write through this policy, never through ACLs; legacy CloudFront logging (ACL based) cannot.
 */
export function logsPolicyStatements(env: EnvironmentConfig): PolicyStatement[] {
  const arn = bucketArn(env, "logs");
  return [
    {
      Sid: "S3ServerAccessLogs",
      Effect: "Allow",
      Principal: { Service: "logging.s3.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `${arn}/${S3_ACCESS_LOG_PREFIX}/*`,
      Condition: {
        StringEquals: { "aws:SourceAccount": env.accountId },
        ArnLike: { "aws:SourceArn": `arn:aws:s3:::${resourcePrefix(env)}-*-${env.accountId}` },
      },
    },
    {
      Sid: "CloudFrontLogDelivery",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `${arn}/${CLOUDFRONT_LOG_PREFIX}/*`,
      Condition: {
        StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceAccount": env.accountId },
        ArnLike: {
          "aws:SourceArn": `arn:aws:logs:${CLOUDFRONT_LOG_DELIVERY_REGION}:${env.accountId}:delivery-source:*`,
        },
      },
    },
  ];
}

/**
 * The buckets: backups (restic repository), releases (API binaries + latest.txt), static (the Next.js
 * export, CloudFront-only) and logs (server access logs of the others, CloudFront logs).
 *
 * The static bucket's policy is owned by the cdn stack: its only reader is the distribution (OAC with an
 * `AWS:SourceArn` equal to the distribution ARN), and that ARN exists only after the cdn stack, which
 * depends on this one. One stack per bucket policy; see `HardenedBucketProps.attachPolicy`.
 */
export class StorageStack extends ZmanimStack {
  readonly backups: HardenedBucket;
  readonly releases: HardenedBucket;
  readonly static: HardenedBucket;
  readonly logs: HardenedBucket;

  constructor(scope: Construct, props: StorageStackProps) {
    super(scope, "storage", props);
    const env = props.env;
    const vpce = props.network.s3Endpoint.id;

    this.logs = new HardenedBucket(this, "logs", {
      bucketName: bucketName(env, "logs"),
      versioned: false,
      expireCurrentObjectsAfterDays: 90,
      policyStatements: logsPolicyStatements(env),
    });
    const accessLogs = { targetBucket: this.logs.name, prefix: `${S3_ACCESS_LOG_PREFIX}/` };

    this.backups = new HardenedBucket(this, "backups", {
      bucketName: bucketName(env, "backups"),
      noncurrentVersionDays: env.noncurrentVersionDays,
      accessLogs,
      policyStatements: backupsPolicyStatements(env, vpce),
    });

    this.releases = new HardenedBucket(this, "releases", {
      bucketName: bucketName(env, "releases"),
      noncurrentVersionDays: env.noncurrentVersionDays,
      accessLogs,
      policyStatements: releasesPolicyStatements(env, vpce),
    });

    this.static = new HardenedBucket(this, "static", {
      bucketName: bucketName(env, "static"),
      noncurrentVersionDays: env.noncurrentVersionDays,
      accessLogs,
      attachPolicy: false,
    });
  }
}
