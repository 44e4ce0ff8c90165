/**
 * The helper scripts the workflows call (scripts/ci/*.sh), run for real with bash. AWS itself is the TEST DOUBLE
 * of the AWS CLI (__tests__/helpers/bin/aws); health endpoints are real HTTP servers on 127.0.0.1.
 */
import { createHash } from "crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { createServer, Server } from "http";
import { AddressInfo } from "net";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { awsDouble, AwsDouble, AwsRule } from "../helpers/aws-double";
import { RunResult, runCommand } from "../helpers/spawn";
import { spawnSync } from "child_process";

const root = resolve(__dirname, "../..");
const script = (name: string) => join(root, "scripts/ci", name);

type Result = RunResult;

/** Runs a script without blocking the event loop (the health server lives in this process). */
function run(file: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return runCommand("bash", [file, ...args], { cwd: root, env: { ...process.env, ...env } });
}

/** An HTTP server answering each request with the next status of `codes` (the last one repeats). */
async function healthServer(codes: number[]): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    const code = codes[Math.min(hits, codes.length - 1)];
    hits++;
    res.writeHead(code, { "content-type": "text/plain" });
    res.end(code === 200 ? "ok" : "down");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/health`,
    hits: () => hits,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const NOT_FOUND = {
  stderr: "fatal error: An error occurred (404) when calling the HeadObject operation: Not Found",
  exit: 1,
};

describe("scripts/ci/health-check.sh", () => {
  it("succeeds as soon as the endpoint answers 2xx, after bounded retries", async () => {
    const h = await healthServer([503, 502, 200]);
    try {
      const r = await run(script("health-check.sh"), [h.url, "--attempts", "5", "--interval", "0.2"]);
      expect(r.code).toBe(0);
      expect(h.hits()).toBe(3);
      expect(r.stdout).toContain("answered 200 (attempt 3/5)");
    } finally {
      await h.close();
    }
  }, 20000);

  it("gives up after exactly --attempts tries", async () => {
    const h = await healthServer([503]);
    try {
      const r = await run(script("health-check.sh"), [h.url, "--attempts", "2", "--interval", "0.2"]);
      expect(r.code).toBe(1);
      expect(h.hits()).toBe(2);
      expect(r.stderr).toContain("was not healthy after 2 attempts");
    } finally {
      await h.close();
    }
  }, 20000);

  it("rejects a URL without a scheme and a bad number, naming the value", async () => {
    const a = await run(script("health-check.sh"), ["zmanim.shtetl.io/api/health"]);
    expect([a.code, a.stderr]).toEqual([
      2,
      expect.stringContaining('URL "zmanim.shtetl.io/api/health" must start with http'),
    ]);
    const b = await run(script("health-check.sh"), ["https://x", "--attempts", "many"]);
    expect([b.code, b.stderr]).toEqual([2, expect.stringContaining('--attempts "many" must be a whole number')]);
  });
});

describe("scripts/ci/ssm-restart.sh", () => {
  let aws: AwsDouble;
  beforeEach(() => (aws = awsDouble()));
  afterEach(() => aws.cleanup());

  it("targets the instance by its Project and Environment tags and waits for Success", async () => {
    aws.setRules([
      { match: ["ssm", "send-command"], stdout: "cmd-1" },
      { match: ["ssm", "list-command-invocations", "--command-id", "cmd-1"], stdout: "", times: 1 },
      { match: ["ssm", "list-command-invocations", "--command-id", "cmd-1"], stdout: "i-0abc\tInProgress", times: 1 },
      { match: ["ssm", "list-command-invocations", "--command-id", "cmd-1"], stdout: "i-0abc\tSuccess" },
    ]);
    const r = await run(script("ssm-restart.sh"), ["--env", "prod", "--poll", "0.2", "--wait-seconds", "30"], aws.env);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const send = aws.calls()[0];
    expect(send).toEqual(
      expect.arrayContaining([
        "AWS-RunShellScript",
        "Key=tag:Project,Values=zmanim",
        "Key=tag:Environment,Values=prod",
      ]),
    );
    expect(send.join(" ")).toContain("systemctl restart zmanim-api");
    expect(aws.calls().filter((c) => c[1] === "list-command-invocations")).toHaveLength(3);
    expect(aws.calls().some((c) => c[0] === "ec2")).toBe(false);
  }, 20000);

  it("fails when the command fails on the instance, and when no instance ever takes it", async () => {
    aws.setRules([
      { match: ["ssm", "send-command"], stdout: "cmd-2" },
      { match: ["ssm", "list-command-invocations"], stdout: "i-0abc\tFailed" },
    ]);
    const failed = await run(
      script("ssm-restart.sh"),
      ["--env", "prod", "--poll", "0.2", "--wait-seconds", "10"],
      aws.env,
    );
    expect([failed.code, failed.stderr]).toEqual([1, expect.stringContaining("i-0abc: Failed")]);

    aws.setRules([
      { match: ["ssm", "send-command"], stdout: "cmd-3" },
      { match: ["ssm", "list-command-invocations"], stdout: "" },
    ]);
    const none = await run(
      script("ssm-restart.sh"),
      ["--env", "prod", "--poll", "0.2", "--wait-seconds", "1"],
      aws.env,
    );
    expect([none.code, none.stderr]).toEqual([
      1,
      expect.stringContaining("no instance tagged Project=zmanim, Environment=prod"),
    ]);
  }, 30000);
});

describe("scripts/ci/release-api.sh", () => {
  let aws: AwsDouble;
  let dir: string;
  let binary: string;
  let sum: string;
  const bucket = "zmanim-prod-releases-111111111111";
  beforeEach(() => {
    aws = awsDouble();
    dir = mkdtempSync(join(tmpdir(), "release-api-"));
    binary = join(dir, "zmanim-api");
    writeFileSync(binary, "#!/bin/true\nbinary v1.5.0\n");
    sum = createHash("sha256").update("#!/bin/true\nbinary v1.5.0\n").digest("hex");
  });
  afterEach(() => {
    aws.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const restartOk: AwsRule[] = [
    { match: ["ssm", "send-command"], stdout: "cmd-1" },
    { match: ["ssm", "list-command-invocations"], stdout: "i-0abc\tSuccess" },
  ];
  const args = (url: string, extra: string[] = []) => [
    "--version",
    "v1.5.0",
    "--bucket",
    bucket,
    "--env",
    "prod",
    "--health-url",
    url,
    "--attempts",
    "2",
    "--interval",
    "0.2",
    "--wait-seconds",
    "5",
    ...extra,
  ];
  /** [argv joined, stdin] of every `aws s3 cp - s3://...` upload, in order. */
  const uploads = () =>
    aws
      .calls()
      .filter((c) => c[0] === "s3" && c[1] === "cp" && c[2] !== undefined && !c[2].startsWith("s3://"))
      .map((c) => c.slice(2, 4).join(" "));

  it("uploads the binary and its checksum, then latest.txt, restarts through SSM and checks health", async () => {
    const h = await healthServer([200]);
    try {
      aws.setRules([
        { match: ["s3", "cp", `s3://${bucket}/latest.txt`, "-"], stdout: "v1.4.0" },
        { match: ["s3", "cp", `s3://${bucket}/zmanim-api-v1.5.0.sha256`, "-"], ...NOT_FOUND },
        { match: ["s3", "cp"] },
        ...restartOk,
      ]);
      const r = await run(script("release-api.sh"), args(h.url, ["--binary", binary]), aws.env);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(uploads()).toEqual([
        `${binary} s3://${bucket}/zmanim-api-v1.5.0`,
        `- s3://${bucket}/zmanim-api-v1.5.0.sha256`,
        `- s3://${bucket}/latest.txt`,
      ]);
      // Checksum in sha256sum format (update-binary.sh reads the first field), latest.txt names the version.
      const log = readLog(aws);
      expect(
        log.find(
          (l) =>
            l.argv.includes(`s3://${bucket}/zmanim-api-v1.5.0.sha256`) &&
            l.argv.includes("-") &&
            l.argv.indexOf("-") === 2,
        )?.stdin,
      ).toBe(`${sum}  zmanim-api-v1.5.0\n`);
      expect(
        log.filter((l) => l.argv[2] === "-" && l.argv[3] === `s3://${bucket}/latest.txt`).map((l) => l.stdin),
      ).toEqual(["v1.5.0\n"]);
      expect(aws.calls().filter((c) => c[1] === "send-command")).toHaveLength(1);
      expect(h.hits()).toBe(1);
    } finally {
      await h.close();
    }
  }, 30000);

  it("rolls latest.txt back to the previous version and restarts again when health fails", async () => {
    const h = await healthServer([503, 503, 200]);
    try {
      aws.setRules([
        { match: ["s3", "cp", `s3://${bucket}/latest.txt`, "-"], stdout: "v1.4.0" },
        { match: ["s3", "cp", `s3://${bucket}/zmanim-api-v1.5.0.sha256`, "-"], ...NOT_FOUND },
        { match: ["s3", "cp"] },
        ...restartOk,
      ]);
      const r = await run(script("release-api.sh"), args(h.url, ["--binary", binary]), aws.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("rolled back to v1.4.0; v1.5.0 is NOT live");
      const latest = readLog(aws)
        .filter((l) => l.argv[2] === "-" && l.argv[3] === `s3://${bucket}/latest.txt`)
        .map((l) => l.stdin);
      expect(latest).toEqual(["v1.5.0\n", "v1.4.0\n"]);
      expect(aws.calls().filter((c) => c[1] === "send-command")).toHaveLength(2);
    } finally {
      await h.close();
    }
  }, 30000);

  it("restores the previous version when the SSM restart itself fails", async () => {
    const h = await healthServer([200]);
    try {
      aws.setRules([
        { match: ["s3", "cp", `s3://${bucket}/latest.txt`, "-"], stdout: "v1.4.0" },
        { match: ["s3", "cp", `s3://${bucket}/zmanim-api-v1.5.0.sha256`, "-"], ...NOT_FOUND },
        { match: ["s3", "cp"] },
        { match: ["ssm", "send-command"], stdout: "cmd-1" },
        { match: ["ssm", "list-command-invocations", "--command-id", "cmd-1"], stdout: "i-0abc\tFailed", times: 1 },
        { match: ["ssm", "list-command-invocations"], stdout: "i-0abc\tSuccess" },
      ]);
      const r = await run(script("release-api.sh"), args(h.url, ["--binary", binary]), aws.env);
      expect(r.code).toBe(1);
      const latest = readLog(aws)
        .filter((l) => l.argv[2] === "-" && l.argv[3] === `s3://${bucket}/latest.txt`)
        .map((l) => l.stdin);
      expect(latest).toEqual(["v1.5.0\n", "v1.4.0\n"]);
    } finally {
      await h.close();
    }
  }, 30000);

  it("refuses to overwrite a released version with a different binary, and uploads nothing", async () => {
    aws.setRules([
      { match: ["s3", "cp", `s3://${bucket}/latest.txt`, "-"], stdout: "v1.5.0" },
      {
        match: ["s3", "cp", `s3://${bucket}/zmanim-api-v1.5.0.sha256`, "-"],
        stdout: `${"0".repeat(64)}  zmanim-api-v1.5.0`,
      },
    ]);
    const r = await run(script("release-api.sh"), args("http://127.0.0.1:9/api/health", ["--binary", binary]), aws.env);
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining("already released with a different binary")]);
    expect(uploads()).toEqual([]);
    expect(aws.calls().some((c) => c[1] === "send-command")).toBe(false);
  });

  it("re-deploys a version already in the bucket without --binary, and refuses one that is not there", async () => {
    const h = await healthServer([200]);
    try {
      aws.setRules([
        { match: ["s3", "cp", `s3://${bucket}/latest.txt`, "-"], stdout: "v1.5.0" },
        { match: ["s3", "cp", `s3://${bucket}/zmanim-api-v1.4.0.sha256`, "-"], stdout: `${sum}  zmanim-api-v1.4.0` },
        { match: ["s3", "cp"] },
        ...restartOk,
      ]);
      const ok = await run(script("release-api.sh"), [...args(h.url), "--version", "v1.4.0"], aws.env);
      expect([ok.code, ok.stderr]).toEqual([0, ""]);
      expect(uploads()).toEqual([`- s3://${bucket}/latest.txt`]);

      aws.setRules([
        { match: ["s3", "cp", `s3://${bucket}/latest.txt`, "-"], stdout: "v1.5.0" },
        { match: ["s3", "cp", `s3://${bucket}/zmanim-api-v9.9.9.sha256`, "-"], ...NOT_FOUND },
      ]);
      const missing = await run(script("release-api.sh"), [...args(h.url), "--version", "v9.9.9"], aws.env);
      expect([missing.code, missing.stderr]).toEqual([
        1,
        expect.stringContaining("zmanim-api-v9.9.9.sha256 is not in"),
      ]);
    } finally {
      await h.close();
    }
  }, 30000);

  it("rejects a bad version name before touching AWS", async () => {
    const r = await run(
      script("release-api.sh"),
      ["--version", "../v1", "--bucket", bucket, "--env", "prod", "--health-url", "https://x/api/health"],
      aws.env,
    );
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--version "../v1" must be')]);
    expect(aws.calls()).toEqual([]);
  });
});

describe("scripts/ci/static-site-sync.sh", () => {
  let aws: AwsDouble;
  let out: string;
  const bucket = "zmanim-prod-static-111111111111";
  beforeEach(() => {
    aws = awsDouble();
    out = mkdtempSync(join(tmpdir(), "site-"));
    mkdirSync(join(out, "_next/static/chunks"), { recursive: true });
    mkdirSync(join(out, "about"), { recursive: true });
    writeFileSync(join(out, "index.html"), "<html></html>");
    writeFileSync(join(out, "404.html"), "<html>not found</html>");
    writeFileSync(join(out, "about/index.html"), "<html></html>");
    aws.setKeyValueStore({
      name: "zmanim-prod-site-paths",
      arn: "arn:aws:cloudfront::111111111111:key-value-store/k1",
      etag: "E1",
      items: {},
    });
    writeFileSync(join(out, "_next/static/chunks/main-3f2a9c1b7d.js"), "x");
  });
  afterEach(() => {
    aws.cleanup();
    rmSync(out, { recursive: true, force: true });
  });

  const sync = (pass: string, stdout: string): AwsRule => ({
    match: ["s3", "sync", ...(pass ? [pass] : [])],
    stdout,
    times: 1,
  });
  const cp404: AwsRule = { match: ["s3", "cp"], stdout: `upload: 404.html to s3://${bucket}/404.html` };
  const kvsArgs = ["--key-value-store", "zmanim-prod-site-paths"];

  it("uploads immutable assets first, then HTML cached a day at the edge and revalidated by browsers, deletes last, and invalidates changed paths only", async () => {
    aws.setRules([
      sync(
        "public,max-age=31536000,immutable",
        `upload: ${out}/_next/static/chunks/main-3f2a9c1b7d.js to s3://${bucket}/_next/static/chunks/main-3f2a9c1b7d.js`,
      ),
      sync(
        "--exclude",
        `upload: ${out}/about/index.html to s3://${bucket}/about/index.html\nupload: ${out}/index.html to s3://${bucket}/index.html`,
      ),
      sync("--delete", `delete: s3://${bucket}/old/index.html`),
      cp404,
      { match: ["cloudfront", "list-distributions"], stdout: "E1ABCDEF" },
      { match: ["cloudfront", "create-invalidation"], stdout: "I123" },
    ]);
    const r = await run(
      script("static-site-sync.sh"),
      ["--source", out, "--bucket", bucket, ...kvsArgs, "--site", "zmanim.shtetl.io"],
      aws.env,
    );
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const calls = aws.calls();
    const syncs = calls.filter((c) => c[1] === "sync");
    expect(syncs).toHaveLength(3);
    const cc = (c: string[]) => c[c.indexOf("--cache-control") + 1];
    expect(cc(syncs[0])).toBe("public,max-age=31536000,immutable");
    expect(syncs[0].slice(syncs[0].indexOf("--exclude"), syncs[0].indexOf("--exclude") + 4)).toEqual([
      "--exclude",
      "*",
      "--include",
      "_next/static/*",
    ]);
    expect(cc(syncs[1])).toBe("public,max-age=0,s-maxage=86400,must-revalidate");
    expect(syncs[1]).toEqual(expect.arrayContaining(["--exclude", "_next/static/*", "--include", "*.html"]));
    expect(syncs[0].includes("--delete") || syncs[1].includes("--delete")).toBe(false);
    expect(syncs[2]).toContain("--delete");
    const inv = calls.find((c) => c[1] === "create-invalidation")!;
    expect(inv.slice(inv.indexOf("--distribution-id") + 1, inv.indexOf("--distribution-id") + 2)).toEqual(["E1ABCDEF"]);
    const paths = inv.slice(inv.indexOf("--paths") + 1, inv.indexOf("--query"));
    expect(paths.sort()).toEqual(["/", "/about/", "/about/index.html", "/index.html", "/old/", "/old/index.html"]);
  });

  it("invalidates '/*' (one path) when more paths changed than --max-paths", async () => {
    const lines = Array.from({ length: 5 }, (_, i) => `upload: ${out}/p${i}.html to s3://${bucket}/p${i}.html`).join(
      "\n",
    );
    aws.setRules([
      sync("public,max-age=31536000,immutable", ""),
      sync("--exclude", lines),
      sync("--delete", ""),
      cp404,
      { match: ["cloudfront", "create-invalidation"], stdout: "I1" },
    ]);
    const r = await run(
      script("static-site-sync.sh"),
      ["--source", out, "--bucket", bucket, ...kvsArgs, "--distribution-id", "E1", "--max-paths", "3"],
      aws.env,
    );
    expect(r.code).toBe(0);
    const inv = aws.calls().find((c) => c[1] === "create-invalidation")!;
    expect(inv.slice(inv.indexOf("--paths") + 1, inv.indexOf("--query"))).toEqual(["/*"]);
  });

  it("invalidates nothing when only immutable assets changed", async () => {
    aws.setRules([
      sync("public,max-age=31536000,immutable", `upload: x to s3://${bucket}/_next/static/a.js`),
      sync("--exclude", ""),
      sync("--delete", ""),
      cp404,
    ]);
    const r = await run(
      script("static-site-sync.sh"),
      ["--source", out, "--bucket", bucket, ...kvsArgs, "--distribution-id", "E1"],
      aws.env,
    );
    expect([r.code, r.stdout]).toEqual([0, expect.stringContaining("nothing to invalidate")]);
    expect(aws.calls().some((c) => c[0] === "cloudfront" && c[1] !== "describe-key-value-store")).toBe(false);
  });

  it("refuses a source without index.html, naming it", async () => {
    const r = await run(
      script("static-site-sync.sh"),
      ["--source", join(out, "about/none"), "--bucket", bucket, ...kvsArgs, "--site", "x"],
      aws.env,
    );
    expect([r.code, r.stderr]).toEqual([
      2,
      expect.stringContaining("must be a Next.js export directory containing index.html"),
    ]);
    expect(aws.calls()).toEqual([]);
  });
});

describe("scripts/ci/plan-summary.sh", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "plans-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const put = (stack: string, code: number, text?: string) => {
    mkdirSync(join(dir, stack), { recursive: true });
    writeFileSync(join(dir, stack, `${stack}.exitcode`), `${code}\n`);
    if (text !== undefined) writeFileSync(join(dir, stack, `${stack}.txt`), text);
  };

  it("tabulates each stack's plan and flags destroys", async () => {
    put("zmanim-prod-network", 0, "No changes. Your infrastructure matches the configuration.");
    put("zmanim-prod-compute", 2, "...\nPlan: 1 to add, 2 to change, 1 to destroy.\n");
    const r = await run(script("plan-summary.sh"), [dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("| `zmanim-prod-network` | no changes | - | - | - |");
    expect(r.stdout).toContain("| `zmanim-prod-compute` | changes, **destroys 1** | 1 | 2 | 1 |");
  });

  it("fails when a plan failed or left no text", async () => {
    put("zmanim-prod-api", 1, "Error: No valid credential sources found");
    put("zmanim-prod-cdn", 2);
    const r = await run(script("plan-summary.sh"), [dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("| `zmanim-prod-api` | **plan failed** (exit 1) |");
    expect(r.stdout).toContain("| `zmanim-prod-cdn` | no plan output |");
  });
});

function readLog(aws: AwsDouble): Array<{ argv: string[]; stdin: string }> {
  const file = aws.env.AWS_DOUBLE_LOG;
  const text = (require("fs") as typeof import("fs")).existsSync(file) ? require("fs").readFileSync(file, "utf8") : "";
  return text
    .split("\n")
    .filter(Boolean)
    .map((l: string) => JSON.parse(l));
}

describe("scripts/ci/deploy-stacks.sh", () => {
  let dir: string;
  let aws: AwsDouble;
  const N = "zmanim-prod-network";
  const S = "zmanim-prod-storage";
  const C = "zmanim-prod-compute";
  /** A synthesized stack that reads `outputs` of other stacks through cdktf's remote state data sources. */
  const stackJson = (reads: Array<[string, string]>) =>
    JSON.stringify({
      locals: Object.fromEntries(
        reads.map(([st, o], i) => [
          `r${i}`,
          `\${data.terraform_remote_state.cross-stack-reference-input-${st}.outputs.${o}}`,
        ]),
      ),
    });
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "zmanim-deploy-stacks-"));
    const out = join(dir, "out");
    const stacks: Record<string, { dependencies: string[]; synthesizedStackPath: string }> = {};
    const reads: Record<string, Array<[string, string]>> = {
      [N]: [],
      [S]: [[N, "vpc_id"]],
      [C]: [
        [N, "subnet_id"],
        [S, "bucket_arn"],
      ],
    };
    for (const [name, r] of Object.entries(reads)) {
      mkdirSync(join(out, "stacks", name), { recursive: true });
      writeFileSync(join(out, "stacks", name, "cdk.tf.json"), stackJson(r));
      stacks[name] = {
        dependencies: [...new Set(r.map(([st]) => st))],
        synthesizedStackPath: `stacks/${name}/cdk.tf.json`,
      };
    }
    writeFileSync(join(out, "manifest.json"), JSON.stringify({ stacks }));
    writeFileSync(
      join(dir, "budgets.json"),
      JSON.stringify({
        graceMinutes: 0.1,
        planMinutes: 0.5,
        stacks: {
          network: { minutes: 1, routineMinutes: 1, why: "test" },
          storage: { minutes: 1, routineMinutes: 0.1, why: "test" },
          compute: { minutes: 1, routineMinutes: 1, why: "test" },
        },
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    aws = awsDouble([{ match: ["cloudwatch", "put-metric-data"] }]);
    for (const f of ["log", "summary.md"]) writeFileSync(join(dir, f), "");
    for (const s of [N, S, C]) rmSync(join(dir, "out", "stacks", s, ".plans"), { force: true });
  });
  afterEach(() => aws.cleanup());

  const deploy = (standin: Record<string, unknown>, args: string[] = [], extra: Record<string, string> = {}) => {
    writeFileSync(join(dir, "standin.json"), JSON.stringify(standin));
    return run(script("deploy-stacks.sh"), args, {
      ...aws.env,
      PATH: `${join(root, "__tests__/fixtures/terraform-standin")}:${aws.env.PATH}`,
      CDKTF_OUTDIR: join(dir, "out"),
      DEPLOY_BUDGETS: join(dir, "budgets.json"),
      DEPLOY_LOG: join(dir, "log"),
      TF_STANDIN: join(dir, "standin.json"),
      GITHUB_STEP_SUMMARY: join(dir, "summary.md"),
      ...extra,
    });
  };
  const log = () => readFileSync(join(dir, "log"), "utf8").trim().split("\n").filter(Boolean);
  const applies = () => log().filter((l) => l.startsWith("apply "));
  const summary = () => readFileSync(join(dir, "summary.md"), "utf8");

  it("a no-op deploy plans every stack, applies none, and records the durations", async () => {
    const r = await deploy({}, ["--metrics", "prod"]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(
      log()
        .filter((l) => l.startsWith("plan "))
        .sort(),
    ).toEqual([`plan ${C}: 0`, `plan ${N}: 0`, `plan ${S}: 0`]);
    expect(log()[0]).toBe(`init ${N}`); // the first stack's init fills the plugin cache before the parallel plans
    expect(applies()).toEqual([]);
    expect(r.stdout).toContain("deploy finished in");
    expect(r.stdout).toContain("0 of 3 stack(s) applied");
    expect(summary()).toContain("### Deploy durations");
    expect(summary()).toMatch(new RegExp(`\\| \`${N}\` \\| no changes \\| \\d+ \\|`));
    expect(summary()).toMatch(/\| \*\*total\*\* \| \| \*\*\d+\*\* \|/);
    const put = aws.calls().filter((c) => c[0] === "cloudwatch");
    expect(put).toHaveLength(1);
    expect(put[0].slice(0, 4)).toEqual(["cloudwatch", "put-metric-data", "--namespace", "Zmanim/Deploy"]);
    const data = JSON.parse(put[0][put[0].indexOf("--metric-data") + 1]) as Array<{
      MetricName: string;
      Unit: string;
      Dimensions: Array<{ Name: string; Value: string }>;
    }>;
    expect(data.map((d) => [d.MetricName, d.Unit, d.Dimensions.map((x) => `${x.Name}=${x.Value}`).join(",")])).toEqual([
      ["StackDeployDuration", "Seconds", `Environment=prod,Stack=${N}`],
      ["StackDeployDuration", "Seconds", `Environment=prod,Stack=${S}`],
      ["StackDeployDuration", "Seconds", `Environment=prod,Stack=${C}`],
      ["DeployDuration", "Seconds", "Environment=prod"],
    ]);
  }, 30000);

  it("a one-stack change applies that stack only", async () => {
    const r = await deploy({ [S]: { plans: [2] } });
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(applies()).toEqual([`apply ${S}`]);
    expect(log().filter((l) => l.startsWith("plan ")).length).toBe(3); // nobody read a changed output: no re-plan
    expect(r.stdout).toContain("1 of 3 stack(s) applied");
    expect(summary()).toMatch(new RegExp(`\\| \`${S}\` \\| applied \\| \\d+ \\|`));
    expect(aws.calls()).toEqual([]); // no --metrics, no CloudWatch call
  }, 30000);

  it("a changed output ripples to the stack that reads it (re-planned after the apply), not to the others", async () => {
    const r = await deploy({ [N]: { plans: [2], outputs: ["vpc_id", "flow_log_id"] }, [S]: { plans: [0, 2] } });
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain(`${S} reads outputs changed in this deploy (${N} vpc_id ); planning it again`);
    expect(applies()).toEqual([`apply ${N}`, `apply ${S}`]);
    // compute reads network's subnet_id and storage's bucket_arn, neither of which changed.
    expect(log().filter((l) => l.startsWith(`plan ${C}`))).toEqual([`plan ${C}: 0`]);
    expect(log().filter((l) => l.startsWith(`plan ${S}`))).toEqual([`plan ${S}: 0`, `plan ${S}: 2`]);
  }, 30000);

  it("a plan that fails while a stack it depends on has changes is planned again after that apply", async () => {
    // A first deploy, or a new output: storage cannot plan until network's apply has written the output.
    const r = await deploy({ [N]: { plans: [2], outputs: ["vpc_id"] }, [S]: { plans: [1, 2] } });
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain(
      `${S}: plan failed while ${N}, which it depends on, has changes; planning it again after that apply`,
    );
    expect(applies()).toEqual([`apply ${N}`, `apply ${S}`]);
    expect(log().filter((l) => l.startsWith(`plan ${S}`))).toEqual([`plan ${S}: 1`, `plan ${S}: 2`]);
    // ...and fails when the new plan fails too, after the upstream apply.
    for (const st of [N, S, C]) rmSync(join(dir, "out", "stacks", st, ".plans"), { force: true });
    writeFileSync(join(dir, "log"), "");
    const again = await deploy({ [N]: { plans: [2] }, [S]: { plans: [1] } });
    expect([again.code, again.stderr]).toEqual([
      1,
      expect.stringContaining(`${S}: terraform plan failed (exit 1) after the stacks it reads from changed`),
    ]);
    expect(applies()).toEqual([`apply ${N}`]);
  }, 30000);

  it("a failed plan with no upstream change applies nothing and names the stack", async () => {
    const r = await deploy({ [S]: { plans: [2] }, [N]: { plans: [1] } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`deploy-stacks: ${N}: terraform plan failed (exit 1)`);
    expect(r.stderr).toContain("nothing was applied");
    expect(r.stdout).toContain("Error: reading EC2 VPC: AccessDenied");
    expect(applies()).toEqual([]);
  }, 30000);

  it("interrupts an update past its routine budget with SIGINT, stops, and points at the recovery runbook", async () => {
    const r = await deploy({ [S]: { plans: [2], applySleep: 120 }, [C]: { plans: [2] } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /zmanim-prod-storage ran past its budget of 0.1 min and was interrupted; later stacks were not deployed/,
    );
    expect(r.stderr).toMatch(/docs\/runbooks\/first-deploy.md, "An interrupted apply"/);
    expect(log().filter((l) => !l.startsWith("plan ") && !l.startsWith("init "))).toEqual([
      `apply ${S}`,
      "SIGINT: state saved, lock released",
    ]);
    expect(summary()).toMatch(new RegExp(`\\| \`${S}\` \\| interrupted past its budget \\| \\d+ \\|`));
    expect(summary()).toMatch(new RegExp(`\\| \`${C}\` \\| changes \\| \\d+ \\|`));
  }, 60000);

  it("a plan that creates resources keeps the longer first-apply budget", async () => {
    const r = await deploy({ [S]: { plans: [2], creates: true, applySleep: 4 } });
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain(`apply ${S} (budget 1 min,`);
    expect(applies()).toEqual([`apply ${S}`]);
  }, 30000);

  it("--plan-only reports drifted stacks and their changed addresses, applies nothing, and exits 3", async () => {
    const r = await deploy(
      { [C]: { plans: [2], addresses: ["aws_security_group.instance-sg", "aws_cloudwatch_metric_alarm.cpu"] } },
      ["--plan-only"],
    );
    expect(r.code).toBe(3);
    expect(applies()).toEqual([]);
    expect(summary()).toContain("### Drift: 1 stack(s) differ from their configuration");
    expect(summary()).toContain(
      `- \`${C}\`\n  - \`aws_security_group.instance-sg (update)\`\n  - \`aws_cloudwatch_metric_alarm.cpu (update)\``,
    );
    const clean = await deploy({}, ["--plan-only"]);
    expect([clean.code, clean.stdout]).toEqual([
      0,
      expect.stringContaining(`No drift: every plan of ${N} ${S} ${C} is empty.`),
    ]);
  }, 30000);

  it("refuses a stack without a budget before planning anything", async () => {
    const r = await deploy({}, [], { DEPLOY_BUDGETS: join(dir, "none.json") });
    expect(r.code).toBe(2);
    writeFileSync(
      join(dir, "none.json"),
      JSON.stringify({ graceMinutes: 1, planMinutes: 1, stacks: { network: { minutes: 1, why: "x" } } }),
    );
    const r2 = await deploy({}, [], { DEPLOY_BUDGETS: join(dir, "none.json") });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(
      /zmanim-prod-storage has no budget in .*none.json; add its first-apply minutes with a source/,
    );
    expect(log()).toEqual([]);
  });
});

describe("scripts/ci/wait-instance-refresh.sh", () => {
  let aws: AwsDouble;
  beforeEach(() => (aws = awsDouble()));
  afterEach(() => aws.cleanup());

  const group = "zmanim-scaled-api";
  /** One InstanceRefresh as `aws autoscaling describe-instance-refreshes --output json` prints it (API_InstanceRefresh). */
  const refresh = (id: string, status: string, start: string | undefined, pct: number, reason?: string) => ({
    InstanceRefreshId: id,
    AutoScalingGroupName: group,
    Status: status,
    ...(reason ? { StatusReason: reason } : {}),
    ...(start ? { StartTime: start } : {}),
    PercentageComplete: pct,
    InstancesToUpdate: pct === 100 ? 0 : 2,
    Preferences: {
      MinHealthyPercentage: 100,
      MaxHealthyPercentage: 200,
      InstanceWarmup: 300,
      SkipMatching: true,
      AutoRollback: true,
    },
  });
  const page = (...r: object[]) => JSON.stringify({ InstanceRefreshes: r });
  const describe_ = ["autoscaling", "describe-instance-refreshes", "--auto-scaling-group-name", group];
  // An older refresh, finished before this deploy: never the one waited for.
  const older = refresh(
    "0a1b2c3d-old",
    "Failed",
    "2026-12-01T10:00:00.123000+00:00",
    50,
    "An instance failed to launch.",
  );
  const since = "2026-12-07T21:40:00Z";
  const args = (...more: string[]) => ["--group", group, "--since", since, "--poll", "0.1", ...more];

  it("waits through Pending and InProgress until the refresh started since the deploy succeeds", async () => {
    aws.setRules([
      { match: describe_, stdout: page(refresh("5e6f-new", "Pending", undefined, 0), older), times: 1 },
      {
        match: describe_,
        stdout: page(
          refresh(
            "5e6f-new",
            "InProgress",
            "2026-12-07T21:41:10+00:00",
            50,
            "Waiting for instances to warm up before continuing. For example: i-0b1c2d3e4f5a6b7c8 is warming up.",
          ),
          older,
        ),
        times: 2,
      },
      { match: describe_, stdout: page(refresh("5e6f-new", "Successful", "2026-12-07T21:41:10+00:00", 100), older) },
    ]);
    const r = await run(script("wait-instance-refresh.sh"), args(), aws.env);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout.trim().split("\n")).toEqual([
      `instance refresh 5e6f-new of ${group}: Pending (0%)`,
      `instance refresh 5e6f-new of ${group}: InProgress (50%): Waiting for instances to warm up before continuing. For example: i-0b1c2d3e4f5a6b7c8 is warming up.`,
      `instance refresh 5e6f-new of ${group}: Successful (100%)`,
    ]);
    expect(aws.calls()).toHaveLength(4);
    for (const c of aws.calls())
      expect(c).toEqual([
        "autoscaling",
        "describe-instance-refreshes",
        "--auto-scaling-group-name",
        group,
        "--max-records",
        "10",
        "--output",
        "json",
      ]);
  }, 20000);

  it("fails on a rolled-back refresh, which went back to the new launch template version, and points at the real rollback", async () => {
    aws.setRules([
      {
        match: describe_,
        stdout: page(
          refresh(
            "7a8b-new",
            "RollbackInProgress",
            "2026-12-07T21:41:10Z",
            50,
            "The instance refresh is being rolled back.",
          ),
          older,
        ),
        times: 1,
      },
      {
        match: describe_,
        stdout: page(
          refresh(
            "7a8b-new",
            "RollbackSuccessful",
            "2026-12-07T21:41:10Z",
            100,
            "The instance refresh was rolled back: instances failed ELB health checks.",
          ),
          older,
        ),
      },
    ]);
    const r = await run(script("wait-instance-refresh.sh"), args(), aws.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `instance refresh 7a8b-new of ${group} ended RollbackSuccessful: The instance refresh was rolled back: instances failed ELB health checks.`,
    );
    expect(r.stderr).toContain("terraform-provider-aws #34189): the fleet still runs the new configuration");
    expect(r.stderr).toContain(
      'roll back by publishing the previous AMI id to SSM and deploying the AMI\'s stacks again: docs/runbooks/scale-out.md, "A failed instance refresh"',
    );
  }, 20000);

  it.each([
    [
      "Failed",
      "Instance refresh failed: 1 instance failed to launch. Status Reason: The instance profile is not valid.",
    ],
    ["Cancelled", "Instance refresh was cancelled by a user."],
    ["RollbackFailed", "The rollback failed."],
  ])(
    "fails on a refresh that ended %s, naming its reason",
    async (status, reason) => {
      aws.setRules([
        { match: describe_, stdout: page(refresh("9c0d-new", status, "2026-12-07T21:45:00+00:00", 50, reason), older) },
      ]);
      const r = await run(script("wait-instance-refresh.sh"), args(), aws.env);
      expect([r.code, r.stderr]).toEqual([
        1,
        expect.stringContaining(`instance refresh 9c0d-new of ${group} ended ${status}: ${reason}`),
      ]);
    },
    20000,
  );

  it("has nothing to wait for when no refresh started since the deploy (the launch template did not change)", async () => {
    aws.setRules([{ match: describe_, stdout: page(older) }]);
    const r = await run(script("wait-instance-refresh.sh"), args(), aws.env);
    expect([r.code, r.stdout.trim()]).toEqual([
      0,
      `no instance refresh of ${group} since ${since}: its launch configuration did not change; nothing to wait for`,
    ]);
    aws.setRules([{ match: describe_, stdout: page() }]);
    const none = await run(script("wait-instance-refresh.sh"), ["--group", group], aws.env);
    expect(none.code).toBe(0);
    // Without --since, the newest refresh is the one: an older failed refresh fails the wait.
    aws.setRules([{ match: describe_, stdout: page(older) }]);
    const old = await run(script("wait-instance-refresh.sh"), ["--group", group, "--poll", "0.1"], aws.env);
    expect([old.code, old.stderr]).toEqual([
      1,
      expect.stringContaining("instance refresh 0a1b2c3d-old of zmanim-scaled-api ended Failed"),
    ]);
  }, 20000);

  it("gives up at the deadline while the refresh is still running, and fails when AWS cannot be asked", async () => {
    aws.setRules([{ match: describe_, stdout: page(refresh("1e2f-new", "InProgress", "2026-12-07T21:41:10Z", 50)) }]);
    const r = await run(script("wait-instance-refresh.sh"), args("--wait-seconds", "1"), aws.env);
    expect([r.code, r.stderr]).toEqual([
      1,
      expect.stringContaining(`instance refresh 1e2f-new of ${group} is still InProgress (50%) after 1s`),
    ]);
    aws.setRules([
      {
        match: describe_,
        stderr: "An error occurred (AccessDenied) when calling the DescribeInstanceRefreshes operation: not authorized",
        exit: 254,
      },
    ]);
    const denied = await run(script("wait-instance-refresh.sh"), args(), aws.env);
    expect([denied.code, denied.stderr]).toEqual([
      1,
      expect.stringContaining(`describe-instance-refreshes failed for ${group}`),
    ]);
  }, 20000);

  it("refuses a missing group, a malformed --since and a bad number, naming the value", async () => {
    const a = await run(script("wait-instance-refresh.sh"), [], aws.env);
    expect([a.code, a.stderr]).toEqual([2, expect.stringContaining('--group "" must be an Auto Scaling group name')]);
    const b = await run(script("wait-instance-refresh.sh"), ["--group", group, "--since", "2026-12-07 21:40"], aws.env);
    expect([b.code, b.stderr]).toEqual([
      2,
      expect.stringContaining('--since "2026-12-07 21:40" must be a UTC time like 2026-12-07T21:40:00Z'),
    ]);
    const c = await run(script("wait-instance-refresh.sh"), ["--group", group, "--wait-seconds", "soon"], aws.env);
    expect([c.code, c.stderr]).toEqual([
      2,
      expect.stringContaining('--wait-seconds "soon" must be a whole number >= 1'),
    ]);
    expect(aws.calls()).toEqual([]);
  });
});

/**
 * The same script with the real terraform binary (no stand-in) on two stacks of built-in `terraform_data`
 * resources with local state, wired like cdktf wires stacks (terraform_remote_state named
 * cross-stack-reference-input-<stack>): Terraform's own exit codes and plan JSON drive the deploy.
 */
const haveTerraform = spawnSync("terraform", ["version"], { encoding: "utf8" }).status === 0;
if (!haveTerraform)
  process.stderr.write("ci-scripts.test: terraform is NOT installed: the real-terraform deploy test is skipped\n");
(haveTerraform || process.env.ZMANIM_REQUIRE_TERRAFORM === "1" ? describe : describe.skip)(
  "scripts/ci/deploy-stacks.sh with terraform itself",
  () => {
    let dir: string;
    const N = "zmanim-prod-network";
    const S = "zmanim-prod-storage";
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "zmanim-deploy-tf-"));
      const out = join(dir, "out");
      for (const st of [N, S]) mkdirSync(join(out, "stacks", st), { recursive: true });
      const network = (v: string) => ({
        resource: { terraform_data: { vpc: { input: v } } },
        output: { vpc_id: { value: "${terraform_data.vpc.output}" } },
      });
      writeFileSync(join(out, "stacks", N, "cdk.tf.json"), JSON.stringify(network("v1")));
      writeFileSync(
        join(out, "stacks", S, "cdk.tf.json"),
        JSON.stringify({
          data: {
            terraform_remote_state: {
              [`cross-stack-reference-input-${N}`]: {
                backend: "local",
                config: { path: join(out, "stacks", N, "terraform.tfstate") },
              },
            },
          },
          resource: {
            terraform_data: {
              bucket: { input: `\${data.terraform_remote_state.cross-stack-reference-input-${N}.outputs.vpc_id}` },
            },
          },
        }),
      );
      writeFileSync(
        join(out, "manifest.json"),
        JSON.stringify({
          stacks: {
            [N]: { dependencies: [], synthesizedStackPath: `stacks/${N}/cdk.tf.json` },
            [S]: { dependencies: [N], synthesizedStackPath: `stacks/${S}/cdk.tf.json` },
          },
        }),
      );
      writeFileSync(
        join(dir, "budgets.json"),
        JSON.stringify({
          graceMinutes: 0.5,
          planMinutes: 1,
          stacks: { network: { minutes: 2, routineMinutes: 1 }, storage: { minutes: 2, routineMinutes: 1 } },
        }),
      );
      writeFileSync(join(dir, "network-v2.json"), JSON.stringify(network("v2")));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const deploy = (args: string[] = []) =>
      run(script("deploy-stacks.sh"), args, {
        CDKTF_OUTDIR: join(dir, "out"),
        DEPLOY_BUDGETS: join(dir, "budgets.json"),
        TF_PLUGIN_CACHE_DIR: "",
      });

    it("first deploy (the dependent plan deferred), a no-op, drift found by --plan-only, then a change that ripples", async () => {
      // (stderr may hold terraform's own warnings about the machine's CLI configuration)
      const first = await deploy();
      expect(first.code).toBe(0);
      expect(first.stdout).toContain(`${S}: plan failed while ${N}, which it depends on, has changes`);
      expect(first.stdout).toContain("2 of 2 stack(s) applied");
      const noop = await deploy();
      expect([noop.code, noop.stdout]).toEqual([0, expect.stringContaining("0 of 2 stack(s) applied")]);
      writeFileSync(join(dir, "out", "stacks", N, "cdk.tf.json"), readFileSync(join(dir, "network-v2.json")));
      const drift = await deploy(["--plan-only"]);
      expect(drift.code).toBe(3);
      expect(drift.stdout).toContain(`- \`${N}\`\n  - \`terraform_data.vpc (update)\`\n  - output \`vpc_id\``);
      // storage's early plan read the old output (no changes); it is planned again after network's apply.
      const ripple = await deploy();
      expect(ripple.code).toBe(0);
      expect(ripple.stdout).toContain(`${S} reads outputs changed in this deploy (${N} vpc_id ); planning it again`);
      expect(ripple.stdout).toContain("2 of 2 stack(s) applied");
      const state = JSON.parse(readFileSync(join(dir, "out", "stacks", S, "terraform.tfstate"), "utf8"));
      // terraform_data keeps its input's type beside the value.
      const bucket = (
        state.resources as Array<{ mode: string; instances: Array<{ attributes: { output: unknown } }> }>
      ).find((r) => r.mode === "managed")!;
      expect(bucket.instances[0].attributes.output).toEqual({ type: "string", value: "v2" });
    }, 120000);
  },
);
