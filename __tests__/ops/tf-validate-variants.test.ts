/**
 * Real `terraform validate` on the variant environments (scripts/tools/iam/types.ts): the options no shipped
 * environment turns on (the web ACL, NAT egress, a cache replication group, the box kept beside the fleet).
 * Only the stacks whose JSON differs from the shipped environment the variant spreads are validated here;
 * the shipped ones are validated by `npm run validate`.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { environments } from "../../constructs/config/environments";
import { synthEnvironment } from "../../main";
import { variantEnvironments } from "../../scripts/tools/iam/types";
import { runScript } from "../helpers/terraform-layer";

const script = join(resolve(__dirname, "..", ".."), "scripts", "dev", "tf-validate.sh");

/** Stack directory by stack directory name, and its JSON without the synthesis metadata paths. */
function synthDirs(
  env: Parameters<typeof synthEnvironment>[0],
  base: string,
): Map<string, { dir: string; json: string }> {
  const outdir = synthEnvironment(env, join(base, "cdktf.out"));
  const out = new Map<string, { dir: string; json: string }>();
  for (const name of readdirSync(join(outdir, "stacks"))) {
    const dir = join(outdir, "stacks", name);
    out.set(name, { dir, json: readFileSync(join(dir, "cdk.tf.json"), "utf8") });
  }
  return out;
}

describe.each(Object.entries(variantEnvironments()))("terraform validate (variant %s)", (_label, variant) => {
  const base = mkdtempSync(join(tmpdir(), "zmanim-variant-"));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it("every stack the variant changes is valid, with no unexpected warning", () => {
    const shipped = synthDirs(environments[variant.name], join(base, "shipped"));
    const changed = [...synthDirs(variant, join(base, "variant"))].filter(
      ([name, s]) => shipped.get(name)?.json !== s.json,
    );
    expect(changed.length).toBeGreaterThan(0);
    const r = runScript(
      script,
      changed.map(([, s]) => s.dir),
      { ZMANIM_REQUIRE_TERRAFORM: "1" },
    );
    expect(r.stdout).toContain(`terraform validate: ${changed.length} valid, 0 invalid, 0 skipped`);
    expect(r.status).toBe(0);
  }, 600_000);
});
