/**
 * Import rules of the project's layers (docs/architecture.md, "Layers"). Imports flow one way:
 *
 *   constructs/config  ->  constructs/builders  ->  constructs  ->  stacks  ->  main.ts (the app)
 *
 * Tools (scripts/tools) may read configuration and builders, and synthesize through main.ts; nothing in the
 * app imports a tool, a test or a CI script. `npm run lint:imports` runs these rules; a unit test plants a
 * violation of each kind and expects the tool to name it.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const APP = "^(main\\.ts|stacks/|constructs/)";
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A cycle ties modules together so neither can change alone.",
      from: {},
      to: { circular: true },
    },
    {
      name: "config-is-a-leaf",
      severity: "error",
      comment: "Configuration (environments, naming, validation) imports no other layer of the project.",
      from: { path: "^constructs/config/" },
      to: { path: "^(main\\.ts|stacks/|scripts/|__tests__/|constructs/(?!config/))" },
    },
    {
      name: "builders-import-config-only",
      severity: "error",
      comment: "Builders produce documents from configuration; they never import constructs, stacks or the app.",
      from: { path: "^constructs/builders/" },
      to: { path: "^(main\\.ts|stacks/|scripts/|__tests__/|constructs/(?!(config|builders)/))" },
    },
    {
      name: "constructs-never-import-stacks",
      severity: "error",
      comment: "Constructs are reusable building blocks; a stack composes them, never the other way round.",
      from: { path: "^constructs/" },
      to: { path: "^(main\\.ts|stacks/)" },
    },
    {
      name: "stacks-never-import-the-app",
      severity: "error",
      from: { path: "^stacks/" },
      to: { path: "^main\\.ts$" },
    },
    {
      name: "app-never-imports-tools-or-tests",
      severity: "error",
      comment: "Synth must not depend on tools, CI scripts or tests.",
      from: { path: APP },
      to: { path: "^(scripts/|__tests__/)" },
    },
    {
      name: "tools-read-config-and-builders",
      severity: "error",
      comment:
        "Tools read configuration and builders (and synthesize through main.ts), never stacks or constructs directly.",
      from: { path: "^scripts/" },
      to: { path: "^(stacks/|constructs/(?!(config|builders)/)|__tests__/)" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|cdktf\\.out)" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    moduleSystems: ["cjs", "es6"],
  },
};
