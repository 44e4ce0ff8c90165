/**
 * The layer rules (.dependency-cruiser.js), run by dependency-cruiser itself: the real tree has no violation,
 * and a tree with one planted violation of each rule fails with that rule's name.
 */
import { spawnSync } from "child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join, resolve } from "path";

const root = resolve(__dirname, "..", "..");
const depcruise = join(root, "node_modules", ".bin", "depcruise");

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

function cruise(cwd: string, paths: string[]): { violations: Violation[]; stderr: string } {
  const r = spawnSync(
    depcruise,
    [...paths, "--config", join(root, ".dependency-cruiser.js"), "--output-type", "json"],
    {
      cwd,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const out = r.stdout ? JSON.parse(r.stdout) : { summary: { violations: [] } };
  return { violations: out.summary.violations, stderr: r.stderr };
}

describe("import rules", () => {
  it("hold on the project's own code", () => {
    const r = cruise(root, ["main.ts", "stacks", "constructs", "scripts"]);
    expect(r.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
    expect(r.stderr).toBe("");
  });

  it("name each planted violation", () => {
    const dir = mkdtempSync(join(tmpdir(), "zmanim-layers-"));
    try {
      cpSync(join(root, "tsconfig.json"), join(dir, "tsconfig.json"));
      const files: Record<string, string> = {
        "main.ts": 'import { S } from "./stacks/s";\nexport const app = S;\n',
        "stacks/s.ts":
          'import { C } from "../constructs/c";\nimport { app } from "../main";\nexport const S = [C, app];\n',
        "constructs/c.ts":
          'import { S } from "../stacks/s";\nimport { B } from "./builders/b";\nexport const C = [S, B];\n',
        "constructs/builders/b.ts":
          'import { C } from "../c";\nimport { N } from "../config/n";\nexport const B = [C, N];\n',
        "constructs/config/n.ts":
          'import { B } from "../builders/b";\nimport { T } from "../../scripts/tools/t";\nexport const N = [B, T];\n',
        "scripts/tools/t.ts": 'import { C } from "../../constructs/c";\nexport const T = C;\n',
      };
      for (const [p, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, p)), { recursive: true });
        writeFileSync(join(dir, p), text);
      }
      const r = cruise(dir, ["main.ts", "stacks", "constructs", "scripts"]);
      const names = new Set(r.violations.map((v) => v.rule.name));
      expect([...names].sort()).toEqual([
        "app-never-imports-tools-or-tests",
        "builders-import-config-only",
        "config-is-a-leaf",
        "constructs-never-import-stacks",
        "no-circular",
        "stacks-never-import-the-app",
        "tools-read-config-and-builders",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
