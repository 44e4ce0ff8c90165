/**
 * packer/files/bin/update-binary.sh (zmanim-api's ExecStartPre) run for real against a temporary install
 * directory, with the TEST DOUBLE of the AWS CLI (__tests__/helpers/bin/aws) standing in for S3: version
 * check, sha256 verification, the kept previous binary, the atomic swap, rollback with a hold, and the rule
 * that a failed update never keeps a working API from starting.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { AwsDouble, AwsRule, awsDouble } from "../helpers/aws-double";

const script = resolve(__dirname, "../../packer/files/bin/update-binary.sh");
const BUCKET = "zmanim-prod-releases-111111111111";
const binary = (v: string) => `#!/bin/sh\necho zmanim-api ${v}\n`;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** Rules for a bucket whose latest.txt names `latest` and that holds `releases` (version -> content). */
function bucketRules(latest: string | null, releases: Record<string, string>, corrupt: string[] = []): AwsRule[] {
  const rules: AwsRule[] = [];
  rules.push(
    latest === null
      ? { match: ["s3", "cp", `s3://${BUCKET}/latest.txt`, "-"], stderr: "An error occurred (AccessDenied)", exit: 1 }
      : { match: ["s3", "cp", `s3://${BUCKET}/latest.txt`, "-"], stdout: latest },
  );
  for (const [v, content] of Object.entries(releases)) {
    rules.push({ match: ["s3", "cp", `s3://${BUCKET}/zmanim-api-${v}`], writeFile: { arg: -1, content } });
    const digest = corrupt.includes(v) ? sha("something else") : sha(content);
    rules.push({
      match: ["s3", "cp", `s3://${BUCKET}/zmanim-api-${v}.sha256`],
      writeFile: { arg: -1, content: `${digest}  zmanim-api-${v}\n` },
    });
  }
  return rules;
}

describe("update-binary.sh", () => {
  let home: string;
  let aws: AwsDouble;
  const run = (...args: string[]) => {
    const r = spawnSync("bash", [script, ...args], {
      encoding: "utf8",
      env: {
        PATH: aws.env.PATH,
        AWS_DOUBLE_LOG: aws.env.AWS_DOUBLE_LOG,
        AWS_DOUBLE_RULES: aws.env.AWS_DOUBLE_RULES,
        ZMANIM_HOME: home,
        ZMANIM_BOX_ENV: join(home, "box.env"),
      },
    });
    return { status: r.status, stderr: r.stderr };
  };
  const file = (name: string) => readFileSync(join(home, name), "utf8");
  const downloads = () => aws.calls().filter((c) => c.some((a) => a.includes("/zmanim-api-")));
  const install = (version: string) => {
    aws.setRules(bucketRules(version, { [version]: binary(version) }));
    expect(run().status).toBe(0);
  };

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "zmanim-home-"));
    writeFileSync(join(home, "box.env"), `ZMANIM_ENV=prod\nAWS_REGION=eu-west-1\nZMANIM_RELEASES_BUCKET=${BUCKET}\n`);
    aws = awsDouble();
  });
  afterEach(() => {
    aws.cleanup();
    rmSync(home, { recursive: true, force: true });
  });

  it("installs the release named in latest.txt, verified, executable, with its version recorded", () => {
    aws.setRules(bucketRules("v1.2.0", { "v1.2.0": binary("v1.2.0") }));
    const r = run();
    expect(r.status).toBe(0);
    expect(file("zmanim-api")).toBe(binary("v1.2.0"));
    expect(statSync(join(home, "zmanim-api")).mode & 0o777).toBe(0o755);
    expect(file("version.txt")).toBe("v1.2.0\n");
    expect(existsSync(join(home, "zmanim-api.previous"))).toBe(false);
    for (const c of aws.calls()) expect(c.slice(0, 2)).toEqual(["--region", "eu-west-1"]);
    expect(readdirSync(home).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it("downloads nothing when latest.txt names the installed version", () => {
    install("v1.2.0");
    aws.cleanup();
    aws = awsDouble(bucketRules("v1.2.0", { "v1.2.0": binary("v1.2.0") }));
    expect(run().status).toBe(0);
    expect(aws.calls()).toHaveLength(1);
    expect(downloads()).toEqual([]);
  });

  it("keeps the running binary as zmanim-api.previous when a new version arrives", () => {
    install("v1.2.0");
    aws.setRules(bucketRules("v1.3.0", { "v1.3.0": binary("v1.3.0") }));
    expect(run().status).toBe(0);
    expect(file("zmanim-api")).toBe(binary("v1.3.0"));
    expect(file("zmanim-api.previous")).toBe(binary("v1.2.0"));
    expect(file("version.txt")).toBe("v1.3.0\n");
    expect(file("previous-version.txt")).toBe("v1.2.0\n");
  });

  it("keeps the current binary and exits 0 when the checksum does not match", () => {
    install("v1.2.0");
    aws.setRules(bucketRules("v1.3.0", { "v1.3.0": binary("v1.3.0") }, ["v1.3.0"]));
    const r = run();
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /checksum mismatch for zmanim-api-v1\.3\.0.*keeping the installed binary \(version v1\.2\.0\)/,
    );
    expect(file("zmanim-api")).toBe(binary("v1.2.0"));
    expect(file("version.txt")).toBe("v1.2.0\n");
    expect(readdirSync(home).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it("keeps the current binary when S3 is unreachable, and fails only when there is no binary at all", () => {
    aws.setRules(bucketRules(null, {}));
    const none = run();
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/cannot read s3:\/\/.*latest\.txt.*no runnable binary/);
    install("v1.2.0");
    aws.setRules([...bucketRules("v1.3.0", {}), { match: ["s3", "cp"], stderr: "download failed", exit: 1 }]);
    const r = run();
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/download of s3:\/\/.*zmanim-api-v1\.3\.0 failed; keeping the installed binary/);
    expect(file("zmanim-api")).toBe(binary("v1.2.0"));
  });

  it("rejects a latest.txt that is not a version name, without downloading", () => {
    install("v1.2.0");
    aws.cleanup();
    aws = awsDouble([{ match: ["s3", "cp", `s3://${BUCKET}/latest.txt`, "-"], stdout: "../../etc/passwd" }]);
    const r = run();
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/is not a version name/);
    expect(downloads()).toEqual([]);
  });

  it("rolls back to the previous binary and holds the bad version until latest.txt moves on", () => {
    install("v1.2.0");
    install("v1.3.0");
    const rb = run("--rollback");
    expect(rb.status).toBe(0);
    expect(file("zmanim-api")).toBe(binary("v1.2.0"));
    expect(file("zmanim-api.previous")).toBe(binary("v1.3.0"));
    expect(file("version.txt")).toBe("v1.2.0\n");
    expect(file("hold.txt")).toBe("v1.3.0\n");

    aws.cleanup();
    aws = awsDouble(bucketRules("v1.3.0", { "v1.3.0": binary("v1.3.0") }));
    const held = run();
    expect(held.status).toBe(0);
    expect(held.stderr).toMatch(/v1\.3\.0 is on hold/);
    expect(downloads()).toEqual([]);
    expect(file("zmanim-api")).toBe(binary("v1.2.0"));

    aws.setRules(bucketRules("v1.4.0", { "v1.4.0": binary("v1.4.0") }));
    expect(run().status).toBe(0);
    expect(file("zmanim-api")).toBe(binary("v1.4.0"));
    expect(existsSync(join(home, "hold.txt"))).toBe(false);
  });

  it("refuses a rollback without a previous binary, bad options and a missing bucket setting", () => {
    expect(run("--rollback")).toEqual({ status: 1, stderr: expect.stringMatching(/no previous binary/) });
    expect(run("--bogus")).toEqual({ status: 2, stderr: expect.stringMatching(/unknown option '--bogus'/) });
    expect(run("--help").status).toBe(0);
    writeFileSync(join(home, "box.env"), "ZMANIM_ENV=prod\n");
    expect(run()).toEqual({ status: 1, stderr: expect.stringMatching(/ZMANIM_RELEASES_BUCKET is not set/) });
    expect(aws.calls()).toEqual([]);
  });
});
