/**
 * npm run diagram [-- --env NAME --outdir DIR --out FILE --svg FILE --dot FILE --no-svg --full
 *                    --update-readme --check-readme]
 *
 * Draws the synthesized stacks of one environment as a Mermaid flowchart (and as SVG through Graphviz `dot`
 * when it is on PATH). `--update-readme` rewrites the block between <!-- diagram:begin --> and
 * <!-- diagram:end --> in README.md; `--check-readme` exits 1 when that block is stale and writes nothing.
 *
 * Exit codes: 0 ok; 1 README block stale (--check-readme); 2 bad input (nothing written).
 */
import { spawnSync } from "child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import { dirname, resolve } from "path";
import { selectEnvironment } from "../../../constructs/config/validate-environment";
import { InputError, loadStacks, replaceBetweenMarkers, stacksOfEnvironment, textBetweenMarkers } from "../cost/tfjson";
import { buildGraph } from "./graph";
import { readmeBlock, renderDot, renderMermaid } from "./render";
import { ConfigError } from "../../../constructs/config/errors";

const HELP = `Usage: npm run diagram [-- options]

Draws the synthesized stacks of one environment: resources grouped by stack, an edge for every reference
between resources, and cross-stack edges through remote state.

Options:
  --env NAME        environment (default: ZMANIM_ENV or prod)
  --outdir DIR      cdktf output directory to read (default: cdktf.out)
  --out FILE        Mermaid output (default: docs/architecture.mmd)
  --svg FILE        SVG output through Graphviz dot (default: docs/architecture.svg; skipped with a
                    warning when dot is not on PATH)
  --dot FILE        also write the Graphviz source
  --no-svg          do not run dot
  --full            keep every resource (no folding of bucket settings, rules, attachments, ...)
  --update-readme   rewrite the block between <!-- diagram:begin --> and <!-- diagram:end --> in the README
  --check-readme    exit 1 when that README block differs from the current output; writes nothing
  --readme FILE     the README to update or check (default: README.md)
  -h, --help        this text
`;

interface Options {
  outdir: string;
  out: string;
  svg?: string;
  dot?: string;
  noSvg: boolean;
  full: boolean;
  updateReadme: boolean;
  checkReadme: boolean;
  readme: string;
  help: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    outdir: "cdktf.out",
    out: "docs/architecture.mmd",
    noSvg: false,
    full: false,
    updateReadme: false,
    checkReadme: false,
    readme: "README.md",
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf("=");
    const flag = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    const take = (): string => {
      if (eq > 0 && a.startsWith("--")) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new InputError(`${flag}: missing value; see --help`);
      return v;
    };
    switch (flag) {
      case "--env":
        take();
        break; // read by selectEnvironment
      case "--outdir":
        o.outdir = take();
        break;
      case "--out":
        o.out = take();
        break;
      case "--svg":
        o.svg = take();
        break;
      case "--dot":
        o.dot = take();
        break;
      case "--no-svg":
        o.noSvg = true;
        break;
      case "--full":
        o.full = true;
        break;
      case "--update-readme":
        o.updateReadme = true;
        break;
      case "--check-readme":
        o.checkReadme = true;
        break;
      case "--readme":
        o.readme = take();
        break;
      case "-h":
      case "--help":
        o.help = true;
        break;
      default:
        throw new InputError(`${JSON.stringify(a)}: unknown option; see --help`);
    }
  }
  if (o.updateReadme && o.checkReadme) throw new InputError("--update-readme and --check-readme: pick one");
  return o;
}

/** The Mermaid source for the stacks in `outdir` (the README embeds exactly this). */
export function mermaidFor(outdir: string, envName: string, full = false): string {
  const stacks = stacksOfEnvironment(loadStacks(outdir), envName, outdir);
  return renderMermaid(buildGraph(stacks, { collapse: !full }));
}

export function main(
  argv: readonly string[],
  vars: Readonly<Record<string, string | undefined>>,
  print: (s: string) => void = (s) => process.stdout.write(s),
  printErr: (s: string) => void = (s) => process.stderr.write(s),
): number {
  try {
    const o = parseArgs(argv);
    if (o.help) {
      print(HELP);
      return 0;
    }
    const env = selectEnvironment(argv, vars);
    const stacks = stacksOfEnvironment(loadStacks(o.outdir), env.name, o.outdir);
    const graph = buildGraph(stacks, { collapse: !o.full });
    const mermaid = renderMermaid(graph);
    const readme = o.readme;

    if (o.checkReadme) {
      if (!existsSync(readme))
        throw new InputError(`--check-readme: ${readme} not found; run from the repository root or pass --readme FILE`);
      const current = textBetweenMarkers(readFileSync(readme, "utf8"), "diagram");
      if (current === undefined)
        throw new InputError(`${readme}: markers <!-- diagram:begin --> ... <!-- diagram:end --> not found`);
      if (current.trim() !== readmeBlock(mermaid).trim()) {
        printErr(`diagram: the Mermaid block in ${readme} is stale; run \`npm run diagram -- --update-readme\`\n`);
        return 1;
      }
      print(`diagram: ${readme} is up to date\n`);
      return 0;
    }

    const writes: Array<[string, string]> = [[o.out, mermaid]];
    if (o.dot) writes.push([o.dot, renderDot(graph)]);
    if (o.updateReadme) {
      if (!existsSync(readme))
        throw new InputError(
          `--update-readme: ${readme} not found; run from the repository root or pass --readme FILE`,
        );
      writes.push([
        readme,
        replaceBetweenMarkers(readFileSync(readme, "utf8"), "diagram", readmeBlock(mermaid), readme),
      ]);
    }
    for (const [file, text] of writes) {
      mkdirSync(dirname(resolve(file)), { recursive: true });
      writeFileSync(file, text);
      print(`diagram: wrote ${file}\n`);
    }

    if (!o.noSvg) {
      const svg = o.svg ?? "docs/architecture.svg";
      const probe = spawnSync("dot", ["-V"], { encoding: "utf8" });
      if (probe.error) {
        printErr(`diagram: Graphviz \`dot\` is not on PATH; skipped ${svg} (apt-get install graphviz)\n`);
      } else {
        mkdirSync(dirname(resolve(svg)), { recursive: true });
        const run = spawnSync("dot", ["-Tsvg", "-o", svg], { input: renderDot(graph), encoding: "utf8" });
        if (run.status !== 0) {
          printErr(`diagram: dot -Tsvg failed (exit ${run.status}): ${run.stderr}\n`);
          return 2;
        }
        print(`diagram: wrote ${svg}\n`);
      }
    }
    const n = graph.stacks.reduce((s, x) => s + x.nodes.length, 0);
    print(
      `diagram: ${graph.stacks.length} stacks, ${n} nodes, ${graph.edges.length} edges${o.full ? "" : " (configuration resources folded; --full keeps them)"}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      printErr(`diagram: ${err.problems.join("; ")}\n`);
      return 2;
    }
    if (err instanceof InputError) {
      printErr(`diagram: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), process.env);
}
