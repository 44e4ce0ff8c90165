import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { spawnSync } from "child_process";
import { EnvironmentConfig, environments, prod, staging } from "../../stacks/environments";
import {
  ConfigError,
  environmentProblems,
  environmentSetProblems,
  parseCidr,
  selectEnvironment,
} from "../../stacks/validate-environment";
import { synthEnvironment } from "../../stacks/synth";
import { configErrorMessage } from "../helpers/config-error";

const withChange = (patch: Partial<EnvironmentConfig>): EnvironmentConfig => ({ ...prod, ...patch });

const problemFor = configErrorMessage;

describe("environment definitions", () => {
  it("ships prod and staging, both valid, with prod as the default", () => {
    expect(Object.keys(environments).sort()).toEqual(["prod", "staging"]);
    expect(environmentProblems(prod)).toEqual([]);
    expect(environmentProblems(staging)).toEqual([]);
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
    expect(() => selectEnvironment([], { ZMANIM_STATE_BACKEND: "cloud" })).toThrow(/state.organization = "": is required for Terraform Cloud; set TFC_ORGANIZATION/);
    expect(() => selectEnvironment([], { ZMANIM_STATE_BACKEND: "consul" })).toThrow(/ZMANIM_STATE_BACKEND = "consul": use "s3"/);
  });

  it("rejects an unknown environment name, listing the known ones", () => {
    expect(() => selectEnvironment(["--env", "qa"], {})).toThrow(/"qa": unknown environment; use one of prod, staging/);
  });
});

describe("environment validation names the field, the value and the fix", () => {
  const cases: Array<[string, Partial<EnvironmentConfig>, RegExp]> = [
    ["bad region", { region: "eu-west-9" }, /region = "eu-west-9": use an AWS region such as "eu-west-1"/],
    ["AZ outside the region", { availabilityZone: "us-east-1a" }, /availabilityZone = "us-east-1a": must be a zone of region eu-west-1, e.g. "eu-west-1a"/],
    ["malformed VPC CIDR", { vpcCidr: "10.42.0.0/33" }, /vpcCidr = "10.42.0.0\/33": use a network address in CIDR form/],
    ["host bits set", { vpcCidr: "10.42.0.1/16" }, /vpcCidr = "10.42.0.1\/16": use a network address/],
    ["subnet outside the VPC", { publicSubnetCidr: "10.99.0.0/24" }, /publicSubnetCidr = "10.99.0.0\/24": must lie inside vpcCidr 10.42.0.0\/16/],
    ["subnet too small", { publicSubnetCidr: "10.42.0.0/29" }, /publicSubnetCidr = "10.42.0.0\/29": AWS allows subnet prefixes \/16 to \/28/],
    ["x86 instance type", { instanceType: "m7i.large" }, /instanceType = "m7i.large": the AMI is arm64; use a Graviton type such as "m7g.medium"/],
    ["bad zone name", { domain: { ...prod.domain, zoneName: "Shtetl_IO" } }, /domain.zoneName = "Shtetl_IO": use a lowercase DNS name/],
    ["site outside the zone", { domain: { ...prod.domain, siteName: "zmanim.example.com" } }, /domain.siteName = "zmanim.example.com": must be inside domain.zoneName "shtetl.io"/],
    ["missing alarm email", { alarmEmail: "" }, /alarmEmail = "": is required; set it in stacks\/environments.ts/],
    ["open SSH", { adminCidrs: ["0.0.0.0/0"] }, /adminCidrs\[0\] = "0.0.0.0\/0": 0.0.0.0\/0 opens SSH to the internet/],
    ["admin CIDR overlapping the VPC", { adminCidrs: ["10.42.1.0/24"] }, /adminCidrs\[0\] = "10.42.1.0\/24": overlaps vpcCidr 10.42.0.0\/16/],
    ["account id", { accountId: "12345" }, /accountId = "12345": use the 12-digit AWS account id/],
    ["http issuer", { clerk: { ...prod.clerk, issuer: "http://clerk.shtetl.io" } }, /clerk.issuer = "http:\/\/clerk.shtetl.io": use the https URL/],
    ["no audience", { clerk: { ...prod.clerk, audience: [] } }, /clerk.audience = \[\]: list at least one audience/],
    ["log retention", { logRetentionDays: 10 }, /logRetentionDays = 10: CloudWatch accepts only 1, 3, 5/],
    ["budget", { monthlyBudgetUsd: 0 }, /monthlyBudgetUsd = 0: use a positive number of US dollars/],
    ["data volume", { dataVolumeGb: 2.5 }, /dataVolumeGb = 2.5: use a whole number of GiB between 8 and 16384/],
    ["state bucket", { state: { kind: "s3", bucket: "Bad_Bucket", lockTable: "t-lock", region: "eu-west-1" } }, /state.bucket = "Bad_Bucket": use a valid S3 bucket name/],
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
    expect(res.stderr).toMatch(/unknown environment; use one of prod, staging/);
    expect(existsSync(out)).toBe(false);
  });
});
