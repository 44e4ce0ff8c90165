/**
 * Re-extracts the vendored IAM action map from a pike checkout (github.com/JamesWoolfenden/pike, Apache-2.0).
 *
 *   npx tsx scripts/tools/iam/refresh-pike.ts PIKE_DIR
 *
 * PIKE_DIR is a pike clone (a work tree or a bare git directory). Only the types this project synthesizes
 * (scripts/tools/iam/types.ts) are copied, from the clone's HEAD, into constructs/builders/iam/data/pike/{resource,data}/,
 * together with pike's LICENSE and SOURCE.json (commit and date). Corrections live apart, in
 * constructs/builders/iam/data/overrides.json, and survive a refresh. Exits 1 naming every type pike has no map for:
 * such a type needs a full entry in overrides.json.
 */
import { execFileSync } from "child_process";
import { mkdirSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { requiredTypes } from "./types";
import { PIKE_DIR } from "../../../constructs/builders/iam/action-map";

function git(repo: string, ...args: string[]): string {
  return execFileSync("git", ["-C", repo, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

function main(argv: string[]): number {
  const repo = argv[0];
  if (!repo || argv.includes("--help")) {
    console.error(
      "usage: npx tsx scripts/tools/iam/refresh-pike.ts PIKE_DIR   (a clone of github.com/JamesWoolfenden/pike)",
    );
    return repo ? 0 : 2;
  }
  const commit = git(repo, "rev-parse", "HEAD").trim();
  const date = git(repo, "log", "-1", "--format=%cI", "HEAD").trim();
  const files = git(repo, "ls-tree", "-r", "--name-only", "HEAD", "src/mapping/aws").split("\n").filter(Boolean);
  const types = requiredTypes();
  const missing: string[] = [];
  rmSync(PIKE_DIR, { recursive: true, force: true });
  for (const kind of ["resource", "data"] as const) {
    mkdirSync(join(PIKE_DIR, kind), { recursive: true });
    for (const type of types[kind]) {
      const path = files.find((f) => f.startsWith(`src/mapping/aws/${kind}/`) && f.endsWith(`/${type}.json`));
      if (!path) {
        missing.push(`${kind} ${type}`);
        continue;
      }
      const body = JSON.parse(git(repo, "show", `HEAD:${path}`));
      writeFileSync(join(PIKE_DIR, kind, `${type}.json`), JSON.stringify({ source: path, map: body }, null, 2) + "\n");
    }
  }
  writeFileSync(join(PIKE_DIR, "LICENSE"), git(repo, "show", "HEAD:LICENSE"));
  writeFileSync(
    join(PIKE_DIR, "SOURCE.json"),
    JSON.stringify(
      { repository: "https://github.com/JamesWoolfenden/pike", license: "Apache-2.0", commit, date },
      null,
      2,
    ) + "\n",
  );
  console.log(
    `vendored ${types.resource.length} resource and ${types.data.length} data source maps from pike ${commit.slice(0, 12)}`,
  );
  if (missing.length) {
    console.error(
      `pike has no map for: ${missing.join(", ")}; add a full entry for each to constructs/builders/iam/data/overrides.json`,
    );
    return 1;
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
