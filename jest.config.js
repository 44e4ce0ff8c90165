// Jest runs TypeScript through swc (no type-checking; `npm run typecheck` does that separately).
// Two projects: "unit" is pure and fast; "ops" starts real PostgreSQL, Redis, restic, S3-compatible
// and systemd tooling on loopback and in temporary directories.
const transform = { "^.+\\.(t|j)s$": ["@swc/jest"] };
const common = {
  transform,
  testEnvironment: "node",
  moduleFileExtensions: ["ts", "js", "json"],
};
module.exports = {
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: ["<rootDir>/__tests__/unit/**/*.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/__tests__/helpers/setup-jest.ts"],
    },
    { ...common, displayName: "ops", testMatch: ["<rootDir>/__tests__/ops/**/*.test.ts"] },
  ],
};
