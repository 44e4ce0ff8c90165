// ESLint (flat config): typescript-eslint's recommended rules on the TypeScript and JavaScript of the project.
// Formatting belongs to Prettier (.prettierrc.json); `npm run lint` runs both and the import rules.
const js = require("@eslint/js");
const tseslint = require("typescript-eslint");

module.exports = tseslint.config(
  { ignores: ["node_modules/", "dist/", "cdktf.out*/", "coverage/", ".bench/", "docs/", "__tests__/fixtures/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: {
        require: "readonly",
        module: "writable",
        process: "readonly",
        __dirname: "readonly",
        console: "readonly",
        __filename: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        URL: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // CommonJS scripts (CI helpers, configs) load their dependencies with require().
    files: ["**/*.js"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Tests parse synthesized JSON and YAML of known shape, and load CommonJS helpers with require().
    files: ["__tests__/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // CloudFront Functions (cloudfront-js-2.0) run in CloudFront's own runtime: handler is called by name.
    files: ["constructs/cloudfront/*.js"],
    rules: { "no-unused-vars": "off", "@typescript-eslint/no-unused-vars": "off" },
  },
);
