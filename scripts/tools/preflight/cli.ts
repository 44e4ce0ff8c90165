/**
 * scripts/tools/preflight/preflight [--env NAME] [--step NAME] [--parent-dns HOST[#PORT]] [--list] [--help]
 *
 * Checks, read-only, what must hold before each step of docs/runbooks/first-deploy.md, in that order, and
 * stops at the first step that is not met: it prints what to do next and exits 1 naming the step.
 * Exit codes: 0 every checked step met; 1 a step not met; 2 bad usage or configuration.
 */
import { selectEnvironment } from "../../../constructs/config/validate-environment";
import { realContext, STEPS } from "./checks";
import { ConfigError } from "../../../constructs/config/errors";

const HELP = `Usage: scripts/tools/preflight/preflight [options]

Checks, read-only, what must hold before each step of the first deploy (docs/runbooks/first-deploy.md),
in the runbook's order, and stops at the first step that is not met with what to do next.

Steps:
${STEPS.map((s) => `  ${s.name.padEnd(6)} before ${s.before}`).join("\n")}

Options:
  --env NAME              environment (default: ZMANIM_ENV or prod)
  --step NAME             check only this step (repeatable)
  --parent-dns HOST[#P]   ask this server for the site zone's delegation instead of the parent's
                          name servers found through the resolver (e.g. a hidden primary)
  --list                  print the steps and exit
  -h, --help              this text

Uses the AWS CLI with the usual credentials and region variables, dig, and (Terraform Cloud environments)
scripts/tools/tfc/bootstrap --check with TFE_TOKEN.
Exit: 0 every checked step met; 1 a step is not met (named on the last line); 2 bad usage.`;

function main(argv: string[]): number {
  const only: string[] = [];
  let parentDns: string | undefined;
  const envArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") {
      console.log(HELP);
      return 0;
    } else if (a === "--list") {
      for (const s of STEPS) console.log(`${s.name}\tbefore ${s.before}`);
      return 0;
    } else if (a === "--step" && argv[i + 1]) only.push(argv[++i]);
    else if (a === "--parent-dns" && argv[i + 1]) parentDns = argv[++i];
    else if (a === "--env" && argv[i + 1]) envArgs.push(a, argv[++i]);
    else {
      console.error(`preflight: unknown or incomplete argument "${a}"; see --help`);
      return 2;
    }
  }
  const unknown = only.filter((n) => !STEPS.some((s) => s.name === n));
  if (unknown.length > 0) {
    console.error(
      `preflight: --step ${unknown.join(", ")}: no such step; use one of ${STEPS.map((s) => s.name).join(", ")}`,
    );
    return 2;
  }
  const env = selectEnvironment(envArgs, process.env);
  const ctx = realContext(env, parentDns);
  console.log(`preflight for ${env.name} (account ${env.accountId}, region ${env.region})`);
  for (const step of STEPS.filter((s) => only.length === 0 || only.includes(s.name))) {
    const findings = step.check(ctx);
    for (const f of findings) console.log(`${f.ok ? "ok  " : "FAIL"}  ${step.name.padEnd(6)} ${f.what}`);
    const failed = findings.find((f) => !f.ok);
    if (failed) {
      console.log(`next: ${failed.fix ?? "fix the finding above"}`);
      console.error(
        `preflight: step "${step.name}" is not met (needed before ${step.before}); later steps were not checked`,
      );
      return 1;
    }
  }
  console.log(
    only.length === 0
      ? "next: every step is met; run deploy.yml (docs/runbooks/first-deploy.md)"
      : `next: step(s) ${only.join(", ")} met`,
  );
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`preflight: ${e.message}`);
    process.exitCode = 2;
  } else throw e;
}
