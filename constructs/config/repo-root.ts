import { existsSync } from "fs";
import { dirname, join, resolve } from "path";

let cached: string | undefined;

/**
 * The repository root (the directory holding cdktf.json), found from this file whether it runs from
 * source (`stacks/`) or compiled (`dist/stacks/`). Files under `scripts/` and `packer/` are read from here.
 */
export function repoRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  while (!existsSync(join(dir, "cdktf.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cdktf.json not found above ${__dirname}`);
    dir = up;
  }
  cached = dir;
  return dir;
}

export function repoPath(...parts: string[]): string {
  return resolve(repoRoot(), ...parts);
}
