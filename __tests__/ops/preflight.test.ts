/**
 * scripts/tools/preflight/preflight, run for real: AWS is the TEST DOUBLE of the AWS CLI (__tests__/helpers/bin/aws); the
 * delegation is checked with real dig against a real authoritative server (NSD) on loopback that plays the
 * DNS serving the parent zone today.
 */
import { join, resolve } from "path";
import { prod, CarriedRecord, EnvironmentConfig } from "../../constructs/config/environments";
import { bucketName, ciRoleName, roleArn, ssmParameterName } from "../../constructs/config/naming";
import { awsDouble, AwsDouble, AwsRule } from "../helpers/aws-double";
import { RunResult, runCommand } from "../helpers/spawn";
import { Nsd, startNsd } from "../helpers/nsd";
import { answers, nsRecords, realContext, SERVICE_LINKED_ROLES, STEPS } from "../../scripts/tools/preflight/checks";
import { startTfcDouble, TfcDouble } from "../helpers/tfc-double";

const root = resolve(__dirname, "../..");
const site = prod.domain.siteName;
const zoneServers = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk", "ns-3.awsdns-03.com", "ns-4.awsdns-04.net"];
const state = prod.state as { bucket: string; lockTable: string };
const releases = bucketName(prod, "releases");

/** An account where every step holds; tests put a failing rule in front (the first matching rule wins). */
const healthy = (): AwsRule[] => [
  { match: ["s3api", "get-bucket-versioning", "--bucket", state.bucket], stdout: "Enabled" },
  { match: ["dynamodb", "describe-table", "--table-name", state.lockTable], stdout: "ACTIVE" },
  {
    match: ["iam", "get-role", "--role-name", ciRoleName(prod, "deploy")],
    stdout: roleArn(prod, ciRoleName(prod, "deploy")),
  },
  {
    match: ["route53", "list-hosted-zones-by-name", "--dns-name", site],
    stdout: JSON.stringify({
      HostedZones: [{ Id: "/hostedzone/Z0SITE", Name: `${site}.`, Config: { PrivateZone: false } }],
    }),
  },
  { match: ["route53", "get-hosted-zone", "--id", "/hostedzone/Z0SITE"], stdout: JSON.stringify(zoneServers) },
  { match: ["sesv2", "get-account"], stdout: JSON.stringify({ ProductionAccessEnabled: true }) },
  {
    match: ["sesv2", "get-email-identity", "--email-identity", site],
    stdout: JSON.stringify({ VerifiedForSendingStatus: true, DkimAttributes: { Status: "SUCCESS" } }),
  },
  ...SERVICE_LINKED_ROLES.map(([svc]): AwsRule => ({
    match: ["iam", "list-roles", "--path-prefix", `/aws-service-role/${svc}/`],
    stdout: `AWSServiceRoleFor-${svc}`,
  })),
  { match: ["s3api", "head-object", "--bucket", releases, "--key", "latest.txt"], stdout: "{}" },
  { match: ["ssm", "get-parameter", "--name", ssmParameterName(prod, "ami-id")], stdout: "ami-0123456789abcdef0" },
  { match: ["cloudfront", "list-distributions"], stdout: "[]" },
];

type Result = RunResult;
function preflight(aws: AwsDouble, args: string[]): Promise<Result> {
  return runCommand(join(root, "scripts/tools/preflight/preflight"), args, {
    cwd: root,
    env: { ...process.env, ...aws.env, ZMANIM_ENV: "prod" },
  });
}

/** The parent zone as the current DNS serves it: the site delegated to `servers` (none: not delegated). */
const parentZone = (servers: string[]) => servers.map((s) => `zmanim IN NS ${s}.`).join("\n");

describe("scripts/tools/preflight/preflight", () => {
  let aws: AwsDouble;
  let dns: Nsd;
  beforeAll(async () => {
    aws = awsDouble();
    dns = await startNsd(
      "shtetl.io",
      [parentZone(zoneServers), "clerk IN CNAME frontend-api.clerk.services.", "@ IN MX 1 smtp.google.com."].join("\n"),
    );
  });
  afterAll(async () => {
    aws.cleanup();
    await dns.stop();
  });
  const run = (rules: AwsRule[], args: string[] = []) => {
    aws.setRules(rules);
    return preflight(aws, ["--parent-dns", dns.server, ...args]);
  };

  it("--help names every step in runbook order and the exit codes", async () => {
    const r = await preflight(aws, ["--help"]);
    expect(r.code).toBe(0);
    const listed = [...r.stdout.matchAll(/^ {2}([a-z]+) +before /gm)].map((m) => m[1]);
    expect(listed).toEqual(["state", "cicd", "tfc", "zone", "ses", "slr", "ami", "cdn", "apex"]);
    expect(listed).toEqual(STEPS.map((s) => s.name));
    expect(r.stdout).toMatch(/Exit: 0 every checked step met; 1 a step is not met/);
    const bad = await preflight(aws, ["--step", "dns"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--step dns: no such step; use one of state, cicd, tfc, zone, ses, slr, ami, cdn, apex/);
  }, 60000);

  it("passes every step of a ready account, with read-only calls only, and says what comes next", async () => {
    const r = await run(healthy());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const s of STEPS) expect(r.stdout).toMatch(new RegExp(`^ok {4}${s.name}`, "m"));
    expect(r.stdout).toMatch(/ok {4}zone {3}127\.0\.0\.1#\d+ delegates zmanim\.shtetl\.io to the zone's name servers/);
    expect(r.stdout).toMatch(/next: every step is met; run deploy.yml/);
    const verbs = aws.calls().map((c) => c[1]); // every call so far: this is the first run that reaches AWS
    expect(verbs.length).toBeGreaterThanOrEqual(12);
    for (const v of verbs) expect([v, /^(get-|list-|describe-|head-|simulate-)/.test(v)]).toEqual([v, true]);
  }, 60000);

  it("stops at the first unmet step, names it, and checks nothing after it", async () => {
    const before = aws.calls().length;
    const r = await run([
      { match: ["s3api", "get-bucket-versioning"], stderr: "An error occurred (NoSuchBucket)", exit: 254 },
      ...healthy(),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL {2}state {2}state bucket zmanim-tfstate-111111111111 is not there \(An error occurred \(NoSuchBucket\)\)/,
    );
    expect(r.stdout).toMatch(/next: apply backend.tf.json as an administrator/);
    expect(r.stderr).toMatch(/preflight: step "state" is not met \(needed before any stack/);
    const calls = aws.calls().slice(before);
    expect(calls.map((c) => c[0])).toEqual(["s3api", "dynamodb"]);
  }, 60000);

  it("fails the zone step while the current DNS does not delegate the site zone to its name servers", async () => {
    const other = await startNsd("shtetl.io", parentZone(["ns1.old-provider.example", "ns2.old-provider.example"]));
    const none = await startNsd("shtetl.io", "www IN A 192.0.2.1");
    try {
      aws.setRules(healthy());
      const wrong = await preflight(aws, ["--parent-dns", other.server, "--step", "zone"]);
      expect(wrong.code).toBe(1);
      expect(wrong.stdout).toMatch(
        /FAIL {2}zone {3}127\.0\.0\.1#\d+ answers NS zmanim\.shtetl\.io: ns1\.old-provider\.example, ns2\.old-provider\.example/,
      );
      expect(wrong.stdout).toContain(
        `next: at the DNS that serves shtetl.io, set exactly these NS records for zmanim.shtetl.io: ${[...zoneServers].sort().join(", ")}`,
      );
      const missing = await preflight(aws, ["--parent-dns", none.server, "--step", "zone"]);
      expect(missing.code).toBe(1);
      expect(missing.stdout).toMatch(/answers NS zmanim\.shtetl\.io: nothing \(not delegated\)/);
      // No hosted zone yet: deploy the dns stack first.
      aws.setRules([
        {
          match: ["route53", "list-hosted-zones-by-name"],
          stdout: JSON.stringify({ HostedZones: [{ Id: "/hostedzone/Z0APEX", Name: "shtetl.io.", Config: {} }] }),
        },
      ]);
      const noZone = await preflight(aws, ["--parent-dns", dns.server, "--step", "zone"]);
      expect(noZone.stdout).toMatch(
        /FAIL {2}zone {3}no public hosted zone zmanim.shtetl.io in the account\nnext: deploy the dns stack: bash scripts\/ci\/deploy-stacks.sh --only zmanim-prod-dns/,
      );
    } finally {
      await other.stop();
      await none.stop();
    }
  }, 60000);

  it("in the SES sandbox, passes only when the recipient is verified", async () => {
    const sandbox: AwsRule = {
      match: ["sesv2", "get-account"],
      stdout: JSON.stringify({ ProductionAccessEnabled: false }),
    };
    const unverified = await run(
      [
        sandbox,
        {
          match: ["sesv2", "get-email-identity", "--email-identity", prod.alarmEmail],
          stderr: "NotFoundException",
          exit: 254,
        },
        ...healthy(),
      ],
      ["--step", "ses"],
    );
    expect(unverified.code).toBe(1);
    expect(unverified.stdout).toMatch(
      /FAIL {2}ses {4}SES in eu-west-1 is in the sandbox; recipient admin@shtetl.io is not verified/,
    );
    expect(unverified.stdout).toMatch(
      /next: request production access .*aws sesv2 create-email-identity --email-identity admin@shtetl.io/,
    );
    const verified = await run(
      [
        sandbox,
        {
          match: ["sesv2", "get-email-identity", "--email-identity", prod.alarmEmail],
          stdout: JSON.stringify({ VerifiedForSendingStatus: true }),
        },
        ...healthy(),
      ],
      ["--step", "ses"],
    );
    expect(verified.code).toBe(0);
  }, 60000);

  it("accepts a missing service-linked role only when the deploy role may create it", async () => {
    const svc = "events.amazonaws.com";
    const absent: AwsRule = {
      match: ["iam", "list-roles", "--path-prefix", `/aws-service-role/${svc}/`],
      stdout: "None",
    };
    const sim = ["iam", "simulate-principal-policy", "--policy-source-arn", roleArn(prod, ciRoleName(prod, "deploy"))];
    const denied = await run(
      [
        absent,
        {
          match: [...sim, `ContextKeyName=iam:AWSServiceName,ContextKeyValues=${svc},ContextKeyType=string`],
          stdout: "implicitDeny",
        },
        ...healthy(),
      ],
      ["--step", "slr"],
    );
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(
      /FAIL {2}slr {4}the service-linked role of events.amazonaws.com is missing and zmanim-prod-gha-deploy may not create it \(implicitDeny\)/,
    );
    expect(denied.stdout).toMatch(
      /next: create it once as an administrator: aws iam create-service-linked-role --aws-service-name events.amazonaws.com/,
    );
    const allowed = await run([absent, { match: sim, stdout: "allowed" }, ...healthy()], ["--step", "slr"]);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/may be created by zmanim-prod-gha-deploy/);
  }, 60000);

  it("needs the first binary and an AMI id in SSM before compute", async () => {
    const r = await run(
      [{ match: ["ssm", "get-parameter"], stderr: "ParameterNotFound", exit: 254 }, ...healthy()],
      ["--step", "ami"],
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL {2}ami {4}SSM \/zmanim\/prod\/ami-id = \(missing\)\nnext: build the first AMI: push a tag ami-v/,
    );
  }, 60000);

  it("finds a distribution that holds the site name outside the cdn state, and names the import", async () => {
    const holder: AwsRule = {
      match: ["cloudfront", "list-distributions"],
      stdout: JSON.stringify([
        { Id: "E2ORPHAN", Aliases: [site, `api.${site}`] },
        { Id: "E3OTHER", Aliases: null },
      ]),
    };
    const orphan = await run(
      [holder, { match: ["s3", "cp", `s3://${state.bucket}/prod/cdn.tfstate`], stderr: "404", exit: 1 }, ...healthy()],
      ["--step", "cdn"],
    );
    expect(orphan.code).toBe(1);
    expect(orphan.stdout).toMatch(
      /FAIL {2}cdn {4}distribution E2ORPHAN holds zmanim.shtetl.io, api.zmanim.shtetl.io but is not in the cdn state/,
    );
    expect(orphan.stdout).toMatch(
      /next: import it: cd cdktf.out\/stacks\/zmanim-prod-cdn && terraform init && terraform import aws_cloudfront_distribution.distribution E2ORPHAN/,
    );
    const tfstate = JSON.stringify({
      resources: [{ type: "aws_cloudfront_distribution", instances: [{ attributes: { id: "E2ORPHAN" } }] }],
    });
    const owned = await run(
      [holder, { match: ["s3", "cp", `s3://${state.bucket}/prod/cdn.tfstate`], stdout: tfstate }, ...healthy()],
      ["--step", "cdn"],
    );
    expect(owned.code).toBe(0);
  }, 60000);
});

describe("the apex step: the current DNS must answer every carried record as the apex zone would", () => {
  let dns: Nsd;
  beforeAll(async () => {
    dns = await startNsd(
      "shtetl.io",
      [
        "clerk IN CNAME frontend-api.clerk.services.",
        "@ IN MX 1 smtp.google.com.",
        "@ IN MX 5 alt1.smtp.google.com.",
        '@ IN TXT "v=spf1 include:_spf.google.com ~all"',
      ].join("\n"),
    );
  });
  afterAll(() => dns.stop());
  const apexEnv = (carriedRecords: CarriedRecord[]): EnvironmentConfig => ({
    ...prod,
    domain: { ...prod.domain, apexZone: { name: "shtetl.io", carriedRecords } },
  });
  const apex = STEPS.find((s) => s.name === "apex")!;
  const clerk: CarriedRecord = { name: "clerk.shtetl.io", type: "CNAME", values: ["frontend-api.clerk.services"] };
  const spf: CarriedRecord = { name: "shtetl.io", type: "TXT", values: ["v=spf1 include:_spf.google.com ~all"] };

  it("passes when every carried record matches what the current DNS serves (real dig against NSD)", () => {
    const mx: CarriedRecord = {
      name: "shtetl.io",
      type: "MX",
      values: ["5 alt1.smtp.google.com", "1 smtp.google.com"],
    };
    const findings = apex.check(realContext(apexEnv([clerk, mx, spf]), dns.server));
    expect(findings.map((f) => [f.ok, f.what])).toEqual([
      [true, expect.stringMatching(/^clerk.shtetl.io CNAME is carried as 127\.0\.0\.1#\d+ serves it$/)],
      [true, expect.stringMatching(/^shtetl.io MX is carried/)],
      [true, expect.stringMatching(/^shtetl.io TXT is carried/)],
    ]);
  });

  it("fails a carried record that would drop or change an answer, naming both", () => {
    const oneMx: CarriedRecord = { name: "shtetl.io", type: "MX", values: ["1 smtp.google.com"] };
    const wrongClerk: CarriedRecord = { name: "clerk.shtetl.io", type: "CNAME", values: ["old.clerk.services"] };
    const missing: CarriedRecord = { name: "accounts.shtetl.io", type: "CNAME", values: ["accounts.clerk.services"] };
    const f = apex.check(realContext(apexEnv([wrongClerk, oneMx, missing]), dns.server));
    expect(f.map((x) => x.ok)).toEqual([false, false, false]);
    expect(f[0].what).toMatch(
      /clerk.shtetl.io CNAME: 127\.0\.0\.1#\d+ answers frontend-api.clerk.services, the apex zone would serve old.clerk.services/,
    );
    expect(f[1].what).toMatch(
      /shtetl.io MX: .* answers 1 smtp.google.com \| 5 alt1.smtp.google.com, the apex zone would serve 1 smtp.google.com/,
    );
    expect(f[2].what).toMatch(/accounts.shtetl.io CNAME: .* answers nothing/);
    expect(f[0].fix).toMatch(/make domain.apexZone.carriedRecords match the current DNS for clerk.shtetl.io CNAME/);
  });

  it("passes trivially without the opt-in", () => {
    expect(apex.check(realContext(prod, dns.server))).toEqual([
      { ok: true, what: "no apex zone configured; the apex stays at its current DNS" },
    ]);
  });
});

describe("answers", () => {
  it("normalizes case, trailing dots and TXT quoting", () => {
    const out = [
      'shtetl.io.\t300\tIN\tTXT\t"v=spf1 " "-all"',
      "shtetl.io.\t300\tIN\tMX\t1 SMTP.Google.com.",
      "www.shtetl.io.\t300\tIN\tMX\t2 x.",
    ].join("\n");
    expect(answers(out, "shtetl.io", "TXT")).toEqual(["v=spf1 -all"]);
    expect(answers(out, "shtetl.io", "MX")).toEqual(["1 smtp.google.com"]);
  });
});

describe("nsRecords", () => {
  it("reads NS records for the name from dig's answer and authority sections only", () => {
    const out = [
      "; <<>> DiG",
      "zmanim.shtetl.io.\t300\tIN\tNS\tNS-2.awsdns-02.com.",
      "zmanim.shtetl.io.\t300\tIN\tNS\tns-1.awsdns-01.org.",
      "shtetl.io.\t300\tIN\tNS\tns1.example.net.",
      "zmanim.shtetl.io.\t300\tIN\tA\t192.0.2.1",
    ].join("\n");
    expect(nsRecords(out, "zmanim.shtetl.io")).toEqual(["ns-1.awsdns-01.org", "ns-2.awsdns-02.com"]);
  });
});

/**
 * The Terraform Cloud step against the TEST DOUBLE of the Terraform Cloud API (__tests__/helpers/tfc-double.ts):
 * read-only (the double records no write), failing on an empty organization and a rejected token, passing
 * once scripts/tools/tfc/bootstrap has run.
 */
describe("scripts/tools/preflight/preflight --step tfc", () => {
  let tfc: TfcDouble;
  beforeAll(async () => {
    tfc = await startTfcDouble("shtetl");
  });
  afterAll(() => tfc.stop());
  const cloudEnv = (token: string) => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ZMANIM_ENV: "prod",
    ZMANIM_STATE_BACKEND: "cloud",
    TFC_ORGANIZATION: "shtetl",
    TFE_ADDRESS: tfc.address,
    TFE_TOKEN: token,
  });
  const step = (token = tfc.token) =>
    runCommand(join(root, "scripts/tools/preflight/preflight"), ["--step", "tfc"], { cwd: root, env: cloudEnv(token) });

  it("an S3 environment passes without asking Terraform Cloud", async () => {
    const r = await runCommand(join(root, "scripts/tools/preflight/preflight"), ["--step", "tfc"], {
      cwd: root,
      env: { PATH: process.env.PATH, ZMANIM_ENV: "prod" },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ok    tfc    state in S3; no Terraform Cloud workspaces");
    expect(tfc.log).toEqual([]);
  }, 60000);

  it("fails on an empty organization, names what is missing, and writes nothing", async () => {
    const r = await step();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("FAIL  tfc    Terraform Cloud differs: create project zmanim-prod");
    expect(r.stdout).toContain("next: run scripts/tools/tfc/bootstrap (TFE_TOKEN set), then check again");
    expect(tfc.log.length).toBeGreaterThan(0);
    expect(tfc.writes()).toEqual([]);
  }, 120000);

  it("fails on a rejected token", async () => {
    const r = await step("revoked");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL {2}tfc {4}Terraform Cloud rejected the token \(bootstrap: Terraform Cloud rejected the token \(GET \/organizations\/shtetl: HTTP 401\)/,
    );
  }, 120000);

  it("passes once bootstrapped: token, workspaces with dynamic credentials, sharing as the manifest says; drift fails it again", async () => {
    const boot = await runCommand(join(root, "scripts/tools/tfc/bootstrap"), [], {
      cwd: root,
      env: cloudEnv(tfc.token),
    });
    expect([boot.code, boot.stderr]).toEqual([0, ""]);
    const writes = tfc.writes().length;
    const r = await step();
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain("ok    tfc    token accepted by shtetl");
    expect(r.stdout).toContain("ok    tfc    zmanim-prod-api env TFC_AWS_PROVIDER_AUTH");
    expect(r.stdout).toContain(
      "ok    tfc    zmanim-prod-network state shared with zmanim-prod-storage, zmanim-prod-compute, zmanim-prod-api",
    );
    tfc.workspace("zmanim-prod-cdn").vars = tfc
      .workspace("zmanim-prod-cdn")
      .vars.filter((v) => v.key !== "TFC_AWS_PROVIDER_AUTH");
    const drift = await step();
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain(
      "FAIL  tfc    Terraform Cloud differs: set zmanim-prod-cdn env TFC_AWS_PROVIDER_AUTH=true",
    );
    expect(tfc.writes().length).toBe(writes);
  }, 180000);
});
