/**
 * Validation of `state` (where every stack of an environment keeps its Terraform state) and the process
 * environment variables that override it. Called from constructs/config/validate-environment.ts.
 *
 * Overrides (read only through `selectEnvironment`):
 * - ZMANIM_STATE_BACKEND=cloud switches an S3 environment to Terraform Cloud (TFC_ORGANIZATION required);
 *   ZMANIM_STATE_BACKEND=s3 on an environment that selects Terraform Cloud is refused (it names no bucket).
 * - TFC_ORGANIZATION, TFC_PROJECT, TFC_WORKSPACE_PREFIX, TFC_EXECUTION_MODE override those fields of a cloud
 *   state, whether the environment or ZMANIM_STATE_BACKEND selected it.
 */
import { EnvironmentConfig, StateConfig } from "./environments";
import { TFC_EXECUTION_MODES } from "./terraform-cloud";
import { AWS_REGIONS, ConfigError } from "./errors";
import { resourcePrefix } from "./naming";

type Bad = (field: string, value: unknown, fix: string) => void;

const S3_BUCKET = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Terraform Cloud organization names: letters, digits, `-` and `_`. */
const TFC_NAME = /^[A-Za-z0-9_-]+$/;
/** Workspace names are at most 90 characters of letters, digits, `-` and `_`. */
const TFC_WORKSPACE_MAX = 90;
/** Project names: letters, digits, spaces, `-` and `_`, 3 to 40 characters (HCP Terraform's rule). */
const TFC_PROJECT = /^[A-Za-z0-9 _-]{3,40}$/;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;
const TF_VERSION = /^\d+\.\d+\.\d+$/;

/** Adds every problem with `env.state` through `bad` (field, value, fix). */
export function backendProblems(env: EnvironmentConfig, bad: Bad): void {
  const st = env.state;
  const required = (field: string, value: unknown, fix: string): boolean => {
    if (value === undefined || value === null || value === "") {
      bad(field, value ?? null, fix);
      return false;
    }
    return true;
  };
  if (!st) {
    bad(
      "state",
      null,
      'is required: { kind: "s3", bucket, lockTable, region } or { kind: "cloud", organization, workspacePrefix }',
    );
    return;
  }
  if (st.kind === "s3") {
    const def = "is required; set it in constructs/config/environments.ts";
    if (required("state.bucket", st.bucket, def) && !S3_BUCKET.test(st.bucket))
      bad("state.bucket", st.bucket, "use a valid S3 bucket name (the one backend.tf.json creates)");
    if (required("state.lockTable", st.lockTable, def) && !/^[A-Za-z0-9_.-]{3,255}$/.test(st.lockTable))
      bad("state.lockTable", st.lockTable, "use a valid DynamoDB table name (the one backend.tf.json creates)");
    if (!(AWS_REGIONS as readonly string[]).includes(st.region))
      bad("state.region", st.region, 'use the region backend.tf.json was applied in, e.g. "eu-west-1"');
    return;
  }
  if (st.kind !== "cloud") {
    bad("state.kind", (st as { kind: unknown }).kind, 'use "s3" or "cloud"');
    return;
  }
  if (
    required(
      "state.organization",
      st.organization,
      "is required for Terraform Cloud; set TFC_ORGANIZATION or state.organization in constructs/config/environments.ts",
    ) &&
    !TFC_NAME.test(st.organization)
  )
    bad("state.organization", st.organization, "use the Terraform Cloud organization name (letters, digits, - and _)");
  if (!/^[A-Za-z0-9_-]*$/.test(st.workspacePrefix ?? ""))
    bad("state.workspacePrefix", st.workspacePrefix, "use letters, digits, - and _ only");
  else if ((st.workspacePrefix ?? "").length + "secrets".length > TFC_WORKSPACE_MAX)
    bad(
      "state.workspacePrefix",
      st.workspacePrefix,
      `workspace names are at most ${TFC_WORKSPACE_MAX} characters; shorten the prefix`,
    );
  if (st.project !== undefined && !TFC_PROJECT.test(st.project))
    bad(
      "state.project",
      st.project,
      'use 3 to 40 letters, digits, spaces, - or _ (e.g. "zmanim-prod"), or leave it out for zmanim-<env>; TFC_PROJECT overrides it',
    );
  if (st.executionMode !== undefined && !TFC_EXECUTION_MODES.includes(st.executionMode))
    bad(
      "state.executionMode",
      st.executionMode,
      `use one of ${TFC_EXECUTION_MODES.map((m) => `"${m}"`).join(", ")}; "remote" records runs in Terraform Cloud with dynamic AWS credentials; TFC_EXECUTION_MODE overrides it`,
    );
  if (st.terraformVersion !== undefined && !TF_VERSION.test(st.terraformVersion))
    bad(
      "state.terraformVersion",
      st.terraformVersion,
      'use an exact Terraform release such as "1.11.4" (the one CI installs)',
    );
  if (st.hostname !== undefined && !HOSTNAME.test(st.hostname))
    bad(
      "state.hostname",
      st.hostname,
      'use a host name without scheme, e.g. "app.terraform.io" or your Terraform Enterprise host',
    );
}

/**
 * The environment with the state overrides of `vars` applied (see the file comment). Throws a ConfigError
 * for a backend it cannot switch to; field values are checked later by `backendProblems`.
 */
export function applyBackendOverrides(
  base: EnvironmentConfig,
  vars: Readonly<Record<string, string | undefined>>,
): EnvironmentConfig {
  const backend = vars.ZMANIM_STATE_BACKEND;
  let state: StateConfig = base.state;
  if (backend !== undefined && backend !== "" && backend !== base.state?.kind) {
    if (backend === "cloud") {
      state = { kind: "cloud", organization: vars.TFC_ORGANIZATION ?? "", workspacePrefix: `${resourcePrefix(base)}-` };
    } else if (backend === "s3") {
      throw new ConfigError(base.name, [
        `ZMANIM_STATE_BACKEND = "s3": environment "${base.name}" selects Terraform Cloud (state.kind "cloud") and names no state bucket; unset ZMANIM_STATE_BACKEND or give the environment an s3 state in constructs/config/environments.ts`,
      ]);
    } else {
      throw new ConfigError(base.name, [
        `ZMANIM_STATE_BACKEND = ${JSON.stringify(backend)}: use "s3" (default) or "cloud" (with TFC_ORGANIZATION)`,
      ]);
    }
  }
  if (state?.kind !== "cloud") return state === base.state ? base : { ...base, state };
  const set = (v: string | undefined) => v !== undefined && v !== "";
  state = {
    ...state,
    ...(set(vars.TFC_ORGANIZATION) ? { organization: vars.TFC_ORGANIZATION as string } : {}),
    ...(set(vars.TFC_PROJECT) ? { project: vars.TFC_PROJECT } : {}),
    ...(set(vars.TFC_WORKSPACE_PREFIX) ? { workspacePrefix: vars.TFC_WORKSPACE_PREFIX as string } : {}),
    ...(set(vars.TFC_EXECUTION_MODE) ? { executionMode: vars.TFC_EXECUTION_MODE as "remote" } : {}),
  };
  return { ...base, state };
}
