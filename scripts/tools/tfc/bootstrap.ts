/**
 * scripts/tools/tfc/bootstrap: creates or updates, idempotently, an environment's Terraform Cloud side
 * (project, one workspace per stack, dynamic AWS credential variables, remote-state sharing); see ./plan.ts
 * and docs/runbooks/terraform-cloud.md. --help for usage and exit codes.
 */
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { selectEnvironment } from "../../../constructs/config/validate-environment";
import { synthEnvironment } from "../../../main";
import { cloudBackendOf } from "../../../constructs/config/terraform-cloud";
import { ApiError, TokenRejected, httpClient, tokenFrom } from "./api";
import { Manifest, defaultRoleArns, desiredState, reconcile, roleArnsFromOutputs } from "./plan";
import { ConfigError } from "../../../constructs/config/errors";

export const EXIT = { ok: 0, drift: 1, usage: 2, badToken: 3, api: 4 } as const;

const HELP = `Usage: scripts/tools/tfc/bootstrap [options]

Creates or updates, idempotently, the Terraform Cloud side of an environment whose state.kind is "cloud"
(or ZMANIM_STATE_BACKEND=cloud with TFC_ORGANIZATION): the project, one workspace per stack (execution
mode, Terraform version, global remote state off), the env variables that turn on dynamic AWS credentials
(TFC_AWS_PROVIDER_AUTH, TFC_AWS_PLAN_ROLE_ARN, TFC_AWS_APPLY_ROLE_ARN) on every remote-execution workspace,
and remote-state sharing exactly from each stack to the stacks that depend on it (manifest.json).

Options:
  --env NAME        environment (default: ZMANIM_ENV or prod)
  --manifest PATH   read stack dependencies from this manifest.json (default: synthesize the environment
                    into a temporary directory and read its manifest)
  --outputs FILE    role ARNs from \`terraform output -json\` of the cicd stack (tfc_plan_role_arn,
                    tfc_apply_role_arn); default: the ARNs the cicd stack names them with
  --dry-run         read only; print every write it would make
  --check           read only; exit 1 when anything differs (the preflight's Terraform Cloud step)
  -h, --help        this text

Environment:
  TFE_TOKEN (or TF_TOKEN_app_terraform_io)  API token of a user or team allowed to manage the project
  TFE_ADDRESS                               API address (default https://<state.hostname>)

Exit: 0 done (or in sync); 1 --check found differences; 2 bad usage or configuration (no token, S3 state);
      3 the token was rejected (HTTP 401); 4 another API error.`;

async function main(argv: string[], vars: NodeJS.ProcessEnv): Promise<number> {
  let dryRun = false;
  let check = false;
  let manifestPath: string | undefined;
  let outputsFile: string | undefined;
  const envArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") {
      console.log(HELP);
      return EXIT.ok;
    } else if (a === "--dry-run") dryRun = true;
    else if (a === "--check") check = true;
    else if (a === "--manifest" && argv[i + 1]) manifestPath = argv[++i];
    else if (a === "--outputs" && argv[i + 1]) outputsFile = argv[++i];
    else if (a === "--env" && argv[i + 1]) envArgs.push(a, argv[++i]);
    else {
      console.error(`bootstrap: unknown or incomplete argument "${a}"; see --help`);
      return EXIT.usage;
    }
  }
  const env = selectEnvironment(envArgs, vars);
  const backend = cloudBackendOf(env);
  if (!backend) {
    console.error(
      `bootstrap: environment ${env.name} keeps its state in S3 (state.kind "s3"); select Terraform Cloud with state.kind "cloud" in constructs/config/environments.ts or ZMANIM_STATE_BACKEND=cloud TFC_ORGANIZATION=<org>`,
    );
    return EXIT.usage;
  }
  const token = tokenFrom(vars, backend.hostname);
  if (!token) {
    console.error(
      `bootstrap: no API token; set TFE_TOKEN (or TF_TOKEN_${backend.hostname.replace(/\./g, "_")}) to a user or team token of organization ${backend.organization} (https://app.terraform.io/app/settings/tokens)`,
    );
    return EXIT.usage;
  }
  let manifest: Manifest;
  if (manifestPath) manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  else {
    const base = mkdtempSync(join(tmpdir(), "zmanim-tfc-"));
    try {
      manifest = JSON.parse(
        readFileSync(join(synthEnvironment(env, join(base, "cdktf.out")), "manifest.json"), "utf8"),
      );
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }
  const roles = outputsFile
    ? roleArnsFromOutputs(readFileSync(outputsFile, "utf8"), outputsFile)
    : defaultRoleArns(env);
  const desired = desiredState(env, manifest, roles);
  const address = vars.TFE_ADDRESS || `https://${backend.hostname}`;
  const api = httpClient(address, token);
  const readOnly = dryRun || check;
  console.log(
    `Terraform Cloud ${address}, organization ${backend.organization}, project ${backend.project}, ${desired.workspaces.length} workspaces${readOnly ? " (read only)" : ""}`,
  );
  try {
    const outcome = await reconcile(api, desired, readOnly);
    for (const l of outcome.inSync) console.log(`ok      ${l}`);
    for (const l of outcome.changes) console.log(`${readOnly ? "differs" : "changed"} ${l}`);
    const writes = api.log.filter((l) => !l.startsWith("GET ")).length;
    console.log(`${outcome.changes.length} change(s) ${readOnly ? "needed" : "made"}, ${writes} write request(s)`);
    return check && outcome.changes.length > 0 ? EXIT.drift : EXIT.ok;
  } catch (e) {
    if (e instanceof TokenRejected) {
      console.error(
        `bootstrap: Terraform Cloud rejected the token (${e.message}); set TFE_TOKEN to a valid user or team token of organization ${backend.organization} (https://app.terraform.io/app/settings/tokens)`,
      );
      return EXIT.badToken;
    }
    if (e instanceof ApiError) {
      console.error(`bootstrap: ${e.message}`);
      return EXIT.api;
    }
    throw e;
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => (process.exitCode = code),
  (e) => {
    if (e instanceof ConfigError) {
      console.error(`bootstrap: ${e.message}`);
      process.exitCode = EXIT.usage;
    } else {
      console.error(`bootstrap: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = EXIT.api;
    }
  },
);
