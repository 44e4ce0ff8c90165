/**
 * Evaluates what a role will be asked to do against its policies with @cloud-copilot/iam-simulate, the
 * way IAM does (explicit Deny, Allow, resource ARNs, conditions), and returns every request it denies.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { runSimulation, runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { SimResource, resolve } from "../../../constructs/builders/iam/resources";
import { Phase, SimRequest, resourceRequestsSync } from "../../../constructs/builders/iam/requests";

export { baseContext, resourceRequestsSync } from "../../../constructs/builders/iam/requests";
export type { Phase, SimRequest } from "../../../constructs/builders/iam/requests";
import type { PolicyDocument as PolicyDoc } from "../../../constructs/builders/iam/policy-types";
import { TfDocument } from "../../../constructs/builders/iam/tf-document";

export type {
  PolicyDocument as PolicyDoc,
  Statement as PolicyStatement,
} from "../../../constructs/builders/iam/policy-types";

export interface RolePolicies {
  roleName: string;
  account: string;
  policies: Array<{ name: string; policy: PolicyDoc }>;
}

/** AWS managed policies the evaluator knows, vendored under data/managed (see docs/iam-sufficiency.md). */
export const MANAGED_POLICIES: Record<string, string> = {
  "arn:aws:iam::aws:policy/ReadOnlyAccess": join(
    __dirname,
    "..",
    "..",
    "..",
    "constructs",
    "builders",
    "iam",
    "data",
    "managed",
    "ReadOnlyAccess.json",
  ),
};

function managedPolicy(arn: string): PolicyDoc {
  const file = MANAGED_POLICIES[arn];
  if (!file)
    throw new Error(
      `managed policy ${arn} is not vendored: add its document under constructs/builders/iam/data/managed/`,
    );
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
      if (resolve(stack, body.role) === roleName)
        policies.push({
          name: `${stackName}/${id}`,
          policy: parseDoc(body.policy, `${stackName}/aws_iam_role_policy.${id}`),
        });
    }
    for (const [id, body] of Object.entries(stack.resource?.aws_iam_role_policy_attachment ?? {})) {
      if (resolve(stack, body.role) !== roleName) continue;
      const arn = String(body.policy_arn);
      const ref = /^\$\{aws_iam_policy\.([A-Za-z0-9_-]+)\.arn\}$/.exec(arn);
      const policy = ref
        ? parseDoc(stack.resource?.aws_iam_policy?.[ref[1]]?.policy, `${stackName}/aws_iam_policy.${ref[1]}`)
        : managedPolicy(arn);
      policies.push({ name: `${stackName}/${id}`, policy });
    }
  }
  if (!found) throw new Error(`no aws_iam_role named ${roleName} in the synthesized stacks`);
  return { roleName, account, policies };
}

export async function resourceRequests(r: SimResource, phase: Phase): Promise<SimRequest[]> {
  return resourceRequestsSync(r, phase);
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
 * KMS authorizes every request against the key policy too. The keys the project uses are AWS managed keys
 * (aws/ssm for SecureString parameters, aws/secretsmanager for the RDS-managed master secret), whose key
 * policies are the same in every account: any principal of the account may use the key through its service
 * (kms:ViaService, kms:CallerAccount), and read its metadata (Describe*, Get*, List*) directly when its IAM
 * policy allows it (the account principal).
 * https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
 */
export function awsManagedKeyPolicy(account: string, region: string, service: string): PolicyDoc {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: `Allow access through ${service} for all principals in the account that are authorized to use ${service}`,
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: [
          "kms:Encrypt",
          "kms:Decrypt",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:CreateGrant",
          "kms:DescribeKey",
        ],
        Resource: "*",
        Condition: {
          StringEquals: { "kms:CallerAccount": account, "kms:ViaService": `${service}.${region}.amazonaws.com` },
        },
      },
      {
        Sid: "Allow direct access to key metadata to the account",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
        Resource: "*",
      },
    ],
  };
}

export const awsSsmKeyPolicy = (account: string, region: string) => awsManagedKeyPolicy(account, region, "ssm");

/** The service of an AWS managed key request: its kms:ViaService host, else the key is aws/ssm's. */
const viaService = (context: Record<string, string | string[]>) => {
  const v = context["kms:ViaService"];
  return typeof v === "string" ? v.split(".")[0] : "ssm";
};

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
        contextVariables: kms
          ? { ...r.context, "kms:CallerAccount": role.account }
          : r.resourcePolicy
            ? { ...r.context, "aws:PrincipalArn": principal }
            : r.context,
      },
      identityPolicies: role.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: kms
        ? awsManagedKeyPolicy(role.account, kmsRegion(r.resource), viaService(r.context))
        : r.resourcePolicy,
    };
    if (r.awsOwned || r.unvalidated) {
      const verdict = runUnsafeSimulation(simulation, {});
      if (verdict !== "Allowed") out.push({ action: r.action, resource: r.resource, why: r.why, result: verdict });
      continue;
    }
    const result = await runSimulation(simulation, {});
    if (result.resultType === "error")
      out.push({
        action: r.action,
        resource: r.resource,
        why: r.why,
        result: `simulation error: ${result.errors.message}`,
      });
    else if (result.overallResult !== "Allowed")
      out.push({ action: r.action, resource: r.resource, why: r.why, result: result.overallResult });
  }
  return out;
}
