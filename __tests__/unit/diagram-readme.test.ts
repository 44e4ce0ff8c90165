import { readFileSync } from "fs";
import { join } from "path";
import { textBetweenMarkers } from "../../scripts/cost/tfjson";
import { mermaidFor } from "../../scripts/diagram/cli";
import { readmeBlock } from "../../scripts/diagram/render";
import { main as costMain } from "../../scripts/cost/cli";
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
 * The README's cost table is `npm run cost`'s estimate of the current prod synth. Fix with
 * `npm run synth && npm run cost -- --update-readme --update-doc docs/cost.md`.
 */
describe("README cost table", () => {
  it("is the estimate of the current prod synth", () => {
    const out: string[] = [];
    const code = costMain(["--env", "prod", "--outdir", synthAll().outdir, "--check-readme"], {}, (s) => out.push(s), (s) => out.push(s));
    expect({ code, out: out.join("") }).toEqual({ code: 0, out: expect.any(String) });
  });
});
