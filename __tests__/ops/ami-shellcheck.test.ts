/**
 * shellcheck -x on every shell script in the repository: every *.sh file and every file whose shebang names
 * bash or sh, outside node_modules, build output and Terraform caches. Repository-wide on purpose: the AMI
 * runs several of these scripts (user data, backups, the binary update) as root.
 */
import { spawn, spawnSync } from "child_process";
import { cpus, tmpdir } from "os";
import { openSync, readSync, closeSync, readdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { join, relative, resolve } from "path";
import { readUserDataScript } from "../../constructs/builders/user-data";

const repo = resolve(__dirname, "../..");
const SKIP_DIRS = new Set(["node_modules", "cdktf.out", "dist", ".git", ".terraform", "packer_cache", "coverage"]);

function firstLine(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(128);
    const n = readSync(fd, buf, 0, 128, 0);
    return buf.subarray(0, n).toString("latin1").split("\n")[0];
  } finally {
    closeSync(fd);
  }
}

function shellScripts(dir = repo): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) found.push(...shellScripts(p));
    } else if (e.isFile() && (e.name.endsWith(".sh") || /^#!.*\b(bash|sh)\b/.test(firstLine(p)))) {
      found.push(relative(repo, p));
    }
  }
  return found.sort();
}

describe("shellcheck", () => {
  const scripts = shellScripts();

  it("finds the repository's shell scripts, including the AMI's and the extensionless ones", () => {
    expect(scripts).toEqual(
      expect.arrayContaining([
        "packer/scripts/provision.sh",
        "packer/scripts/smoke-test.sh",
        "packer/scripts/publish-ami-id.sh",
        "packer/files/bin/update-binary.sh",
        "scripts/dev/test.sh",
        ".ci/run",
      ]),
    );
    expect(scripts.some((s) => s.startsWith("node_modules/"))).toBe(false);
  });

  it("passes shellcheck -x on every script, at every severity", async () => {
    const check = (file: string) =>
      new Promise<{ file: string; status: number | null; out: string }>((done, fail) => {
        const c = spawn("shellcheck", ["-x", "-f", "gcc", file], { cwd: repo });
        let out = "";
        c.stdout.on("data", (d) => (out += d));
        c.stderr.on("data", (d) => (out += d));
        c.on("error", fail);
        c.on("close", (status) => done({ file, status, out }));
      });
    // One shellcheck per script, as many at once as there are CPUs.
    const queue = [...scripts];
    const results: { file: string; status: number | null; out: string }[] = [];
    await Promise.all(
      Array.from({ length: Math.max(2, cpus().length) }, async () => {
        for (let f = queue.shift(); f; f = queue.shift()) results.push(await check(f));
      }),
    );
    expect(results).toHaveLength(scripts.length);
    const findings = results
      .filter((r) => r.status !== 0 || r.out.trim() !== "")
      .flatMap((r) => r.out.trim().split("\n"));
    expect(findings).toEqual([]);
  }, 60000);

  // The parts under scripts/box/user-data/ are checked one by one above with that directory's .shellcheckrc
  // (shared variables); here each role's script is checked whole, as the instance receives it, without it.
  it("passes shellcheck on each role's boot script as assembled at synth (common.sh + the role's part)", () => {
    const dir = mkdtempSync(join(tmpdir(), "zmanim-user-data-shellcheck-"));
    try {
      // The api role leaves the common part's box-only settings (volume, fstab, PostgreSQL paths) unused: SC2034.
      for (const [role, excluded] of [
        ["box", []],
        ["api", ["-e", "SC2034"]],
      ] as const) {
        const file = join(dir, `user-data-${role}.sh`);
        writeFileSync(file, readUserDataScript(undefined, role));
        const r = spawnSync("shellcheck", ["--norc", "-x", "-f", "gcc", ...excluded, file], { encoding: "utf8" });
        expect({ role, status: r.status, out: r.stdout + r.stderr }).toEqual({ role, status: 0, out: "" });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
