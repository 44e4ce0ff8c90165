/**
 * Policy tests: security and reliability invariants asserted for EVERY resource of a type across every
 * synthesized stack of both environments, in the spirit of checkov rules.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { prod, staging } from "../../constructs/config/environments";
import { allResources, resourcesOfType, synthAll, Synthesized } from "../helpers/synth";
import { refersTo } from "../helpers/refs";
import { asList, statements } from "../helpers/policy";

describe.each([
  ["prod", prod],
  ["staging", staging],
])("policy (%s)", (_name, env) => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthAll(env);
  });

  const companions = (type: string, stack: string, id: string, name: string) =>
    resourcesOfType(s, type).filter(([st, , body]) =>
      refersTo(s, st, body.bucket, { stack, type: "aws_s3_bucket", id, names: [name] }),
    );

  it("every S3 bucket blocks all public access", () => {
    const buckets = resourcesOfType(s, "aws_s3_bucket");
    expect(buckets.length).toBeGreaterThanOrEqual(4);
    for (const [stack, id, b] of buckets) {
      const pab = companions("aws_s3_bucket_public_access_block", stack, id, b.bucket as string);
      expect({ bucket: id, pab: pab.map(([, , body]) => body) }).toEqual({
        bucket: id,
        pab: [
          expect.objectContaining({
            block_public_acls: true,
            block_public_policy: true,
            ignore_public_acls: true,
            restrict_public_buckets: true,
          }),
        ],
      });
    }
  });

  it("every S3 bucket is encrypted and disables ACLs (BucketOwnerEnforced)", () => {
    for (const [stack, id, b] of resourcesOfType(s, "aws_s3_bucket")) {
      const sse = companions("aws_s3_bucket_server_side_encryption_configuration", stack, id, b.bucket as string);
      expect([id, sse.length]).toEqual([id, 1]);
      expect(JSON.stringify(sse[0][2].rule)).toMatch(/"sse_algorithm":"(AES256|aws:kms|aws:kms:dsse)"/);
      const own = companions("aws_s3_bucket_ownership_controls", stack, id, b.bucket as string);
      expect([id, own.map(([, , o]) => (o.rule as { object_ownership: string }).object_ownership)]).toEqual([
        id,
        ["BucketOwnerEnforced"],
      ]);
    }
  });

  it("every S3 bucket denies plain-HTTP access in its policy", () => {
    for (const [stack, id, b] of resourcesOfType(s, "aws_s3_bucket")) {
      const policies = companions("aws_s3_bucket_policy", stack, id, b.bucket as string);
      expect([id, policies.length]).toEqual([id, 1]);
      const tlsDeny = statements(policies[0][2].policy).filter(
        (st) =>
          st.Effect === "Deny" &&
          (st.Condition?.Bool as Record<string, unknown> | undefined)?.["aws:SecureTransport"] === "false",
      );
      expect([id, tlsDeny.length]).toEqual([id, 1]);
      expect(asList(tlsDeny[0].Action)).toEqual(["s3:*"]);
    }
  });

  it("every S3 bucket is protected from terraform destroy", () => {
    for (const [, id, b] of resourcesOfType(s, "aws_s3_bucket")) {
      expect([id, (b.lifecycle as { prevent_destroy?: boolean } | undefined)?.prevent_destroy]).toEqual([id, true]);
      expect([id, b.force_destroy ?? false]).toEqual([id, false]);
    }
  });

  it("every versioned bucket expires noncurrent versions, and no rule on the backup bucket touches current objects", () => {
    for (const [stack, id, b] of resourcesOfType(s, "aws_s3_bucket")) {
      const versioning = companions("aws_s3_bucket_versioning", stack, id, b.bucket as string);
      const lifecycle = companions("aws_s3_bucket_lifecycle_configuration", stack, id, b.bucket as string);
      const rules = lifecycle.flatMap(([, , l]) => l.rule as Array<Record<string, unknown>>);
      if (versioning.length > 0) {
        expect([id, rules.some((r) => r.status === "Enabled" && r.noncurrent_version_expiration)]).toEqual([id, true]);
      }
      if ((b.bucket as string).includes("-backups-")) {
        expect(versioning).toHaveLength(1);
        const currentExpiry = rules.filter((r) =>
          ((r.expiration as Array<Record<string, unknown>>) ?? []).some(
            (e) => e.days !== undefined || e.date !== undefined,
          ),
        );
        expect(currentExpiry).toEqual([]);
        expect(rules.some((r) => r.transition)).toBe(false);
      }
    }
  });

  it("every lifecycle rule, backend.tf.json's included, names exactly one filter predicate (no empty filter {})", () => {
    const predicates = ["prefix", "tag", "and", "object_size_greater_than", "object_size_less_than"];
    const backend = JSON.parse(readFileSync(join(__dirname, "../../backend.tf.json"), "utf8")) as {
      resource: Record<string, Record<string, Record<string, unknown>>>;
    };
    const configs: Array<[string, Record<string, unknown>]> = [
      ...resourcesOfType(s, "aws_s3_bucket_lifecycle_configuration").map(
        ([st, id, b]) => [`${st}.${id}`, b] as [string, Record<string, unknown>],
      ),
      ...Object.entries(backend.resource.aws_s3_bucket_lifecycle_configuration).map(
        ([id, b]) => [`backend.tf.json.${id}`, b] as [string, Record<string, unknown>],
      ),
    ];
    const list = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v : [v]) as Array<Record<string, unknown>>;
    let rules = 0;
    for (const [where, body] of configs) {
      for (const rule of list(body.rule)) {
        rules++;
        const filters = list(rule.filter);
        const set = filters.map((f) => Object.keys(f).filter((k) => predicates.includes(k) && f[k] !== undefined));
        expect([where, rule.id, rule.prefix, set]).toEqual([where, rule.id, undefined, [[expect.any(String)]]]);
      }
    }
    expect(rules).toBeGreaterThanOrEqual(8);
  });

  it("no security group admits ingress from the whole internet", () => {
    const open = (cidr: unknown) => cidr === "0.0.0.0/0" || cidr === "::/0";
    for (const [, id, r] of resourcesOfType(s, "aws_vpc_security_group_ingress_rule")) {
      expect([id, open(r.cidr_ipv4) || open(r.cidr_ipv6)]).toEqual([id, false]);
    }
    for (const [, id, r] of resourcesOfType(s, "aws_security_group_rule", { min: 0 })) {
      if (r.type === "ingress") {
        expect([
          id,
          [...asList(r.cidr_blocks as string[]), ...asList(r.ipv6_cidr_blocks as string[])].some(open),
        ]).toEqual([id, false]);
      }
    }
    for (const [, id, g] of [
      ...resourcesOfType(s, "aws_security_group"),
      ...resourcesOfType(s, "aws_default_security_group"),
    ]) {
      for (const rule of (g.ingress as Array<Record<string, string[]>>) ?? []) {
        expect([id, [...(rule.cidr_blocks ?? []), ...(rule.ipv6_cidr_blocks ?? [])].some(open)]).toEqual([id, false]);
      }
    }
  });

  it("every CloudWatch log group has a retention", () => {
    const groups = resourcesOfType(s, "aws_cloudwatch_log_group");
    expect(groups.length).toBeGreaterThanOrEqual(1);
    for (const [, id, g] of groups) {
      expect([id, typeof g.retention_in_days === "number" && (g.retention_in_days as number) > 0]).toEqual([id, true]);
    }
  });

  it("no IAM policy allows every action, or allows by NotAction", () => {
    const docs: Array<[string, unknown]> = [];
    for (const [, type, id, body] of allResources(s)) {
      if (
        [
          "aws_iam_role_policy",
          "aws_iam_policy",
          "aws_iam_user_policy",
          "aws_s3_bucket_policy",
          "aws_sns_topic_policy",
        ].includes(type)
      ) {
        docs.push([`${type}.${id}`, body.policy]);
      }
      if (type === "aws_iam_role") docs.push([`${type}.${id}`, body.assume_role_policy]);
    }
    expect(docs.length).toBeGreaterThanOrEqual(5);
    for (const [where, policy] of docs) {
      for (const st of statements(policy)) {
        if (st.Effect !== "Allow") continue;
        const actions = asList(st.Action);
        expect([where, actions.filter((a) => a === "*" || a === "*:*")]).toEqual([where, []]);
        expect([where, st.NotAction]).toEqual([where, undefined]);
      }
    }
  });

  it("every create_before_destroy resource, and whatever derives from it, is consumed only in its own stack", () => {
    // Exported through remote state, the old object would still be in use by the other stack when its own
    // stack deletes it after the replacement: ACM's ResourceInUseException for a certificate on CloudFront.
    let checked = 0;
    for (const [short, json] of Object.entries(s.stacks)) {
      const bodies = new Map<string, string>();
      for (const [type, byId] of Object.entries(json.resource ?? {})) {
        for (const [id, body] of Object.entries(byId)) bodies.set(`${type}.${id}`, JSON.stringify(body));
      }
      const derived = new Set<string>();
      for (const [addr, body] of bodies) if (/"create_before_destroy":true/.test(body)) derived.add(addr);
      for (let grew = true; grew;) {
        grew = false;
        for (const [addr, body] of bodies) {
          if (!derived.has(addr) && [...derived].some((d) => body.includes(`${d}.`))) {
            derived.add(addr);
            grew = true;
          }
        }
      }
      checked += derived.size;
      for (const [name, o] of Object.entries(json.output ?? {})) {
        if (!name.startsWith("cross-stack-output-")) continue;
        const hit = [...derived].filter((d) => JSON.stringify(o.value).includes(`${d}.`));
        expect([short, name, hit]).toEqual([short, name, []]);
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("every provider block is pinned to the environment's account", () => {
    for (const [short, json] of Object.entries(s.stacks)) {
      for (const p of json.provider?.aws ?? []) {
        expect([short, p.allowed_account_ids]).toEqual([short, [env.accountId]]);
      }
    }
  });
});
