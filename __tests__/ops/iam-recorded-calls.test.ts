/**
 * The release role against the AWS calls its scripts really make: release-api.sh (with ssm-restart.sh and a
 * rollback), static-site-sync.sh and static-site-rollback.sh run for real; the deploy role against
 * publish-ami-id.sh, deploy-stacks.sh's deploy durations and wait-instance-refresh.sh. They run with bash against the TEST DOUBLE of the AWS CLI
 * (__tests__/helpers/bin/aws), which records every call. Each recorded call is mapped to its IAM requests
 * (constructs/builders/iam/cli-map.ts) and simulated against the synthesized role; zero denials is the pass. restic's S3
 * calls are recorded by a real S3-compatible server (s3rver) while restic does what the box's scripts do.
 */
import { execFileSync, spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { EnvironmentConfig, prod, scaled } from "../../constructs/config/environments";
import {
  bucketName,
  ciRoleName,
  instanceRoleName,
  mailFromAddress,
  sitePathsStoreName,
} from "../../constructs/config/naming";

import { S3RestRequest, cliRequests, s3RestRequest } from "../../constructs/builders/iam/cli-map";
import { denials, formatDenial, rolePolicies } from "../../scripts/tools/iam/simulate";
import { synthStacks } from "../../scripts/tools/iam/types";
import {
  HTTPS_CONTEXT,
  S3_ENDPOINT_ID,
  bucketPolicies,
  withBucketPolicies,
} from "../../scripts/tools/iam/bucket-policies";
import { awsDouble, AwsDouble } from "../helpers/aws-double";
import { startS3 } from "../helpers/s3";

const root = resolve(__dirname, "../..");
const env = prod;
const releases = bucketName(env, "releases");
const site = bucketName(env, "static");

function runScript(path: string, args: string[], aws: AwsDouble, vars: Record<string, string> = {}): void {
  spawnSync("bash", [join(root, path), ...args], {
    cwd: root,
    env: { ...process.env, ...aws.env, ...vars },
    stdio: "ignore",
    timeout: 60000,
  });
}

/** The box reaches S3 through the VPC's gateway endpoint, which the bucket policies pin (aws:SourceVpce). */
const viaEndpoint = { ...HTTPS_CONTEXT, "aws:SourceVpce": S3_ENDPOINT_ID };

/** prod's stacks, synthesized once for the file (a synth takes seconds); every caller gets its own parsed copy. */
let prodStacksJson: string | undefined;
function prodStacks(): ReturnType<typeof synthStacks> {
  prodStacksJson ??= JSON.stringify(synthStacks(env));
  return JSON.parse(prodStacksJson);
}

/** Denials of the recorded calls, S3 ones evaluated with their bucket's policy too (over HTTPS, `context`). */
async function deniedFor(
  roleName: string,
  calls: string[][],
  context: Record<string, string> = HTTPS_CONTEXT,
  e: EnvironmentConfig = env,
): Promise<string[]> {
  const stacks = e === env ? prodStacks() : synthStacks(e);
  const requests = withBucketPolicies(
    calls.flatMap((argv) => cliRequests(argv, e)),
    bucketPolicies(stacks),
    context,
  );
  return (await denials(rolePolicies(stacks, roleName, e.accountId), requests)).map(formatDenial);
}

describe("roles against the AWS calls their scripts and programs make, as recorded", () => {
  let aws: AwsDouble;
  let dir: string;
  beforeEach(() => {
    aws = awsDouble();
    dir = mkdtempSync(join(tmpdir(), "iam-recorded-"));
  });
  afterEach(() => {
    aws.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("release role: every call release-api.sh and static-site-sync.sh make is allowed", async () => {
    const binary = join(dir, "zmanim-api");
    writeFileSync(binary, "binary v1.5.0\n");
    aws.setRules([
      { match: ["s3", "cp", `s3://${releases}/latest.txt`, "-"], stdout: "v1.4.0" },
      {
        match: ["s3", "cp", `s3://${releases}/zmanim-api-v1.5.0.sha256`, "-"],
        stderr: "An error occurred (404) when calling the HeadObject operation: Not Found",
        exit: 1,
      },
      { match: ["s3", "cp"] },
      { match: ["ssm", "send-command"], stdout: "cmd-1" },
      { match: ["ssm", "list-command-invocations"], stdout: "i-0abc\tSuccess" },
    ]);
    // The health URL answers nothing: the release rolls back too, so the rollback's calls are recorded as well.
    runScript(
      "scripts/ci/release-api.sh",
      [
        "--version",
        "v1.5.0",
        "--binary",
        binary,
        "--bucket",
        releases,
        "--env",
        env.name,
        "--health-url",
        "http://127.0.0.1:9/health",
        "--attempts",
        "1",
        "--interval",
        "0.1",
        "--wait-seconds",
        "5",
        "--poll",
        "0.1",
      ],
      aws,
    );
    const out = join(dir, "out");
    mkdirSync(join(out, "_next/static/chunks"), { recursive: true });
    writeFileSync(join(out, "index.html"), "<html></html>");
    writeFileSync(join(out, "404.html"), "<html>not found</html>");
    writeFileSync(join(out, "_next/static/chunks/main-3f2a9c1b7d.js"), "x");
    const store = sitePathsStoreName(env);
    aws.setKeyValueStore({
      name: store,
      arn: `arn:aws:cloudfront::${env.accountId}:key-value-store/0123abcd-4567-89ef-0123-456789abcdef`,
      etag: "E1",
      items: { "/old.html": "1" },
    });
    const synced = (pass: string, stdout: string) => ({ match: ["s3", "sync", pass], stdout, times: 1 });
    const calls = aws.calls();
    aws.setRules([
      synced("public,max-age=31536000,immutable", ""),
      synced("--exclude", `upload: ${out}/index.html to s3://${site}/index.html`),
      synced("--delete", ""),
      { match: ["s3", "cp"] },
      { match: ["cloudfront", "list-distributions"], stdout: "E2QWRUHAPOMQZL" },
      { match: ["cloudfront", "create-invalidation"], stdout: "I1" },
    ]);
    runScript(
      "scripts/ci/static-site-sync.sh",
      ["--source", out, "--bucket", site, "--key-value-store", store, "--site", env.domain.siteName],
      aws,
    );
    const all = [...calls, ...aws.calls().slice(calls.length)];

    const commands = [...new Set(all.map((c) => `${c[0]} ${c[1]}`))].sort();
    expect(commands).toEqual([
      "cloudfront create-invalidation",
      "cloudfront describe-key-value-store",
      "cloudfront list-distributions",
      "cloudfront-keyvaluestore describe-key-value-store",
      "cloudfront-keyvaluestore list-keys",
      "cloudfront-keyvaluestore update-keys",
      "s3 cp",
      "s3 sync",
      "ssm list-command-invocations",
      "ssm send-command",
    ]);
    expect(await deniedFor(ciRoleName(env, "release"), all)).toEqual([]);
  }, 120000);

  it("instance role: every call notify-failure.sh and update-binary.sh make is allowed", async () => {
    aws.setRules([
      { match: ["sesv2", "send-email"], stdout: "{}" },
      { match: ["s3", "cp", `s3://${releases}/latest.txt`, "-"], stdout: "v1.5.0" },
      {
        match: ["s3", "cp", `s3://${releases}/zmanim-api-v1.5.0.sha256`],
        writeFile: { arg: -1, content: "0000  zmanim-api-v1.5.0\n" },
      },
      { match: ["s3", "cp", `s3://${releases}/zmanim-api-v1.5.0`], writeFile: { arg: -1, content: "binary" } },
    ]);
    const settings = {
      ZMANIM_MAIL_FROM: mailFromAddress(env),
      ZMANIM_ALARM_EMAIL: env.alarmEmail,
      ZMANIM_LOG_COMMAND: "true",
      ZMANIM_RESTIC_ENV_FILE: "/nonexistent",
    };
    runScript("scripts/box/notify-failure.sh", ["zmanim-backup.service"], aws, settings);
    runScript("packer/files/bin/update-binary.sh", [], aws, {
      ZMANIM_RELEASES_BUCKET: releases,
      ZMANIM_HOME: dir,
      ZMANIM_BOX_ENV: "/nonexistent",
    });
    const calls = aws.calls();
    expect(calls.map((c) => `${c[0]} ${c[1]}`)).toEqual(["sesv2 send-email", "s3 cp", "s3 cp", "s3 cp"]);
    expect(await deniedFor(instanceRoleName(env), calls, viaEndpoint)).toEqual([]);
  }, 120000);

  it("deploy role: the call publish-ami-id.sh (Packer's last post-processor in ami.yml) makes is allowed", async () => {
    const manifest = join(dir, "manifest.json");
    writeFileSync(
      manifest,
      JSON.stringify({
        last_run_uuid: "r2",
        builds: [{ packer_run_uuid: "r2", artifact_id: `${env.region}:ami-0123456789abcdef0` }],
      }),
    );
    runScript("packer/scripts/publish-ami-id.sh", [], aws, {
      ZMANIM_ENV: env.name,
      MANIFEST_PATH: manifest,
      AWS_REGION: env.region,
    });
    const calls = aws.calls();
    expect(calls).toEqual([
      [
        "--region",
        env.region,
        "ssm",
        "put-parameter",
        "--name",
        `/zmanim/${env.name}/ami-id`,
        "--type",
        "String",
        "--value",
        "ami-0123456789abcdef0",
        "--overwrite",
        "--description",
        "AMI built by packer/zmanim-ami.pkr.hcl",
      ],
    ]);
    expect(await deniedFor(ciRoleName(env, "deploy"), calls)).toEqual([]);
  }, 120000);

  it("deploy role: deploy-stacks.sh --metrics sends the deploy durations (PutMetricData in Zmanim/Deploy)", async () => {
    const out = join(dir, "cdktf.out");
    mkdirSync(join(out, "stacks", "zmanim-prod-network"), { recursive: true });
    writeFileSync(join(out, "stacks", "zmanim-prod-network", "cdk.tf.json"), "{}");
    writeFileSync(
      join(out, "manifest.json"),
      JSON.stringify({ stacks: { "zmanim-prod-network": { dependencies: [] } } }),
    );
    writeFileSync(join(dir, "standin.json"), "{}");
    aws.setRules([{ match: ["cloudwatch", "put-metric-data"] }]);
    runScript("scripts/ci/deploy-stacks.sh", ["--metrics", env.name], aws, {
      PATH: `${join(root, "__tests__/fixtures/terraform-standin")}:${aws.env.PATH}`,
      CDKTF_OUTDIR: out,
      TF_STANDIN: join(dir, "standin.json"),
      DEPLOY_LOG: join(dir, "deploy.log"),
    });
    const calls = aws.calls();
    expect(calls.map((c) => c.slice(0, 4))).toEqual([
      ["cloudwatch", "put-metric-data", "--namespace", "Zmanim/Deploy"],
    ]);
    expect(await deniedFor(ciRoleName(env, "deploy"), calls)).toEqual([]);
  }, 120000);

  it("deploy role: the call wait-instance-refresh.sh makes for the fleet's group (scaled) is allowed, and only in scaled", async () => {
    const group = `zmanim-${scaled.name}-api`;
    const refreshes = {
      InstanceRefreshes: [
        {
          InstanceRefreshId: "r1",
          Status: "Successful",
          PercentageComplete: 100,
          StartTime: "2026-12-07T21:41:00.000000+00:00",
        },
      ],
    };
    aws.setRules([{ match: ["autoscaling", "describe-instance-refreshes"], stdout: JSON.stringify(refreshes) }]);
    runScript(
      "scripts/ci/wait-instance-refresh.sh",
      ["--group", group, "--since", "2026-12-07T21:40:00Z", "--poll", "0.1", "--wait-seconds", "30"],
      aws,
    );
    const calls = aws.calls();
    expect(calls).toEqual([
      [
        "autoscaling",
        "describe-instance-refreshes",
        "--auto-scaling-group-name",
        group,
        "--max-records",
        "10",
        "--output",
        "json",
      ],
    ]);
    expect(await deniedFor(ciRoleName(scaled, "deploy"), calls, HTTPS_CONTEXT, scaled)).toEqual([]);
    // Single-box prod has no group to wait for, and its generated role no grant for it.
    expect(await deniedFor(ciRoleName(env, "deploy"), calls)).toEqual([
      "autoscaling:DescribeInstanceRefreshes on * (aws autoscaling describe-instance-refreshes): ImplicitlyDenied",
    ]);
  }, 120000);

  it("release role: every call static-site-rollback.sh makes (keep, roll back through the sync) is allowed", async () => {
    const s3 = join(dir, "s3");
    mkdirSync(s3);
    const store = sitePathsStoreName(env);
    aws.setKeyValueStore({
      name: store,
      arn: `arn:aws:cloudfront::${env.accountId}:key-value-store/0123abcd-4567-89ef-0123-456789abcdef`,
      etag: "E1",
      items: {},
    });
    aws.setRules([{ match: ["cloudfront", "create-invalidation"], stdout: "I1" }]);
    for (const v of ["a", "b"]) {
      const out = join(dir, v);
      mkdirSync(out);
      writeFileSync(join(out, "index.html"), `<html>${v}</html>`);
      writeFileSync(join(out, "404.html"), "<html>not found</html>");
      runScript("scripts/ci/static-site-rollback.sh", ["--keep", "--source", out, "--releases-bucket", releases], aws, {
        AWS_DOUBLE_S3: s3,
      });
    }
    runScript(
      "scripts/ci/static-site-rollback.sh",
      [
        "--releases-bucket",
        releases,
        "--bucket",
        site,
        "--key-value-store",
        store,
        "--distribution-id",
        "E2QWRUHAPOMQZL",
      ],
      aws,
      { AWS_DOUBLE_S3: s3 },
    );
    // The sync ran on the export extracted into the script's own temporary directory, gone now: the same files
    // are export A's (the cli map lists a sync's source to name the objects it writes).
    const calls = aws
      .calls()
      .map((c) => (c[0] === "s3" && c[1] === "sync" ? [c[0], c[1], join(dir, "a"), ...c.slice(3)] : c));
    expect(calls.some((c) => c[1] === "create-invalidation")).toBe(true); // the rollback went through the sync
    expect(
      calls.filter((c) => c[0] === "s3" && c[1] === "cp" && c.some((a) => a.includes(`s3://${releases}/site-exports/`)))
        .length,
    ).toBeGreaterThanOrEqual(6);
    expect(await deniedFor(ciRoleName(env, "release"), calls)).toEqual([]);
  }, 120000);

  it("instance role: every S3 call restic makes (init, backup, snapshots, restore, forget --prune, check) is allowed", async () => {
    const log = join(dir, "s3-requests.jsonl");
    const s3 = await startS3(["restic"], log);
    try {
      const data = join(dir, "data");
      mkdirSync(data);
      writeFileSync(join(data, "postgres.dump"), "x".repeat(100000));
      const vars = {
        ...process.env,
        ...s3.resticEnv(),
        RESTIC_PASSWORD: "iam-test",
        RESTIC_CACHE_DIR: join(dir, "cache"),
      };
      // --cacert as scripts/box/lib/common.sh passes it (restic reads RESTIC_CACERT itself only from 0.16 on).
      const restic = (...args: string[]) =>
        execFileSync("restic", ["--cacert", s3.caCert, ...args], { env: vars, stdio: "ignore", timeout: 60000 });
      restic("init");
      restic("backup", "--tag", "zmanim", data);
      restic("backup", "--tag", "zmanim", data);
      restic("snapshots", "--json");
      restic("restore", "latest", "--target", join(dir, "restored"));
      restic("forget", "--keep-last", "1", "--prune");
      restic("check");
    } finally {
      await s3.stop();
    }
    const requests = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as S3RestRequest);
    const sim = requests.map((r) => s3RestRequest(r, bucketName(env, "backups"), env, `restic: ${r.method} ${r.path}`));
    expect(new Set(sim.map((r) => r.action))).toEqual(
      new Set(["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]),
    );
    const stacks = prodStacks();
    const role = rolePolicies(stacks, instanceRoleName(env), env.accountId);
    expect(
      (await denials(role, withBucketPolicies(sim, bucketPolicies(stacks), viaEndpoint))).map(formatDenial),
    ).toEqual([]);
  }, 180000);
});
