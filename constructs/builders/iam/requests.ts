/**
 * What a role is asked to do, as requests (action, resource ARN, request context), for one Terraform
 * resource. Kept free of the evaluator (@cloud-copilot/iam-simulate), so that the deploy role's policy can
 * be generated from the same requests during `cdktf synth` (constructs/builders/deploy-role-policy.ts).
 */
import { actionsFor, ActionSpec } from "./action-map";
import { ArnTarget, arnsOf, fillArn } from "./arns";
import { actionData } from "./iam-data-sync";
import type { SimResource } from "./resources";
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
  /** The ARN is not among the resource types the reference lists for the action (HTTP API paths): evaluated the same way, without input validation. */
  unvalidated?: boolean;
  /** The target's resource policy (a bucket policy), evaluated with the identity policies. */
  resourcePolicy?: PolicyDoc;
  /** The iam-data ARN format `resource` was filled from, and the target that filled it (policy generation). */
  format?: string;
  target?: ArnTarget;
}

/**
 * Services whose API endpoint is in us-east-1 whatever the resource's region: aws:RequestedRegion is
 * us-east-1 for their calls (IAM global condition context keys, "aws:RequestedRegion"). Cost Explorer has the
 * one endpoint ce.us-east-1.amazonaws.com and Budgets the global budgets.amazonaws.com, signed for us-east-1
 * (https://docs.aws.amazon.com/general/latest/gr/billing.html), so the monitoring stack's anomaly monitor,
 * cost allocation tags and budget are asked for in us-east-1 although the stack's provider is regional.
 */
const GLOBAL_SERVICES = new Set(["iam", "cloudfront", "route53", "sts", "organizations", "ce", "budgets"]);

/** `aws:RequestedRegion` and the resource's tags as `aws:ResourceTag/<key>`. */
export function baseContext(service: string, region: string, tags: Record<string, string>): Record<string, string> {
  const ctx: Record<string, string> = { "aws:RequestedRegion": GLOBAL_SERVICES.has(service) ? "us-east-1" : region };
  for (const [k, v] of Object.entries(tags)) ctx[`aws:ResourceTag/${k}`] = v;
  return ctx;
}

const READ_LEVELS = new Set(["Read", "List"]);

/** kms:Decrypt is a Write-level action in IAM, but every refresh of a SecureString parameter calls it. */
const READ_LIKE = new Set(["kms:decrypt"]);

function isRead(action: string): boolean {
  if (READ_LIKE.has(action.toLowerCase())) return true;
  return READ_LEVELS.has(actionData(action).accessLevel);
}

export type Phase = "apply" | "plan";

/**
 * What Terraform asks of AWS for one resource. `apply`: every action of the map (read, create, update,
 * delete, tag). `plan`: the read-level actions (plan and refresh), and everything a data source calls.
 */
export function resourceRequestsSync(r: SimResource, phase: Phase): SimRequest[] {
  const specs: ActionSpec[] = actionsFor(r.kind, r.type, r.body, Object.keys(r.tags).length > 0);
  const out: SimRequest[] = [];
  const label = `${r.stack}/${r.kind === "data" ? "data." : ""}${r.type}.${r.id}`;
  for (const spec of specs) {
    if (phase === "plan" && r.kind === "resource" && !isRead(spec.action)) continue;
    const service = spec.action.split(":")[0].toLowerCase();
    const arns = spec.resource
      ? [{ resource: fillArn(spec.resource, r.target), format: spec.resource }]
      : arnsOf(spec.action, r.target);
    for (const { resource, format, unvalidated } of arns as Array<{
      resource: string;
      format?: string;
      unvalidated?: boolean;
    }>) {
      const extra = Object.fromEntries(Object.entries(spec.context ?? {}).map(([k, v]) => [k, fillArn(v, r.target)]));
      out.push({
        action: spec.action,
        resource,
        context: { ...baseContext(service, r.region, r.tags), ...extra },
        why: label,
        format,
        target: r.target,
        ...(unvalidated ? { unvalidated } : {}),
      });
    }
  }
  return out;
}
