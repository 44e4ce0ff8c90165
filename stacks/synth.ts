import { existsSync, mkdirSync, renameSync, rmSync } from "fs";
import { dirname, resolve } from "path";
import { App } from "cdktf/lib/app";
import { addStacks } from "./app";
import { EnvironmentConfig } from "./environments";
import { validateEnvironment } from "./validate-environment";

/**
 * Synthesizes every stack of `env` into `outdir`, all or nothing.
 *
 * The environment is validated first (a ConfigError leaves `outdir` untouched). The app then synthesizes
 * into a sibling staging directory, and only a complete output replaces `outdir`, so nobody can ever
 * deploy a half-written `cdktf.out`.
 */
export function synthEnvironment(env: EnvironmentConfig, outdir: string): string {
  validateEnvironment(env);
  const target = resolve(outdir);
  const staging = `${target}.staging-${process.pid}`;
  const previous = `${target}.previous-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  try {
    const app = new App({ outdir: staging });
    addStacks(app, env);
    app.synth();
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(target)) renameSync(target, previous);
  renameSync(staging, target);
  rmSync(previous, { recursive: true, force: true });
  return target;
}
