/**
 * Rehearsal of docs/runbooks/terraform-cloud.md's per-stack move, with real terraform (1.11) and the real
 * synthesized prod network stack: its S3 configuration and its Terraform Cloud configuration, each with a
 * `local` backend standing in for its side (backend_override.tf.json replaces the s3 backend and the cloud
 * block). The old side holds a state fixture with every resource of the stack; scripts/tools/tfc/move-state runs
 * `terraform init -migrate-state` and the test checks serial, lineage, outputs and resources on both sides,
 * then goes back the same way.
 * What it cannot show: Terraform Cloud itself (workspace creation by init, its state upload and locking,
 * the token's permissions), S3 and DynamoDB locking, and a real state's provider-specific attributes.
 */
import { spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { prod } from "../../constructs/config/environments";
import { synthEnvironment } from "../../main";

const root = resolve(__dirname, "../..");
jest.setTimeout(300_000);

interface State {
  serial: number;
  lineage: string;
  outputs: Record<string, unknown>;
  resources: Array<{ mode: string; type: string; name: string; instances: unknown[] }>;
}

describe("moving a stack's state with terraform init -migrate-state (local backends standing in for S3 and Terraform Cloud)", () => {
  let tmp: string;
  let stackDir: string;
  let cloudConfig: string;
  let s3Config: string;
  let fixture: State;
  const run = (script: string) => {
    const r = spawnSync(
      "bash",
      [
        "-c",
        `set -euo pipefail; source "${root}/scripts/dev/terraform/lib.sh"; tf_use_cli_config "${root}" "${tmp}" >/dev/null; ${script}`,
      ],
      {
        cwd: root,
        encoding: "utf8",
      },
    );
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const readState = (f: string): State => JSON.parse(readFileSync(join(tmp, f), "utf8"));
  const override = (path: string) => {
    const f = join(tmp, `override-${path.replace(/\W/g, "_")}.json`);
    writeFileSync(f, JSON.stringify({ terraform: { backend: { local: { path } } } }));
    return f;
  };

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "tfc-move-"));
    const s3Out = synthEnvironment(prod, join(tmp, "cdktf.out"));
    const cloudOut = synthEnvironment(
      { ...prod, state: { kind: "cloud", organization: "shtetl", workspacePrefix: "zmanim-prod-" } },
      join(tmp, "cdktf.out.cloud"),
    );
    stackDir = join(s3Out, "stacks", "zmanim-prod-network");
    cloudConfig = join(cloudOut, "stacks", "zmanim-prod-network", "cdk.tf.json");
    s3Config = join(tmp, "s3.cdk.tf.json");
    copyFileSync(join(stackDir, "cdk.tf.json"), s3Config);
    const json = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
    expect(json.terraform.backend.s3.key).toBe("prod/network.tfstate");
    expect(JSON.parse(readFileSync(cloudConfig, "utf8")).terraform.cloud.workspaces.name).toBe("zmanim-prod-network");
    // The S3 side: a state with every managed resource of the stack, at serial 41.
    const resources = Object.entries(json.resource as Record<string, Record<string, unknown>>).flatMap(
      ([type, blocks]) =>
        Object.keys(blocks).map((name) => ({
          mode: "managed",
          type,
          name,
          provider: 'provider["registry.terraform.io/hashicorp/aws"]',
          instances: [
            {
              schema_version: 0,
              attributes: { id: `fixture-${type}-${name}`, tags: { Stack: "network" } },
              sensitive_attributes: [],
            },
          ],
        })),
    );
    fixture = {
      serial: 41,
      lineage: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
      outputs: { vpc_id: { value: "vpc-0fixture", type: "string" } } as Record<string, unknown>,
      resources,
    };
    mkdirSync(join(tmp, "s3"));
    mkdirSync(join(tmp, "cloud"));
    writeFileSync(
      join(tmp, "s3", "terraform.tfstate"),
      JSON.stringify({ version: 4, terraform_version: "1.11.4", ...fixture, check_results: null }),
    );
    copyFileSync(override(join(tmp, "s3", "terraform.tfstate")), join(stackDir, "backend_override.tf.json"));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("refuses a stack directory not initialized on its current backend (exit 2)", () => {
    const r = run(`scripts/tools/tfc/move-state "${stackDir}" "${cloudConfig}"`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is not initialized on its current backend; run `terraform -chdir=");
  });

  it("moves the state to the new side unchanged, leaves the old side as it was, and can go back", () => {
    const init = run(`terraform -chdir="${stackDir}" init -input=false -no-color`);
    expect([init.code, init.stderr]).toEqual([0, ""]);
    const count = run(`terraform -chdir="${stackDir}" state list | wc -l`);
    expect(Number(count.stdout.trim())).toBe(fixture.resources.length);
    expect(fixture.resources.length).toBeGreaterThan(10);

    const there = run(
      `scripts/tools/tfc/move-state "${stackDir}" "${cloudConfig}" --override "${override(join(tmp, "cloud", "terraform.tfstate"))}"`,
    );
    expect([there.code, there.stderr]).toEqual([0, ""]);
    expect(there.stdout).toContain(
      `before: serial 41, lineage ${fixture.lineage}, ${fixture.resources.length} resource instances`,
    );
    expect(there.stdout).toContain(
      `after:  serial 41, lineage ${fixture.lineage}, ${fixture.resources.length} resource instances`,
    );
    expect(there.stdout).toMatch(/moved unchanged\n$/);
    const moved = readState("cloud/terraform.tfstate");
    expect({
      serial: moved.serial,
      lineage: moved.lineage,
      outputs: moved.outputs,
      resources: moved.resources,
    }).toEqual(fixture);
    expect(JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")).terraform.cloud.organization).toBe("shtetl");
    // The S3 side is not touched: still serial 41 (going back needs nothing but the old configuration).
    expect(readState("s3/terraform.tfstate").serial).toBe(41);

    // A run on the new side changes a resource and bumps the serial; going back carries both to the old side.
    const bumped = { ...readState("cloud/terraform.tfstate"), serial: 42 };
    (bumped.resources[0].instances[0] as { attributes: { tags: Record<string, string> } }).attributes.tags.Run =
      "terraform-cloud";
    writeFileSync(join(tmp, "cloud", "terraform.tfstate"), JSON.stringify(bumped));
    const back = run(
      `scripts/tools/tfc/move-state "${stackDir}" "${s3Config}" --override "${override(join(tmp, "s3", "terraform.tfstate"))}"`,
    );
    expect([back.code, back.stderr]).toEqual([0, ""]);
    expect(back.stdout).toContain("after:  serial 42");
    const home = readState("s3/terraform.tfstate");
    expect([home.serial, home.lineage, home.resources]).toEqual([42, fixture.lineage, bumped.resources]);
    expect(home.resources).not.toEqual(fixture.resources);
  });
});
