/**
 * Throw-away Redis servers for ops integration tests, on 127.0.0.1 and a free port, with their data in a
 * temporary directory. `stop()` shuts the server down and deletes the directory.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { freePort, waitFor } from "./ports";

export interface RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly password?: string;
  /** REDIS_HOST / REDIS_PORT / REDISCLI_AUTH for scripts and redis-cli. */
  readonly env: Record<string, string>;
  cli(...args: string[]): string;
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** Path of a redis.conf to load; `dir`, `port` and `bind` are overridden on the command line. */
  configFile?: string;
  /** Extra `--name value` arguments. */
  args?: Record<string, string>;
  password?: string;
  /** Use this directory instead of a new temporary one (e.g. to restart on the same data). */
  dir?: string;
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "zmanim-redis-"));
  const port = await freePort();
  const args: string[] = [];
  if (opts.configFile) args.push(opts.configFile);
  const overrides: Record<string, string> = {
    port: String(port),
    bind: "127.0.0.1",
    dir,
    daemonize: "no",
    supervised: "no",
    logfile: join(dir, "redis.log"),
    pidfile: join(dir, "redis.pid"),
    ...(opts.password ? { requirepass: opts.password } : {}),
    ...(opts.args ?? {}),
  };
  for (const [k, v] of Object.entries(overrides)) args.push(`--${k}`, v);
  const child: ChildProcess = spawn("redis-server", args, { stdio: "ignore" });
  const env: Record<string, string> = { REDIS_HOST: "127.0.0.1", REDIS_PORT: String(port) };
  if (opts.password) env.REDISCLI_AUTH = opts.password;
  const cli = (...cmd: string[]) => {
    const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...cmd], {
      encoding: "utf8",
      env: { ...process.env, ...env },
    });
    if (r.status !== 0) throw new Error(`redis-cli ${cmd.join(" ")} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  let exited = false;
  child.on("exit", () => (exited = true));
  await waitFor(() => !exited && cli("PING") === "PONG", 10000, `redis-server on port ${port}`);
  return {
    port,
    dir,
    password: opts.password,
    env,
    cli,
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        await waitFor(() => exited, 10000, "redis-server to exit");
      }
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
