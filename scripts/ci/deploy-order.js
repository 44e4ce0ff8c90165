#!/usr/bin/env node
// Prints the deploy order of the synthesized stacks: a topological order of cdktf.out/manifest.json's
// `dependencies` (every stack after all the stacks it depends on; ties keep the manifest's alphabetical order).
//
// Usage: node scripts/ci/deploy-order.js [--manifest FILE] [--exclude STACK]... [--json] [--reads STACK]
//   --manifest FILE   default: ${CDKTF_OUTDIR:-cdktf.out}/manifest.json
//   --exclude STACK   leave a stack out (its dependents stay in order); repeatable
//   --json            print a JSON array (for a workflow matrix) instead of one name per line
//   --reads STACK     print the other stacks' outputs STACK reads, one "stack output" a line
// Exit: 0 ok, 2 bad usage or a bad manifest (missing, unknown dependency, cycle).
"use strict";
const fs = require("fs");
const path = require("path");

class OrderError extends Error {}

/** Kahn's algorithm over manifest.stacks[*].dependencies. Throws OrderError on unknown deps or cycles. */
function deployOrder(manifest) {
  const stacks = manifest && manifest.stacks;
  if (!stacks || typeof stacks !== "object")
    throw new OrderError("manifest has no `stacks` object; run `npm run synth` first");
  const names = Object.keys(stacks).sort();
  const deps = new Map();
  for (const n of names) {
    const d = stacks[n].dependencies || [];
    for (const x of d) {
      if (!stacks[x]) throw new OrderError(`stack ${n} depends on ${x}, which is not in the manifest`);
    }
    deps.set(n, new Set(d));
  }
  const order = [];
  const done = new Set();
  while (order.length < names.length) {
    const ready = names.filter((n) => !done.has(n) && [...deps.get(n)].every((d) => done.has(d)));
    if (ready.length === 0) {
      const left = names.filter((n) => !done.has(n));
      throw new OrderError(`dependency cycle among: ${left.join(", ")}`);
    }
    // One at a time keeps the order stable and readable: the first ready stack alphabetically.
    order.push(ready[0]);
    done.add(ready[0]);
  }
  return order;
}

/** True when `order` lists every manifest stack once, each after all of its dependencies. */
function isTopologicalOrder(manifest, order) {
  const names = Object.keys(manifest.stacks);
  if (order.length !== names.length || new Set(order).size !== order.length) return false;
  const pos = new Map(order.map((n, i) => [n, i]));
  return names.every(
    (n) => pos.has(n) && (manifest.stacks[n].dependencies || []).every((d) => pos.get(d) < pos.get(n)),
  );
}

/**
 * The outputs of other stacks a synthesized stack reads through terraform_remote_state, as "stack output"
 * strings (cdktf names each data source `cross-stack-reference-input-<stack>`), sorted and unique.
 */
function readsOutputs(stackJsonText) {
  const found = new Set();
  const re = /terraform_remote_state\.cross-stack-reference-input-([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g;
  for (const m of stackJsonText.matchAll(re)) found.add(`${m[1]} ${m[2]}`);
  return [...found].sort();
}

function main(argv) {
  let manifestPath = path.join(process.env.CDKTF_OUTDIR || "cdktf.out", "manifest.json");
  const exclude = [];
  let json = false;
  let reads;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") {
      process.stdout.write(
        fs
          .readFileSync(__filename, "utf8")
          .split("\n")
          .slice(1, 10)
          .map((l) => l.replace(/^\/\/ ?/, ""))
          .join("\n") + "\n",
      );
      return 0;
    } else if (a === "--manifest" && argv[i + 1]) manifestPath = argv[++i];
    else if (a === "--exclude" && argv[i + 1]) exclude.push(argv[++i]);
    else if (a === "--json") json = true;
    else if (a === "--reads" && argv[i + 1]) reads = argv[++i];
    else throw new OrderError(`unknown or incomplete option "${a}"; see --help`);
  }
  if (!fs.existsSync(manifestPath))
    throw new OrderError(`manifest ${manifestPath} does not exist; run \`npm run synth\` first`);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
  for (const x of exclude) {
    if (!manifest.stacks || !manifest.stacks[x])
      throw new OrderError(`--exclude ${x}: no such stack in ${manifestPath}`);
  }
  if (reads !== undefined) {
    const st = manifest.stacks && manifest.stacks[reads];
    if (!st) throw new OrderError(`--reads ${reads}: no such stack in ${manifestPath}`);
    const file = path.join(path.dirname(manifestPath), st.synthesizedStackPath || `stacks/${reads}/cdk.tf.json`);
    const lines = readsOutputs(fs.readFileSync(file, "utf8"));
    process.stdout.write(lines.map((l) => l + "\n").join(""));
    return 0;
  }
  const order = deployOrder(manifest).filter((n) => !exclude.includes(n));
  process.stdout.write(json ? JSON.stringify(order) + "\n" : order.join("\n") + "\n");
  return 0;
}

module.exports = { deployOrder, isTopologicalOrder, readsOutputs, OrderError };

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    if (e instanceof OrderError || e instanceof SyntaxError) {
      process.stderr.write(`deploy-order: ${e.message}\n`);
      process.exitCode = 2;
    } else throw e;
  }
}
