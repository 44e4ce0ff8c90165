import { readFileSync } from "fs";
import { join } from "path";
import { textBetweenMarkers } from "../../scripts/tools/cost/tfjson";
import { mermaidFor } from "../../scripts/tools/diagram/cli";
import { readmeBlock } from "../../scripts/tools/diagram/render";
import { curveFromOutdirs, renderCurveFiles } from "../../scripts/tools/cost/curve-cli";
import { prod, scaled } from "../../constructs/config/environments";
import { synthAll } from "../helpers/synth";

/**
 * The README embeds the Mermaid diagram of prod. It must equal what `npm run diagram` draws from a fresh
 * synth (into a temp dir, never the possibly stale cdktf.out). Fix with `npm run diagram -- --update-readme`.
 */
describe("README architecture diagram", () => {
  it("is the diagram of the current prod synth", () => {
    const readme = readFileSync(join(__dirname, "../../README.md"), "utf8");
    const block = textBetweenMarkers(readme, "diagram");
    expect(block).toBeDefined();
    const fresh = readmeBlock(mermaidFor(synthAll().outdir, "prod"));
    // Compared as text; a mismatch means: run `npm run synth && npm run diagram -- --update-readme`.
    expect(block!.trim()).toBe(fresh.trim());
  });
});

/**
 * The README's cost block, docs/cost-curve.svg and docs/cost-curve.json are what `npm run cost:curve` makes
 * of the current prod and scaled synths. Fix with `npm run cost:curve`.
 */
describe("README cost block and the cost curve", () => {
  it("are the curve of the current synths", () => {
    const c = curveFromOutdirs(synthAll(prod).outdir, synthAll(scaled).outdir);
    const root = join(__dirname, "../..");
    const readme = readFileSync(join(root, "README.md"), "utf8");
    for (const [file, text] of renderCurveFiles(c, readme)) {
      const current = readFileSync(join(root, file), "utf8");
      // A mismatch means: run `npm run cost:curve`.
      if (file === "README.md") expect(textBetweenMarkers(current, "cost")).toBe(textBetweenMarkers(text, "cost"));
      else expect({ file, text: current }).toEqual({ file, text });
    }
  });
});
