#!/usr/bin/env node
// Prints one closing line for the whole suite: "tests: N passed, M failed[, K skipped]", adding jest's
// per-project results and terraform validate's per-stack verdicts. Usage: test-summary.js DIR FAILED_LAYERS
const fs = require("fs");
const path = require("path");

const [dir, failedLayers] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
for (const project of ["unit", "ops"]) {
  const file = path.join(dir, `${project}.json`);
  if (!fs.existsSync(file)) continue;
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  skipped += r.numPendingTests + r.numTodoTests;
  console.log(`${project}: ${r.numPassedTests} passed, ${r.numFailedTests} failed in ${r.numTotalTestSuites} suites`);
}
const validate = path.join(dir, "validate.txt");
if (fs.existsSync(validate)) {
  const lines = fs.readFileSync(validate, "utf8").split("\n");
  passed += lines.filter((l) => l.startsWith("VALID")).length;
  failed += lines.filter((l) => l.startsWith("INVALID")).length;
  skipped += lines.filter((l) => l.startsWith("SKIP")).length;
}
// A layer that failed without failing a counted test (typecheck, synth, a crash) still counts as a failure.
if (Number(failedLayers) > 0 && failed === 0) failed = Number(failedLayers);
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
