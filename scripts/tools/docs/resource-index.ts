/**
 * The resource index of docs/architecture.md: for every Terraform type the project can synthesize, the source
 * file(s) that create it (a `new <Class>(` of the provider binding imported from `@cdktf/provider-*\/lib/...`)
 * and the stacks that hold it in each shipped environment. A newcomer goes from a type in a plan to its file
 * in one hop.
 *
 *   npx tsx scripts/tools/docs/resource-index.ts           print the table
 *   npx tsx scripts/tools/docs/resource-index.ts --write   rewrite the block in docs/architecture.md
 *
 * The block sits between the markers below; a unit test fails when it is stale.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from "fs";
import { join, relative } from "path";
import { repoPath } from "../../../constructs/config/repo-root";

export const BEGIN = "<!-- resource-index:begin (npx tsx scripts/tools/docs/resource-index.ts --write) -->";
export const END = "<!-- resource-index:end -->";

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** `vpc-security-group-ingress-rule` of provider `aws` -> `aws_vpc_security_group_ingress_rule`; `data-aws-x` -> `data.aws_x`. */
function terraformType(provider: string, lib: string): string {
  return lib.startsWith("data-") ? `data.${lib.slice(5).replace(/-/g, "_")}` : `${provider}_${lib.replace(/-/g, "_")}`;
}

/** Type -> repo-relative files that instantiate it. */
export function typesByFile(root: string = repoPath()): Map<string, string[]> {
  const byType = new Map<string, string[]>();
  const files = [join(root, "main.ts"), ...sources(join(root, "stacks")), ...sources(join(root, "constructs"))];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/import \{([^}]+)\} from "@cdktf\/provider-(\w+)\/lib\/([\w-]+)";/g)) {
      const [, names, provider, lib] = m;
      const classes = names.split(",").map((n) => n.trim().split(/\s+as\s+/).pop()!).filter((n) => /^[A-Z]/.test(n));
      if (!classes.some((c) => new RegExp(`new ${c}\\(`).test(text))) continue;
      if (lib === "provider") continue;
      const type = terraformType(provider, lib);
      const rel = relative(root, file);
      byType.set(type, [...(byType.get(type) ?? []), rel].sort());
    }
  }
  return byType;
}

/** Type -> stack short names, from synthesized outdirs (`<outdir>/stacks/zmanim-<env>-<stack>/cdk.tf.json`). */
export function stacksByType(outdirs: string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const outdir of outdirs) {
    for (const dir of readdirSync(join(outdir, "stacks"))) {
      const short = dir.replace(/^zmanim-[a-z0-9]+-/, "");
      const json = JSON.parse(readFileSync(join(outdir, "stacks", dir, "cdk.tf.json"), "utf8"));
      const add = (t: string) => out.set(t, (out.get(t) ?? new Set()).add(short));
      for (const t of Object.keys(json.resource ?? {})) add(t);
      for (const t of Object.keys(json.data ?? {})) add(`data.${t}`);
    }
  }
  return out;
}

export function renderIndex(byType: Map<string, string[]>, stacks: Map<string, Set<string>>): string {
  const rows = [...byType.keys()]
    .filter((t) => t.startsWith("aws_") || t.startsWith("random_") || t.startsWith("null_") || t.startsWith("data.aws_"))
    .sort((a, b) => a.replace(/^data\./, "").localeCompare(b.replace(/^data\./, "")) || a.localeCompare(b));
  const lines = ["| Terraform type | created in | stacks |", "|---|---|---|"];
  for (const t of rows) {
    const files = byType.get(t)!.map((f) => `[\`${f}\`](../${f})`).join(", ");
    const st = [...(stacks.get(t) ?? [])].sort().join(", ") || "(only with an option: waf, NAT egress, a replication group, an existing zone)";
    lines.push(`| \`${t}\` | ${files} | ${st} |`);
  }
  return lines.join("\n");
}

export function replaceBlock(doc: string, table: string): string {
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  if (i < 0 || j < i) throw new Error(`docs/architecture.md: markers ${BEGIN} ... ${END} not found`);
  return `${doc.slice(0, i + BEGIN.length)}\n${table}\n${doc.slice(j)}`;
}

async function main(): Promise<void> {
  const { mkdtempSync, rmSync } = await import("fs");
  const { tmpdir } = await import("os");
  const { synthEnvironment } = await import("../../../main");
  const { shippedEnvironments } = await import("../terraform/environments");
  const base = mkdtempSync(join(tmpdir(), "zmanim-index-"));
  try {
    const outdirs = shippedEnvironments().map((env) => synthEnvironment(env, join(base, env.name)));
    const table = renderIndex(typesByFile(), stacksByType(outdirs));
    if (process.argv.includes("--write")) {
      const path = repoPath("docs", "architecture.md");
      writeFileSync(path, replaceBlock(readFileSync(path, "utf8"), table));
      console.log(`wrote ${relative(process.cwd(), path)}`);
    } else {
      console.log(table);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`resource-index: ${(err as Error).message}`);
    process.exit(1);
  });
}
