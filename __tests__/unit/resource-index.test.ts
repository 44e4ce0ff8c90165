/**
 * docs/architecture.md's resource index is current: every Terraform type a stack or construct creates is
 * listed with the file that creates it and the stacks that hold it.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { environments, scaled } from "../../constructs/config/environments";
import { BEGIN, END, renderIndex, stacksByType, typesByFile } from "../../scripts/tools/docs/resource-index";
import { synthAll } from "../helpers/synth";

const doc = readFileSync(join(__dirname, "..", "..", "docs", "architecture.md"), "utf8");

describe("docs/architecture.md resource index", () => {
  const byType = typesByFile();

  it("finds the files that create the main resources", () => {
    expect(byType.get("aws_instance")).toEqual(["constructs/box.ts"]);
    expect(byType.get("aws_db_parameter_group")).toEqual(["constructs/managed-database.ts"]);
    expect(byType.get("aws_cloudfront_distribution")).toEqual(["constructs/site-distribution.ts"]);
    expect(byType.get("data.aws_ssm_parameter")).toEqual(expect.arrayContaining(["stacks/compute.ts"]));
  });

  it("lists every type the shipped environments synthesize", () => {
    const outdirs = [...Object.values(environments), scaled].map((env) => synthAll(env).outdir);
    const stacks = stacksByType(outdirs);
    const synthesized = [...stacks.keys()].filter((t) => /^(data\.)?(aws|random)_/.test(t));
    expect(synthesized.length).toBeGreaterThan(60);
    expect(synthesized.filter((t) => !byType.has(t))).toEqual([]);
    const block = doc.slice(doc.indexOf(BEGIN) + BEGIN.length, doc.indexOf(END)).trim();
    expect(block).toBe(renderIndex(byType, stacks));
  });
});
