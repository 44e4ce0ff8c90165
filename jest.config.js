// Jest runs TypeScript through swc (no type-checking; `npm run typecheck` does that separately).
// Projects:
// - "unit": pure and fast; every environment is synthesized once per run (globalSetup), not per file;
// - "iam": the IAM sufficiency simulation (a policy evaluator over every role and call), the slowest pure layer;
// - "lint": the import rules (dependency-cruiser) over the whole tree, and the workflows (actionlint, shellcheck,
//   pinned actions, sessions that outlast their jobs);
// - "ops": real PostgreSQL, Redis, restic, S3-compatible and systemd tooling on loopback and in temporary
//   directories.
const transform = { "^.+\\.(t|j)s$": ["@swc/jest"] };
const common = {
  transform,
  testEnvironment: "node",
  moduleFileExtensions: ["ts", "js", "json"],
};
module.exports = {
  // Every core: jest otherwise leaves one idle for itself (one worker on a 2-core machine), and its own process
  // mostly waits on the workers.
  maxWorkers: "100%",
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: ["<rootDir>/__tests__/unit/**/*.test.ts"],
      globalSetup: "<rootDir>/__tests__/helpers/synth-cache.ts",
      globalTeardown: "<rootDir>/__tests__/helpers/synth-cache-teardown.ts",
      setupFilesAfterEnv: ["<rootDir>/__tests__/helpers/setup-jest.ts"],
    },
    {
      ...common,
      displayName: "iam",
      testMatch: ["<rootDir>/__tests__/iam/**/*.test.ts"],
      globalSetup: "<rootDir>/__tests__/helpers/synth-cache.ts",
      globalTeardown: "<rootDir>/__tests__/helpers/synth-cache-teardown.ts",
      setupFilesAfterEnv: ["<rootDir>/__tests__/helpers/setup-jest.ts"],
    },
    {
      ...common,
      displayName: "lint",
      testMatch: ["<rootDir>/__tests__/lint/**/*.test.ts"],
      globalSetup: "<rootDir>/__tests__/helpers/synth-cache.ts",
      globalTeardown: "<rootDir>/__tests__/helpers/synth-cache-teardown.ts",
      setupFilesAfterEnv: ["<rootDir>/__tests__/helpers/setup-jest.ts"],
    },
    {
      ...common,
      displayName: "ops",
      testMatch: ["<rootDir>/__tests__/ops/**/*.test.ts"],
      // PATH for the PostgreSQL clients, and a 60 s default timeout per test (ops-setup.ts).
      setupFilesAfterEnv: ["<rootDir>/__tests__/helpers/ops-setup.ts"],
    },
  ],
};
