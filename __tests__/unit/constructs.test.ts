import { Testing } from "cdktf/lib/testing";
import { TerraformStack } from "cdktf/lib/terraform-stack";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { HardenedBucket, HardenedBucketProps } from "../../constructs/hardened-bucket";
import { RetainedLogGroup } from "../../constructs/log-group";
import { AlarmSet, AlarmSpec } from "../../constructs/alarm-set";
import { PrivateIntegration, PrivateIntegrationProps } from "../../constructs/private-integration";
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
    expect(json).toHaveResourceWithProperties(S3Bucket, {
      bucket: "b-1",
      force_destroy: false,
      lifecycle: { prevent_destroy: true },
    });
  });

  it("expires noncurrent versions and never touches current objects unless asked", () => {
    const { json } = bucketStack({ bucketName: "b-1", noncurrentVersionDays: 12 });
    expect(json).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: expect.arrayContaining([
        expect.objectContaining({
          id: "expire-noncurrent-versions",
          noncurrent_version_expiration: [{ noncurrent_days: 12 }],
        }),
      ]),
    });
    expect(json).not.toMatch(/expire-current-objects/);
    const logs = bucketStack({ bucketName: "l-1", versioned: false, expireCurrentObjectsAfterDays: 90 });
    expect(logs.json).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: expect.arrayContaining([
        expect.objectContaining({ id: "expire-current-objects", expiration: [{ days: 90 }] }),
      ]),
    });
    expect(logs.tf.resource.aws_s3_bucket_versioning).toBeUndefined();
  });

  it("always denies insecure transport and appends extra statements", () => {
    const { tf } = bucketStack({
      bucketName: "b-1",
      noncurrentVersionDays: 30,
      policyStatements: [
        {
          Sid: "ReadForCi",
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::1:role/ci" },
          Action: "s3:GetObject",
          Resource: "arn:aws:s3:::b-1/*",
        },
      ],
    });
    const sts = statements((Object.values(tf.resource.aws_s3_bucket_policy)[0] as { policy: string }).policy);
    expect(sts.map((s) => s.Sid)).toEqual(["DenyInsecureTransport", "ReadForCi"]);
  });

  it("logs access to the target bucket under a per-bucket prefix", () => {
    const { json } = bucketStack({
      bucketName: "b-1",
      noncurrentVersionDays: 30,
      accessLogs: { targetBucket: "logs-1" },
    });
    expect(json).toHaveResourceWithProperties(S3BucketLoggingA, { target_bucket: "logs-1", target_prefix: "s3/b-1/" });
  });

  it("rejects a versioned bucket without noncurrent expiry, bad expiry and duplicate Sids, naming the value", () => {
    expect(() => bucketStack({ bucketName: "b" })).toThrow(
      /HardenedBucket data: noncurrentVersionDays = undefined; a versioned bucket needs a positive number/,
    );
    expect(() => bucketStack({ bucketName: "b", versioned: false, expireCurrentObjectsAfterDays: 0 })).toThrow(
      /expireCurrentObjectsAfterDays = 0; use a positive number of days/,
    );
    expect(() =>
      bucketStack({
        bucketName: "b",
        noncurrentVersionDays: 1,
        policyStatements: [
          { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*" },
        ],
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
    expect(
      () => new RetainedLogGroup(new TerraformStack(Testing.app(), "u"), "g", { name: "/y", retentionDays: 0 }),
    ).toThrow(/RetainedLogGroup g: retentionDays = 0; use a positive CloudWatch retention/);
  });
});

describe("AlarmSet", () => {
  const spec = (id: string): AlarmSpec => ({
    id,
    namespace: "AWS/EC2",
    metricName: "CPUUtilization",
    statistic: "Average",
    period: 300,
    evaluationPeriods: 1,
    threshold: 80,
    comparisonOperator: "GreaterThanThreshold",
  });
  const alarmStack = (alarms: AlarmSpec[], logicalIdPrefix?: string) => {
    const stack = new TerraformStack(Testing.app(), "t");
    new AlarmSet(stack, "alarms", { topicArn: "arn:topic", namePrefix: "p-", alarms, logicalIdPrefix });
    return JSON.parse(Testing.synth(stack)).resource.aws_cloudwatch_metric_alarm as Record<
      string,
      Record<string, unknown>
    >;
  };

  it("names, pins and wires every alarm to the topic, with missing data kept as missing unless told", () => {
    const alarms = alarmStack([
      spec("cpu"),
      { ...spec("heartbeat"), treatMissingData: "breaching", extraAlarmActions: ["arn:recover"] },
    ]);
    expect(Object.keys(alarms).sort()).toEqual(["cpu", "heartbeat"]);
    expect(alarms.cpu).toEqual(
      expect.objectContaining({
        alarm_name: "p-cpu",
        alarm_actions: ["arn:topic"],
        ok_actions: ["arn:topic"],
        treat_missing_data: "missing",
      }),
    );
    expect(alarms.heartbeat).toEqual(
      expect.objectContaining({ alarm_actions: ["arn:recover", "arn:topic"], treat_missing_data: "breaching" }),
    );
    expect(Object.keys(alarmStack([spec("cpu")], "fleet-"))).toEqual(["fleet-cpu"]);
  });

  it("refuses a duplicate id and an alarm with both or neither of a metric and a query", () => {
    expect(() => alarmStack([spec("a"), spec("a")])).toThrow(/alarm id "a" appears twice/);
    const { metricName: _m, ...noMetric } = spec("b");
    expect(() => alarmStack([noMetric])).toThrow(/alarm "b" needs exactly one of metricName or metricQuery/);
    expect(() => alarmStack([{ ...spec("c"), metricQuery: [{ id: "q", expression: "1", returnData: true }] }])).toThrow(
      /alarm "c" needs exactly one/,
    );
  });
});

describe("PrivateIntegration", () => {
  const integrationStack = (
    target: PrivateIntegrationProps["target"],
    extra: Partial<PrivateIntegrationProps> = {},
  ) => {
    const stack = new TerraformStack(Testing.app(), "t");
    new PrivateIntegration(stack, "pi", {
      apiId: "api",
      name: "n",
      subnetIds: ["s1"],
      securityGroupIds: ["sg"],
      description: "d",
      target,
      ...extra,
    });
    return JSON.parse(Testing.synth(stack)).resource;
  };

  it("targets a load balancer listener directly, with no Cloud Map resources", () => {
    const r = integrationStack({ kind: "load-balancer-listener", listenerArn: "arn:listener" });
    expect(r.aws_apigatewayv2_integration.integration).toEqual(
      expect.objectContaining({
        integration_uri: "arn:listener",
        connection_type: "VPC_LINK",
        connection_id: "${aws_apigatewayv2_vpc_link.vpc-link.id}",
        timeout_milliseconds: 29000,
      }),
    );
    expect(Object.keys(r).filter((t) => t.startsWith("aws_service_discovery"))).toEqual([]);
  });

  it("registers one Cloud Map instance and points the integration at its service", () => {
    const r = integrationStack({
      kind: "cloud-map",
      namespaceName: "ns",
      instanceId: "box",
      ipv4: "10.0.0.10",
      port: 8080,
    });
    expect(r.aws_apigatewayv2_integration.integration.integration_uri).toBe(
      "${aws_service_discovery_service.api-service.arn}",
    );
    expect(r.aws_service_discovery_instance["api-instance"].attributes).toEqual({
      AWS_INSTANCE_IPV4: "10.0.0.10",
      AWS_INSTANCE_PORT: "8080",
    });
  });

  it("refuses an empty subnet list and a timeout outside what HTTP APIs allow", () => {
    const lb = { kind: "load-balancer-listener", listenerArn: "x" } as const;
    expect(() => integrationStack(lb, { subnetIds: [] })).toThrow(/subnetIds is empty/);
    expect(() => integrationStack(lb, { timeoutMilliseconds: 31000 })).toThrow(/timeoutMilliseconds = 31000/);
  });
});
