import { readFileSync } from "fs";
import { join } from "path";
import { textBetweenMarkers } from "../../scripts/cost/tfjson";
import { mermaidFor } from "../../scripts/diagram/cli";
import { readmeBlock } from "../../scripts/diagram/render";
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
