import { Construct } from "constructs";
import { Fn } from "cdktf/lib/terraform-functions";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { WHOLE_BUCKET } from "./builders/lifecycle";

/** One IAM policy statement, as JSON. Values may contain tokens. */
export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action: string | string[];
  NotAction?: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface HardenedBucketProps {
  /** Globally unique bucket name (see constructs/config/naming.ts). */
  readonly bucketName: string;
  /**
   * Keep every overwritten or deleted object as a noncurrent version.
   * @default true
   */
  readonly versioned?: boolean;
  /**
   * Days a noncurrent version is kept before it expires. Required when `versioned` is true, so that
   * versioning never grows the bill without bound.
   */
  readonly noncurrentVersionDays?: number;
  /**
   * Expire current objects after this many days. Only for buckets whose objects are disposable by nature
   * (access logs). Leave unset for data buckets: e.g. restic owns the backup repository's retention.
   * @default undefined (no rule touches current objects)
   */
  readonly expireCurrentObjectsAfterDays?: number;
  /** Server access logs go to this bucket under `<prefix><bucketName>/`. @default no access logging */
  readonly accessLogs?: { readonly targetBucket: string; readonly prefix?: string };
  /**
   * Statements added to the bucket policy. A `DenyInsecureTransport` statement is always present.
   * @default none
   */
  readonly policyStatements?: PolicyStatement[];
  /**
   * Create the bucket's `aws_s3_bucket_policy` here. Set to false only when another stack owns the policy
   * (S3 keeps one policy per bucket, so two owners would overwrite each other); that owner must start from
   * `hardenedBucketBaseStatements(bucketArn)` so the TLS-only deny stays in place.
   * @default true
   */
  readonly attachPolicy?: boolean;
  /**
   * Terraform refuses to destroy the bucket. Turn off only for buckets whose loss is harmless.
   * @default true
   */
  readonly preventDestroy?: boolean;
}

/**
 * An S3 bucket that cannot be created public, unencrypted or reachable over plain HTTP: all four
 * public-access-block flags, BucketOwnerEnforced (no ACLs), SSE-S3 encryption, a TLS-only policy,
 * versioning with bounded noncurrent retention, and aborted multipart uploads cleaned up.
 */
export class HardenedBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly publicAccessBlock: S3BucketPublicAccessBlock;
  /** Undefined when `attachPolicy` is false (another stack owns the bucket policy). */
  readonly policy?: S3BucketPolicy;

  constructor(scope: Construct, id: string, props: HardenedBucketProps) {
    super(scope, id);
    const versioned = props.versioned ?? true;
    if (versioned && !(Number.isInteger(props.noncurrentVersionDays) && (props.noncurrentVersionDays ?? 0) > 0)) {
      throw new Error(
        `HardenedBucket ${id}: noncurrentVersionDays = ${JSON.stringify(props.noncurrentVersionDays)}; ` +
          `a versioned bucket needs a positive number of days after which noncurrent versions expire`,
      );
    }
    if (props.expireCurrentObjectsAfterDays !== undefined && !(props.expireCurrentObjectsAfterDays > 0)) {
      throw new Error(
        `HardenedBucket ${id}: expireCurrentObjectsAfterDays = ${props.expireCurrentObjectsAfterDays}; use a positive number of days or leave it unset`,
      );
    }

    this.bucket = new S3Bucket(this, "bucket", {
      bucket: props.bucketName,
      forceDestroy: false,
      lifecycle: { preventDestroy: props.preventDestroy ?? true },
    });
    // The bucket's address in state is a contract: pin it to the construct id so that refactors of the
    // surrounding tree never turn into destroy-and-recreate.
    this.bucket.overrideLogicalId(`${id.replace(/[^A-Za-z0-9_]/g, "_")}_bucket`);
    const bucket = this.bucket.id;

    this.publicAccessBlock = new S3BucketPublicAccessBlock(this, "public-access-block", {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });

    new S3BucketOwnershipControls(this, "ownership", {
      bucket,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });

    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
    });

    if (versioned) {
      new S3BucketVersioningA(this, "versioning", {
        bucket,
        versioningConfiguration: { status: "Enabled" },
      });
    }

    const rules: Record<string, unknown>[] = [
      {
        id: "abort-incomplete-multipart-uploads",
        status: "Enabled",
        filter: [WHOLE_BUCKET],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      },
    ];
    if (versioned) {
      rules.push({
        id: "expire-noncurrent-versions",
        status: "Enabled",
        filter: [WHOLE_BUCKET],
        noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionDays }],
        expiration: [{ expiredObjectDeleteMarker: true }],
      });
    }
    if (props.expireCurrentObjectsAfterDays !== undefined) {
      rules.push({
        id: "expire-current-objects",
        status: "Enabled",
        filter: [WHOLE_BUCKET],
        expiration: [{ days: props.expireCurrentObjectsAfterDays }],
      });
    }
    new S3BucketLifecycleConfiguration(this, "lifecycle", { bucket, rule: rules as never });

    if (props.accessLogs) {
      new S3BucketLoggingA(this, "logging", {
        bucket,
        targetBucket: props.accessLogs.targetBucket,
        targetPrefix: `${props.accessLogs.prefix ?? "s3/"}${props.bucketName}/`,
      });
    }

    if (props.attachPolicy === false) {
      if (props.policyStatements?.length)
        throw new Error(
          `HardenedBucket ${id}: policyStatements are set but attachPolicy is false; put them in the policy of the stack that owns it`,
        );
      return;
    }
    const statements = [...hardenedBucketBaseStatements(this.bucket.arn), ...(props.policyStatements ?? [])];
    assertUniqueSids(`HardenedBucket ${id}`, statements);
    this.policy = new S3BucketPolicy(this, "policy", {
      bucket,
      policy: Fn.jsonencode({ Version: "2012-10-17", Statement: statements }),
      dependsOn: [this.publicAccessBlock],
    });
  }

  get arn(): string {
    return this.bucket.arn;
  }

  get name(): string {
    return this.bucket.bucket;
  }
}

/** The statements every hardened bucket's policy starts with: deny any request that is not over TLS. */
export function hardenedBucketBaseStatements(bucketArn: string): PolicyStatement[] {
  return [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [bucketArn, `${bucketArn}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ];
}

/** Throws when two statements share a Sid (`owner` names the policy in the message). */
export function assertUniqueSids(owner: string, statements: PolicyStatement[]): void {
  const sids = new Set<string>();
  for (const s of statements) {
    if (sids.has(s.Sid)) throw new Error(`${owner}: duplicate policy statement Sid "${s.Sid}"`);
    sids.add(s.Sid);
  }
}
