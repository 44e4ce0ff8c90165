/**
 * Every decision id (D1, D2, ...) cited anywhere in the code, scripts, workflows or docs is defined in
 * docs/decisions.md, and every definition has its context, choice and consequences.
 */
import { readFileSync, readdirSync, statSync } from "fs";
import { join, relative } from "path";

const root = join(__dirname, "..", "..");
const SKIP = new Set(["node_modules", ".git", "dist", "cdktf.out", "cdktf.out.scaled", "fixtures", "data"]);
const TEXT = /\.(ts|js|sh|md|yml|hcl|json|sql|conf|service|timer)$|^migrate-db$|^preflight$/;

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith("cdktf.out") || name === "package-lock.json") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (TEXT.test(name)) out.push(p);
  }
  return out;
}

const decisions = readFileSync(join(root, "docs", "decisions.md"), "utf8");
const defined = new Map<string, string>();
for (const section of decisions.split(/^## /m).slice(1)) {
  const id = /^(D\d+)\. /.exec(section)?.[1];
  if (id) defined.set(id, section);
}

describe("decision ids", () => {
  it("are all defined where they are cited", () => {
    const cited = new Map<string, string[]>();
    for (const f of files(root)) {
      if (f.endsWith(join("docs", "decisions.md"))) continue;
      for (const m of readFileSync(f, "utf8").matchAll(/\bD(\d{1,2})\b/g)) {
        const id = `D${m[1]}`;
        cited.set(id, [...(cited.get(id) ?? []), relative(root, f)]);
      }
    }
    expect(cited.size).toBeGreaterThan(10);
    const undefinedIds = [...cited]
      .filter(([id]) => !defined.has(id))
      .map(([id, where]) => `${id} (${[...new Set(where)].join(", ")})`);
    expect(undefinedIds).toEqual([]);
  });

  it("each carry context, choice and consequences", () => {
    expect(defined.size).toBeGreaterThanOrEqual(18);
    for (const [id, text] of defined) {
      expect({
        id,
        context: /\*\*Context\.\*\*/.test(text),
        choice: /\*\*Choice\.\*\*/.test(text),
        consequences: /\*\*Consequences\.\*\*/.test(text),
      }).toEqual({
        id,
        context: true,
        choice: true,
        consequences: true,
      });
    }
  });
});
