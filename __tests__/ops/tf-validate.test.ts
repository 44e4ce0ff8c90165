/**
 * The terraform validation layer itself: real terraform, the project's own CLI config and mirror.
 * A broken stack must fail with its diagnostic; a stack needing an unmirrored provider must be listed.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { itReportsMissingTerraform, runScript } from "../helpers/terraform-layer";

const root = resolve(__dirname, "..", "..");
const script = join(root, "scripts", "dev", "tf-validate.sh");

function stackDir(name: string, tf: unknown): string {
  const dir = join(mkdtempSync(join(tmpdir(), "zmanim-tfv-")), name);
  mkdirSync(dir);
  writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify(tf));
  return dir;
}

const awsOnly = (resource: unknown) => ({
  terraform: { required_providers: { aws: { source: "aws", version: "5.100.0" } } },
  provider: { aws: [{ region: "eu-west-1" }] },
  resource,
});

const run = (args: string[], env: Record<string, string> = {}) => runScript(script, args, env);

describe("scripts/dev/tf-validate.sh", () => {
  it("passes a valid stack", () => {
    const r = run([stackDir("good", awsOnly({ aws_sns_topic: { t: { name: "x" } } }))]);
    expect(r.stdout).toMatch(/VALID {3}good \(0 warning\(s\)\)/);
    expect(r.stdout).toMatch(/terraform validate: 1 valid, 0 invalid, 0 skipped/);
    expect(r.status).toBe(0);
  }, 120000);

  it("fails an invalid stack and prints terraform's diagnostic", () => {
    const r = run([stackDir("broken", awsOnly({ aws_sns_topic: { t: { name: "x", no_such_argument: true } } }))]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/INVALID broken \(1 error\(s\)/);
    expect(r.stdout).toMatch(/error: Extraneous JSON object property/);
    expect(r.stdout).toMatch(/no_such_argument/);
  }, 120000);

  it("fails a stack with a warning, and lets only the deliberate dynamodb_table deprecation of S3 state reads pass", () => {
    const warned = run([stackDir("deprecated", awsOnly({ aws_s3_bucket: { b: { bucket: "x", acl: "private" } } }))]);
    expect(warned.stdout).toMatch(/WARNING deprecated \(1 unexpected warning\(s\) of 1\)/);
    expect(warned.stdout).toMatch(/warning: Argument is deprecated/);
    expect(warned.status).toBe(1);
    const remoteState = {
      ...awsOnly({ aws_sns_topic: { t: { name: "x" } } }),
      data: {
        terraform_remote_state: {
          r: {
            backend: "s3",
            config: { bucket: "b", key: "k", region: "eu-west-1", dynamodb_table: "t", use_lockfile: true },
          },
        },
      },
    };
    const kept = run([stackDir("lock-table", remoteState)]);
    expect(kept.stdout).toMatch(/VALID {3}lock-table \(1 warning\(s\)\)/);
    expect(kept.status).toBe(0);
  }, 120000);

  it("lists a stack that needs an unmirrored provider by name, with the reason", () => {
    const tf = {
      terraform: {
        required_providers: {
          aws: { source: "aws", version: "5.100.0" },
          random: { source: "hashicorp/random", version: "3.7.2" },
        },
      },
      resource: { random_password: { p: { length: 32 } } },
    };
    const r = run([stackDir("needs-random", tf)]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/SKIP {4}needs-random: needs provider\(s\) not in the local mirror: hashicorp\/random/);
  }, 120000);

  itReportsMissingTerraform(script, "no stack was validated.");
});
