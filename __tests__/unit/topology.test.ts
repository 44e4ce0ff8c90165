/**
 * The topology field is additive: a single-box environment synthesizes the same bytes whether it says
 * `topology: { kind: "single-box" }` or leaves the field out.
 */
import { readFileSync, readdirSync } from "fs";
import { join, relative } from "path";
import { prod, staging } from "../../constructs/config/environments";
import { synthAll } from "../helpers/synth";

/** Every file under `dir`, relative path -> content. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

describe.each([prod, staging])("$name: topology single-box, explicit or omitted", (env) => {
  it("synthesizes byte-identical output, file by file", () => {
    expect(env.topology).toBeUndefined();
    const omitted = files(synthAll(env).outdir);
    const explicit = files(synthAll({ ...env, topology: { kind: "single-box" } }).outdir);
    expect(Object.keys(omitted).length).toBeGreaterThan(8);
    expect(Object.keys(explicit).sort()).toEqual(Object.keys(omitted).sort());
    for (const [path, text] of Object.entries(omitted)) expect({ path, text: explicit[path] }).toEqual({ path, text });
  });
});
