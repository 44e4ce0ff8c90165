/**
 * A throw-away S3-compatible server (the npm package `s3rver`) for restic in ops integration tests.
 *
 * It listens on 127.0.0.1 with TLS, using a self-signed certificate generated with openssl for this run:
 * over plain HTTP with access keys, s3rver stores the streaming-signature framing of restic's uploads
 * inside the objects and the repository breaks; over TLS restic sends unsigned payloads and it works.
 * The server runs in a child process so that it can be stopped (and killed to simulate an outage).
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import { mkdirSync, mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { useLowCostKey } from "./restic-key";

export interface S3Server {
  readonly port: number;
  /** Where s3rver keeps buckets and objects (for measuring repository size). */
  readonly directory: string;
  /** PEM file of the self-signed certificate (pass to restic as --cacert / RESTIC_CACERT). */
  readonly caCert: string;
  /** restic environment for a repository in `bucket` (the bucket is created at start). */
  resticEnv(bucket?: string, prefix?: string): Record<string, string>;
  /** Total size in bytes of the files stored under `bucket` (objects and s3rver's metadata). */
  bucketBytes(bucket?: string): number;
  /**
   * Swaps the key of the restic repository in `bucket`/`prefix` for a low-cost one (see restic-key.ts), so that
   * each later restic command skips half a second of scrypt. Call it after the repository's first real use.
   */
  useLowCostResticKey(password: string, bucket?: string, prefix?: string): void;
  stop(): Promise<void>;
}

const childScript = `
const S3rver = require(process.argv[1]);
const fs = require("fs");
const [dir, key, cert, buckets, requestLog] = process.argv.slice(2);
const server = new S3rver({
  address: "127.0.0.1", port: 0, silent: true, directory: dir,
  key: fs.readFileSync(key), cert: fs.readFileSync(cert),
  configureBuckets: buckets.split(",").map((name) => ({ name })),
});
// s3rver is a Koa app: a middleware put first sees every request.
if (requestLog) server.middleware.unshift((ctx, next) => {
  fs.appendFileSync(requestLog, JSON.stringify({ method: ctx.method, path: ctx.path, query: ctx.querystring }) + "\\n");
  return next();
});
server.run().then((addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + "\\n"),
  (err) => { process.stderr.write(String(err && err.stack || err) + "\\n"); process.exit(1); });
process.on("SIGTERM", () => server.close().finally(() => process.exit(0)));
`;

/** One request the server received (see `startS3`'s `requestLog`). */
export interface S3Request {
  method: string;
  path: string;
  query: string;
}

/**
 * @param requestLog a file to append every request to (one JSON S3Request per line), e.g. to learn which S3
 *   calls restic makes. @default none
 */
export async function startS3(buckets: string[] = ["restic"], requestLog = ""): Promise<S3Server> {
  const base = mkdtempSync(join(tmpdir(), "zmanim-s3-"));
  const directory = join(base, "data");
  mkdirSync(directory);
  const key = join(base, "key.pem");
  const caCert = join(base, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      caCert,
    ],
    { stdio: "ignore" },
  );
  const s3rverPath = resolve(__dirname, "..", "..", "node_modules", "s3rver");
  const child: ChildProcess = spawn(
    process.execPath,
    ["-e", childScript, s3rverPath, directory, key, caCert, buckets.join(","), requestLog],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  let exited = false;
  child.on("exit", () => (exited = true));
  const port = await new Promise<number>((res, rej) => {
    let out = "";
    const timer = setTimeout(() => rej(new Error(`s3rver did not start within 15 s: ${stderr}`)), 15000);
    child.stdout!.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0];
      if (out.includes("\n")) {
        clearTimeout(timer);
        try {
          res(JSON.parse(line).port);
        } catch (e) {
          rej(new Error(`s3rver printed ${line}: ${e}`));
        }
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`s3rver exited with ${code}: ${stderr}`));
    });
  });
  const bucketBytes = (bucket = buckets[0]) => {
    const out = execFileSync("find", [join(directory, bucket), "-type", "f", "-printf", "%s\\n"], { encoding: "utf8" });
    return out
      .split("\n")
      .filter(Boolean)
      .reduce((sum, n) => sum + Number(n), 0);
  };
  return {
    port,
    directory,
    caCert,
    resticEnv: (bucket = buckets[0], prefix = "") => ({
      RESTIC_REPOSITORY: `s3:https://127.0.0.1:${port}/${bucket}${prefix ? `/${prefix}` : ""}`,
      RESTIC_CACERT: caCert,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    }),
    bucketBytes,
    useLowCostResticKey: (password, bucket = buckets[0], prefix = "") =>
      useLowCostKey(join(directory, bucket, ...prefix.split("/").filter(Boolean), "keys"), password, "._S3rver_object"),
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        const deadline = Date.now() + 10000;
        while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (!exited) child.kill("SIGKILL");
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}
