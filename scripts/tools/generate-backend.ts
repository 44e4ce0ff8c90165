// Writes backend.tf.json (the state bootstrap) from constructs/builders/state-bootstrap.ts for the selected
// environment (default prod). `--check` compares instead of writing and exits 1 when they differ.
import { readFileSync, writeFileSync } from "fs";
import { repoPath } from "../../constructs/config/repo-root";
import { renderStateBootstrap } from "../../constructs/builders/state-bootstrap";
import { selectEnvironment } from "../../constructs/config/validate-environment";
import { ConfigError } from "../../constructs/config/errors";

const args = process.argv.slice(2);
try {
  const env = selectEnvironment(args, process.env);
  const file = repoPath("backend.tf.json");
  const text = renderStateBootstrap(env);
  if (args.includes("--check")) {
    const current = readFileSync(file, "utf8");
    if (current !== text) {
      console.error("backend.tf.json is out of date; run `npm run backend:generate`");
      process.exit(1);
    }
    console.log("backend.tf.json is up to date");
  } else {
    writeFileSync(file, text);
    console.log(`wrote ${file} for state bucket of environment "${env.name}"`);
  }
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`error: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
