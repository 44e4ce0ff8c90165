/**
 * What Terraform Cloud must hold for one environment, and the idempotent reconciliation towards it:
 * - the project;
 * - one workspace per stack in that project, with its execution mode and Terraform version, and
 *   `global-remote-state` off;
 * - on every remote-execution workspace, the env variables that turn on dynamic AWS credentials
 *   (TFC_AWS_PROVIDER_AUTH, TFC_AWS_PLAN_ROLE_ARN, TFC_AWS_APPLY_ROLE_ARN;
 *   https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/aws-configuration);
 * - remote-state sharing exactly from each producer to the stacks that depend on it in manifest.json.
 * Reads first; writes only what differs, so a second run writes nothing. Nothing is ever deleted but a
 * remote-state consumer the manifest does not name.
 */
import { EnvironmentConfig } from "../../../constructs/config/environments";
import { roleArn, stackName } from "../../../constructs/config/naming";

import {
  ResolvedCloudBackend,
  cloudBackendOf,
  stackShortNames,
  workspaceExecutionMode,
  workspaceName,
  tfcRoleName,
} from "../../../constructs/config/terraform-cloud";

import { TfcClient } from "./api";

export interface Manifest {
  stacks: Record<string, { dependencies: string[] }>;
}

export interface DesiredWorkspace {
  short: string;
  name: string;
  executionMode: string;
  terraformVersion: string;
  /** Env-category variables (key to value). */
  envVars: Record<string, string>;
  /** Workspace names allowed to read this workspace's state. */
  consumers: string[];
}

export interface Desired {
  backend: ResolvedCloudBackend;
  workspaces: DesiredWorkspace[];
}

export interface RoleArns {
  plan: string;
  apply: string;
}

/** The role ARNs by name (constructs/tfc-workload-identity.ts names them); `--outputs` can supply them instead. */
export function defaultRoleArns(env: EnvironmentConfig): RoleArns {
  return { plan: roleArn(env, tfcRoleName(env, "plan")), apply: roleArn(env, tfcRoleName(env, "apply")) };
}

/** Role ARNs from `terraform output -json` of the cicd stack (outputs tfc_plan_role_arn, tfc_apply_role_arn). */
export function roleArnsFromOutputs(json: string, file: string): RoleArns {
  const out = JSON.parse(json) as Record<string, { value?: unknown }>;
  const get = (k: string) => {
    const v = out[k]?.value;
    if (typeof v !== "string" || !/^arn:aws:iam::\d{12}:role\//.test(v))
      throw new Error(
        `${file}: output ${k} = ${JSON.stringify(v ?? null)}: expected a role ARN; run \`terraform output -json > ${file}\` in the cicd stack after applying it with state.kind "cloud"`,
      );
    return v;
  };
  return { plan: get("tfc_plan_role_arn"), apply: get("tfc_apply_role_arn") };
}

export function desiredState(env: EnvironmentConfig, manifest: Manifest, roles: RoleArns): Desired {
  const backend = cloudBackendOf(env);
  if (!backend)
    throw new Error(
      `environment ${env.name}: state.kind is "s3"; select Terraform Cloud (state.kind "cloud", or ZMANIM_STATE_BACKEND=cloud with TFC_ORGANIZATION)`,
    );
  const shorts = stackShortNames(env);
  const stackOf = (short: string) => stackName(env, short);
  const missing = shorts.filter((s) => !manifest.stacks[stackOf(s)]);
  const extra = Object.keys(manifest.stacks).filter((n) => !shorts.some((s) => stackOf(s) === n));
  if (missing.length || extra.length)
    throw new Error(
      `manifest does not match environment ${env.name} (missing ${missing.join(", ") || "none"}; unknown ${extra.join(", ") || "none"}); synthesize it again`,
    );
  const workspaces = shorts.map((short): DesiredWorkspace => {
    const mode = workspaceExecutionMode(backend, short);
    const consumers = shorts
      .filter((c) => manifest.stacks[stackOf(c)].dependencies.includes(stackOf(short)))
      .map((c) => workspaceName(backend, c));
    return {
      short,
      name: workspaceName(backend, short),
      executionMode: mode,
      terraformVersion: backend.terraformVersion,
      envVars:
        mode === "local"
          ? {}
          : { TFC_AWS_PROVIDER_AUTH: "true", TFC_AWS_PLAN_ROLE_ARN: roles.plan, TFC_AWS_APPLY_ROLE_ARN: roles.apply },
      consumers,
    };
  });
  return { backend, workspaces };
}

export interface Outcome {
  /** One line per write, made or (dry run) planned. */
  changes: string[];
  /** Read-only findings (check mode): what is as it should be. */
  inSync: string[];
}

const enc = encodeURIComponent;

/** Brings Terraform Cloud to `desired`. `dryRun`: only reads; `changes` lists what would be written. */
export async function reconcile(api: TfcClient, desired: Desired, dryRun: boolean): Promise<Outcome> {
  const out: Outcome = { changes: [], inSync: [] };
  const org = desired.backend.organization;
  const change = async (line: string, write: () => Promise<unknown>) => {
    out.changes.push(line);
    if (!dryRun) await write();
  };

  // The organization answers (and the token is accepted) before anything else.
  await api.get(`/organizations/${enc(org)}`);

  // Project: list with filter[names] (Projects API, "List projects"); create if absent.
  const projectName = desired.backend.project;
  const projects = await api.get(
    `/organizations/${enc(org)}/projects?filter%5Bnames%5D=${enc(projectName)}&page%5Bsize%5D=100`,
  );
  let projectId: string | undefined = (projects.body.data as Array<{ id: string; attributes: { name: string } }>).find(
    (p) => p.attributes.name === projectName,
  )?.id;
  if (projectId) out.inSync.push(`project ${projectName} (${projectId})`);
  else
    await change(`create project ${projectName}`, async () => {
      const r = await api.write("POST", `/organizations/${enc(org)}/projects`, {
        data: { type: "projects", attributes: { name: projectName } },
      });
      projectId = r.body.data.id;
    });

  // Workspaces: show by name (404 when absent), create in the project, or patch what differs.
  const ids = new Map<string, string>();
  for (const ws of desired.workspaces) {
    const shown = await api.get(`/organizations/${enc(org)}/workspaces/${enc(ws.name)}`, true);
    const want = {
      "execution-mode": ws.executionMode,
      "terraform-version": ws.terraformVersion,
      "global-remote-state": false,
    };
    if (shown.status === 404) {
      await change(
        `create workspace ${ws.name} (execution-mode ${ws.executionMode}, terraform-version ${ws.terraformVersion}) in project ${projectName}`,
        async () => {
          const r = await api.write("POST", `/organizations/${enc(org)}/workspaces`, {
            data: {
              type: "workspaces",
              attributes: { name: ws.name, ...want, "setting-overwrites": { "execution-mode": true } },
              relationships: { project: { data: { type: "projects", id: projectId } } },
            },
          });
          ids.set(ws.name, r.body.data.id);
        },
      );
      continue;
    }
    const id: string = shown.body.data.id;
    ids.set(ws.name, id);
    const attrs = shown.body.data.attributes as Record<string, unknown>;
    const diff = Object.entries(want).filter(([k, v]) => attrs[k] !== v);
    const inProject = shown.body.data.relationships?.project?.data?.id === projectId;
    if (diff.length === 0 && inProject)
      out.inSync.push(
        `workspace ${ws.name}: execution-mode ${ws.executionMode}, terraform-version ${ws.terraformVersion}, sharing explicit`,
      );
    else
      await change(
        `update workspace ${ws.name}: ${[...diff.map(([k, v]) => `${k} ${JSON.stringify(attrs[k])} -> ${JSON.stringify(v)}`), ...(inProject ? [] : [`project -> ${projectName}`])].join(", ")}`,
        () =>
          api.write("PATCH", `/workspaces/${id}`, {
            data: {
              type: "workspaces",
              attributes: {
                ...Object.fromEntries(diff),
                ...(diff.some(([k]) => k === "execution-mode")
                  ? { "setting-overwrites": { "execution-mode": true } }
                  : {}),
              },
              ...(inProject ? {} : { relationships: { project: { data: { type: "projects", id: projectId } } } }),
            },
          }),
      );
  }

  // Variables: env category, not HCL, not sensitive (ARNs are not secrets and stay readable for checks).
  for (const ws of desired.workspaces) {
    const id = ids.get(ws.name);
    const existing: Array<{
      id: string;
      attributes: { key: string; value: string | null; category: string; hcl: boolean; sensitive: boolean };
    }> = id ? (await api.get(`/workspaces/${id}/vars`)).body.data : [];
    for (const [key, value] of Object.entries(ws.envVars)) {
      const cur = existing.find((v) => v.attributes.key === key && v.attributes.category === "env");
      if (!cur)
        await change(`set ${ws.name} env ${key}=${value}`, () =>
          api.write("POST", `/workspaces/${ids.get(ws.name)}/vars`, {
            data: {
              type: "vars",
              attributes: {
                key,
                value,
                category: "env",
                hcl: false,
                sensitive: false,
                description: "dynamic AWS credentials (docs/runbooks/terraform-cloud.md)",
              },
            },
          }),
        );
      else if (cur.attributes.value !== value || cur.attributes.sensitive)
        await change(
          `update ${ws.name} env ${key}: ${JSON.stringify(cur.attributes.sensitive ? "(sensitive)" : cur.attributes.value)} -> ${value}`,
          () =>
            api.write("PATCH", `/workspaces/${id}/vars/${cur.id}`, {
              data: {
                type: "vars",
                id: cur.id,
                attributes: { key, value, category: "env", hcl: false, sensitive: false },
              },
            }),
        );
      else out.inSync.push(`${ws.name} env ${key}`);
    }
  }

  // Remote-state sharing: exactly the manifest's consumers of each producer.
  for (const ws of desired.workspaces) {
    const id = ids.get(ws.name);
    const current: string[] = id
      ? (await api.get(`/workspaces/${id}/relationships/remote-state-consumers?page%5Bsize%5D=100`)).body.data.map(
          (d: { id: string }) => d.id,
        )
      : [];
    const want = ws.consumers.map((c) => ({ name: c, id: ids.get(c) }));
    const add = want.filter((c) => !c.id || !current.includes(c.id));
    const wantIds = new Set(want.map((c) => c.id));
    const nameOf = (wid: string) => [...ids.entries()].find(([, v]) => v === wid)?.[0] ?? wid;
    const remove = current.filter((c) => !wantIds.has(c));
    if (add.length)
      await change(`share ${ws.name} state with ${add.map((c) => c.name).join(", ")}`, () =>
        api.write("POST", `/workspaces/${ids.get(ws.name)}/relationships/remote-state-consumers`, {
          data: add.map((c) => ({ type: "workspaces", id: ids.get(c.name) })),
        }),
      );
    if (remove.length)
      await change(`stop sharing ${ws.name} state with ${remove.map(nameOf).join(", ")}`, () =>
        api.write("DELETE", `/workspaces/${id}/relationships/remote-state-consumers`, {
          data: remove.map((r) => ({ type: "workspaces", id: r })),
        }),
      );
    if (!add.length && !remove.length)
      out.inSync.push(`${ws.name} state shared with ${ws.consumers.length ? ws.consumers.join(", ") : "no workspace"}`);
  }
  return out;
}
