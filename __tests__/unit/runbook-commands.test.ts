/**
 * The runbooks call scripts/box/migrate-db and scripts/ci/deploy-stacks.sh with options; every option they use
 * must be one the script accepts, in every runbook, so a renamed option cannot leave a procedure behind.
 */
import { readdirSync, readFileSync } from "fs";
import { join } from "path";

const root = join(__dirname, "..", "..");
const runbookDir = join(root, "docs", "runbooks");
const runbooks = readdirSync(runbookDir).filter((f) => f.endsWith(".md"));

/** The long options of a bash script's `case` option parser (labels such as `--yes|-y)`). */
function acceptedOptions(script: string): Set<string> {
  const text = readFileSync(join(root, script), "utf8");
  return new Set([...text.matchAll(/^ {4}((?:-{1,2}[a-z-]+\|?)+)\)/gm)].flatMap((m) => m[1].split("|")));
}

/** Options used on the command lines of `tool` in a markdown file (continuation lines joined). */
function usedOptions(markdown: string, tool: string): string[] {
  const joined = markdown.replace(/\\\n\s*/g, " ");
  const used: string[] = [];
  for (const line of joined.split("\n")) {
    const at = line.indexOf(tool);
    if (at < 0) continue;
    const rest = line.slice(at + tool.length).split(/[|;&#`]|&&/)[0];
    for (const m of rest.matchAll(/(?:^|\s)(--[a-z][a-z-]*)/g)) used.push(m[1]);
  }
  return used;
}

describe.each([
  ["migrate-db", "scripts/box/migrate-db"],
  ["deploy-stacks.sh", "scripts/ci/deploy-stacks.sh"],
])("options of %s in the runbooks", (tool, script) => {
  const accepted = acceptedOptions(script);

  it("the script's option parser is found", () => {
    expect(accepted.size).toBeGreaterThan(2);
  });

  it.each(runbooks)("%s uses only options the script accepts", (file) => {
    const used = usedOptions(readFileSync(join(runbookDir, file), "utf8"), tool);
    expect(used.filter((o) => !accepted.has(o))).toEqual([]);
  });

  it("is used with options somewhere, so the check reads real command lines", () => {
    const all = runbooks.flatMap((f) => usedOptions(readFileSync(join(runbookDir, f), "utf8"), tool));
    expect(all.length).toBeGreaterThan(0);
  });
});
