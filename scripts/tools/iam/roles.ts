/**
 * What each Terraform-running role is asked to do, as simulated requests:
 * - deploy: apply (read, create, update, delete, tag) every resource of every stack it deploys, and the
 *   state of those stacks (read, write, both locks, the remote states they read);
 * - plan: refresh every resource and read every data source of every stack, with the same state reads and
 *   locks (a plan takes the lock), but no state write.
 */
import { EnvironmentConfig } from "../../../constructs/config/environments";
import { simResources } from "../../../constructs/builders/iam/resources";
import { Phase, SimRequest, baseContext, resourceRequests } from "./simulate";
import { TfDocument } from "../../../constructs/builders/iam/tf-document";

/** The stack the deploy workflow leaves to an administrator (.github/workflows/deploy.yml). */
export const ADMIN_APPLIED_STACKS = ["cicd"];

interface S3BackendConfig {
  bucket: string;
  key: string;
  region: string;
  dynamodb_table?: string;
  use_lockfile?: boolean;
}

function s3Backend(stack: TfDocument): S3BackendConfig | undefined {
  const tf = stack.terraform as { backend?: { s3?: S3BackendConfig } } | undefined;
  return tf?.backend?.s3;
}

/**
 * The S3 backend's calls for one stack: the state object (and every remote state it reads), the
 * DynamoDB lock item and, with use_lockfile, the `<key>.tflock` object. Terraform Cloud: none.
 * https://developer.hashicorp.com/terraform/language/backend/s3 ("Permissions Required")
 */
export function stateRequests(stackName: string, stack: TfDocument, account: string, write: boolean): SimRequest[] {
  const be = s3Backend(stack);
  if (!be) return [];
  const why = `${stackName}: terraform state`;
  const ctx = baseContext("s3", be.region, {});
  const out: SimRequest[] = [];
  const s3 = (action: string, resource: string, w = why) => out.push({ action, resource, context: ctx, why: w });
  const bucket = `arn:aws:s3:::${be.bucket}`;
  s3("s3:ListBucket", bucket);
  s3("s3:GetObject", `${bucket}/${be.key}`);
  if (write) s3("s3:PutObject", `${bucket}/${be.key}`);
  if (be.use_lockfile)
    for (const a of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
      s3(a, `${bucket}/${be.key}.tflock`, `${why} lock file`);
  if (be.dynamodb_table) {
    const table = `arn:aws:dynamodb:${be.region}:${account}:table/${be.dynamodb_table}`;
    for (const a of ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]) {
      out.push({
        action: a,
        resource: table,
        context: baseContext("dynamodb", be.region, {}),
        why: `${why} lock table`,
      });
    }
  }
  const remote =
    (stack.data as Record<string, Record<string, { config?: { bucket?: string; key?: string } }>> | undefined)
      ?.terraform_remote_state ?? {};
  for (const [id, rs] of Object.entries(remote)) {
    if (rs.config?.bucket && rs.config.key)
      s3("s3:GetObject", `arn:aws:s3:::${rs.config.bucket}/${rs.config.key}`, `${stackName}: remote state ${id}`);
  }
  return out;
}

async function stackRequests(
  stacks: Record<string, TfDocument>,
  names: string[],
  env: EnvironmentConfig,
  phase: Phase,
): Promise<SimRequest[]> {
  const out: SimRequest[] = [];
  for (const name of names) {
    const stack = stacks[name];
    out.push(...stateRequests(name, stack, env.accountId, phase === "apply"));
    for (const r of simResources(name, stack, env.accountId)) out.push(...(await resourceRequests(r, phase)));
  }
  return out;
}

export function deployRequests(stacks: Record<string, TfDocument>, env: EnvironmentConfig): Promise<SimRequest[]> {
  const names = Object.keys(stacks).filter((n) => !ADMIN_APPLIED_STACKS.includes(n));
  return stackRequests(stacks, names, env, "apply");
}

export function planRequests(stacks: Record<string, TfDocument>, env: EnvironmentConfig): Promise<SimRequest[]> {
  return stackRequests(stacks, Object.keys(stacks), env, "plan");
}

/**
 * What the Terraform Cloud phase roles (constructs/tfc-workload-identity.ts) are asked to do: the runs of every
 * remote-execution workspace, i.e. every stack but the admin-applied ones. The apply phase creates, updates,
 * deletes and tags; the plan phase refreshes and reads. State lives in Terraform Cloud: no AWS state calls.
 */
export function tfcRunRequests(
  stacks: Record<string, TfDocument>,
  env: EnvironmentConfig,
  phase: Phase,
): Promise<SimRequest[]> {
  const names = Object.keys(stacks).filter((n) => !ADMIN_APPLIED_STACKS.includes(n));
  return stackRequests(stacks, names, env, phase);
}
