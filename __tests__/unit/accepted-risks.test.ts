/**
 * The accepted-risk register (docs/security/accepted-risks.md) against the project's policy rule set
 * (scripts/tools/policy/rules.ts) over every stack of every shipped environment and over backend.tf.json (the state
 * bootstrap, as the stack `state-bootstrap`): every finding is listed, and every listed line still matches a
 * finding. And the rule set against checkov's (scripts/tools/policy/data/checkov/aws-rules.json): every checkov rule
 * for a synthesized type is implemented or not applicable with a reason.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { environments } from "../../constructs/config/environments";
import {
  checkovRules,
  covers,
  EXTENSIONS,
  Finding,
  findings,
  NOT_APPLICABLE,
  parseRegister,
  reconcile,
  RULES,
  StackJson,
  uncovered,
} from "../../scripts/tools/policy/rules";
import { statementsOf } from "../../scripts/tools/policy/rules";
import { actionsWithoutConstraints, unconstrainedActions } from "../../scripts/tools/policy/iam-analysis";
import { synthAll } from "../helpers/synth";

const REGISTER_PATH = join(__dirname, "../../docs/security/accepted-risks.md");
const register = () => parseRegister(readFileSync(REGISTER_PATH, "utf8"));

const BACKEND = "backend.tf.json";
/** backend.tf.json as the stack `state-bootstrap`. */
const stateBootstrap = (): StackJson => ({
  stack: "state-bootstrap",
  resources: JSON.parse(readFileSync(join(__dirname, "../../backend.tf.json"), "utf8")).resource,
});
const envStacks = (name: string): StackJson[] =>
  Object.entries(synthAll(environments[name]).stacks).map(([stack, json]) => ({
    stack,
    resources: (json.resource ?? {}) as never,
  }));

/** Findings of every shipped environment and of backend.tf.json, each address tagged with where it came from. */
function allFindings(): Array<Finding & { env: string }> {
  return [
    ...Object.keys(environments).flatMap((name) =>
      findings(envStacks(name)).map((f) => ({ ...f, env: environments[name].name })),
    ),
    ...findings([stateBootstrap()]).map((f) => ({ ...f, env: BACKEND })),
  ];
}

/** Every resource type that a shipped environment or backend.tf.json synthesizes. */
function synthesizedTypes(): Set<string> {
  const stacks = [...Object.keys(environments).flatMap(envStacks), stateBootstrap()];
  return new Set(stacks.flatMap((s) => Object.keys(s.resources)));
}

describe("accepted-risk register", () => {
  let found: Array<Finding & { env: string }>;
  beforeAll(() => {
    found = allFindings();
  });

  it("lists every finding of every stack of every shipped environment", () => {
    const { unlisted } = reconcile(found, register());
    expect(unlisted.map((f) => `${f.id} ${f.address} (${(f as Finding & { env: string }).env})`)).toEqual([]);
  });

  it("has no stale line: every entry still matches a finding", () => {
    const { stale } = reconcile(found, register());
    expect(stale.map((e) => `line ${e.line}: ${e.id} (${e.scope})`)).toEqual([]);
  });

  it("gives each entry a reason, a price or alternative, and when to revisit; one line per id and scope", () => {
    const entries = register();
    expect(entries.length).toBeGreaterThanOrEqual(10);
    for (const e of entries) {
      expect([e.id, e.scope, /revisit/i.test(e.reason)]).toEqual([e.id, e.scope, true]);
      // The id is one the rule set checks, for a type it checks.
      const rule = RULES.find((r) => r.id === e.id && (e.scope === r.type || e.scope.includes(`/${r.type}.`)));
      expect([e.id, e.scope, rule !== undefined]).toEqual([e.id, e.scope, true]);
    }
    const keys = entries.map((e) => `${e.id} ${e.scope}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it("the rule set runs over every stack: it sees resources of each environment's stacks", () => {
    for (const env of Object.values(environments)) {
      const stacks = Object.keys(synthAll(env).stacks);
      expect([env.name, stacks.length >= 8]).toEqual([env.name, true]);
    }
    expect(new Set(found.map((f) => f.env))).toEqual(
      new Set([...Object.keys(environments).map((k) => environments[k].name), BACKEND]),
    );
  });

  it("scans backend.tf.json: the state bucket logs its access, its log bucket does not log itself", () => {
    const mine = found.filter((f) => f.env === BACKEND).map((f) => `${f.id} ${f.address}`);
    expect(mine).not.toContain("CKV_AWS_18 state-bootstrap/aws_s3_bucket.state");
    expect(mine).toContain("CKV_AWS_18 state-bootstrap/aws_s3_bucket.state_logs");
    expect(mine).toContain("CKV_AWS_119 state-bootstrap/aws_dynamodb_table.lock");
  });

  it("the plain-HTTP health behaviour is a finding (CKV_AWS_34) in every environment", () => {
    const f = found.filter((x) => x.id === "CKV_AWS_34").map((x) => `${x.address} (${x.env})`);
    expect(f).toEqual([
      "cdn/aws_cloudfront_distribution.distribution (prod)",
      "cdn/aws_cloudfront_distribution.distribution (staging)",
      "cdn/aws_cloudfront_distribution.distribution (scaled)",
    ]);
  });
});

describe("coverage of checkov's rules", () => {
  let types: Set<string>;
  beforeAll(() => {
    types = synthesizedTypes();
  });

  it("vendors checkov's AWS Terraform rules as data, with the commit and licence", () => {
    const rules = checkovRules();
    expect(rules.length).toBeGreaterThan(400);
    expect(rules.find((r) => r.id === "CKV_AWS_34")).toMatchObject({
      resources: ["aws_cloudfront_distribution"],
      kind: "resource",
    });
    expect(rules.find((r) => r.id === "CKV_AWS_355")?.resources).toEqual(
      expect.arrayContaining(["aws_iam_policy", "aws_iam_role_policy"]),
    );
    const source = JSON.parse(
      readFileSync(join(__dirname, "../../scripts/tools/policy/data/checkov/SOURCE.json"), "utf8"),
    );
    expect(source).toMatchObject({
      repository: "https://github.com/bridgecrewio/checkov",
      commit: "03d5fdad8d6154b1565799a7b1fb8070c158866f",
    });
    expect(readFileSync(join(__dirname, "../../scripts/tools/policy/data/checkov/LICENSE"), "utf8")).toMatch(
      /Apache License\s+Version 2\.0/,
    );
  });

  it("implements, or names as not applicable with a reason, every checkov rule for every synthesized type", () => {
    expect(
      types.has("aws_s3_bucket_logging") && types.has("aws_dynamodb_table") && types.has("aws_launch_template"),
    ).toBe(true);
    expect(uncovered(types)).toEqual([]);
  });

  it("fails when an implemented rule is removed, naming the rule and the type", () => {
    expect(
      uncovered(
        types,
        RULES.filter((r) => r.id !== "CKV_AWS_34"),
      ),
    ).toEqual([
      "CKV_AWS_34 aws_cloudfront_distribution (Ensure CloudFront distribution ViewerProtocolPolicy is set to HTTPS)",
    ]);
    expect(
      uncovered(
        types,
        RULES.filter((r) => !(r.id === "CKV_AWS_355" && r.type === "aws_iam_role_policy")),
      ),
    ).toEqual([
      'CKV_AWS_355 aws_iam_role_policy (Ensure no IAM policies documents allow "*" as a statement\'s resource for restrictable actions)',
    ]);
    const { CKV2_AWS_1: _dropped, ...rest } = NOT_APPLICABLE;
    expect(uncovered(types, RULES, rest).map((u) => u.split(" (")[0])).toEqual(["CKV2_AWS_1 aws_subnet"]);
  });

  it("names no rule as not applicable that applies to nothing synthesized, and gives each a reason", () => {
    const checkov = checkovRules();
    for (const [key, reason] of Object.entries(NOT_APPLICABLE)) {
      const [id, type] = key.split(" ");
      const rule = checkov.find((r) => r.id === id);
      const applies = !!rule && rule.resources.some((t) => (type ? t === type : types.has(t)));
      expect([key, applies, reason.length > 40]).toEqual([key, true, true]);
    }
  });

  it("uses checkov's ids for checkov's types: every rule's type is one its checkov rule lists, or an extension with a reason", () => {
    const checkov = new Map(checkovRules().map((r) => [r.id, r]));
    const odd = RULES.filter((r) => !checkov.get(r.id)?.resources.includes(r.type)).map((r) => `${r.id} ${r.type}`);
    expect(odd.filter((k) => !EXTENSIONS[k])).toEqual([]);
    expect(Object.keys(EXTENSIONS).filter((k) => !odd.includes(k))).toEqual([]);
  });
});

describe("rules restate checkov's semantics (one passing and one failing resource each)", () => {
  /** The ids of the rules for `type` that fail on `body`, alone in a stack `s` as `aws_<type>.x`, with `extra` resources beside it. */
  const failing = (
    type: string,
    body: Record<string, unknown>,
    extra: Record<string, Record<string, Record<string, unknown>>> = {},
  ) =>
    findings(
      [{ stack: "s", resources: { ...extra, [type]: { x: body } } }],
      RULES.filter((r) => r.type === type),
    ).map((f) => f.id);

  it("CKV_AWS_34: any cache behaviour with allow-all fails; redirect-to-https and https-only pass", () => {
    const d = (ordered: string) => ({
      default_cache_behavior: { viewer_protocol_policy: "redirect-to-https" },
      ordered_cache_behavior: [{ viewer_protocol_policy: ordered }],
    });
    expect(failing("aws_cloudfront_distribution", d("allow-all"))).toContain("CKV_AWS_34");
    expect(failing("aws_cloudfront_distribution", d("https-only"))).not.toContain("CKV_AWS_34");
  });

  it("CKV_AWS_24/260/277: a VPC ingress rule from 0.0.0.0/0 fails on its port; one from a security group passes", () => {
    expect(
      failing("aws_vpc_security_group_ingress_rule", {
        cidr_ipv4: "0.0.0.0/0",
        from_port: 22,
        to_port: 22,
        ip_protocol: "tcp",
        description: "ssh",
      }),
    ).toEqual(["CKV_AWS_24"]);
    expect(
      failing("aws_vpc_security_group_ingress_rule", {
        cidr_ipv4: "0.0.0.0/0",
        ip_protocol: "-1",
        description: "all",
      }).sort(),
    ).toEqual(["CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260", "CKV_AWS_277"]);
    expect(
      failing("aws_vpc_security_group_ingress_rule", {
        referenced_security_group_id: "sg-1",
        from_port: 80,
        to_port: 80,
        ip_protocol: "tcp",
        description: "alb",
      }),
    ).toEqual([]);
    expect(
      failing("aws_vpc_security_group_ingress_rule", {
        cidr_ipv4: "10.0.0.0/16",
        from_port: 80,
        to_port: 80,
        ip_protocol: "tcp",
      }),
    ).toEqual(["CKV_AWS_23"]);
  });

  it('CKV_AWS_70: a bucket policy that allows "*" fails unless a condition narrows it', () => {
    const pol = (cond?: object) => ({
      policy: JSON.stringify({
        Statement: [
          {
            Effect: "Allow",
            Principal: "*",
            Action: "s3:GetObject",
            Resource: "arn:aws:s3:::b/*",
            ...(cond ? { Condition: cond } : {}),
          },
        ],
      }),
    });
    expect(failing("aws_s3_bucket_policy", pol())).toEqual(["CKV_AWS_70"]);
    expect(failing("aws_s3_bucket_policy", pol({ StringEquals: { "aws:SourceVpce": "vpce-1" } }))).toEqual([]);
  });

  it("CKV_AWS_300, CKV2_AWS_61: a bucket needs a lifecycle configuration that aborts uploads for the whole bucket", () => {
    expect(
      failing("aws_s3_bucket_lifecycle_configuration", {
        rule: [
          {
            status: "Enabled",
            filter: { prefix: "logs/" },
            abort_incomplete_multipart_upload: { days_after_initiation: 7 },
          },
        ],
      }),
    ).toEqual(["CKV_AWS_300"]);
    expect(
      failing("aws_s3_bucket_lifecycle_configuration", {
        rule: [
          {
            status: "Enabled",
            filter: { prefix: "" },
            abort_incomplete_multipart_upload: { days_after_initiation: 7 },
          },
        ],
      }),
    ).toEqual([]);
    expect(failing("aws_s3_bucket", { bucket: "b" })).toContain("CKV2_AWS_61");
    expect(
      failing(
        "aws_s3_bucket",
        { bucket: "b" },
        { aws_s3_bucket_lifecycle_configuration: { l: { bucket: "${aws_s3_bucket.x.id}" } } },
      ),
    ).not.toContain("CKV2_AWS_61");
  });

  it("CKV_AWS_393: a GitHub OIDC trust must pin :sub to named repositories", () => {
    const role = (sub?: string) => ({
      assume_role_policy: JSON.stringify({
        Statement: [
          {
            Effect: "Allow",
            Principal: { Federated: "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" },
            Action: "sts:AssumeRoleWithWebIdentity",
            ...(sub ? { Condition: { StringLike: { "token.actions.githubusercontent.com:sub": sub } } } : {}),
          },
        ],
      }),
    });
    expect(failing("aws_iam_role", role())).toContain("CKV_AWS_393");
    expect(failing("aws_iam_role", role("repo:*"))).toContain("CKV_AWS_393");
    expect(failing("aws_iam_role", role("repo:shtetl/zmanim-infra:environment:prod"))).not.toContain("CKV_AWS_393");
  });
});

describe("IAM document analysis (cloudsplaining semantics)", () => {
  const st = (s: Record<string, unknown>) => [{ Effect: "Allow", ...s }];

  it('CKV_AWS_355: a resource-scopable action on "*" counts; a describe-only statement on "*" and a scoped ARN do not', () => {
    expect(unconstrainedActions(st({ Action: "s3:PutObject", Resource: "*" }))).toEqual(["s3:PutObject"]);
    expect(unconstrainedActions(st({ Action: "ec2:DescribeInstances", Resource: "*" }))).toEqual([]);
    expect(unconstrainedActions(st({ Action: "s3:PutObject", Resource: "arn:aws:s3:::b/*" }))).toEqual([]);
    expect(unconstrainedActions([{ Effect: "Deny", Action: "s3:PutObject", Resource: "*" }])).toEqual([]);
  });

  it('CKV_AWS_290: write actions on "*" count unless the statement has a condition; wildcards expand', () => {
    expect(actionsWithoutConstraints(st({ Action: "sqs:SendMessage", Resource: "*" }), "Write")).toEqual([
      "sqs:SendMessage",
    ]);
    expect(
      actionsWithoutConstraints(
        st({ Action: "sqs:SendMessage", Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/P": "z" } } }),
        "Write",
      ),
    ).toEqual([]);
    expect(actionsWithoutConstraints(st({ Action: "sqs:Get*", Resource: "*" }), "Write")).toEqual([]);
    expect(actionsWithoutConstraints(st({ Action: "sqs:Delete*", Resource: "*" }), "Write")).toEqual([
      "sqs:DeleteMessage",
      "sqs:DeleteQueue",
    ]);
  });

  it("reads a document synthesized as a Terraform jsonencode() expression", () => {
    const doc =
      '${jsonencode({"Version" = "2012-10-17", "Statement" = [{"Effect" = "Allow", "Action" = ["s3:PutObject"], "Resource" = [aws_s3_bucket.b.arn, "*"]}]})}';
    expect(statementsOf(doc)).toEqual([
      { Effect: "Allow", Action: ["s3:PutObject"], Resource: ["aws_s3_bucket.b.arn", "*"] },
    ]);
  });
});

describe("reconcile", () => {
  const f = (id: string, address: string): Finding => ({ id, type: address.split("/")[1].split(".")[0], address });
  const entries = parseRegister(
    "intro\n\n- CKV_AWS_158 (aws_cloudwatch_log_group): reason, revisit.\n- CKV_AWS_21 (storage/aws_s3_bucket.logs_bucket): reason, revisit.\n",
  );

  it("fails on an unlisted finding, naming it", () => {
    const { unlisted } = reconcile(
      [f("CKV_AWS_158", "api/aws_cloudwatch_log_group.x"), f("CKV_AWS_21", "storage/aws_s3_bucket.static_bucket")],
      entries,
    );
    expect(unlisted).toEqual([f("CKV_AWS_21", "storage/aws_s3_bucket.static_bucket")]);
  });

  it("fails on a stale entry whose finding is gone", () => {
    const { stale } = reconcile([f("CKV_AWS_158", "api/aws_cloudwatch_log_group.x")], entries);
    expect(stale.map((e) => e.scope)).toEqual(["storage/aws_s3_bucket.logs_bucket"]);
  });

  it("a type scope covers every resource of the type, an address scope only that resource", () => {
    expect(covers(entries[0], f("CKV_AWS_158", "compute/aws_cloudwatch_log_group.y"))).toBe(true);
    expect(covers(entries[1], f("CKV_AWS_21", "storage/aws_s3_bucket.logs_bucket"))).toBe(true);
    expect(covers(entries[1], f("CKV_AWS_21", "storage/aws_s3_bucket.backups_bucket"))).toBe(false);
  });

  it("refuses a list item without the entry's shape, naming the line", () => {
    expect(() => parseRegister("x\n- CKV_AWS_1 missing scope\n")).toThrow(/line 2: "- CKV_AWS_1 missing scope" is not/);
  });
});
