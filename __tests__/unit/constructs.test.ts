import { Testing } from "cdktf/lib/testing";
import { TerraformStack } from "cdktf/lib/terraform-stack";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { HardenedBucket, HardenedBucketProps } from "../../constructs/hardened-bucket";
import { RetainedLogGroup } from "../../constructs/log-group";
import { statements } from "../helpers/policy";

function bucketStack(props: HardenedBucketProps) {
  const app = Testing.app();
  const stack = new TerraformStack(app, "t");
  new HardenedBucket(stack, "data", props);
  const json = Testing.synth(stack);
  return { json, tf: JSON.parse(json) };
}

describe("HardenedBucket", () => {
  it("pins the bucket's logical id to the construct id and protects it from destroy by default", () => {
    const { json, tf } = bucketStack({ bucketName: "b-1", noncurrentVersionDays: 30 });
    expect(Object.keys(tf.resource.aws_s3_bucket)).toEqual(["data_bucket"]);
    expect(json).toHaveResourceWithProperties(S3Bucket, { bucket: "b-1", force_destroy: false, lifecycle: { prevent_destroy: true } });
  });

  it("expires noncurrent versions and never touches current objects unless asked", () => {
    const { json } = bucketStack({ bucketName: "b-1", noncurrentVersionDays: 12 });
    expect(json).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: expect.arrayContaining([
        expect.objectContaining({ id: "expire-noncurrent-versions", noncurrent_version_expiration: [{ noncurrent_days: 12 }] }),
      ]),
    });
    expect(json).not.toMatch(/expire-current-objects/);
    const logs = bucketStack({ bucketName: "l-1", versioned: false, expireCurrentObjectsAfterDays: 90 });
    expect(logs.json).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: expect.arrayContaining([expect.objectContaining({ id: "expire-current-objects", expiration: [{ days: 90 }] })]),
    });
    expect(logs.tf.resource.aws_s3_bucket_versioning).toBeUndefined();
  });

  it("always denies insecure transport and appends extra statements", () => {
    const { tf } = bucketStack({
      bucketName: "b-1",
      noncurrentVersionDays: 30,
      policyStatements: [{ Sid: "ReadForCi", Effect: "Allow", Principal: { AWS: "arn:aws:iam::1:role/ci" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::b-1/*" }],
    });
    const sts = statements((Object.values(tf.resource.aws_s3_bucket_policy)[0] as { policy: string }).policy);
    expect(sts.map((s) => s.Sid)).toEqual(["DenyInsecureTransport", "ReadForCi"]);
  });

  it("logs access to the target bucket under a per-bucket prefix", () => {
    const { json } = bucketStack({ bucketName: "b-1", noncurrentVersionDays: 30, accessLogs: { targetBucket: "logs-1" } });
    expect(json).toHaveResourceWithProperties(S3BucketLoggingA, { target_bucket: "logs-1", target_prefix: "s3/b-1/" });
  });

  it("rejects a versioned bucket without noncurrent expiry, bad expiry and duplicate Sids, naming the value", () => {
    expect(() => bucketStack({ bucketName: "b" })).toThrow(/HardenedBucket data: noncurrentVersionDays = undefined; a versioned bucket needs a positive number/);
    expect(() => bucketStack({ bucketName: "b", versioned: false, expireCurrentObjectsAfterDays: 0 })).toThrow(
      /expireCurrentObjectsAfterDays = 0; use a positive number of days/,
    );
    expect(() =>
      bucketStack({
        bucketName: "b",
        noncurrentVersionDays: 1,
        policyStatements: [{ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*" }],
      }),
    ).toThrow(/duplicate policy statement Sid "DenyInsecureTransport"/);
  });
});

describe("RetainedLogGroup", () => {
  it("always sets retention and refuses a missing one", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "t");
    new RetainedLogGroup(stack, "g", { name: "/x", retentionDays: 14 });
    expect(Object.values(JSON.parse(Testing.synth(stack)).resource.aws_cloudwatch_log_group)).toEqual([
      expect.objectContaining({ name: "/x", retention_in_days: 14 }),
    ]);
    expect(() => new RetainedLogGroup(new TerraformStack(Testing.app(), "u"), "g", { name: "/y", retentionDays: 0 })).toThrow(
      /RetainedLogGroup g: retentionDays = 0; use a positive CloudWatch retention/,
    );
  });
});
