import { readFileSync } from "fs";
import { join } from "path";
import { Testing } from "cdktf/lib/testing";
import { prod, staging } from "../../constructs/config/environments";
import { NetworkStack } from "../../stacks/network";
import {
  renderStateBootstrap,
  stateBootstrap,
  STATE_NONCURRENT_DAYS,
  STATE_ACCESS_LOG_DAYS,
} from "../../constructs/builders/state-bootstrap";
import { synthAll } from "../helpers/synth";

describe("remote state", () => {
  const s = synthAll();

  it("gives every stack an encrypted S3 backend with DynamoDB locking and use_lockfile, keyed <env>/<stack>.tfstate", () => {
    expect(Object.keys(s.stacks).length).toBeGreaterThanOrEqual(8);
    for (const [short, json] of Object.entries(s.stacks)) {
      expect(json.terraform.backend?.s3).toEqual({
        bucket: "zmanim-tfstate-111111111111",
        key: `prod/${short}.tfstate`,
        region: "eu-west-1",
        encrypt: true,
        dynamodb_table: "zmanim-tfstate-lock",
        use_lockfile: true,
      });
      expect(json.terraform.cloud).toBeUndefined();
    }
  });

  it("names stacks zmanim-<env>-<stack> and keys staging state under staging/", () => {
    expect(Object.keys(s.manifest.stacks).every((n) => /^zmanim-prod-[a-z]+$/.test(n))).toBe(true);
    const st = synthAll(staging);
    expect(st.stacks.network.terraform.backend?.s3.key).toBe("staging/network.tfstate");
  });

  it("pins the AWS provider and restricts it to the environment's account", () => {
    for (const json of Object.values(s.stacks)) {
      expect(json.terraform.required_providers?.aws).toEqual({ source: "aws", version: "5.100.0" });
      for (const p of json.provider?.aws ?? []) expect(p.allowed_account_ids).toEqual(["111111111111"]);
    }
  });

  it("emits a Terraform Cloud block with one workspace per stack when switched", () => {
    const app = Testing.app();
    const env = { ...prod, state: { kind: "cloud" as const, organization: "shtetl", workspacePrefix: "zmanim-prod-" } };
    const tf = JSON.parse(Testing.synth(new NetworkStack(app, { env })));
    expect(tf.terraform.cloud).toEqual({
      hostname: "app.terraform.io",
      organization: "shtetl",
      workspaces: { name: "zmanim-prod-network", project: "zmanim-prod" },
    });
    expect(tf.terraform.backend).toBeUndefined();
  });

  it("records a deploy order with no cycles in manifest.json", () => {
    const deps = Object.fromEntries(Object.entries(s.manifest.stacks).map(([n, st]) => [n, st.dependencies]));
    const seen = new Set<string>();
    const visiting = new Set<string>();
    const visit = (n: string) => {
      if (visiting.has(n)) throw new Error(`cycle through ${n}`);
      if (seen.has(n)) return;
      visiting.add(n);
      for (const d of deps[n]) visit(d);
      visiting.delete(n);
      seen.add(n);
    };
    Object.keys(deps).forEach(visit);
    expect(deps["zmanim-prod-compute"]).toEqual(
      expect.arrayContaining(["zmanim-prod-network", "zmanim-prod-storage", "zmanim-prod-secrets"]),
    );
    expect(deps["zmanim-prod-cdn"]).toEqual(
      expect.arrayContaining(["zmanim-prod-api", "zmanim-prod-dns", "zmanim-prod-storage"]),
    );
    expect(deps["zmanim-prod-network"]).toEqual([]);
  });
});

describe("backend.tf.json (state bootstrap)", () => {
  const tf = stateBootstrap(prod) as { resource: Record<string, Record<string, Record<string, unknown>>> };
  const r = tf.resource;

  it("is exactly what the code generates (run `npm run backend:generate` after changing it)", () => {
    expect(readFileSync(join(__dirname, "..", "..", "backend.tf.json"), "utf8")).toBe(renderStateBootstrap(prod));
  });

  it("keeps the state bucket versioned, encrypted, private, TLS-only and undeletable", () => {
    expect(r.aws_s3_bucket.state).toMatchObject({
      bucket: "zmanim-tfstate-111111111111",
      lifecycle: { prevent_destroy: true },
    });
    expect(r.aws_s3_bucket_versioning.state).toMatchObject({ versioning_configuration: { status: "Enabled" } });
    expect(JSON.stringify(r.aws_s3_bucket_server_side_encryption_configuration.state)).toMatch(
      /"sse_algorithm":"AES256"/,
    );
    expect(r.aws_s3_bucket_public_access_block.state).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    const policy = JSON.parse(r.aws_s3_bucket_policy.state.policy as string);
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    );
    expect(JSON.stringify(r.aws_s3_bucket_lifecycle_configuration.state)).toContain(
      `"noncurrent_version_expiration":{"noncurrent_days":${STATE_NONCURRENT_DAYS}}`,
    );
  });

  it("writes S3 server access logs of the state bucket (it holds generated passwords) into a hardened log bucket", () => {
    expect(STATE_ACCESS_LOG_DAYS).toBe(365);
    expect(r.aws_s3_bucket.state_logs).toEqual({
      bucket: "zmanim-tfstate-111111111111-access-logs",
      force_destroy: false,
      lifecycle: { prevent_destroy: true },
    });
    expect(r.aws_s3_bucket_logging.state).toEqual({
      bucket: "${aws_s3_bucket.state.id}",
      target_bucket: "${aws_s3_bucket.state_logs.id}",
      target_prefix: "state/",
      depends_on: ["aws_s3_bucket_policy.state_logs"],
    });
    expect(r.aws_s3_bucket_versioning.state_logs).toMatchObject({ versioning_configuration: { status: "Enabled" } });
    // A log target bucket supports SSE-S3 only (not SSE-KMS).
    expect(r.aws_s3_bucket_server_side_encryption_configuration.state_logs).toEqual({
      bucket: "${aws_s3_bucket.state_logs.id}",
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    });
    expect(r.aws_s3_bucket_public_access_block.state_logs).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(r.aws_s3_bucket_ownership_controls.state_logs).toEqual({
      bucket: "${aws_s3_bucket.state_logs.id}",
      rule: { object_ownership: "BucketOwnerEnforced" },
    });
    expect(JSON.stringify(r.aws_s3_bucket_lifecycle_configuration.state_logs)).toContain(`"expiration":{"days":365}`);
    // ACLs are disabled, so delivery is granted by policy to the logging service, for this bucket and account only.
    const policy = JSON.parse(r.aws_s3_bucket_policy.state_logs.policy as string);
    expect(policy.Statement).toContainEqual({
      Sid: "S3ServerAccessLogsOfStateBucket",
      Effect: "Allow",
      Principal: { Service: "logging.s3.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: "${aws_s3_bucket.state_logs.arn}/state/*",
      Condition: {
        ArnLike: { "aws:SourceArn": "${aws_s3_bucket.state.arn}" },
        StringEquals: { "aws:SourceAccount": "111111111111" },
      },
    });
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    );
  });

  it("has an on-demand lock table with point-in-time recovery and prevent_destroy", () => {
    expect(r.aws_dynamodb_table.lock).toMatchObject({
      name: "zmanim-tfstate-lock",
      billing_mode: "PAY_PER_REQUEST",
      hash_key: "LockID",
      point_in_time_recovery: { enabled: true },
      deletion_protection_enabled: true,
      lifecycle: { prevent_destroy: true },
    });
  });

  it("refuses to bootstrap for a Terraform Cloud environment", () => {
    expect(() =>
      stateBootstrap({ ...prod, state: { kind: "cloud", organization: "o", workspacePrefix: "p-" } }),
    ).toThrow(/state.kind = "cloud": backend.tf.json bootstraps the S3 backend/);
  });
});
