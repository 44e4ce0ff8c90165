import { spawn } from "child_process";

/** A finished child process: its exit code (null when killed by a signal) and everything it printed. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` without blocking the event loop, so servers living in the test process (HTTP, the AWS CLI
 * double's helpers) keep answering while it runs. stdin is closed; stdout and stderr are collected.
 */
export function runCommand(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<RunResult> {
  return new Promise((res, rej) => {
    const p = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", rej);
    p.on("close", (code) => res({ code, stdout, stderr }));
  });
}
