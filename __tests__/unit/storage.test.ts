/**
 * Buckets and their policies. Invariants are asserted for every bucket of every stack (the static bucket's
 * policy lives in the cdn stack), and the policies are evaluated for concrete requests with a small
 * evaluator of the IAM condition operators they use: who can reach what, from where.
 */
import { Testing } from "cdktf/lib/testing";
import { HardenedBucket } from "../../constructs/hardened-bucket";
import { prod, staging } from "../../constructs/config/environments";
import { bucketName, BucketPurpose } from "../../constructs/config/naming";
import { bucketPolicyRoles } from "../../stacks/storage";
import { resourcesOfType, synthAll, Synthesized } from "../helpers/synth";
import { refersTo } from "../helpers/refs";
import { asList, Statement, statements } from "../helpers/policy";

type Body = Record<string, unknown>;
const PURPOSES: BucketPurpose[] = ["backups", "releases", "static", "logs"];

interface Request {
  principalArn?: string;
  action: string;
  /** true: an object (`arn/*`) request; false: a bucket-level request. */
  object: boolean;
  secureTransport?: boolean;
  sourceVpce?: string;
}

const glob = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i");

function conditionHolds(cond: Statement["Condition"], ctx: Record<string, string | undefined>): boolean {
  for (const [op, kv] of Object.entries(cond ?? {})) {
    for (const [key, expected] of Object.entries(kv)) {
      const values = asList(expected as string | string[]).map(String);
      const actual = ctx[key];
      const negated = op.includes("Not");
      if (actual === undefined) {
        if (!negated) return false;
        continue;
      }
      const match = values.some((v) =>
        op.startsWith("Arn") || op.endsWith("Like") ? glob(v).test(actual) : v === actual,
      );
      if (negated ? match : !match) return false;
    }
  }
  return true;
}

/** The statements of `sts` that apply to `req`, by effect. */
function matching(sts: Statement[], req: Request): { allow: string[]; deny: string[] } {
  const ctx = {
    "aws:PrincipalArn": req.principalArn,
    "aws:SecureTransport": String(req.secureTransport ?? true),
    "aws:SourceVpce": req.sourceVpce,
  };
  const out = { allow: [] as string[], deny: [] as string[] };
  for (const st of sts) {
    if (!asList(st.Action).some((a) => glob(a).test(req.action))) continue;
    if (!asList(st.Resource).some((r) => (req.object ? r.endsWith("/*") : !r.endsWith("/*")))) continue;
    if (!conditionHolds(st.Condition, ctx)) continue;
    (st.Effect === "Deny" ? out.deny : out.allow).push(st.Sid ?? "?");
  }
  return out;
}

describe.each([
  ["prod", prod],
  ["staging", staging],
])("storage (%s)", (_name, env) => {
  let s: Synthesized;
  const roles = bucketPolicyRoles(env);
  let endpoint: string;

  beforeAll(() => {
    s = synthAll(env);
  });

  const bucket = (purpose: BucketPurpose): [string, string, Body] => {
    const hit = resourcesOfType(s, "aws_s3_bucket").find(([, , b]) => b.bucket === bucketName(env, purpose));
    if (!hit) throw new Error(`no bucket ${bucketName(env, purpose)}`);
    return hit;
  };
  const companions = (type: string, purpose: BucketPurpose) => {
    const [stack, id, b] = bucket(purpose);
    return resourcesOfType(s, type).filter(([st, , body]) =>
      refersTo(s, st, body.bucket, { stack, type: "aws_s3_bucket", id, names: [b.bucket as string] }),
    );
  };
  const policy = (purpose: BucketPurpose): Statement[] => {
    const p = companions("aws_s3_bucket_policy", purpose);
    expect([purpose, p.length]).toEqual([purpose, 1]);
    return statements(p[0][2].policy);
  };

  it("holds exactly the four buckets, named per account and environment, with pinned logical ids", () => {
    const buckets = resourcesOfType(s, "aws_s3_bucket");
    expect(buckets.map(([st, id, b]) => [st, id, b.bucket]).sort()).toEqual(
      PURPOSES.map((p) => ["storage", `${p}_bucket`, `zmanim-${env.name}-${p}-${env.accountId}`]).sort(),
    );
  });

  it.each(PURPOSES)(
    "%s: all four public-access flags, SSE, BucketOwnerEnforced, one policy with the TLS-only deny",
    (purpose) => {
      expect(companions("aws_s3_bucket_public_access_block", purpose).map(([, , b]) => b)).toEqual([
        expect.objectContaining({
          block_public_acls: true,
          block_public_policy: true,
          ignore_public_acls: true,
          restrict_public_buckets: true,
        }),
      ]);
      const sse = companions("aws_s3_bucket_server_side_encryption_configuration", purpose);
      expect(JSON.stringify(sse.map(([, , b]) => b.rule))).toMatch(/"sse_algorithm":"AES256"/);
      expect(companions("aws_s3_bucket_ownership_controls", purpose).map(([, , b]) => b.rule)).toEqual([
        { object_ownership: "BucketOwnerEnforced" },
      ]);
      const tls = policy(purpose).filter((st) => st.Sid === "DenyInsecureTransport");
      expect(tls).toEqual([
        expect.objectContaining({
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      ]);
      expect(
        matching(policy(purpose), {
          principalArn: roles.breakGlass,
          action: "s3:GetObject",
          object: true,
          secureTransport: false,
        }).deny,
      ).toContain("DenyInsecureTransport");
    },
  );

  it("backups: versioned, noncurrent versions expire, and no lifecycle rule touches current objects (D10)", () => {
    expect(companions("aws_s3_bucket_versioning", "backups").map(([, , b]) => b.versioning_configuration)).toEqual([
      { status: "Enabled" },
    ]);
    const rules = companions("aws_s3_bucket_lifecycle_configuration", "backups").flatMap(([, , b]) => b.rule as Body[]);
    expect(
      rules.some((r) =>
        (JSON.stringify(r.noncurrent_version_expiration) ?? "").includes(
          `"noncurrent_days":${env.noncurrentVersionDays}`,
        ),
      ),
    ).toBe(true);
    for (const r of rules) {
      for (const e of asList(r.expiration as never) as unknown as Body[]) {
        expect([r.id, e.days, e.date]).toEqual([r.id, undefined, undefined]);
      }
      expect([r.id, r.transition]).toEqual([r.id, undefined]);
    }
  });

  describe("who reaches what", () => {
    beforeAll(() => {
      const allow = policy("backups").find((st) => st.Sid === "InstanceResticViaEndpoint")!;
      endpoint = (allow.Condition!.StringEquals as Record<string, string>)["aws:SourceVpce"];
    });

    it("the endpoint condition names the network stack's S3 gateway endpoint", () => {
      expect(endpoint).toMatch(
        /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-zmanim-[a-z]+-network\.outputs\.cross-stack-output-aws_vpc_endpoints3-endpointid\}$/,
      );
    });

    it("the instance runs restic on backups through the VPC endpoint only", () => {
      const sts = policy("backups");
      for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]) {
        expect(matching(sts, { principalArn: roles.instance, action, object: true, sourceVpce: endpoint })).toEqual({
          allow: ["InstanceResticViaEndpoint"],
          deny: [],
        });
        expect(matching(sts, { principalArn: roles.instance, action, object: true }).deny).toEqual([
          "DenyInstanceOutsideEndpoint",
        ]);
        expect(
          matching(sts, { principalArn: roles.instance, action, object: true, sourceVpce: "vpce-other" }).deny,
        ).toEqual(["DenyInstanceOutsideEndpoint"]);
      }
      expect(
        matching(sts, { principalArn: roles.instance, action: "s3:ListBucket", object: false, sourceVpce: endpoint }),
      ).toEqual({
        allow: ["InstanceResticViaEndpoint"],
        deny: [],
      });
    });

    it("the instance cannot destroy history: no version deletes, no lifecycle, versioning or policy changes", () => {
      const sts = policy("backups");
      for (const [action, object] of [
        ["s3:DeleteObjectVersion", true],
        ["s3:PutLifecycleConfiguration", false],
        ["s3:PutBucketVersioning", false],
        ["s3:PutBucketPolicy", false],
        ["s3:DeleteBucket", false],
      ] as const) {
        expect([
          action,
          matching(sts, { principalArn: roles.instance, action, object, sourceVpce: endpoint }).deny,
        ]).toEqual([action, expect.arrayContaining(["DenyInstanceDestroyingHistory"])]);
      }
    });

    it("break-glass restores backups; CI roles and other principals cannot read or write them", () => {
      const sts = policy("backups");
      expect(matching(sts, { principalArn: roles.breakGlass, action: "s3:GetObjectVersion", object: true })).toEqual({
        allow: ["BreakGlassRestore"],
        deny: [],
      });
      expect(matching(sts, { principalArn: roles.breakGlass, action: "s3:ListBucketVersions", object: false })).toEqual(
        { allow: ["BreakGlassRestore"], deny: [] },
      );
      for (const who of [
        roles.ciDeploy,
        roles.ciRelease,
        `arn:aws:iam::${env.accountId}:role/someone-else`,
        undefined,
      ]) {
        expect(matching(sts, { principalArn: who, action: "s3:GetObject", object: true }).deny).toEqual([
          "DenyObjectAccessToOthers",
        ]);
      }
    });

    it("releases: the instance reads through the endpoint and never writes; CI publishes", () => {
      const sts = policy("releases");
      expect(
        matching(sts, { principalArn: roles.instance, action: "s3:GetObject", object: true, sourceVpce: endpoint }),
      ).toEqual({
        allow: ["InstanceReadViaEndpoint"],
        deny: [],
      });
      expect(matching(sts, { principalArn: roles.instance, action: "s3:GetObject", object: true }).deny).toEqual([
        "DenyInstanceOutsideEndpoint",
      ]);
      expect(
        matching(sts, { principalArn: roles.instance, action: "s3:PutObject", object: true, sourceVpce: endpoint })
          .deny,
      ).toEqual(["DenyInstanceWrites"]);
      for (const ci of [roles.ciDeploy, roles.ciRelease]) {
        expect(matching(sts, { principalArn: ci, action: "s3:PutObject", object: true })).toEqual({
          allow: ["CiPublish"],
          deny: [],
        });
      }
    });

    it("static: CI publishes; the instance has no grant", () => {
      const sts = policy("static");
      expect(matching(sts, { principalArn: roles.ciDeploy, action: "s3:PutObject", object: true })).toEqual({
        allow: ["CiPublish"],
        deny: [],
      });
      expect(matching(sts, { principalArn: roles.instance, action: "s3:GetObject", object: true }).allow).toEqual([]);
    });

    it.each(PURPOSES)(
      "%s: no Deny ever catches the account root or the break-glass role reading or managing the bucket over TLS",
      (purpose) => {
        const sts = policy(purpose);
        for (const who of [roles.accountRoot, roles.breakGlass]) {
          for (const [action, object] of [
            ["s3:GetObject", true],
            ["s3:GetObjectVersion", true],
            ["s3:ListBucket", false],
            ["s3:ListBucketVersions", false],
            ["s3:GetBucketPolicy", false],
            ["s3:PutBucketPolicy", false],
            ["s3:DeleteBucketPolicy", false],
          ] as const) {
            expect([purpose, who, action, matching(sts, { principalArn: who, action, object }).deny]).toEqual([
              purpose,
              who,
              action,
              [],
            ]);
          }
        }
      },
    );

    it("names principals by aws:PrincipalArn conditions, never as role ARNs (roles are created by later stacks)", () => {
      for (const purpose of PURPOSES) {
        for (const st of policy(purpose)) {
          expect([purpose, st.Sid, JSON.stringify(st.Principal ?? "")]).not.toEqual([
            purpose,
            st.Sid,
            expect.stringContaining(":role/"),
          ]);
        }
      }
    });

    it("logs: S3 server access logs and CloudFront log delivery may write under their prefixes, from this account only", () => {
      const sts = policy("logs");
      const s3 = sts.find((x) => x.Sid === "S3ServerAccessLogs")!;
      expect(s3.Principal).toEqual({ Service: "logging.s3.amazonaws.com" });
      expect(s3.Condition?.StringEquals).toEqual({ "aws:SourceAccount": env.accountId });
      const cf = sts.find((x) => x.Sid === "CloudFrontLogDelivery")!;
      expect(cf.Principal).toEqual({ Service: "delivery.logs.amazonaws.com" });
      expect(cf.Condition?.StringEquals).toEqual({
        "s3:x-amz-acl": "bucket-owner-full-control",
        "aws:SourceAccount": env.accountId,
      });
      // Every other bucket's server access logs land under the prefix the grant covers.
      for (const [, , l] of resourcesOfType(s, "aws_s3_bucket_logging")) expect(l.target_prefix).toMatch(/^s3\//);
    });
  });
});

describe("HardenedBucket.attachPolicy", () => {
  it("leaves the policy to another stack when false, and creates it (with the TLS deny) by default", () => {
    const without = JSON.parse(
      Testing.synthScope((scope) => {
        new HardenedBucket(scope, "site", { bucketName: "b-1", noncurrentVersionDays: 7, attachPolicy: false });
      }),
    );
    expect(without.resource.aws_s3_bucket_policy).toBeUndefined();
    expect(without.resource.aws_s3_bucket_public_access_block).toBeDefined();
    const withPolicy = JSON.parse(
      Testing.synthScope((scope) => {
        new HardenedBucket(scope, "site", { bucketName: "b-1", noncurrentVersionDays: 7 });
      }),
    );
    const [p] = Object.values(withPolicy.resource.aws_s3_bucket_policy) as Body[];
    expect(statements(p.policy).map((x) => x.Sid)).toEqual(["DenyInsecureTransport"]);
  });

  it("refuses statements it would silently drop", () => {
    expect(() =>
      Testing.synthScope((scope) => {
        new HardenedBucket(scope, "site", {
          bucketName: "b-1",
          noncurrentVersionDays: 7,
          attachPolicy: false,
          policyStatements: [{ Sid: "X", Effect: "Allow", Action: "s3:GetObject", Resource: "*" }],
        });
      }),
    ).toThrow(/HardenedBucket site: policyStatements are set but attachPolicy is false/);
  });
});
