/**
 * Deploy-permission sufficiency: every role, simulated with a real IAM evaluator (@cloud-copilot/iam-simulate)
 * against what it will be asked to do, in every environment constructs/config/environments.ts exports (the
 * `environments` map and the shipped examples, `scaled` among them), and in variants of them with the options
 * no shipped environment turns on (the web ACL, NAT egress, a cache replication group). A failure lists each
 * denied `action on ARN (who asks)`; zero denials is the only pass. docs/iam-sufficiency.md explains the
 * action map, the ARNs and their placeholders.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { EnvironmentConfig, environments, topologyOf } from "../../constructs/config/environments";
import { ciRoleName, fleetRoleName, instanceRoleName } from "../../constructs/config/naming";
import {
  MissingTypeError,
  REFRESH_COMMAND,
  TypeKind,
  invalidActions,
  typeActions,
  vendoredTypes,
} from "../../constructs/builders/iam/action-map";
import {
  ROLE_SCRIPTS,
  awsCliCommands,
  callRequests,
  fleetCalls,
  instanceCalls,
  releaseCalls,
  deployCalls,
} from "../../scripts/tools/iam/calls";
import { cliRequests } from "../../constructs/builders/iam/cli-map";
import { conditionKeyProblems, oidcProviderKeys } from "../../scripts/tools/iam/condition-keys";
import { deployRequests, planRequests, tfcRunRequests } from "../../scripts/tools/iam/roles";
import { simResources } from "../../constructs/builders/iam/resources";
import {
  PolicyDoc,
  PolicyStatement,
  RolePolicies,
  SimRequest,
  denials,
  formatDenial,
  resourceRequests,
  rolePolicies,
} from "../../scripts/tools/iam/simulate";
import { shippedEnvironments, variantEnvironments } from "../../scripts/tools/iam/types";
import { packerBuildRequests, readPackerSource } from "../../constructs/builders/iam/packer";
import {
  HTTPS_CONTEXT,
  S3_ENDPOINT_ID,
  bucketPolicies,
  withBucketPolicies,
} from "../../scripts/tools/iam/bucket-policies";
import { parsePolicy } from "../helpers/policy";
import { synthAll } from "../helpers/synth";
import { tfcRoleName } from "../../constructs/config/terraform-cloud";
import { TfDocument } from "../../constructs/builders/iam/tf-document";
import { amiConsumerGroups } from "../../constructs/builders/deploy-role-policy";

const REPO_ROOT = join(__dirname, "..", "..");

// A simulation of a whole environment evaluates about a thousand requests: seconds alone, more on a loaded
// machine. This is a hang guard, not a speed assertion (speed is reported in docs/iam-sufficiency.md).
jest.setTimeout(120_000);

/** Every IAM policy document in the synthesized stacks: identity, trust and bucket policies. */
const POLICY_ATTRIBUTES: Array<[string, string]> = [
  ["aws_iam_policy", "policy"],
  ["aws_iam_role_policy", "policy"],
  ["aws_iam_role", "assume_role_policy"],
  ["aws_s3_bucket_policy", "policy"],
];

/** Whether the environment runs the box: single-box, or scaled while keepBox holds. */
const hasBox = (env: EnvironmentConfig) => {
  const t = topologyOf(env);
  return t.kind === "single-box" || t.keepBox;
};

const denied = async (role: RolePolicies, requests: SimRequest[]) => (await denials(role, requests)).map(formatDenial);

/**
 * A copy of the role's policies with `action` taken out of the statement `sid`, or, when `sid` is an action,
 * out of every statement that grants it (the deploy role's generated statements), on the resources that
 * contain `on` only (the statement's other resources keep the action).
 */
function withoutGrant(role: RolePolicies, sid: string, action: string, on?: string): RolePolicies {
  const copy: RolePolicies = JSON.parse(JSON.stringify(role));
  let removed = 0;
  const byAction = sid === action;
  for (const p of copy.policies) {
    const stmts = Array.isArray(p.policy.Statement) ? p.policy.Statement : [p.policy.Statement];
    const added: PolicyStatement[] = [];
    for (const st of stmts) {
      const before = ([] as string[]).concat(st.Action as string | string[]);
      if (!(byAction ? st.Effect === "Allow" && before.includes(action) : st.Sid === sid)) continue;
      const resources = ([] as string[]).concat(st.Resource as string | string[]);
      if (on !== undefined && !resources.some((r) => r.includes(on))) continue;
      st.Action = before.filter((a) => a !== action);
      removed += before.length - (st.Action as string[]).length;
      const kept = on === undefined ? [] : resources.filter((r) => !r.includes(on));
      if (kept.length) added.push({ ...st, Sid: `${st.Sid}Kept`, Action: [action], Resource: kept });
    }
    if (added.length) p.policy.Statement = [...stmts, ...added];
  }
  if (removed !== 1) throw new Error(`expected exactly one ${action} in statement ${sid}, removed ${removed}`);
  return copy;
}

/** The shipped environments, and the variants that turn on what none of them does (scripts/tools/iam/types.ts). */
const SIMULATED: Array<[string, EnvironmentConfig]> = [
  ...shippedEnvironments().map((e) => [e.name, e] as [string, EnvironmentConfig]),
  ...Object.entries(variantEnvironments()),
];

describe.each(SIMULATED)("IAM sufficiency (%s)", (_name, env) => {
  let stacks: Record<string, TfDocument>;
  const role = (name: string) => rolePolicies(stacks, name, env.accountId);
  /** S3 requests with their bucket's policy (synthesized, or backend.tf.json for the state bucket), over HTTPS. */
  const viaBuckets = (requests: SimRequest[], context: Record<string, string> = HTTPS_CONTEXT) => {
    const out = withBucketPolicies(requests, bucketPolicies(stacks), context);
    expect(out.some((r) => r.resourcePolicy)).toBe(true);
    return out;
  };
  /** The box reaches S3 through the VPC's gateway endpoint, which the bucket policies pin (aws:SourceVpce). */
  const viaEndpoint = { ...HTTPS_CONTEXT, "aws:SourceVpce": S3_ENDPOINT_ID };
  beforeAll(() => {
    stacks = synthAll(env).stacks;
  });

  it("every synthesized AWS resource and data source type has an IAM action map entry", () => {
    const missing: string[] = [];
    for (const [name, stack] of Object.entries(stacks)) {
      for (const kind of ["resource", "data"] as TypeKind[]) {
        for (const type of Object.keys(stack[kind] ?? {}).filter((t) => t.startsWith("aws_"))) {
          try {
            typeActions(kind, type);
          } catch (e) {
            if (!(e instanceof MissingTypeError)) throw e;
            missing.push(`${name}: ${e.message}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("deploy role: applies (read, create, update, delete, tag) every stack but cicd, with its state", async () => {
    const requests = await deployRequests(stacks, env);
    expect(requests.length).toBeGreaterThan(500);
    expect(await denied(role(ciRoleName(env, "deploy")), viaBuckets(requests))).toEqual([]);
  });

  it("plan role: plans every stack, reading remote state and taking both locks", async () => {
    const requests = await planRequests(stacks, env);
    expect(requests.some((r) => r.resource.endsWith(".tfstate.tflock") && r.action === "s3:PutObject")).toBe(true);
    expect(requests.some((r) => r.action === "dynamodb:PutItem")).toBe(true);
    expect(await denied(role(ciRoleName(env, "plan")), viaBuckets(requests))).toEqual([]);
  });

  it("deploy role: deploy-stacks.sh's deploy durations (PutMetricData in Zmanim/Deploy only)", async () => {
    const deploy = role(ciRoleName(env, "deploy"));
    const metrics = deployCalls(env, stacks).filter((c) => c.script === "scripts/ci/deploy-stacks.sh");
    expect(metrics.map((c) => [c.action, c.resource, c.context?.["cloudwatch:namespace"]])).toEqual([
      ["cloudwatch:PutMetricData", "*", "Zmanim/Deploy"],
    ]);
    expect(await denied(deploy, callRequests(env, deployCalls(env, stacks)))).toEqual([]);
    const elsewhere = cliRequests(
      ["cloudwatch", "put-metric-data", "--namespace", "Zmanim/Other", "--metric-data", "[]"],
      env,
    );
    expect(await denied(deploy, elsewhere)).toEqual([
      `cloudwatch:PutMetricData on * (aws cloudwatch put-metric-data): ImplicitlyDenied`,
    ]);
  });

  it("the groups whose instance refreshes the deploy role waits for are those ami-consumers.js prints", () => {
    const consumers = require("../../scripts/ci/ami-consumers.js") as {
      amiGroups: (stacks: Array<[string, unknown]>) => string[];
    };
    const groups = consumers.amiGroups(Object.entries(stacks).map(([n, tf]) => [`zmanim-${env.name}-${n}`, tf]));
    expect(amiConsumerGroups(stacks)).toEqual(groups);
    expect(groups).toEqual(topologyOf(env).kind === "scaled" ? [`zmanim-${env.name}-api`] : []);
    const waits = deployCalls(env, stacks).filter((c) => c.script === "scripts/ci/wait-instance-refresh.sh");
    expect(waits.map((c) => `${c.action} ${c.resource}`)).toEqual(
      groups.map(() => "autoscaling:DescribeInstanceRefreshes *"),
    );
  });

  it("release role: what release-api.sh, ssm-restart.sh and static-site-sync.sh call", async () => {
    expect(await denied(role(ciRoleName(env, "release")), viaBuckets(callRequests(env, releaseCalls(env))))).toEqual(
      [],
    );
  });

  it("instance role: what the box's scripts, restic and the agents call (where a box runs)", async () => {
    if (!hasBox(env)) {
      expect(() => role(instanceRoleName(env))).toThrow(/no aws_iam_role named/);
      return;
    }
    expect(
      await denied(role(instanceRoleName(env)), viaBuckets(callRequests(env, instanceCalls(env)), viaEndpoint)),
    ).toEqual([]);
  });

  it("the bucket policies are evaluated: plain HTTP, and the box outside its VPC endpoint, are denied", async () => {
    const s3Only = (rs: SimRequest[]) =>
      rs.filter((r) => r.action.startsWith("s3:") && r.resource.startsWith("arn:aws:s3:::"));
    const box = s3Only(callRequests(env, instanceCalls(env)));
    const state = s3Only(await planRequests(stacks, env));
    const release = s3Only(callRequests(env, releaseCalls(env)));
    for (const [name, requests, context] of [
      // The box's rows where a box runs (a scaled environment without keepBox has no instance role).
      ...(hasBox(env)
        ? [
            [instanceRoleName(env), box, { ...viaEndpoint, "aws:SecureTransport": "false" }],
            [instanceRoleName(env), box, HTTPS_CONTEXT],
          ]
        : []),
      [ciRoleName(env, "plan"), state, { ...HTTPS_CONTEXT, "aws:SecureTransport": "false" }],
      [ciRoleName(env, "release"), release, { ...HTTPS_CONTEXT, "aws:SecureTransport": "false" }],
    ] as Array<[string, SimRequest[], Record<string, string>]>) {
      expect(requests.length).toBeGreaterThan(0);
      const out = await denials(role(name), viaBuckets(requests, context));
      // Every distinct request is denied, and explicitly (by the bucket policy's Deny, not for want of an Allow).
      expect({ name, context, results: [...new Set(out.map((d) => d.result))], denied: out.length }).toEqual({
        name,
        context,
        results: ["ExplicitlyDenied"],
        denied: new Set(requests.map((r) => `${r.action} ${r.resource} ${JSON.stringify(r.context)}`)).size,
      });
    }
  });

  it("fleet role: what the boot script's api role, update-binary.sh and the agents call (where a fleet runs)", async () => {
    if (topologyOf(env).kind !== "scaled") {
      expect(() => role(fleetRoleName(env))).toThrow(/no aws_iam_role named/);
      return;
    }
    const requests = callRequests(env, fleetCalls(env));
    expect(requests.length).toBeGreaterThan(20);
    const fleet = role(fleetRoleName(env));
    expect(await denied(fleet, requests)).toEqual([]);
    // And nothing of the box's data: restic's bucket and failure mail are denied.
    const boxOnly = callRequests(env, instanceCalls(env)).filter(
      (r) =>
        /^(scripts\/box\/backup\.sh|scripts\/box\/notify-failure\.sh):/.test(r.why) &&
        /^(s3:PutObject|s3:DeleteObject|ses:SendEmail)$/.test(r.action),
    );
    expect(boxOnly.length).toBeGreaterThan(3);
    expect(await denied(fleet, boxOnly)).toHaveLength(boxOnly.length);
  });

  it("every condition key in every policy applies to every action it guards", async () => {
    // The provider is created in one environment of the account and looked up (a data source) in the others.
    const hosts = Object.values(stacks).flatMap((s) =>
      [
        ...Object.values(s.resource?.aws_iam_openid_connect_provider ?? {}),
        ...Object.values(s.data?.aws_iam_openid_connect_provider ?? {}),
      ].map((p) => String(p.url).replace(/^https:\/\//, "")),
    );
    expect(hosts).toEqual(["token.actions.githubusercontent.com"]);
    const problems: string[] = [];
    let checked = 0;
    for (const [name, stack] of Object.entries(stacks)) {
      for (const [type, attr] of POLICY_ATTRIBUTES) {
        for (const [id, body] of Object.entries(stack.resource?.[type] ?? {})) {
          checked++;
          problems.push(
            ...(await conditionKeyProblems(`${name}/${type}.${id}`, parsePolicy(body[attr]), oidcProviderKeys(hosts))),
          );
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(problems).toEqual([]);
  });

  // ---- the findings these tests exist for, one request each ----

  const requestsOf = async (type: string) => {
    const out: SimRequest[] = [];
    for (const [name, stack] of Object.entries(stacks)) {
      for (const r of simResources(name, stack, env.accountId).filter((x) => x.type === type))
        out.push(...(await resourceRequests(r, "apply")));
    }
    return out;
  };

  it("deploy role: CloudFront standard logging v2 (delivery source, destination, delivery in us-east-1)", async () => {
    const requests = [
      ...(await requestsOf("aws_cloudwatch_log_delivery_source")),
      ...(await requestsOf("aws_cloudwatch_log_delivery_destination")),
      ...(await requestsOf("aws_cloudwatch_log_delivery")),
    ];
    const pairs = requests.map((r) => `${r.action} ${r.resource}`);
    const acct = env.accountId;
    expect(pairs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^logs:PutDeliverySource arn:aws:logs:us-east-1:${acct}:delivery-source:`)),
        expect.stringMatching(
          new RegExp(`^logs:PutDeliveryDestination arn:aws:logs:us-east-1:${acct}:delivery-destination:`),
        ),
        expect.stringMatching(new RegExp(`^logs:CreateDelivery arn:aws:logs:us-east-1:${acct}:delivery:`)),
        expect.stringMatching(new RegExp(`^logs:GetDelivery arn:aws:logs:us-east-1:${acct}:delivery:`)),
        expect.stringMatching(new RegExp(`^logs:DeleteDelivery arn:aws:logs:us-east-1:${acct}:delivery:`)),
        expect.stringMatching(/^logs:TagResource /),
        expect.stringMatching(/^logs:DescribeDeliveries \*$/),
      ]),
    );
    expect(await denied(role(ciRoleName(env, "deploy")), requests)).toEqual([]);
  });

  it("deploy role: the RDS instance with the RDS-managed master password: its secret, its key, and the groups it names or implies", async () => {
    const db = await requestsOf("aws_db_instance");
    if (topologyOf(env).kind !== "scaled") {
      expect(db).toEqual([]);
      return;
    }
    const [acct, region] = [env.accountId, env.region];
    const pairs = db.map((r) => `${r.action} ${r.resource}`);
    expect(pairs.filter((p) => p.startsWith("rds:CreateDBInstance ")).sort()).toEqual([
      `rds:CreateDBInstance arn:aws:rds:${region}:${acct}:db:zmanim-${env.name}-postgres`,
      // No option_group_name: RDS uses the engine's default option group, and authorizes the create on it.
      `rds:CreateDBInstance arn:aws:rds:${region}:${acct}:og:default:postgres-16`,
      `rds:CreateDBInstance arn:aws:rds:${region}:${acct}:pg:zmanim-${env.name}-postgres-pg16-20261127000000000000000001`,
      `rds:CreateDBInstance arn:aws:rds:${region}:${acct}:subgrp:zmanim-${env.name}-postgres`,
    ]);
    // manage_master_user_password: RDS creates the secret with the caller's rights, under aws/secretsmanager.
    expect(pairs).toEqual(
      expect.arrayContaining([
        `kms:DescribeKey arn:aws:kms:${region}:${acct}:key/0123abcd-4567-89ef-0123-456789abcdef`,
        `secretsmanager:CreateSecret arn:aws:secretsmanager:${region}:${acct}:secret:rds!db-0123abcd-4567-89ef-0123-456789abcdef-AbCdEf`,
        `secretsmanager:TagResource arn:aws:secretsmanager:${region}:${acct}:secret:rds!db-0123abcd-4567-89ef-0123-456789abcdef-AbCdEf`,
      ]),
    );
    expect(await denied(role(ciRoleName(env, "deploy")), db)).toEqual([]);
  });

  it("deploy role: a group with a launch template: ec2:RunInstances on the template and iam:PassRole of its instance profile's role", async () => {
    const asg = (await requestsOf("aws_autoscaling_group")).filter((r) =>
      /^(ec2:RunInstances|iam:PassRole)$/.test(r.action),
    );
    if (topologyOf(env).kind !== "scaled") {
      expect(asg).toEqual([]);
      return;
    }
    expect(asg.map((r) => `${r.action} ${r.resource}`)).toEqual(
      expect.arrayContaining([
        `ec2:RunInstances arn:aws:ec2:${env.region}:${env.accountId}:launch-template/lt-0123456789abcdef0`,
        `ec2:RunInstances arn:aws:ec2:${env.region}:${env.accountId}:volume/vol-0123456789abcdef0`,
        `iam:PassRole arn:aws:iam::${env.accountId}:role/${fleetRoleName(env)}`,
      ]),
    );
    expect(await denied(role(ciRoleName(env, "deploy")), asg)).toEqual([]);
  });

  it("deploy role: Cost Explorer and Budgets are asked for in us-east-1 (their only endpoint), whatever the stack's region", async () => {
    const billing = [
      ...(await requestsOf("aws_ce_anomaly_monitor")),
      ...(await requestsOf("aws_ce_anomaly_subscription")),
      ...(await requestsOf("aws_budgets_budget")),
    ];
    expect(billing.length).toBeGreaterThan(10);
    expect([...new Set(billing.map((r) => r.context["aws:RequestedRegion"]))]).toEqual(["us-east-1"]);
    const deploy = role(ciRoleName(env, "deploy"));
    expect(await denied(deploy, billing)).toEqual([]);
    // The creates are granted on `*` in us-east-1 only: asked for in the environment's region, they are denied.
    const creates = billing.filter((r) => /^ce:CreateAnomaly(Monitor|Subscription)$/.test(r.action));
    expect(env.region).not.toBe("us-east-1");
    const regional = creates.map((r) => ({ ...r, context: { ...r.context, "aws:RequestedRegion": env.region } }));
    expect(await denied(deploy, regional)).toEqual([
      "ce:CreateAnomalyMonitor on * (monitoring/aws_ce_anomaly_monitor.anomaly-monitor): ImplicitlyDenied",
      "ce:CreateAnomalySubscription on * (monitoring/aws_ce_anomaly_subscription.anomaly-subscription): ImplicitlyDenied",
    ]);
  });

  it("deploy role: the auto-recover alarm creates the AWSServiceRoleForCloudWatchEvents service-linked role", async () => {
    const slr = (await requestsOf("aws_cloudwatch_metric_alarm")).filter(
      (r) => r.action === "iam:CreateServiceLinkedRole",
    );
    if (!hasBox(env)) {
      expect(slr).toEqual([]); // the auto-recover alarm is the box's
      return;
    }
    expect(slr.map((r) => [r.resource, r.context["iam:AWSServiceName"]])).toEqual([
      [
        `arn:aws:iam::${env.accountId}:role/aws-service-role/events.amazonaws.com/AWSServiceRoleForCloudWatchEvents`,
        "events.amazonaws.com",
      ],
    ]);
    expect(await denied(role(ciRoleName(env, "deploy")), slr)).toEqual([]);
  });

  it("instance role: failure mail in the SES sandbox (recipient identity), and only from its own address to the alarm recipient", async () => {
    if (!hasBox(env)) {
      // No box, no failure mail: only the box's scripts send it, and its role is absent.
      expect(() => role(instanceRoleName(env))).toThrow(/no aws_iam_role named/);
      return;
    }
    const mail = callRequests(env, instanceCalls(env)).filter((r) => r.action === "ses:SendEmail");
    expect(mail.map((r) => r.resource)).toContain(
      `arn:aws:ses:${env.region}:${env.accountId}:identity/${env.alarmEmail}`,
    );
    const instance = role(instanceRoleName(env));
    expect(await denied(instance, mail)).toEqual([]);
    const spoofed = mail.map((r) => ({
      ...r,
      context: { ...r.context, "ses:FromAddress": `ceo@${env.domain.siteName}` },
    }));
    const elsewhere = mail.map((r) => ({ ...r, context: { ...r.context, "ses:Recipients": ["someone@example.com"] } }));
    expect(await denied(instance, spoofed)).toHaveLength(mail.length);
    expect(await denied(instance, elsewhere)).toHaveLength(mail.length);
  });
});

describe("IAM sufficiency: the AMI build (ami.yml runs Packer with the deploy role)", () => {
  const env = environments.prod;
  const template = join(REPO_ROOT, "packer", "zmanim-ami.pkr.hcl");
  let deploy: RolePolicies;
  beforeAll(() => {
    deploy = rolePolicies(synthAll(env).stacks, ciRoleName(env, "deploy"), env.accountId);
  });

  it("ami.yml assumes the deploy role, in the environment's region and account", () => {
    const workflow = readFileSync(join(REPO_ROOT, ".github", "workflows", "ami.yml"), "utf8");
    expect(workflow).toContain(
      "role-to-assume: arn:aws:iam::${{ env.AWS_ACCOUNT_ID }}:role/zmanim-${{ env.ZMANIM_ENV }}-gha-deploy",
    );
    expect(workflow).toMatch(new RegExp(`AWS_REGION: ${env.region}\\b`));
    expect(workflow).toContain(`AWS_ACCOUNT_ID: "${env.accountId}"`);
    expect(workflow).toContain(`ZMANIM_ENV: ${env.name}`);
  });

  it("every EC2 call of the build is allowed, the encrypt_boot cleanup of the intermediary image included", async () => {
    const src = readPackerSource(template);
    expect(src.encryptBoot).toBe(true);
    // The parse reads every tag map (a failed parse would simulate an untagged build).
    expect([src.runTags, src.tags, src.snapshotTags].map((t) => t.Project)).toEqual(["zmanim", "zmanim", "zmanim"]);
    const requests = await packerBuildRequests(src, env);
    const cleanup = requests.filter((r) => r.why.includes("encrypt_boot cleanup")).map((r) => r.action);
    expect(cleanup.sort()).toEqual(["ec2:DeleteSnapshot", "ec2:DeregisterImage"]);
    expect(await denied(deploy, requests)).toEqual([]);
  });

  it("without Project=zmanim in run_tags, the Deny blocks the cleanup of the intermediary image and the build instance", async () => {
    const src = readPackerSource(template);
    const { Project: _dropped, ...runTags } = src.runTags;
    const out = await denied(deploy, await packerBuildRequests({ ...src, runTags }, env));
    expect(out).toEqual([
      `ec2:StopInstances on arn:aws:ec2:${env.region}:${env.accountId}:instance/i-0ddddddddddddddd0 (packer: stop the instance): ExplicitlyDenied`,
      `ec2:DeregisterImage on arn:aws:ec2:${env.region}::image/ami-0bbbbbbbbbbbbbbb0 (packer: encrypt_boot cleanup: deregister the intermediary image): ExplicitlyDenied`,
      `ec2:DeleteSnapshot on arn:aws:ec2:${env.region}::snapshot/snap-0bbbbbbbbbbbbbbb0 (packer: encrypt_boot cleanup: delete the intermediary snapshot): ExplicitlyDenied`,
      `ec2:TerminateInstances on arn:aws:ec2:${env.region}:${env.accountId}:instance/i-0ddddddddddddddd0 (packer: cleanup: terminate the build instance): ExplicitlyDenied`,
    ]);
  });

  it("ami.yml's own calls: the release it bakes in, the AMI parameter read and its rollback write", async () => {
    const releases = `zmanim-${env.name}-releases-${env.accountId}`;
    const calls = [
      ["s3", "cp", `s3://${releases}/latest.txt`, "-"],
      ["s3", "cp", "--no-progress", `s3://${releases}/zmanim-api-v1.5.0`, "build/zmanim-api"],
      [
        "ssm",
        "get-parameter",
        "--name",
        `/zmanim/${env.name}/ami-id`,
        "--query",
        "Parameter.Value",
        "--output",
        "text",
      ],
      [
        "ssm",
        "put-parameter",
        "--name",
        `/zmanim/${env.name}/ami-id`,
        "--type",
        "String",
        "--overwrite",
        "--value",
        "ami-0123",
      ],
    ];
    const requests = calls.flatMap((c) => cliRequests(c, env));
    expect(requests.map((r) => `${r.action} ${r.resource}`)).toContain(
      `ssm:PutParameter arn:aws:ssm:${env.region}:${env.accountId}:parameter/zmanim/${env.name}/ami-id`,
    );
    expect(await denied(deploy, requests)).toEqual([]);
  });
});

describe("IAM sufficiency: waiting for the fleet's instance refresh (deploy.yml and ami.yml, deploy role)", () => {
  it("in scaled, the deploy role may read the group's instance refreshes, as wait-instance-refresh.sh asks", async () => {
    const env = environments.scaled;
    const deploy = rolePolicies(synthAll(env).stacks, ciRoleName(env, "deploy"), env.accountId);
    const call = [
      "autoscaling",
      "describe-instance-refreshes",
      "--auto-scaling-group-name",
      `zmanim-${env.name}-api`,
      "--max-records",
      "10",
      "--output",
      "json",
    ];
    const requests = cliRequests(call, env);
    expect(requests.map((r) => `${r.action} ${r.resource} ${r.context["aws:RequestedRegion"]}`)).toEqual([
      `autoscaling:DescribeInstanceRefreshes * ${env.region}`,
    ]);
    expect(await denied(deploy, requests)).toEqual([]);
    // Granted in the region only.
    const elsewhere = requests.map((r) => ({ ...r, context: { ...r.context, "aws:RequestedRegion": "us-west-2" } }));
    expect(await denied(deploy, elsewhere)).toEqual([
      "autoscaling:DescribeInstanceRefreshes on * (aws autoscaling describe-instance-refreshes): ImplicitlyDenied",
    ]);
  });

  it("in prod (no fleet, so no group to wait for) the deploy role is not granted it", async () => {
    const env = environments.prod;
    const deploy = rolePolicies(synthAll(env).stacks, ciRoleName(env, "deploy"), env.accountId);
    const requests = cliRequests(
      ["autoscaling", "describe-instance-refreshes", "--auto-scaling-group-name", `zmanim-${env.name}-api`],
      env,
    );
    expect(await denied(deploy, requests)).toEqual([
      "autoscaling:DescribeInstanceRefreshes on * (aws autoscaling describe-instance-refreshes): ImplicitlyDenied",
    ]);
  });
});

describe("IAM sufficiency: the action map", () => {
  it("holds only IAM actions (corrections in constructs/builders/iam/data/overrides.json)", async () => {
    expect(vendoredTypes().length).toBeGreaterThan(80);
    expect(await invalidActions()).toEqual([]);
  });
});

describe("IAM sufficiency: the call lists match the scripts", () => {
  const env = environments.prod;
  // The deploy role's scripts in scaled: the topology with a fleet, where wait-instance-refresh.sh has a group to wait for.
  const scaled = environments.scaled;
  it.each(Object.entries(ROLE_SCRIPTS))(
    "%s role: every `aws` command of its scripts is simulated, and nothing else",
    (kind, scripts) => {
      const calls =
        kind === "release"
          ? releaseCalls(env)
          : kind === "deploy"
            ? deployCalls(scaled, synthAll(scaled).stacks)
            : instanceCalls(env);
      for (const script of scripts) {
        const inScript = awsCliCommands(readFileSync(join(REPO_ROOT, script), "utf8"));
        const listed = [...new Set(calls.filter((c) => c.script === script).map((c) => c.cli))].sort();
        expect({ script, commands: listed.filter((c) => !c.startsWith("restic")) }).toEqual({
          script,
          commands: inScript,
        });
      }
    },
  );

  it("maps recorded CLI calls to IAM requests, and refuses a command it has no mapping for", () => {
    const pairs = (argv: string[]) => cliRequests(argv, env).map((r) => `${r.action} ${r.resource}`);
    expect(pairs(["s3", "cp", "s3://b/latest.txt", "-"])).toEqual([
      "s3:GetObject arn:aws:s3:::b/latest.txt",
      "s3:ListBucket arn:aws:s3:::b",
    ]);
    expect(pairs(["s3", "cp", "/tmp/x", "s3://b/k", "--no-progress"])).toEqual(["s3:PutObject arn:aws:s3:::b/k"]);
    expect(() => cliRequests(["--region", "eu-west-1", "ec2", "terminate-instances"], env)).toThrow(
      "no IAM mapping for `aws ec2 terminate-instances`: add it to constructs/builders/iam/cli-map.ts",
    );
  });

  it("finds commands behind global options, and skips comments", () => {
    const text = [
      'aws --region "$R" ssm get-parameter --name x',
      'x=$(aws "${args[@]}" s3 cp a b)',
      "# aws ec2 terminate-instances",
      "aws --version",
    ].join("\n");
    expect(awsCliCommands(text)).toEqual(["s3 cp", "ssm get-parameter"]);
  });
});

describe("IAM sufficiency: the tests fail, naming the action and the ARN", () => {
  const env = environments.prod;
  let stacks: Record<string, TfDocument>;
  beforeAll(() => {
    stacks = synthAll(env).stacks;
  });

  it("a grant taken from the deploy role is reported as the exact action on the exact ARN", async () => {
    const deploy = withoutGrant(
      rolePolicies(stacks, ciRoleName(env, "deploy"), env.accountId),
      "logs:CreateDelivery",
      "logs:CreateDelivery",
    );
    const out = await denied(deploy, await deployRequests(stacks, env));
    expect(out).toEqual([
      expect.stringMatching(
        new RegExp(
          `^logs:CreateDelivery on arn:aws:logs:us-east-1:${env.accountId}:delivery:\\S+ \\(cdn/aws_cloudwatch_log_delivery\\.`,
        ),
      ),
      `logs:CreateDelivery on arn:aws:logs:us-east-1:${env.accountId}:delivery-destination:zmanim-prod-cloudfront-s3 (cdn/aws_cloudwatch_log_delivery.access-log-delivery): ImplicitlyDenied`,
      `logs:CreateDelivery on arn:aws:logs:us-east-1:${env.accountId}:delivery-source:zmanim-prod-cloudfront (cdn/aws_cloudwatch_log_delivery.access-log-delivery): ImplicitlyDenied`,
      // The monitoring stack's second delivery of the same source, to the edge-metrics log group.
      expect.stringMatching(
        new RegExp(
          `^logs:CreateDelivery on arn:aws:logs:us-east-1:${env.accountId}:delivery:\\S+ \\(monitoring/aws_cloudwatch_log_delivery\\.edge-log-delivery\\)`,
        ),
      ),
      `logs:CreateDelivery on arn:aws:logs:us-east-1:${env.accountId}:delivery-destination:zmanim-prod-cloudfront-cwl (monitoring/aws_cloudwatch_log_delivery.edge-log-delivery): ImplicitlyDenied`,
      `logs:CreateDelivery on arn:aws:logs:us-east-1:${env.accountId}:delivery-source:zmanim-prod-cloudfront (monitoring/aws_cloudwatch_log_delivery.edge-log-delivery): ImplicitlyDenied`,
    ]);
  });

  it("the plan role without its lock-file grant cannot take the S3 lock of any stack", async () => {
    const plan = withoutGrant(
      rolePolicies(stacks, ciRoleName(env, "plan"), env.accountId),
      "StateLockFiles",
      "s3:PutObject",
    );
    const out = await denied(plan, await planRequests(stacks, env));
    const st = env.state.kind === "s3" ? env.state.bucket : "";
    expect(out.sort()).toEqual(
      Object.keys(stacks)
        .sort()
        .map(
          (n) =>
            `s3:PutObject on arn:aws:s3:::${st}/prod/${n}.tfstate.tflock (${n}: terraform state lock file): ImplicitlyDenied`,
        ),
    );
  });

  it("the release role without CreateInvalidation, the instance role without restic's DeleteObject", async () => {
    const release = withoutGrant(
      rolePolicies(stacks, ciRoleName(env, "release"), env.accountId),
      "Invalidate",
      "cloudfront:CreateInvalidation",
    );
    expect(await denied(release, callRequests(env, releaseCalls(env)))).toEqual([
      `cloudfront:CreateInvalidation on arn:aws:cloudfront::${env.accountId}:distribution/E2QWRUHAPOMQZL (scripts/ci/static-site-sync.sh: cloudfront create-invalidation): ImplicitlyDenied`,
    ]);
    const box = withoutGrant(
      rolePolicies(stacks, instanceRoleName(env), env.accountId),
      "BackupsObjects",
      "s3:DeleteObject",
    );
    expect(await denied(box, callRequests(env, instanceCalls(env)))).toEqual([
      `s3:DeleteObject on arn:aws:s3:::zmanim-prod-backups-${env.accountId}/locks/0123abcd (scripts/box/backup.sh: restic): ImplicitlyDenied`,
    ]);
  });

  it("the SLR grant without events.amazonaws.com fails the auto-recover alarm", async () => {
    const deploy = rolePolicies(stacks, ciRoleName(env, "deploy"), env.accountId);
    const copy: RolePolicies = JSON.parse(JSON.stringify(deploy));
    let taken = 0;
    for (const p of copy.policies) {
      const stmts = ([] as PolicyStatement[]).concat(p.policy.Statement);
      const keep = stmts.filter((st) => st.Condition?.StringEquals?.["iam:AWSServiceName"] !== "events.amazonaws.com");
      taken += stmts.length - keep.length;
      p.policy.Statement = keep;
    }
    expect(taken).toBe(1);
    expect(await denied(copy, await deployRequests(stacks, env))).toEqual([
      `iam:CreateServiceLinkedRole on arn:aws:iam::${env.accountId}:role/aws-service-role/events.amazonaws.com/AWSServiceRoleForCloudWatchEvents (compute/aws_cloudwatch_metric_alarm.auto-recover): ImplicitlyDenied`,
    ]);
  });

  it("the variants: without the web ACL grant, or the default parameter group grant, the deploy role is denied exactly that", async () => {
    const variants = variantEnvironments();
    const waf = variants["prod+waf"];
    const wafStacks = synthAll(waf).stacks;
    const noCreate = withoutGrant(
      rolePolicies(wafStacks, ciRoleName(waf, "deploy"), waf.accountId),
      "wafv2:CreateWebACL",
      "wafv2:CreateWebACL",
    );
    expect(await denied(noCreate, await deployRequests(wafStacks, waf))).toEqual([
      `wafv2:CreateWebACL on arn:aws:wafv2:us-east-1:${waf.accountId}:global/webacl/zmanim-prod-edge/ABCDEF0123456789 (cdn/aws_wafv2_web_acl.web-acl): ImplicitlyDenied`,
    ]);
    const rg = variants["scaled+nat+replication-group+box"];
    const rgStacks = synthAll(rg).stacks;
    const noDefaultPg = withoutGrant(
      rolePolicies(rgStacks, ciRoleName(rg, "deploy"), rg.accountId),
      "elasticache:CreateReplicationGroup",
      "elasticache:CreateReplicationGroup",
      ":parametergroup:default.",
    );
    expect(await denied(noDefaultPg, await deployRequests(rgStacks, rg))).toEqual([
      `elasticache:CreateReplicationGroup on arn:aws:elasticache:${rg.region}:${rg.accountId}:parametergroup:default.valkey8 (data/aws_elasticache_replication_group.cache): ImplicitlyDenied`,
    ]);
  });

  it("a type without a map entry fails, naming the type and the refresh command", () => {
    expect(() => typeActions("resource", "aws_imaginary_widget")).toThrow(MissingTypeError);
    expect(() => typeActions("resource", "aws_imaginary_widget")).toThrow(
      `no IAM action map for resource type aws_imaginary_widget: run \`${REFRESH_COMMAND}\``,
    );
  });

  it("a condition key the action does not support is reported", async () => {
    const policy: PolicyDoc = {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "Wrong",
          Effect: "Allow",
          Action: ["logs:PutLogEvents"],
          Resource: "*",
          Condition: { StringEquals: { "cloudwatch:namespace": "x" } },
        },
      ],
    };
    expect(await conditionKeyProblems("p", policy)).toEqual([
      "p Wrong: condition key cloudwatch:namespace does not apply to logs:PutLogEvents",
    ]);
  });
});

/**
 * Terraform Cloud runs (constructs/tfc-workload-identity.ts): the apply role applies, and the plan role plans,
 * every remote-execution workspace's stack, with the policies they share with the GitHub deploy and plan roles.
 */
describe.each([
  ["prod", environments.prod],
  ["scaled", environments.scaled],
])("IAM sufficiency, Terraform Cloud runs (%s)", (_name, base) => {
  const env: EnvironmentConfig = {
    ...base,
    state: { kind: "cloud", organization: "shtetl", workspacePrefix: `zmanim-${base.name}-` },
  };
  let stacks: Record<string, TfDocument>;
  beforeAll(() => {
    stacks = synthAll(env).stacks;
  });

  it("apply role: applies every stack but cicd; no AWS state calls (state is in Terraform Cloud)", async () => {
    const requests = await tfcRunRequests(stacks, env, "apply");
    expect(requests.length).toBeGreaterThan(500);
    expect(requests.filter((r) => r.why.includes("terraform state"))).toEqual([]);
    const role = rolePolicies(stacks, tfcRoleName(env, "apply"), env.accountId);
    expect(await denied(role, withBucketPolicies(requests, bucketPolicies(stacks), HTTPS_CONTEXT))).toEqual([]);
    // The simulation can fail: without the generated documents that grant ec2:RunInstances, the apply role
    // cannot launch the box or the fleet (nor what else those documents grant).
    const statementsOf = (p: RolePolicies["policies"][number]) => ([] as PolicyStatement[]).concat(p.policy.Statement);
    const runs = (p: RolePolicies["policies"][number]) =>
      statementsOf(p).some(
        (st) =>
          st.Effect === "Allow" && ([] as string[]).concat(st.Action as string | string[]).includes("ec2:RunInstances"),
      );
    const lessened = { ...role, policies: role.policies.filter((p) => !runs(p)) };
    expect(role.policies.filter(runs).map((p) => p.name)).toEqual([
      expect.stringMatching(/^cicd\/tfc_apply_grants-\d$/),
    ]);
    const out = await denied(lessened, requests);
    expect(out.length).toBeGreaterThan(10);
    expect(out).toEqual(expect.arrayContaining([expect.stringMatching(/^ec2:RunInstances on arn:aws:ec2:/)]));
  });

  it("the trust policies' condition keys (app.terraform.io:aud, :sub) apply to sts:AssumeRoleWithWebIdentity", async () => {
    const roles = stacks.cicd.resource?.aws_iam_role ?? {};
    const problems: string[] = [];
    for (const id of ["tfc_plan", "tfc_apply"]) {
      problems.push(
        ...(await conditionKeyProblems(
          id,
          parsePolicy(roles[id].assume_role_policy),
          oidcProviderKeys(["app.terraform.io"]),
        )),
      );
    }
    expect(problems).toEqual([]);
    expect(await conditionKeyProblems("tfc_plan", parsePolicy(roles.tfc_plan.assume_role_policy))).not.toEqual([]);
  });

  it("plan role: plans every stack but cicd", async () => {
    const requests = await tfcRunRequests(stacks, env, "plan");
    expect(requests.length).toBeGreaterThan(100);
    const role = rolePolicies(stacks, tfcRoleName(env, "plan"), env.accountId);
    expect(await denied(role, withBucketPolicies(requests, bucketPolicies(stacks), HTTPS_CONTEXT))).toEqual([]);
  });
});
