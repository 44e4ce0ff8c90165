/**
 * Shared by the tests of the terraform layers (scripts/dev/tf-validate.sh, scripts/dev/tf-test.sh): both must say so
 * loudly when terraform is missing, fail with exit 3 when it is required (CI), and pass when it is not.
 */
import { spawnSync } from "child_process";
import { mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";

const root = resolve(__dirname, "..", "..");

export function runScript(script: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync("bash", [script, ...args], { encoding: "utf8", env: { ...process.env, ...env }, cwd: root });
}

/** A PATH with only the tools the scripts need before they look for terraform. */
function pathWithoutTerraform(): string {
  const bin = mkdtempSync(join(tmpdir(), "zmanim-path-"));
  for (const tool of ["bash", "sed", "dirname", "cat"]) {
    const which = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    spawnSync("ln", ["-s", which, join(bin, tool)]);
  }
  return bin;
}

/** Registers the missing-terraform test of one layer; `what` is the layer's own words ("no stack was planned."). */
export function itReportsMissingTerraform(script: string, what: string): void {
  it("says so loudly when terraform is missing, and fails when it is required", () => {
    const PATH = pathWithoutTerraform();
    const strict = runScript(script, [], { PATH, ZMANIM_REQUIRE_TERRAFORM: "1" });
    expect(strict.stderr).toContain(`terraform is NOT installed: ${what}`);
    expect(strict.status).toBe(3);
    const lenient = runScript(script, [], { PATH, ZMANIM_REQUIRE_TERRAFORM: "0" });
    expect(lenient.status).toBe(0);
    expect(lenient.stderr).toContain("terraform is NOT installed");
  });
}
