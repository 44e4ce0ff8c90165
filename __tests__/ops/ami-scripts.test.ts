/**
 * The build-side scripts of the AMI pipeline, run for real: publish-ami-id.sh (with the TEST DOUBLE of the
 * AWS CLI standing in for SSM) reads the manifest post-processor's output and publishes only the last run's
 * AMI; provision.sh and smoke-test.sh refuse bad input with a message that names the setting. (provision.sh
 * is only run with settings it rejects before touching anything: it provisions the machine it runs on.)
 */
import { spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { AwsDouble, awsDouble } from "../helpers/aws-double";

const packer = resolve(__dirname, "../../packer/scripts");

function manifest(lastRun: string, builds: { run: string; artifact: string }[]): string {
  return JSON.stringify({
    builds: builds.map((b) => ({
      name: "zmanim",
      builder_type: "amazon-ebs",
      artifact_id: b.artifact,
      packer_run_uuid: b.run,
      custom_data: {},
    })),
    last_run_uuid: lastRun,
  });
}

describe("publish-ami-id.sh", () => {
  let dir: string;
  let aws: AwsDouble;
  const run = (env: Record<string, string>) => {
    const r = spawnSync("bash", [join(packer, "publish-ami-id.sh")], {
      encoding: "utf8",
      env: { PATH: aws.env.PATH, ...aws.env, ...env },
    });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "zmanim-publish-"));
    aws = awsDouble([{ match: ["ssm", "put-parameter"], stdout: '{"Version": 7}' }]);
  });
  afterEach(() => {
    aws.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("publishes the last run's AMI id to /zmanim/<env>/ami-id, overwriting", () => {
    const m = join(dir, "manifest.json");
    writeFileSync(
      m,
      manifest("run-2", [
        { run: "run-1", artifact: "eu-west-1:ami-0aaaaaaaaaaaaaaaa" },
        { run: "run-2", artifact: "eu-west-1:ami-0bbbbbbbbbbbbbbbb" },
      ]),
    );
    const r = run({ ZMANIM_ENV: "prod", MANIFEST_PATH: m, AWS_REGION: "eu-west-1" });
    expect(r).toEqual({
      status: 0,
      stdout: "ami-0bbbbbbbbbbbbbbbb",
      stderr: expect.stringMatching(/published ami-0bbbbbbbbbbbbbbbb to \/zmanim\/prod\/ami-id/),
    });
    const [call] = aws.calls();
    expect(call).toEqual(
      expect.arrayContaining([
        "--region",
        "eu-west-1",
        "ssm",
        "put-parameter",
        "--name",
        "/zmanim/prod/ami-id",
        "--type",
        "String",
        "--value",
        "ami-0bbbbbbbbbbbbbbbb",
        "--overwrite",
      ]),
    );
    expect(call[call.indexOf("--name") + 1]).toBe("/zmanim/prod/ami-id");
    expect(call[call.indexOf("--value") + 1]).toBe("ami-0bbbbbbbbbbbbbbbb");
  });

  it("publishes nothing when the last run has no build, the region differs, or the manifest is missing", () => {
    const m = join(dir, "manifest.json");
    writeFileSync(m, manifest("run-3", [{ run: "run-1", artifact: "eu-west-1:ami-0aaaaaaaaaaaaaaaa" }]));
    expect(run({ ZMANIM_ENV: "prod", MANIFEST_PATH: m, AWS_REGION: "eu-west-1" })).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/no build for its last run/),
    });
    writeFileSync(m, manifest("run-1", [{ run: "run-1", artifact: "us-east-1:ami-0aaaaaaaaaaaaaaaa" }]));
    expect(run({ ZMANIM_ENV: "prod", MANIFEST_PATH: m, AWS_REGION: "eu-west-1" })).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/no AMI id for region eu-west-1/),
    });
    expect(run({ ZMANIM_ENV: "prod", MANIFEST_PATH: join(dir, "absent.json"), AWS_REGION: "eu-west-1" })).toMatchObject(
      { status: 1, stderr: expect.stringMatching(/missing or empty/) },
    );
    expect(aws.calls()).toEqual([]);
  });

  it("names a missing or malformed setting and exits 2", () => {
    expect(run({ MANIFEST_PATH: "x", AWS_REGION: "eu-west-1" })).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/ZMANIM_ENV is not set/),
    });
    expect(run({ ZMANIM_ENV: "Prod!", MANIFEST_PATH: "x", AWS_REGION: "eu-west-1" })).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/ZMANIM_ENV='Prod!' is not an environment name/),
    });
    expect(aws.calls()).toEqual([]);
  });

  it("reports a refused put-parameter as a failure", () => {
    const m = join(dir, "manifest.json");
    writeFileSync(m, manifest("r", [{ run: "r", artifact: "eu-west-1:ami-0ccccccccccccccc" }]));
    aws.setRules([{ match: ["ssm", "put-parameter"], stderr: "AccessDeniedException", exit: 254 }]);
    expect(run({ ZMANIM_ENV: "prod", MANIFEST_PATH: m, AWS_REGION: "eu-west-1" })).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/put-parameter \/zmanim\/prod\/ami-id failed/),
    });
  });
});

describe("provision.sh and smoke-test.sh input handling", () => {
  const good: Record<string, string> = {
    ZMANIM_STAGING: "/nonexistent/zmanim-staging",
    ZMANIM_API_VERSION: "v1.0.0",
    APT_SNAPSHOT: "20260920T000000Z",
    APT_PACKAGES: "jq=1.7.1-3ubuntu0.24.04.1",
    RESTIC_VERSION: "0.17.3",
    RESTIC_SHA256: "db27b803534d301cef30577468cf61cb2e242165b8cd6d8cd6efd7001be2e557",
    AWSCLI_VERSION: "2.22.35",
    AWSCLI_KEY_FINGERPRINT: "FB5DB77FD5C118B80511ADA8A6310ACC4672475C",
    CWAGENT_VERSION: "1.300073.2b1889",
    CWAGENT_KEY_FINGERPRINT: "937616F3450B7D806CBD9725D58167303B789C72",
    CWAGENT_REGION: "eu-west-1",
  };
  const provision = (env: Record<string, string>) => {
    const r = spawnSync("bash", [join(packer, "provision.sh")], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, ...env },
    });
    return { status: r.status, stderr: r.stderr };
  };

  it.each([
    ["RESTIC_SHA256", { RESTIC_SHA256: "" }, /RESTIC_SHA256 is not set/],
    ["RESTIC_SHA256", { RESTIC_SHA256: "abc" }, /RESTIC_SHA256='abc' is not 64 lowercase hex digits/],
    ["RESTIC_VERSION", { RESTIC_VERSION: "0.16.4" }, /RESTIC_VERSION='0\.16\.4' must be 0\.17\.0 or later/],
    [
      "APT_PACKAGES",
      { APT_PACKAGES: "jq=1.7 redis-server" },
      /APT_PACKAGES entry 'redis-server' is not pinned as name=version/,
    ],
    ["APT_SNAPSHOT", { APT_SNAPSHOT: "latest" }, /APT_SNAPSHOT='latest' is not a snapshot id/],
    ["AWSCLI_VERSION", { AWSCLI_VERSION: "latest" }, /AWSCLI_VERSION='latest' must be an exact AWS CLI v2 version/],
    [
      "AWSCLI_KEY_FINGERPRINT",
      { AWSCLI_KEY_FINGERPRINT: "FB5D B77F" },
      /key fingerprint 'FB5D B77F' must be 40 uppercase hex digits/,
    ],
  ])("provision.sh rejects a bad %s with exit 2 before changing anything", (_name, bad, message) => {
    const r = provision({ ...good, ...bad });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("provision.sh and smoke-test.sh print their usage", () => {
    for (const s of ["provision.sh", "smoke-test.sh", "publish-ami-id.sh"]) {
      const r = spawnSync("bash", [join(packer, s), "--help"], { encoding: "utf8" });
      expect({ s, status: r.status }).toEqual({ s, status: 0 });
      expect(r.stdout).toMatch(/^Usage: /m);
    }
  });
});

describe("provision.sh verify-signature (the AWS CLI and CloudWatch agent check), with real gpg keys", () => {
  let dir: string;
  const gpg = (home: string, ...args: string[]) => {
    const r = spawnSync(
      "gpg",
      ["--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", "", ...args],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`gpg ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  /** A fresh signing key: its exported public key file and its fingerprint. */
  const makeKey = (name: string) => {
    const home = join(dir, `home-${name}`);
    spawnSync("mkdir", ["-m", "700", home]);
    gpg(home, "--quick-gen-key", `${name} <${name}@example.invalid>`, "ed25519", "sign", "never");
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(home, "--with-colons", "--fingerprint"))![1];
    gpg(home, "--armor", "--output", join(dir, `${name}.asc`), "--export", fpr);
    return { home, fpr, keyFile: join(dir, `${name}.asc`) };
  };
  const verify = (file: string, sig: string, key: string, fpr: string) => {
    const r = spawnSync("bash", [join(packer, "provision.sh"), "verify-signature", file, sig, key, fpr], {
      encoding: "utf8",
    });
    return { status: r.status, stderr: r.stderr };
  };
  let vendor: ReturnType<typeof makeKey>;
  let other: ReturnType<typeof makeKey>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "zmanim-gpg-"));
    vendor = makeKey("vendor");
    other = makeKey("other");
    writeFileSync(join(dir, "tool.zip"), "release payload\n");
    gpg(
      vendor.home,
      "--local-user",
      vendor.fpr,
      "--detach-sign",
      "--output",
      join(dir, "tool.zip.sig"),
      join(dir, "tool.zip"),
    );
    gpg(
      other.home,
      "--local-user",
      other.fpr,
      "--detach-sign",
      "--output",
      join(dir, "tool.zip.other.sig"),
      join(dir, "tool.zip"),
    );
  }, 60000);
  afterAll(() => {
    for (const k of [vendor, other]) if (k) spawnSync("gpgconf", ["--homedir", k.home, "--kill", "all"]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("accepts a valid signature by the key with the pinned fingerprint", () => {
    expect(verify(join(dir, "tool.zip"), join(dir, "tool.zip.sig"), vendor.keyFile, vendor.fpr)).toMatchObject({
      status: 0,
    });
  });

  it("refuses a signature by another key, even when that key is the one supplied", () => {
    const r = verify(join(dir, "tool.zip"), join(dir, "tool.zip.other.sig"), other.keyFile, vendor.fpr);
    expect(r).toEqual({
      status: 1,
      stderr: expect.stringMatching(`no valid signature by key ${vendor.fpr}; refusing to install`),
    });
  });

  it("refuses a file changed after signing", () => {
    const copy = join(dir, "tampered.zip");
    writeFileSync(copy, "release payload\n");
    appendFileSync(copy, "extra");
    expect(verify(copy, join(dir, "tool.zip.sig"), vendor.keyFile, vendor.fpr)).toMatchObject({ status: 1 });
  });

  it("rejects a malformed fingerprint with exit 2", () => {
    expect(verify(join(dir, "tool.zip"), join(dir, "tool.zip.sig"), vendor.keyFile, "FB5D B77F")).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/fingerprint 'FB5D B77F' must be 40 uppercase hex digits/),
    });
  });
});

describe("provision.sh's install of migrate-db (the dispatcher, its phases and its SQL)", () => {
  const box = resolve(__dirname, "../../scripts/box");
  const libFiles = () =>
    readdirSync(join(box, "migrate", "lib"))
      .filter((f) => f.endsWith(".sh"))
      .sort();

  it("provision.sh installs the dispatcher, its phases and its SQL where the dispatcher looks (replayed into a temporary root)", () => {
    const script = readFileSync(join(packer, "provision.sh"), "utf8");
    const start = script.indexOf("for s in backup.sh restore.sh");
    const end = script.indexOf('install -o root -g root -m 0644 "$files/logrotate/zmanim"');
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const block = script.slice(start, end);
    expect(block).toContain('install -o root -g root -m 0644 "$scripts"/migrate/lib/*.sh /opt/zmanim/bin/migrate/lib/');
    expect(block).toContain(
      'install -o root -g root -m 0644 "$scripts"/migrate/sql/*.sql /opt/zmanim/bin/migrate/sql/',
    );
    const root = mkdtempSync(join(tmpdir(), "zmanim-provision-"));
    try {
      mkdirSync(join(root, "bin", "lib"), { recursive: true });
      const replay = block.replace(/-o root -g root /g, "").replace(/\/opt\/zmanim/g, root);
      const r = spawnSync("bash", ["-euo", "pipefail", "-c", `scripts=${JSON.stringify(box)}\n${replay}`], {
        encoding: "utf8",
      });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(readdirSync(join(root, "bin", "migrate", "lib")).sort()).toEqual(libFiles());
      expect(readdirSync(join(root, "bin", "migrate", "sql")).sort()).toEqual(
        readdirSync(join(box, "migrate", "sql")).sort(),
      );
      // Installed, the dispatcher finds its phases next to itself: --help (every phase sourced) and a usage error.
      const help = spawnSync(join(root, "bin", "migrate-db"), ["--help"], { encoding: "utf8" });
      expect({ status: help.status, stderr: help.stderr }).toEqual({ status: 0, stderr: "" });
      expect(help.stdout).toContain("Usage: scripts/box/migrate-db --source URL --target URL [options]");
      const bad = spawnSync(
        join(root, "bin", "migrate-db"),
        ["--source", "postgresql://a@127.0.0.1/x", "--target", "postgresql://a@127.0.0.1/y", "--jobs", "0"],
        { encoding: "utf8" },
      );
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain("migrate-db: --jobs '0' is not valid; use a whole number from 1 to 64");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
