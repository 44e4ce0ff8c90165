/**
 * Regenerates scripts/tools/policy/data/checkov/aws-rules.json (and SOURCE.json, LICENSE) from a checkout of
 * checkov's source repository (https://github.com/bridgecrewio/checkov, Apache-2.0). Only data is taken:
 * each AWS Terraform check's id, its title and the resource types it checks, never the checks' code.
 *
 *   git clone https://github.com/bridgecrewio/checkov /tmp/checkov
 *   npx tsx scripts/tools/policy/refresh-checkov.ts /tmp/checkov
 *
 * What it reads:
 * - checkov/terraform/checks/resource/aws/*.py: one resource check per file, `id = "CKV_AWS_<n>"`,
 *   `name = "..."` and `supported_resources = [...]` (or `supported_resource`). Checks that subclass an
 *   abstract check (`super().__init__(check_id="CKV_AWS_24", port=22)`) take the name and the resource
 *   types from the base class's file, with `{port}` filled in; the IAM checks built on
 *   base_cloudsplaining_resource_iam_check.py take that base's resource types.
 * - checkov/terraform/checks/graph_checks/aws/*.yaml: graph checks (`CKV2_AWS_<n>`); their resource types are
 *   every `resource_types` entry of the definition's attribute conditions and the `resource_types` of its
 *   connection conditions (the types the check reports on are among them).
 * The refresh fails, naming the file, when a check file does not yield an id and at least one resource type,
 * so a change in checkov's layout cannot silently drop rules.
 */
import { execFileSync } from "child_process";
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { basename, join } from "path";
import { parse } from "yaml";

export interface CheckovRule {
  id: string;
  name: string;
  /** The Terraform resource types the check runs on. */
  resources: string[];
  /** The check's file in checkov's repository. */
  file: string;
  kind: "resource" | "graph";
}

const RESOURCE_DIR = "checkov/terraform/checks/resource/aws";
const GRAPH_DIR = "checkov/terraform/checks/graph_checks/aws";

const quoted = (s: string) => [...s.matchAll(/["']([A-Za-z0-9_]+)["']/g)].map((m) => m[1]);

/** The resource types of `supported_resource(s) = [...]` or `(...)` in a Python source, or undefined. */
function supportedResources(src: string): string[] | undefined {
  const m = /supported_resources?\s*=\s*[[(]([^\])]*)[\])]/.exec(src);
  return m ? quoted(m[1]) : undefined;
}
/** The string assigned to `name = ...` (or `description = ...`): a literal, an f-string, or adjacent literals in parentheses. */
function nameOf(src: string): string | undefined {
  const lit = `f?(?:"(?:[^"\\\\]|\\\\.)*"|'(?:[^'\\\\]|\\\\.)*')`;
  const m = new RegExp(`\\b(?:name|description)\\s*=\\s*\\(?\\s*((?:${lit}\\s*)+)`).exec(src);
  if (!m) return undefined;
  const parts = [...m[1].matchAll(/f?("((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')/g)].map((p) => p[2] ?? p[3]);
  return parts.join("").replace(/\\(["'])/g, "$1");
}

/** The file of the base class a check imports from checkov.terraform.checks.resource[.aws], if any. */
function baseFile(root: string, src: string): string | undefined {
  for (const m of src.matchAll(/from checkov\.terraform\.checks\.resource\.([\w.]+) import/g)) {
    const path = join(root, "checkov/terraform/checks/resource", ...m[1].split(".")) + ".py";
    if (existsSync(path)) return path;
  }
  return undefined;
}

export function resourceRules(root: string): CheckovRule[] {
  const dir = join(root, RESOURCE_DIR);
  const out: CheckovRule[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".py") && f !== "__init__.py")
    .sort()) {
    const src = readFileSync(join(dir, file), "utf8");
    if (!/^check\s*=/m.test(src)) continue; // abstract bases and helpers register no check
    const base = baseFile(root, src);
    const baseSrc = base ? readFileSync(base, "utf8") : "";
    const idMatch = /\b(?:id|check_id)\s*=\s*["'](CKV2?_AWS_\d+)["']/.exec(src);
    const port = /\bport\s*=\s*(\d+)/.exec(src)?.[1];
    let name = nameOf(src) ?? nameOf(baseSrc);
    if (name && port) name = name.replace("{port}", port);
    const resources = supportedResources(src) ?? supportedResources(baseSrc);
    if (!idMatch || !name || !resources?.length) {
      throw new Error(
        `${RESOURCE_DIR}/${file}: no id, name or supported_resources found (id=${idMatch?.[1]}, name=${name}, resources=${resources}); update refresh-checkov.ts for the new layout`,
      );
    }
    out.push({
      id: idMatch[1],
      name,
      resources: [...new Set(resources)].sort(),
      file: `${RESOURCE_DIR}/${file}`,
      kind: "resource",
    });
  }
  return out;
}

/** Every `resource_types` list in a graph check's definition. */
function graphTypes(node: unknown, acc: Set<string>): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => graphTypes(n, acc));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "resource_types")
        [v].flat().forEach((t) => typeof t === "string" && t.startsWith("aws_") && acc.add(t));
      else graphTypes(v, acc);
    }
  }
  return acc;
}

export function graphRules(root: string): CheckovRule[] {
  const dir = join(root, GRAPH_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((file) => {
      const doc = parse(readFileSync(join(dir, file), "utf8")) as {
        metadata?: { id?: string; name?: string };
        definition?: unknown;
      };
      const id = doc.metadata?.id;
      const resources = [...graphTypes(doc.definition, new Set())].sort();
      if (!id || !doc.metadata?.name || resources.length === 0) {
        throw new Error(
          `${GRAPH_DIR}/${file}: no metadata.id, metadata.name or resource_types found; update refresh-checkov.ts`,
        );
      }
      return { id, name: doc.metadata.name, resources, file: `${GRAPH_DIR}/${file}`, kind: "graph" as const };
    });
}

const byId = (a: CheckovRule, b: CheckovRule) => {
  const n = (r: CheckovRule) => [
    r.id.startsWith("CKV2") ? 1 : 0,
    Number(r.id.replace(/\D+/g, " ").trim().split(" ").pop()),
  ];
  const [ka, kb] = [n(a), n(b)];
  return ka[0] - kb[0] || ka[1] - kb[1] || a.file.localeCompare(b.file);
};

if (require.main === module) {
  const root = process.argv[2];
  if (!root || !existsSync(join(root, RESOURCE_DIR))) {
    console.error(
      `usage: npx tsx scripts/tools/policy/refresh-checkov.ts <checkov checkout>; "${root ?? ""}" has no ${RESOURCE_DIR}`,
    );
    process.exit(2);
  }
  const out = join(__dirname, "data", "checkov");
  const rules = [...resourceRules(root), ...graphRules(root)].sort(byId);
  writeFileSync(join(out, "aws-rules.json"), JSON.stringify(rules, null, 1) + "\n");
  copyFileSync(join(root, "LICENSE"), join(out, "LICENSE"));
  let commit = process.env.CHECKOV_COMMIT ?? "";
  let date = process.env.CHECKOV_COMMIT_DATE ?? "";
  if (!commit) {
    try {
      [commit, date] = execFileSync("git", ["-C", root, "log", "-1", "--format=%H %cI"], { encoding: "utf8" })
        .trim()
        .split(" ");
    } catch {
      throw new Error(
        `${root} is not a git checkout: set CHECKOV_COMMIT and CHECKOV_COMMIT_DATE to the commit it was exported from`,
      );
    }
  }
  const source = {
    repository: "https://github.com/bridgecrewio/checkov",
    commit,
    commitDate: date,
    license: "Apache-2.0 (LICENSE beside this file)",
    paths: [`${RESOURCE_DIR}/*.py`, `${GRAPH_DIR}/*.yaml`],
    content:
      "Data only: each check's id, name and resource types, extracted by scripts/tools/policy/refresh-checkov.ts",
  };
  writeFileSync(join(out, "SOURCE.json"), JSON.stringify(source, null, 2) + "\n");
  console.log(
    `wrote ${rules.length} rules (${rules.filter((r) => r.kind === "resource").length} resource, ${rules.filter((r) => r.kind === "graph").length} graph) from ${basename(root)} at ${commit}`,
  );
}
