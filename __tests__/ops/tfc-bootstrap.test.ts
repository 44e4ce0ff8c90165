/**
 * scripts/tools/tfc/bootstrap, run for real against the TEST DOUBLE of the Terraform Cloud API
 * (__tests__/helpers/tfc-double.ts, on 127.0.0.1), which rejects any request shaped otherwise than the API
 * documents. Prod with ZMANIM_STATE_BACKEND=cloud TFC_ORGANIZATION=shtetl.
 */
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { prod } from "../../constructs/config/environments";
import { synthEnvironment } from "../../main";
import { startTfcDouble, TfcDouble } from "../helpers/tfc-double";
import { runCommand, RunResult } from "../helpers/spawn";

const root = resolve(__dirname, "../..");
const cloudVars = { ZMANIM_ENV: "prod", ZMANIM_STATE_BACKEND: "cloud", TFC_ORGANIZATION: "shtetl" };
const PLAN = "arn:aws:iam::111111111111:role/zmanim-prod-tfc-plan";
const APPLY = "arn:aws:iam::111111111111:role/zmanim-prod-tfc-apply";
const ws = (s: string) => `zmanim-prod-${s}`;

jest.setTimeout(120_000);

describe("scripts/tools/tfc/bootstrap against the API double", () => {
  let tfc: TfcDouble;
  let tmp: string;
  let manifest: string;
  beforeAll(async () => {
    tfc = await startTfcDouble("shtetl");
    tmp = mkdtempSync(join(tmpdir(), "tfc-bootstrap-"));
    const out = synthEnvironment(
      { ...prod, state: { kind: "cloud", organization: "shtetl", workspacePrefix: "zmanim-prod-" } },
      join(tmp, "cdktf.out"),
    );
    manifest = join(out, "manifest.json");
  });
  afterAll(async () => {
    await tfc.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const bootstrap = (args: string[], extra: Record<string, string> = {}): Promise<RunResult> =>
    runCommand(join(root, "scripts/tools/tfc/bootstrap"), ["--manifest", manifest, ...args], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...cloudVars,
        TFE_ADDRESS: tfc.address,
        TFE_TOKEN: tfc.token,
        ...extra,
      },
    });
  const consumersOf = (short: string) =>
    tfc
      .workspace(ws(short))
      .consumers.map((id) => tfc.workspaces.find((w) => w.id === id)!.name)
      .sort();

  it("--help exits 0 and documents the exit codes", async () => {
    const r = await runCommand(join(root, "scripts/tools/tfc/bootstrap"), ["--help"], {
      cwd: root,
      env: { PATH: process.env.PATH },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: scripts\/tools\/tfc\/bootstrap \[options\]/);
    expect(r.stdout).toContain(
      "Exit: 0 done (or in sync); 1 --check found differences; 2 bad usage or configuration (no token, S3 state);\n      3 the token was rejected (HTTP 401); 4 another API error.",
    );
  });

  it("--dry-run on an empty organization lists every write and makes none", async () => {
    const r = await bootstrap(["--dry-run"]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain("differs create project zmanim-prod");
    expect(r.stdout).toContain(
      "differs create workspace zmanim-prod-cicd (execution-mode local, terraform-version 1.11.4) in project zmanim-prod",
    );
    expect(r.stdout).toContain(
      "differs share zmanim-prod-network state with zmanim-prod-storage, zmanim-prod-compute, zmanim-prod-api",
    );
    expect(tfc.writes()).toEqual([]);
  });

  it("first run: creates the project, nine workspaces, credentials and exactly the manifest's sharing", async () => {
    const r = await bootstrap([]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(tfc.rejected).toEqual([]);
    expect(tfc.projects.map((p) => p.name)).toEqual(["zmanim-prod"]);
    const project = tfc.projects[0].id;
    expect(
      tfc.workspaces.map((w) => [
        w.name,
        w.attributes["execution-mode"],
        w.attributes["terraform-version"],
        w.attributes["global-remote-state"],
        w.projectId === project,
      ]),
    ).toEqual([
      [ws("network"), "remote", "1.11.4", false, true],
      [ws("storage"), "remote", "1.11.4", false, true],
      [ws("secrets"), "remote", "1.11.4", false, true],
      [ws("compute"), "remote", "1.11.4", false, true],
      [ws("dns"), "remote", "1.11.4", false, true],
      [ws("api"), "remote", "1.11.4", false, true],
      [ws("cdn"), "remote", "1.11.4", false, true],
      [ws("monitoring"), "remote", "1.11.4", false, true],
      [ws("cicd"), "local", "1.11.4", false, true],
    ]);
    for (const w of tfc.workspaces.filter((x) => x.name !== ws("cicd"))) {
      expect([w.name, w.vars.map((v) => [v.key, v.value, v.category, v.hcl, v.sensitive])]).toEqual([
        w.name,
        [
          ["TFC_AWS_PROVIDER_AUTH", "true", "env", false, false],
          ["TFC_AWS_PLAN_ROLE_ARN", PLAN, "env", false, false],
          ["TFC_AWS_APPLY_ROLE_ARN", APPLY, "env", false, false],
        ],
      ]);
    }
    expect(tfc.workspace(ws("cicd")).vars).toEqual([]);
    expect(consumersOf("network")).toEqual([ws("api"), ws("compute"), ws("storage")]);
    expect(consumersOf("storage")).toEqual([ws("cdn"), ws("compute")]);
    expect(consumersOf("secrets")).toEqual([ws("compute")]);
    expect(consumersOf("compute")).toEqual([ws("api"), ws("monitoring")]);
    expect(consumersOf("api")).toEqual([ws("cdn"), ws("monitoring")]);
    expect(consumersOf("dns")).toEqual([ws("cdn")]);
    expect(consumersOf("cdn")).toEqual([ws("monitoring")]);
    expect(consumersOf("monitoring")).toEqual([]);
    expect(consumersOf("cicd")).toEqual([]);
    // 1 project + 9 workspaces + 8 x 3 variables + 7 producers' sharing
    expect(tfc.writes()).toHaveLength(1 + 9 + 24 + 7);
    expect(r.stdout).toMatch(/^41 change\(s\) made, 41 write request\(s\)$/m);
  });

  it("second run: changes nothing (zero write requests)", async () => {
    const before = tfc.writes().length;
    const r = await bootstrap([]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toMatch(/^0 change\(s\) made, 0 write request\(s\)$/m);
    expect(tfc.writes().length).toBe(before);
    expect((await bootstrap(["--check"])).code).toBe(0);
  });

  it("drifted settings are reported by --check (exit 1, no writes) and corrected by the next run, nothing else touched", async () => {
    const api = tfc.workspace(ws("api"));
    api.attributes["execution-mode"] = "local";
    api.attributes["terraform-version"] = "1.9.8";
    api.vars.find((v) => v.key === "TFC_AWS_APPLY_ROLE_ARN")!.value = "arn:aws:iam::111111111111:role/someone-else";
    tfc.workspace(ws("network")).consumers.push(tfc.workspace(ws("dns")).id);
    tfc.workspace(ws("dns")).attributes["global-remote-state"] = true;

    const before = tfc.writes().length;
    const check = await bootstrap(["--check"]);
    expect(check.code).toBe(1);
    expect(tfc.writes().length).toBe(before);

    const r = await bootstrap([]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("changed "));
    expect(lines).toEqual([
      "changed update workspace zmanim-prod-dns: global-remote-state true -> false",
      'changed update workspace zmanim-prod-api: execution-mode "local" -> "remote", terraform-version "1.9.8" -> "1.11.4"',
      `changed update zmanim-prod-api env TFC_AWS_APPLY_ROLE_ARN: "arn:aws:iam::111111111111:role/someone-else" -> ${APPLY}`,
      "changed stop sharing zmanim-prod-network state with zmanim-prod-dns",
    ]);
    expect(
      tfc
        .writes()
        .slice(before)
        .map((l) => l.replace(/ws-\d+|var-\d+/g, "<id>")),
    ).toEqual([
      "PATCH /workspaces/<id>",
      "PATCH /workspaces/<id>",
      "PATCH /workspaces/<id>/vars/<id>",
      "DELETE /workspaces/<id>/relationships/remote-state-consumers",
    ]);
    expect([api.attributes["execution-mode"], api.attributes["terraform-version"]]).toEqual(["remote", "1.11.4"]);
    expect(consumersOf("network")).toEqual([ws("api"), ws("compute"), ws("storage")]);
    expect(tfc.rejected).toEqual([]);
    expect((await bootstrap(["--check"])).code).toBe(0);
  });

  it("a rejected token: exit 3, a clear message, no write", async () => {
    const before = tfc.writes().length;
    const r = await bootstrap([], { TFE_TOKEN: "expired" });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      "bootstrap: Terraform Cloud rejected the token (GET /organizations/shtetl: HTTP 401); set TFE_TOKEN to a valid user or team token of organization shtetl",
    );
    expect(tfc.writes().length).toBe(before);
  });

  it("no token, or an S3 environment: exit 2 naming the fix", async () => {
    const noToken = await runCommand(join(root, "scripts/tools/tfc/bootstrap"), ["--manifest", manifest], {
      cwd: root,
      env: { PATH: process.env.PATH, ...cloudVars, TFE_ADDRESS: tfc.address },
    });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/no API token; set TFE_TOKEN \(or TF_TOKEN_app_terraform_io\)/);
    const s3 = await runCommand(join(root, "scripts/tools/tfc/bootstrap"), [], {
      cwd: root,
      env: { PATH: process.env.PATH, ZMANIM_ENV: "prod", TFE_TOKEN: "x" },
    });
    expect(s3.code).toBe(2);
    expect(s3.stderr).toMatch(/environment prod keeps its state in S3/);
  });

  it("takes the role ARNs from `terraform output -json` of the cicd stack with --outputs", async () => {
    const file = join(tmp, "cicd-outputs.json");
    writeFileSync(
      file,
      JSON.stringify({
        tfc_plan_role_arn: { value: PLAN },
        tfc_apply_role_arn: { value: APPLY },
        deploy_role_arn: { value: "x" },
      }),
    );
    const r = await bootstrap(["--outputs", file, "--check"]);
    expect(r.code).toBe(0);
    writeFileSync(file, JSON.stringify({ tfc_plan_role_arn: { value: PLAN } }));
    const bad = await bootstrap(["--outputs", file, "--check"]);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain("output tfc_apply_role_arn = null: expected a role ARN");
  });
});
