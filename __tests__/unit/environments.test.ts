import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { spawnSync } from "child_process";
import { CarriedRecord, EnvironmentConfig, environments, prod, staging } from "../../constructs/config/environments";
import {
  environmentProblems,
  environmentSetProblems,
  parseCidr,
  selectEnvironment,
} from "../../constructs/config/validate-environment";
import { synthEnvironment } from "../../main";
import { configErrorMessage } from "../helpers/config-error";
import { ConfigError } from "../../constructs/config/errors";

const withChange = (patch: Partial<EnvironmentConfig>): EnvironmentConfig => ({ ...prod, ...patch });

const problemFor = configErrorMessage;

describe("environment definitions", () => {
  it("ships prod, staging and the scaled example, all valid, with prod as the default", () => {
    expect(Object.keys(environments).sort()).toEqual(["prod", "scaled", "staging"]);
    for (const env of Object.values(environments)) expect([env.name, environmentProblems(env)]).toEqual([env.name, []]);
    expect(environmentSetProblems(environments)).toEqual([]);
    expect(selectEnvironment([], {}).name).toBe("prod");
  });

  it("selects by --env flag, --env= form and ZMANIM_ENV, flag winning", () => {
    expect(selectEnvironment(["--env", "staging"], {}).name).toBe("staging");
    expect(selectEnvironment(["--env=staging"], {}).name).toBe("staging");
    expect(selectEnvironment([], { ZMANIM_ENV: "staging" }).name).toBe("staging");
    expect(selectEnvironment(["--env", "prod"], { ZMANIM_ENV: "staging" }).name).toBe("prod");
  });

  it("switches to Terraform Cloud only with an organization", () => {
    const env = selectEnvironment([], { ZMANIM_STATE_BACKEND: "cloud", TFC_ORGANIZATION: "shtetl" });
    expect(env.state).toEqual({ kind: "cloud", organization: "shtetl", workspacePrefix: "zmanim-prod-" });
    expect(() => selectEnvironment([], { ZMANIM_STATE_BACKEND: "cloud" })).toThrow(
      /state.organization = "": is required for Terraform Cloud; set TFC_ORGANIZATION/,
    );
    expect(() => selectEnvironment([], { ZMANIM_STATE_BACKEND: "consul" })).toThrow(
      /ZMANIM_STATE_BACKEND = "consul": use "s3"/,
    );
  });

  it("rejects an unknown environment name, listing the known ones", () => {
    expect(() => selectEnvironment(["--env", "qa"], {})).toThrow(
      /"qa": unknown environment; use one of prod, staging, scaled/,
    );
  });
});

describe("environment validation names the field, the value and the fix", () => {
  const cases: Array<[string, Partial<EnvironmentConfig>, RegExp]> = [
    ["bad region", { region: "eu-west-9" }, /region = "eu-west-9": use an AWS region such as "eu-west-1"/],
    [
      "AZ outside the region",
      { availabilityZone: "us-east-1a" },
      /availabilityZone = "us-east-1a": must be a zone of region eu-west-1, e.g. "eu-west-1a"/,
    ],
    [
      "malformed VPC CIDR",
      { vpcCidr: "10.42.0.0/33" },
      /vpcCidr = "10.42.0.0\/33": use a network address in CIDR form/,
    ],
    ["host bits set", { vpcCidr: "10.42.0.1/16" }, /vpcCidr = "10.42.0.1\/16": use a network address/],
    [
      "subnet outside the VPC",
      { publicSubnetCidr: "10.99.0.0/24" },
      /publicSubnetCidr = "10.99.0.0\/24": must lie inside vpcCidr 10.42.0.0\/16/,
    ],
    [
      "subnet too small",
      { publicSubnetCidr: "10.42.0.0/29" },
      /publicSubnetCidr = "10.42.0.0\/29": AWS allows subnet prefixes \/16 to \/28/,
    ],
    [
      "x86 instance type",
      { instanceType: "m7i.large" },
      /instanceType = "m7i.large": the AMI is arm64; use a Graviton type such as "m7g.medium"/,
    ],
    [
      "bad zone name",
      { domain: { ...prod.domain, zoneName: "Shtetl_IO" } },
      /domain.zoneName = "Shtetl_IO": use a lowercase DNS name/,
    ],
    [
      "site outside the zone",
      { domain: { ...prod.domain, siteName: "zmanim.example.com" } },
      /domain.siteName = "zmanim.example.com": must be inside domain.zoneName "zmanim.shtetl.io"/,
    ],
    [
      "site named like the API host",
      { domain: { ...prod.domain, zoneName: "api.shtetl.io", siteName: "api.shtetl.io" } },
      /domain.siteName = "api.shtetl.io": must not start with "api."/,
    ],
    [
      "missing alarm email",
      { alarmEmail: "" },
      /alarmEmail = "": is required; set it in constructs\/config\/environments.ts/,
    ],
    ["open SSH", { adminCidrs: ["0.0.0.0/0"] }, /adminCidrs\[0\] = "0.0.0.0\/0": 0.0.0.0\/0 opens SSH to the internet/],
    [
      "admin CIDR overlapping the VPC",
      { adminCidrs: ["10.42.1.0/24"] },
      /adminCidrs\[0\] = "10.42.1.0\/24": overlaps vpcCidr 10.42.0.0\/16/,
    ],
    ["account id", { accountId: "12345" }, /accountId = "12345": use the 12-digit AWS account id/],
    [
      "http issuer",
      { clerk: { ...prod.clerk, issuer: "http://clerk.shtetl.io" } },
      /clerk.issuer = "http:\/\/clerk.shtetl.io": use the https URL/,
    ],
    ["no audience", { clerk: { ...prod.clerk, audience: [] } }, /clerk.audience = \[\]: list at least one audience/],
    ["log retention", { logRetentionDays: 10 }, /logRetentionDays = 10: CloudWatch accepts only 1, 3, 5/],
    ["budget", { monthlyBudgetUsd: 0 }, /monthlyBudgetUsd = 0: use a positive number of US dollars/],
    ["data volume", { dataVolumeGb: 2.5 }, /dataVolumeGb = 2.5: use a whole number of GiB between 8 and 16384/],
    [
      "state bucket",
      { state: { kind: "s3", bucket: "Bad_Bucket", lockTable: "t-lock", region: "eu-west-1" } },
      /state.bucket = "Bad_Bucket": use a valid S3 bucket name/,
    ],
    ["privileged API port", { api: { ...prod.api, port: 80 } }, /api.port = 80: use an unprivileged port/],
  ];

  it.each(cases)("%s", (_name, patch, message) => {
    expect(problemFor(withChange(patch))).toMatch(message);
  });

  it("reports every problem at once, not just the first", () => {
    const msg = problemFor(withChange({ region: "mars-1", instanceType: "t3.micro", alarmEmail: "nope" }));
    expect(msg).toMatch(/3 problems/);
    expect(msg).toMatch(/region = "mars-1"/);
    expect(msg).toMatch(/instanceType = "t3.micro"/);
    expect(msg).toMatch(/alarmEmail = "nope"/);
  });

  it("rejects environments in one account whose VPCs overlap", () => {
    const defs = { prod, staging: { ...staging, vpcCidr: "10.42.128.0/17", publicSubnetCidr: "10.42.128.0/24" } };
    expect(environmentSetProblems(defs).join("\n")).toMatch(
      /environments.staging.vpcCidr = "10.42.128.0\/17": overlaps environments.prod.vpcCidr 10.42.0.0\/16/,
    );
  });

  it("parses CIDRs strictly", () => {
    expect(parseCidr("10.42.0.0/16")).toEqual({ base: (10 << 24) + (42 << 16), prefix: 16 });
    for (const bad of ["10.42.0.0", "10.42.0.256/24", "10.42.0.0/-1", "a.b.c.d/8", "10.42.0.0/16 "]) {
      expect(parseCidr(bad)).toBeUndefined();
    }
  });
});

describe("go-live DNS: the site's own zone by default, an apex zone only with its carried records", () => {
  const clerk = { name: "clerk.shtetl.io", type: "CNAME" as const, values: ["frontend-api.clerk.services"] };
  const mx = { name: "shtetl.io", type: "MX" as const, values: ["1 smtp.google.com"] };
  const apex = (carriedRecords: CarriedRecord[]) =>
    withChange({ domain: { ...prod.domain, apexZone: { name: "shtetl.io", carriedRecords } } });

  it("prod and staging each create the zone of their own site name", () => {
    for (const env of [prod, staging])
      expect([env.name, env.domain.createZone, env.domain.zoneName]).toEqual([env.name, true, env.domain.siteName]);
  });

  it("refuses a created zone above the site name, naming the field, the value and both fixes", () => {
    const msg = problemFor(withChange({ domain: { ...prod.domain, zoneName: "shtetl.io" } }));
    expect(msg).toMatch(
      /domain.zoneName = "shtetl.io": a zone created above the site name takes over every record of shtetl.io/,
    );
    expect(msg).toMatch(
      /set it to "zmanim.shtetl.io" \(the site's own zone, delegated from the current DNS with four NS records\)/,
    );
    expect(msg).toMatch(/or opt in with domain.apexZone = \{ name: "shtetl.io", carriedRecords: \[...\] \}/);
    // Looking up an existing parent zone (createZone false) touches nothing and stays allowed.
    expect(
      environmentProblems(withChange({ domain: { ...prod.domain, zoneName: "shtetl.io", createZone: false } })),
    ).toEqual([]);
  });

  it("refuses the apex opt-in without Clerk's CNAME and the alarm mailbox's MX", () => {
    const msg = problemFor(apex([]));
    expect(msg).toMatch(
      /domain.apexZone.carriedRecords = \[\]: carry Clerk's records, at least \{ name: "clerk.shtetl.io", type: "CNAME"/,
    );
    expect(msg).toMatch(
      /domain.apexZone.carriedRecords = \[\]: carry the MX of shtetl.io \(alarmEmail admin@shtetl.io\)/,
    );
    expect(problemFor(apex([clerk]))).toMatch(/carry the MX of shtetl.io/);
    expect(problemFor(apex([mx]))).toMatch(/carry Clerk's records/);
    expect(environmentProblems(apex([clerk, mx]))).toEqual([]);
  });

  it("checks every carried record: inside the apex, not under the site, a known type, well-formed values, once", () => {
    const msg = problemFor(
      apex([
        clerk,
        mx,
        { name: "other.example.com", type: "A", values: ["192.0.2.1"] },
        { name: "www.zmanim.shtetl.io", type: "CNAME", values: ["x.example.net"] },
        { name: "shtetl.io", type: "NS" as CarriedRecord["type"], values: ["ns1.example.net"] },
        { name: "shtetl.io", type: "CNAME", values: ["x.example.net"] },
        { name: "mail.shtetl.io", type: "MX", values: ["smtp.example.net"] },
        { name: "clerk.shtetl.io", type: "CNAME", values: ["frontend-api.clerk.services"] },
      ]),
    );
    expect(msg).toMatch(/carriedRecords\[2\].name = "other.example.com": use a fully qualified name inside shtetl.io/);
    expect(msg).toMatch(
      /carriedRecords\[3\].name = "www.zmanim.shtetl.io": records at or under zmanim.shtetl.io belong to the site zone/,
    );
    expect(msg).toMatch(/carriedRecords\[4\].type = "NS": use one of A, AAAA, CNAME, MX, TXT, CAA, SRV/);
    expect(msg).toMatch(
      /carriedRecords\[5\].values = \["x.example.net"\]: a CNAME has exactly one value and cannot sit at the zone apex/,
    );
    expect(msg).toMatch(
      /carriedRecords\[6\].values = \["smtp.example.net"\]: write each MX value as "<priority> <host>"/,
    );
    expect(msg).toMatch(/carriedRecords\[7\] = "clerk.shtetl.io CNAME": list each name and type once/);
  });

  it("keeps the site zone under an apex zone, and the apex a parent of the site", () => {
    expect(
      problemFor(
        withChange({ domain: { ...prod.domain, apexZone: { name: "example.org", carriedRecords: [clerk, mx] } } }),
      ),
    ).toMatch(
      /domain.apexZone.name = "example.org": use a parent of domain.siteName "zmanim.shtetl.io", e.g. "shtetl.io"/,
    );
    expect(
      problemFor(
        withChange({
          domain: { ...prod.domain, createZone: false, apexZone: { name: "shtetl.io", carriedRecords: [clerk, mx] } },
        }),
      ),
    ).toMatch(
      /domain.apexZone = "shtetl.io": needs the site zone too: set domain.zoneName to "zmanim.shtetl.io" and domain.createZone to true/,
    );
  });
});

describe("a config error writes nothing", () => {
  it("leaves an existing cdktf.out byte-for-byte untouched and no staging directory behind", () => {
    const base = mkdtempSync(join(tmpdir(), "zmanim-cfg-"));
    const out = join(base, "cdktf.out");
    mkdirSync(out);
    writeFileSync(join(out, "manifest.json"), "previous good output");
    expect(() => synthEnvironment(withChange({ availabilityZone: "eu-central-1a" }), out)).toThrow(ConfigError);
    expect(readFileSync(join(out, "manifest.json"), "utf8")).toBe("previous good output");
    expect(readdirSync(base)).toEqual(["cdktf.out"]);
  });

  it("does not even create cdktf.out when it did not exist", () => {
    const base = mkdtempSync(join(tmpdir(), "zmanim-cfg-"));
    expect(() => synthEnvironment(withChange({ region: "nowhere-1" }), join(base, "cdktf.out"))).toThrow(ConfigError);
    expect(existsSync(join(base, "cdktf.out"))).toBe(false);
    expect(readdirSync(base)).toEqual([]);
  });

  it("main exits 2 with the message and leaves the output directory alone", () => {
    const base = mkdtempSync(join(tmpdir(), "zmanim-cli-"));
    const out = join(base, "out");
    const res = spawnSync(join("node_modules", ".bin", "tsx"), ["main.ts", "--env", "qa"], {
      encoding: "utf8",
      env: { ...process.env, CDKTF_OUTDIR: out },
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/error: environment "qa" is invalid .*nothing was synthesized/);
    expect(res.stderr).toMatch(/unknown environment; use one of prod, staging, scaled/);
    expect(existsSync(out)).toBe(false);
  });
});
