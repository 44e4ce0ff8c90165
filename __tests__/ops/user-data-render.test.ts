/**
 * The synthesized user_data evaluated by REAL Terraform: every escaped `$${`/`%%{` must come out as the script's
 * own `${`/`%{`, and the one live interpolation (the data volume id) must be filled in. The result must be the
 * boot script plus the rendered header, byte for byte, and valid bash.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { prod, staging } from "../../constructs/config/environments";
import { readUserDataScript, renderUserDataText } from "../../constructs/builders/user-data";
import { synthAll } from "../helpers/synth";

const hasTerraform = spawnSync("terraform", ["version"]).status === 0;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.each([
  ["prod", prod],
  ["staging", staging],
])("user data as Terraform renders it (%s)", (_n, env) => {
  it("equals the boot script with the rendered header, and is valid, shellcheck-clean bash", () => {
    if (!hasTerraform)
      throw new Error("terraform is not installed; run scripts/dev/ensure-deps.sh or install Terraform >= 1.10");
    const raw = synthAll(env).stacks.compute.resource?.aws_instance?.instance?.user_data as string;
    const volumeId = "vol-0123456789abcdef0";
    const dir = mkdtempSync(join(tmpdir(), "zmanim-tf-render-"));
    dirs.push(dir);
    // The same string, with the volume reference pointed at a local value: the interpolation stays live.
    writeFileSync(
      join(dir, "main.tf.json"),
      JSON.stringify({
        locals: { volume_id: volumeId },
        output: { user_data: { value: raw.replace("${aws_ebs_volume.data_volume.id}", "${local.volume_id}") } },
      }),
    );
    const tfEnv = { ...process.env, TF_CLI_CONFIG_FILE: "", TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" };
    const apply = spawnSync("terraform", ["apply", "-auto-approve", "-input=false", "-no-color"], {
      cwd: dir,
      env: tfEnv,
      encoding: "utf8",
    });
    expect(apply.stderr).toBe("");
    const out = spawnSync("terraform", ["output", "-raw", "user_data"], { cwd: dir, env: tfEnv, encoding: "utf8" });
    expect(out.status).toBe(0);
    const expected = renderUserDataText(readUserDataScript(), {
      ZMANIM_ENV: env.name,
      ZMANIM_REGION: env.region,
      ZMANIM_SSM_PREFIX: `/zmanim/${env.name}`,
      ZMANIM_DATA_VOLUME_ID: volumeId,
    });
    expect(out.stdout).toBe(expected);

    const file = join(dir, "user-data.sh");
    writeFileSync(file, out.stdout);
    const syntax = spawnSync("bash", ["-n", file], { encoding: "utf8" });
    expect([syntax.status, syntax.stderr]).toEqual([0, ""]);
    const sc = spawnSync("shellcheck", ["-x", file], { encoding: "utf8" });
    expect([sc.status, sc.stdout]).toEqual([0, ""]);
  }, 60000);
});
