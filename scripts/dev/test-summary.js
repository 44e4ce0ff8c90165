#!/usr/bin/env node
// Prints one closing line for the whole suite: "tests: N passed, M failed[, K skipped]", adding jest's
// per-project results and the per-stack verdicts of terraform validate and the plan tests.
// Usage: test-summary.js DIR FAILED_LAYERS
const fs = require("fs");
const path = require("path");

const [dir, failedLayers] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
// jest.json holds the unit, iam and lint projects (one jest run), ops.json the ops project; a file's project is
// its folder under __tests__/.
const perProject = new Map();
for (const name of ["jest.json", "ops.json"]) {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) continue;
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  skipped += r.numPendingTests + r.numTodoTests;
  for (const t of r.testResults) {
    const project = /__tests__\/([^/]+)\//.exec(t.name)?.[1] ?? "other";
    const p = perProject.get(project) ?? { passed: 0, failed: 0, suites: 0 };
    p.suites += 1;
    p.passed += t.assertionResults.filter((a) => a.status === "passed").length;
    p.failed += t.assertionResults.filter((a) => a.status === "failed").length;
    perProject.set(project, p);
  }
}
for (const [project, p] of perProject)
  console.log(`${project}: ${p.passed} passed, ${p.failed} failed in ${p.suites} suites`);
// Per-stack verdict lines of terraform validate (validate.txt) and the plan tests (plan.txt).
const verdicts = { "validate.txt": ["VALID", "INVALID"], "plan.txt": ["PASS", "FAIL"] };
for (const [file, [ok, bad]] of Object.entries(verdicts)) {
  const p = path.join(dir, file);
  if (!fs.existsSync(p)) continue;
  const lines = fs.readFileSync(p, "utf8").split("\n");
  passed += lines.filter((l) => l.startsWith(`${ok} `)).length;
  failed += lines.filter((l) => l.startsWith(`${bad} `)).length;
  skipped += lines.filter((l) => l.startsWith("SKIP ")).length;
}
// A layer that failed without failing a counted test (typecheck, synth, a crash) still counts as a failure.
if (Number(failedLayers) > 0 && failed === 0) failed = Number(failedLayers);
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
