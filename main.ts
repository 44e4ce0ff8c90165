// Entry point of the CDKTF app: pick the environment, validate it, synthesize every stack.
// Stacks live in stacks/; this file is the only place that reads the process environment.
import { selectEnvironment, ConfigError } from "./stacks/validate-environment";
import { synthEnvironment } from "./stacks/synth";

try {
  const env = selectEnvironment(process.argv.slice(2), process.env);
  const out = synthEnvironment(env, process.env.CDKTF_OUTDIR ?? "cdktf.out");
  if (!process.env.CDKTF_OUTDIR) console.log(`synthesized environment "${env.name}" into ${out}`);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`error: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
