/**
 * The Terraform Cloud (HCP Terraform) side of an environment that selects `state.kind: "cloud"`: the
 * defaults of its optional fields, the workspace of each stack, and the workload identity token claims
 * its runs present to AWS.
 *
 * Workload identity (dynamic provider credentials), from HashiCorp's documentation:
 * - https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/workload-identity-tokens
 *   The token's issuer is `https://app.terraform.io` (the hostname for Terraform Enterprise) and its `sub` is
 *   `organization:<org>:project:<project>:workspace:<workspace>:run_phase:<plan|apply>`.
 * - https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/aws-configuration
 *   The default audience is `aws.workload.identity`; the trust policy checks `<host>:aud` and `<host>:sub`;
 *   a workspace turns the integration on with the environment variables TFC_AWS_PROVIDER_AUTH=true and
 *   TFC_AWS_RUN_ROLE_ARN, or TFC_AWS_PLAN_ROLE_ARN and TFC_AWS_APPLY_ROLE_ARN for a role per phase.
 * HashiCorp's own example (github.com/hashicorp/terraform-dynamic-credentials-setup-examples, aws/aws.tf)
 * builds the same `sub` prefix.
 */
import { EnvironmentConfig, topologyOf } from "./environments";
import { resourceName, resourcePrefix } from "./naming";

export const TFC_DEFAULT_HOSTNAME = "app.terraform.io";
/** The audience Terraform Cloud puts in the token unless TFC_AWS_WORKLOAD_IDENTITY_AUDIENCE says otherwise. */
export const TFC_AWS_AUDIENCE = "aws.workload.identity";
/** The Terraform version every workspace runs: the one CI installs (.github/workflows, TERRAFORM_VERSION). */
export const TFC_DEFAULT_TERRAFORM_VERSION = "1.11.4";

export type TfcExecutionMode = "remote" | "local" | "agent";
export const TFC_EXECUTION_MODES: readonly TfcExecutionMode[] = ["remote", "local", "agent"];
export type TfcRunPhase = "plan" | "apply";

/**
 * Stacks an administrator applies with their own credentials (the trust root, .github/workflows/deploy.yml
 * leaves it out): their workspace keeps state in Terraform Cloud but runs locally, and no Terraform Cloud
 * role trusts it. Same list as scripts/tools/iam/roles.ts ADMIN_APPLIED_STACKS.
 */
export const TFC_LOCAL_STACKS: readonly string[] = ["cicd"];

/** The cloud settings of an environment with every default applied. */
export interface ResolvedCloudBackend {
  organization: string;
  hostname: string;
  project: string;
  workspacePrefix: string;
  executionMode: TfcExecutionMode;
  terraformVersion: string;
}

/** The environment's Terraform Cloud settings with defaults, or undefined when its state is in S3. */
export function cloudBackendOf(env: EnvironmentConfig): ResolvedCloudBackend | undefined {
  const st = env.state;
  if (st.kind !== "cloud") return undefined;
  return {
    organization: st.organization,
    hostname: st.hostname ?? TFC_DEFAULT_HOSTNAME,
    project: st.project ?? resourcePrefix(env),
    workspacePrefix: st.workspacePrefix,
    executionMode: st.executionMode ?? "remote",
    terraformVersion: st.terraformVersion ?? TFC_DEFAULT_TERRAFORM_VERSION,
  };
}

/**
 * The short names of every stack main.ts creates for `env`, in creation order. The scaled topology adds
 * `data` and `app`; `compute` exists in both (the retired-box stack keeps the name). A unit test compares this
 * list with the synthesized manifest.
 */
export function stackShortNames(env: EnvironmentConfig): string[] {
  const scaled = topologyOf(env).kind === "scaled";
  return [
    "network",
    "storage",
    "secrets",
    "compute",
    "dns",
    ...(scaled ? ["data", "app"] : []),
    "api",
    "cdn",
    "monitoring",
    "cicd",
  ];
}

/** The workspace of one stack: `<workspacePrefix><short>`, e.g. `zmanim-prod-network`. */
export function workspaceName(backend: ResolvedCloudBackend, short: string): string {
  return `${backend.workspacePrefix}${short}`;
}

/** Execution mode of a stack's workspace: the environment's, except the admin-applied stacks (local). */
export function workspaceExecutionMode(backend: ResolvedCloudBackend, short: string): TfcExecutionMode {
  return TFC_LOCAL_STACKS.includes(short) ? "local" : backend.executionMode;
}

/** Workspaces whose runs execute in Terraform Cloud (or on its agents) and so assume the phase roles. */
export function remoteRunWorkspaces(env: EnvironmentConfig): string[] {
  const b = cloudBackendOf(env);
  if (!b) return [];
  return stackShortNames(env)
    .filter((s) => workspaceExecutionMode(b, s) !== "local")
    .map((s) => workspaceName(b, s));
}

/**
 * The exact `sub` claims a phase role trusts: one per remote-run workspace, pinned to the organization, the
 * project, the workspace and the run phase. No wildcard.
 */
export function tfcSubjects(env: EnvironmentConfig, phase: TfcRunPhase): string[] {
  const b = cloudBackendOf(env);
  if (!b) return [];
  return remoteRunWorkspaces(env).map(
    (ws) => `organization:${b.organization}:project:${b.project}:workspace:${ws}:run_phase:${phase}`,
  );
}

export type TfcRoleKind = TfcRunPhase;

/** `zmanim-<env>-tfc-<phase>`; the deploy role's NeverTheTrustRoot denies writes to `zmanim-<env>-tfc-*`. */
export function tfcRoleName(env: EnvironmentConfig, phase: TfcRunPhase): string {
  return resourceName(env, `tfc-${phase}`);
}

/** The IAM ARN pattern of both Terraform Cloud roles (for the deploy role's trust-root deny). */
export function tfcRoleArnPattern(env: EnvironmentConfig): string {
  return `arn:aws:iam::${env.accountId}:role/${resourcePrefix(env)}-tfc-*`;
}

/** The issuer's host, which is also the prefix of its IAM condition keys (`app.terraform.io:sub`). */
export function tfcOidcHost(env: EnvironmentConfig): string {
  const b = cloudBackendOf(env);
  if (!b)
    throw new Error(
      `environment ${env.name} keeps its state in S3; Terraform Cloud roles exist only with state.kind "cloud"`,
    );
  return b.hostname;
}

/** One IAM provider per URL and account: its ARN is deterministic. */
export function tfcOidcProviderArn(env: EnvironmentConfig): string {
  return `arn:aws:iam::${env.accountId}:oidc-provider/${tfcOidcHost(env)}`;
}
