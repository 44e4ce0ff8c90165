/**
 * No constructor in stacks/ or constructs/ runs past 120 lines: a longer one is split into methods (a concern
 * each), which keeps every stack and construct readable in one screen or two. Measured with TypeScript's parser.
 */
import { readFileSync, readdirSync, statSync } from "fs";
import { join, relative } from "path";
import * as ts from "typescript";

const root = join(__dirname, "..", "..");
const LIMIT = 120;

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

export function constructorLengths(path: string, text = readFileSync(path, "utf8")): Array<[string, number]> {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true);
  const out: Array<[string, number]> = [];
  const visit = (node: ts.Node) => {
    if (ts.isConstructorDeclaration(node) && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.body.getEnd()).line;
      const cls = (node.parent as ts.ClassDeclaration).name?.text ?? "(anonymous)";
      out.push([`${relative(root, path)}:${cls}`, end - start + 1]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe("constructor size", () => {
  it(`keeps every constructor in stacks/ and constructs/ at or under ${LIMIT} lines`, () => {
    const all = [...files(join(root, "stacks")), ...files(join(root, "constructs"))].flatMap((f) =>
      constructorLengths(f),
    );
    expect(all.length).toBeGreaterThan(20);
    expect(all.filter(([, n]) => n > LIMIT).map(([where, n]) => `${where}: ${n} lines`)).toEqual([]);
  });

  it("measures a long constructor as long", () => {
    const body = Array.from({ length: LIMIT + 5 }, (_, i) => `    const v${i} = ${i};`).join("\n");
    expect(constructorLengths("x.ts", `class X {\n  constructor() {\n${body}\n  }\n}\n`)).toEqual([
      ["x.ts:X", LIMIT + 7],
    ]);
  });
});
