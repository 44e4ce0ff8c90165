/**
 * The checks behind `scripts/tools/preflight/preflight`: read-only, in the order of docs/runbooks/first-deploy.md. Each step
 * is what must hold before the runbook step it names. The AWS CLI and dig are the only tools called; nothing
 * is ever written.
 */
import { spawnSync } from "child_process";
import { EnvironmentConfig } from "../../../constructs/config/environments";
import {
  bucketName,
  ciRoleName,
  edgeHostNames,
  roleArn,
  ssmParameterName,
  stackName,
  stateKey,
} from "../../../constructs/config/naming";
import { join } from "path";

export interface Finding {
  ok: boolean;
  what: string;
  /** What to do when the finding is not ok. */
  fix?: string;
}

export interface Step {
  name: string;
  /** The runbook step this must hold before. */
  before: string;
  check(ctx: Context): Finding[];
}

export interface Context {
  env: EnvironmentConfig;
  /** Runs `aws ARGS`; returns stdout, or undefined on a non-zero exit (stderr kept in `lastError`). */
  aws(args: string[]): string | undefined;
  /** Runs `dig ARGS`; returns stdout or undefined. */
  dig(args: string[]): string | undefined;
  lastError: string;
  /** The parent zone's authoritative server to ask for the delegation (`host` or `host#port`), if given. */
  parentServer?: string;
  /** Runs `scripts/tools/tfc/bootstrap --check` (read-only) for the environment: its exit code and output. */
  tfcCheck?(): { code: number | null; stdout: string; stderr: string };
}

/** The AWS CLI and dig, run for real. */
export function realContext(env: EnvironmentConfig, parentServer?: string): Context {
  const ctx: Context = {
    env,
    lastError: "",
    parentServer,
    aws: (args) => run("aws", args),
    dig: (args) => run("dig", args),
    tfcCheck: () => {
      const r = spawnSync(join(__dirname, "..", "tfc", "bootstrap"), ["--check", "--env", env.name], {
        encoding: "utf8",
      });
      return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr || (r.error ? String(r.error.message) : "") };
    },
  };
  function run(cmd: string, args: string[]): string | undefined {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.error) {
      ctx.lastError = `${cmd}: ${r.error.message}`;
      return undefined;
    }
    if (r.status !== 0) {
      ctx.lastError = (r.stderr || r.stdout || `${cmd} exited ${r.status}`).trim();
      return undefined;
    }
    return r.stdout;
  }
  return ctx;
}

const json = <T>(text: string | undefined): T | undefined => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
};
const names = (list: string[]) => list.map((n) => n.toLowerCase().replace(/\.$/, "")).sort();

/** The NS records for `name` in `dig` output (answer or authority section). */
export function nsRecords(digOutput: string, name: string): string[] {
  const want = `${name.toLowerCase()}.`;
  const out: string[] = [];
  for (const line of digOutput.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 5 && !line.startsWith(";") && f[0].toLowerCase() === want && f[2] === "IN" && f[3] === "NS")
      out.push(f[4]);
  }
  return names(out);
}

/** The servers that answer for the parent of `zone`: the given one, else its NS records via the resolver. */
function parentServers(ctx: Context, zone: string): Array<{ host: string; port?: string }> {
  if (ctx.parentServer) {
    const [host, port] = ctx.parentServer.split("#");
    return [{ host, port }];
  }
  const parent = zone.split(".").slice(1).join(".");
  const out = ctx.dig(["+short", "NS", parent]) ?? "";
  return out
    .split("\n")
    .filter(Boolean)
    .map((h) => ({ host: h.trim() }));
}

function stateStep(): Step {
  return {
    name: "state",
    before: "any stack (runbook step 1: the state bootstrap)",
    check(ctx) {
      const st = ctx.env.state;
      if (st.kind !== "s3") return [{ ok: true, what: `state in Terraform Cloud (${st.organization}); no bootstrap` }];
      const fix =
        "apply backend.tf.json as an administrator: `terraform init && terraform apply` in the repository root";
      const versioning = ctx.aws([
        "s3api",
        "get-bucket-versioning",
        "--bucket",
        st.bucket,
        "--region",
        st.region,
        "--query",
        "Status",
        "--output",
        "text",
      ]);
      const table = ctx.aws([
        "dynamodb",
        "describe-table",
        "--table-name",
        st.lockTable,
        "--region",
        st.region,
        "--query",
        "Table.TableStatus",
        "--output",
        "text",
      ]);
      return [
        versioning === undefined
          ? { ok: false, what: `state bucket ${st.bucket} is not there (${ctx.lastError})`, fix }
          : {
              ok: versioning.trim() === "Enabled",
              what: `state bucket ${st.bucket}: versioning ${versioning.trim() || "never enabled"}`,
              fix,
            },
        table === undefined
          ? { ok: false, what: `lock table ${st.lockTable} is not there`, fix }
          : { ok: table.trim() === "ACTIVE", what: `lock table ${st.lockTable} is ${table.trim()}`, fix },
      ];
    },
  };
}

function cicdStep(): Step {
  return {
    name: "cicd",
    before: "the first workflow run (runbook step 2: the cicd stack, by an administrator)",
    check(ctx) {
      const name = ciRoleName(ctx.env, "deploy");
      const arn = ctx.aws(["iam", "get-role", "--role-name", name, "--query", "Role.Arn", "--output", "text"]);
      return [
        arn === undefined
          ? {
              ok: false,
              what: `deploy role ${name} is not there`,
              fix: "apply cdktf.out/stacks/zmanim-<env>-cicd as an administrator (`terraform init && terraform apply`)",
            }
          : { ok: true, what: `deploy role ${arn.trim()}` },
      ];
    },
  };
}

function zoneStep(): Step {
  return {
    name: "zone",
    before: "the cdn stack (runbook step 3: the site zone and its delegation; the certificate validates in it)",
    check(ctx) {
      const zone = ctx.env.domain.zoneName;
      const listed = json<{ HostedZones: Array<{ Id: string; Name: string; Config?: { PrivateZone?: boolean } }> }>(
        ctx.aws(["route53", "list-hosted-zones-by-name", "--dns-name", zone, "--max-items", "1", "--output", "json"]),
      );
      const hz = listed?.HostedZones?.find((z) => z.Name === `${zone}.` && !z.Config?.PrivateZone);
      if (!hz) {
        return [
          {
            ok: false,
            what: `no public hosted zone ${zone} in the account`,
            fix: `deploy the dns stack: bash scripts/ci/deploy-stacks.sh --only ${stackName(ctx.env, "dns")}`,
          },
        ];
      }
      const servers = json<string[]>(
        ctx.aws([
          "route53",
          "get-hosted-zone",
          "--id",
          hz.Id,
          "--query",
          "DelegationSet.NameServers",
          "--output",
          "json",
        ]),
      );
      if (!servers || servers.length === 0)
        return [
          {
            ok: false,
            what: `hosted zone ${zone} (${hz.Id}): its name servers could not be read (${ctx.lastError})`,
            fix: "check the credentials' route53:GetHostedZone right",
          },
        ];
      const expected = names(servers);
      const findings: Finding[] = [
        { ok: true, what: `hosted zone ${zone} (${hz.Id}) served by ${expected.join(", ")}` },
      ];
      const parents = parentServers(ctx, zone);
      if (parents.length === 0) {
        findings.push({
          ok: false,
          what: `no name server answers for the parent of ${zone}`,
          fix: `check \`dig NS ${zone.split(".").slice(1).join(".")}\``,
        });
        return findings;
      }
      for (const p of parents) {
        const out = ctx.dig([
          "+norecurse",
          "+noall",
          "+answer",
          "+authority",
          `@${p.host}`,
          ...(p.port ? ["-p", p.port] : []),
          "NS",
          zone,
        ]);
        const got = out === undefined ? [] : nsRecords(out, zone);
        const where = `${p.host}${p.port ? `#${p.port}` : ""}`;
        const same = got.length === expected.length && got.every((n, i) => n === expected[i]);
        findings.push({
          ok: same,
          what: same
            ? `${where} delegates ${zone} to the zone's name servers`
            : `${where} answers NS ${zone}: ${got.length ? got.join(", ") : out === undefined ? `nothing (${ctx.lastError})` : "nothing (not delegated)"}`,
          fix: `at the DNS that serves ${zone.split(".").slice(1).join(".")}, set exactly these NS records for ${zone}: ${expected.join(", ")} (docs/dns.md)`,
        });
      }
      return findings;
    },
  };
}

function sesStep(): Step {
  return {
    name: "ses",
    before: "the compute stack (failure mail from the box; runbook step 4)",
    check(ctx) {
      const env = ctx.env;
      const findings: Finding[] = [];
      const account = json<{ ProductionAccessEnabled?: boolean }>(
        ctx.aws(["sesv2", "get-account", "--region", env.region, "--output", "json"]),
      );
      if (account?.ProductionAccessEnabled)
        findings.push({ ok: true, what: `SES in ${env.region} has production access` });
      else {
        const recipient = json<{ VerifiedForSendingStatus?: boolean }>(
          ctx.aws([
            "sesv2",
            "get-email-identity",
            "--email-identity",
            env.alarmEmail,
            "--region",
            env.region,
            "--output",
            "json",
          ]),
        );
        findings.push({
          ok: recipient?.VerifiedForSendingStatus === true,
          what: `SES in ${env.region} is in the sandbox; recipient ${env.alarmEmail} is ${recipient?.VerifiedForSendingStatus ? "verified" : "not verified"}`,
          fix: `request production access (SES console, Account dashboard), or verify the recipient: aws sesv2 create-email-identity --email-identity ${env.alarmEmail} --region ${env.region}, then open the link in the mail`,
        });
      }
      const domain = json<{ VerifiedForSendingStatus?: boolean; DkimAttributes?: { Status?: string } }>(
        ctx.aws([
          "sesv2",
          "get-email-identity",
          "--email-identity",
          env.domain.siteName,
          "--region",
          env.region,
          "--output",
          "json",
        ]),
      );
      findings.push({
        ok: domain?.VerifiedForSendingStatus === true,
        what: `SES identity ${env.domain.siteName}: ${domain ? `DKIM ${domain.DkimAttributes?.Status ?? "unknown"}` : "not created"}`,
        fix: domain
          ? `its DKIM CNAMEs are in the site zone; they verify once ${env.domain.zoneName} is delegated (step "zone")`
          : `deploy the dns stack: bash scripts/ci/deploy-stacks.sh --only ${stackName(env, "dns")}`,
      });
      return findings;
    },
  };
}

/** Service-linked roles the first apply needs: service name, what creates it. */
export const SERVICE_LINKED_ROLES: ReadonlyArray<[string, string]> = [
  ["events.amazonaws.com", "compute: the EC2 recover action of the status-check alarm"],
  ["ops.apigateway.amazonaws.com", "api: the VPC link"],
];

function slrStep(): Step {
  return {
    name: "slr",
    before: "the compute and api stacks (runbook step 5)",
    check(ctx) {
      const deployRole = roleArn(ctx.env, ciRoleName(ctx.env, "deploy"));
      return SERVICE_LINKED_ROLES.map(([service, why]) => {
        const existing = ctx.aws([
          "iam",
          "list-roles",
          "--path-prefix",
          `/aws-service-role/${service}/`,
          "--query",
          "Roles[].RoleName",
          "--output",
          "text",
        ]);
        if (existing !== undefined && existing.trim() !== "" && existing.trim() !== "None")
          return { ok: true, what: `service-linked role ${existing.trim()} exists (${why})` };
        const decision = ctx.aws([
          "iam",
          "simulate-principal-policy",
          "--policy-source-arn",
          deployRole,
          "--action-names",
          "iam:CreateServiceLinkedRole",
          "--resource-arns",
          `arn:aws:iam::${ctx.env.accountId}:role/aws-service-role/${service}/*`,
          "--context-entries",
          `ContextKeyName=iam:AWSServiceName,ContextKeyValues=${service},ContextKeyType=string`,
          "--query",
          "EvaluationResults[0].EvalDecision",
          "--output",
          "text",
        ]);
        const allowed = decision?.trim() === "allowed";
        return {
          ok: allowed,
          what: allowed
            ? `the service-linked role of ${service} may be created by ${ciRoleName(ctx.env, "deploy")} (${why})`
            : `the service-linked role of ${service} is missing and ${ciRoleName(ctx.env, "deploy")} may not create it (${decision?.trim() ?? ctx.lastError})`,
          fix: `create it once as an administrator: aws iam create-service-linked-role --aws-service-name ${service}`,
        };
      });
    },
  };
}

function amiStep(): Step {
  return {
    name: "ami",
    before: "the compute stack (runbook step 6: the first API binary and the first AMI in SSM)",
    check(ctx) {
      const env = ctx.env;
      const releases = bucketName(env, "releases");
      const latest = ctx.aws([
        "s3api",
        "head-object",
        "--bucket",
        releases,
        "--key",
        "latest.txt",
        "--region",
        env.region,
      ]);
      const param = ssmParameterName(env, "ami-id");
      const ami = ctx.aws([
        "ssm",
        "get-parameter",
        "--name",
        param,
        "--region",
        env.region,
        "--query",
        "Parameter.Value",
        "--output",
        "text",
      ]);
      return [
        {
          ok: latest !== undefined,
          what: `s3://${releases}/latest.txt ${latest !== undefined ? "exists" : "is missing"}`,
          fix: "upload the first API binary, its .sha256 and latest.txt (docs/deploying.md, step 5)",
        },
        {
          ok: ami !== undefined && /^ami-[0-9a-f]{8,17}$/.test(ami.trim()),
          what: `SSM ${param} = ${ami === undefined ? "(missing)" : ami.trim()}`,
          fix: "build the first AMI: push a tag ami-v<date> (ami.yml publishes its id to this parameter)",
        },
      ];
    },
  };
}

function cdnStep(): Step {
  return {
    name: "cdn",
    before: "the cdn stack (runbook step 7): no distribution outside its state holds the site's names",
    check(ctx) {
      const env = ctx.env;
      const hosts = edgeHostNames(env);
      const dists = json<Array<{ Id: string; Aliases?: string[] | null }>>(
        ctx.aws([
          "cloudfront",
          "list-distributions",
          "--query",
          "DistributionList.Items[].{Id: Id, Aliases: Aliases.Items}",
          "--output",
          "json",
        ]),
      );
      if (dists === undefined)
        return [
          {
            ok: false,
            what: `CloudFront distributions could not be listed (${ctx.lastError})`,
            fix: "check the credentials' cloudfront:ListDistributions right",
          },
        ];
      const holders = (dists ?? []).filter((d) => (d.Aliases ?? []).some((a) => hosts.includes(a)));
      if (holders.length === 0) return [{ ok: true, what: `no distribution holds ${hosts.join(" or ")} yet` }];
      const inState = new Set<string>();
      if (env.state.kind === "s3") {
        const state = json<{ resources?: Array<{ type: string; instances: Array<{ attributes: { id: string } }> }> }>(
          ctx.aws(["s3", "cp", `s3://${env.state.bucket}/${stateKey(env, "cdn")}`, "-", "--region", env.state.region]),
        );
        for (const r of state?.resources ?? [])
          if (r.type === "aws_cloudfront_distribution") for (const i of r.instances) inState.add(i.attributes.id);
      }
      return holders.map(({ Id: id, Aliases: aliases }) => {
        const held = (aliases ?? []).filter((a) => hosts.includes(a)).join(", ");
        return {
          ok: inState.has(id),
          what: inState.has(id)
            ? `distribution ${id} holds ${held} and is in the cdn state`
            : `distribution ${id} holds ${held} but is not in the cdn state (an interrupted apply left it)`,
          fix: `import it: cd cdktf.out/stacks/${stackName(env, "cdn")} && terraform init && terraform import aws_cloudfront_distribution.distribution ${id} (docs/runbooks/first-deploy.md, "An interrupted apply")`,
        };
      });
    },
  };
}

/** Record values as dig prints them, normalized for comparison (case, trailing dots, TXT quoting). */
export function normalizeValue(type: string, value: string): string {
  if (type === "TXT") return value.replace(/^"|"$/g, "").replace(/"\s+"/g, "");
  return value.toLowerCase().replace(/\.$/, "").replace(/\s+/g, " ");
}

/** The answers for `name`/`type` in dig output. */
export function answers(digOutput: string, name: string, type: string): string[] {
  const want = `${name.toLowerCase()}.`;
  const out: string[] = [];
  for (const line of digOutput.split("\n")) {
    if (line.startsWith(";")) continue;
    const m = /^(\S+)\s+\d+\s+IN\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (m && m[1].toLowerCase() === want && m[2] === type) out.push(normalizeValue(type, m[3]));
  }
  return out.sort();
}

function apexStep(): Step {
  return {
    name: "apex",
    before:
      "delegating the apex at the registrar (the domain.apexZone opt-in only): the current DNS answers every carried record as listed",
    check(ctx) {
      const apex = ctx.env.domain.apexZone;
      if (!apex) return [{ ok: true, what: "no apex zone configured; the apex stays at its current DNS" }];
      const [server] = parentServers(ctx, `_.${apex.name}`); // the servers of the apex itself
      if (!server)
        return [{ ok: false, what: `no name server answers for ${apex.name}`, fix: `check \`dig NS ${apex.name}\`` }];
      const where = `${server.host}${server.port ? `#${server.port}` : ""}`;
      return apex.carriedRecords.map((r) => {
        const out = ctx.dig([
          "+norecurse",
          "+noall",
          "+answer",
          `@${server.host}`,
          ...(server.port ? ["-p", server.port] : []),
          r.type,
          r.name,
        ]);
        const got = out === undefined ? [] : answers(out, r.name, r.type);
        const want = r.values.map((v) => normalizeValue(r.type, v)).sort();
        const same = got.length === want.length && got.every((v, i) => v === want[i]);
        return {
          ok: same,
          what: same
            ? `${r.name} ${r.type} is carried as ${where} serves it`
            : `${r.name} ${r.type}: ${where} answers ${got.length ? got.join(" | ") : "nothing"}, the apex zone would serve ${want.join(" | ")}`,
          fix: `make domain.apexZone.carriedRecords match the current DNS for ${r.name} ${r.type} (dig +noall +answer @${server.host} ${r.type} ${r.name}), deploy the dns stack, and check again before changing the registrar`,
        };
      });
    },
  };
}

/**
 * Terraform Cloud (state.kind "cloud" only): `scripts/tools/tfc/bootstrap --check`, read-only. The token works,
 * the project and every workspace exist with their execution mode and Terraform version, dynamic AWS
 * credentials are on (TFC_AWS_PROVIDER_AUTH and both role ARNs) and remote-state sharing matches the manifest.
 */
function tfcStep(): Step {
  return {
    name: "tfc",
    before:
      "the first run in Terraform Cloud (docs/runbooks/terraform-cloud.md): workspaces, dynamic credentials and state sharing in place",
    check(ctx) {
      const st = ctx.env.state;
      if (st.kind !== "cloud") return [{ ok: true, what: "state in S3; no Terraform Cloud workspaces" }];
      const fix = "run scripts/tools/tfc/bootstrap (TFE_TOKEN set), then check again";
      const r = ctx.tfcCheck?.();
      if (!r) return [{ ok: false, what: "no Terraform Cloud check available", fix }];
      if (r.code === 3)
        return [
          {
            ok: false,
            what: `Terraform Cloud rejected the token (${r.stderr.trim()})`,
            fix: "set TFE_TOKEN to a valid user or team token of the organization",
          },
        ];
      if (r.code !== 0 && r.code !== 1)
        return [{ ok: false, what: `bootstrap --check failed (exit ${r.code}): ${r.stderr.trim()}`, fix }];
      const findings: Finding[] = [{ ok: true, what: `token accepted by ${st.organization}` }];
      for (const line of r.stdout.split("\n")) {
        if (line.startsWith("ok      ")) findings.push({ ok: true, what: line.slice(8) });
        else if (line.startsWith("differs "))
          findings.push({ ok: false, what: `Terraform Cloud differs: ${line.slice(8)}`, fix });
      }
      if (r.code === 1 && findings.every((f) => f.ok))
        findings.push({ ok: false, what: "bootstrap --check found differences", fix });
      return findings;
    },
  };
}

/** Every step, in runbook order. */
export const STEPS: readonly Step[] = [
  stateStep(),
  cicdStep(),
  tfcStep(),
  zoneStep(),
  sesStep(),
  slrStep(),
  amiStep(),
  cdnStep(),
  apexStep(),
];
