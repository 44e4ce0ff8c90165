import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { DEFAULT_ASSUMPTIONS, UsageAssumptions, mergeAssumptions, AssumptionsError, assumptionsFor } from "../../scripts/cost/assumptions";
import { main } from "../../scripts/cost/cli";
import { CostReport, estimate } from "../../scripts/cost/model";
import { ALWAYS_FREE, RATES, RATES_VERSION } from "../../scripts/cost/rates";
import { LoadedStack, StackJson } from "../../scripts/cost/tfjson";
import { allResources, synthAll } from "../helpers/synth";

const FIXTURE = JSON.parse(readFileSync(join(__dirname, "../fixtures/cost/small-app.json"), "utf8")) as Record<string, StackJson>;

function fixtureStacks(extra: Record<string, StackJson> = {}): LoadedStack[] {
  const all = { ...FIXTURE, ...extra } as Record<string, StackJson>;
  return Object.entries(all)
    .filter(([name]) => name !== "//")
    .map(([name, json]) => ({ name, json }));
}

/** Assumptions that isolate the resource prices: no usage-driven lines. */
const QUIET: UsageAssumptions = mergeAssumptions(DEFAULT_ASSUMPTIONS, {
  edge: { requestsPerMonth: 0, gbServedPerMonth: 0 },
  cloudwatch: { customMetricsPerInstance: 0, putMetricDataPerInstance: 0 },
  ec2: { internetEgressGbPerMonth: 0 },
}, "test");

function run(stacks: LoadedStack[], assumptions: UsageAssumptions = QUIET, budgetUsd = 50): CostReport {
  return estimate(stacks, { environment: "prod", budgetUsd, assumptions });
}

function usdOf(r: CostReport, address: string, component: RegExp): number {
  const hits = r.lines.filter((l) => l.address === address && component.test(l.component));
  expect(hits).toHaveLength(1);
  return hits[0].usd;
}

function writeOutdir(stacks: LoadedStack[]): string {
  const dir = mkdtempSync(join(tmpdir(), "zmanim-cost-"));
  for (const s of stacks) {
    mkdirSync(join(dir, "stacks", s.name), { recursive: true });
    writeFileSync(join(dir, "stacks", s.name, "cdk.tf.json"), JSON.stringify(s.json));
  }
  return dir;
}

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = main(args, {}, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

const tmp: string[] = [];
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("known resources price to known amounts", () => {
  const r = run(fixtureStacks());

  it("one m7g.medium for 730 hours at the eu-west-1 rate", () => {
    expect(usdOf(r, "aws_instance.box", /EC2 m7g\.medium/)).toBeCloseTo(730 * 0.0448, 6); // $32.704
  });

  it("its 10 GB gp3 root volume and one 20 GB gp3 data volume", () => {
    expect(usdOf(r, "aws_instance.box", /root volume gp3/)).toBeCloseTo(10 * 0.088, 6);
    expect(usdOf(r, "aws_ebs_volume.data", /gp3 storage/)).toBeCloseTo(20 * 0.088, 6); // $1.76
  });

  it("one Elastic IP: the public IPv4 charge of $0.005/h, attached or not", () => {
    expect(usdOf(r, "aws_eip.ip", /public IPv4/)).toBeCloseTo(3.65, 6);
  });

  it("free resources are recognized as free, not unknown", () => {
    const free = Object.fromEntries(r.free.map((f) => [f.type, f.count]));
    expect(free).toMatchObject({ aws_vpc: 1, aws_subnet: 1, aws_security_group: 1, aws_volume_attachment: 1, aws_eip_association: 1 });
    expect(r.unpriced.map((u) => u.type)).not.toEqual(expect.arrayContaining(["aws_vpc", "aws_subnet"]));
  });

  it("the list total is the sum of the lines and the per-stack totals", () => {
    const sum = r.lines.reduce((s, l) => s + l.usd, 0);
    expect(r.listTotalUsd).toBeCloseTo(sum, 3);
    expect(r.perStack.reduce((s, p) => s + p.usd, 0)).toBeCloseTo(sum, 3);
    expect(r.listTotalUsd).toBeCloseTo(32.704 + 0.88 + 1.76 + 3.65, 3);
  });

  it("gp3 IOPS and throughput above the free baseline are priced", () => {
    const r2 = run(fixtureStacks({
      "zmanim-prod-extra": {
        provider: { aws: [{ region: "eu-west-1" }] },
        resource: { aws_ebs_volume: { fast: { size: 100, type: "gp3", iops: 6000, throughput: 250 } } },
      },
    }));
    expect(usdOf(r2, "aws_ebs_volume.fast", /IOPS/)).toBeCloseTo(3000 * 0.0055, 6);
    expect(usdOf(r2, "aws_ebs_volume.fast", /throughput/)).toBeCloseTo(125 * 0.044, 6);
  });

  it("alarms count their metrics; sub-minute periods use the high-resolution rate", () => {
    const r2 = run(fixtureStacks({
      "zmanim-prod-alarms": {
        provider: { aws: [{ region: "eu-west-1" }] },
        resource: {
          aws_cloudwatch_metric_alarm: {
            simple: { metric_name: "CPUUtilization", namespace: "AWS/EC2", period: 300 },
            fast: { metric_name: "CPUUtilization", namespace: "AWS/EC2", period: 10 },
            math: {
              metric_query: [
                { id: "e", expression: "m1/m2" },
                { id: "m1", metric: { metric_name: "5xx", namespace: "AWS/ApiGateway", period: 300 } },
                { id: "m2", metric: { metric_name: "Count", namespace: "AWS/ApiGateway", period: 300 } },
              ],
            },
          },
        },
      },
    }));
    expect(usdOf(r2, "aws_cloudwatch_metric_alarm.simple", /standard/)).toBeCloseTo(0.1, 6);
    expect(usdOf(r2, "aws_cloudwatch_metric_alarm.fast", /high-resolution/)).toBeCloseTo(0.3, 6);
    expect(usdOf(r2, "aws_cloudwatch_metric_alarm.math", /2 metrics/)).toBeCloseTo(0.2, 6);
  });

  it("an HTTPS health check: base price, the HTTPS option, and its probes as uncached API requests", () => {
    const r2 = run(fixtureStacks({
      "zmanim-prod-dns": {
        provider: { aws: [{ region: "eu-west-1" }] },
        resource: { aws_route53_health_check: { hc: { type: "HTTPS", fqdn: "zmanim.shtetl.io", request_interval: 30 } } },
      },
    }));
    expect(usdOf(r2, "aws_route53_health_check.hc", /endpoint health check \(non-AWS/)).toBeCloseTo(0.75, 6);
    expect(usdOf(r2, "aws_route53_health_check.hc", /optional features: HTTPS$/)).toBeCloseTo(2, 6);
    expect(usdOf(r2, "aws_apigatewayv2_api.api", /requests/)).toBeCloseTo(QUIET.dns.healthCheckRequestsPerMonth * 1.11e-6, 6);
    expect(usdOf(run(fixtureStacks()), "aws_apigatewayv2_api.api", /requests/)).toBe(0);
  });

  it("a CloudFront log delivery is priced when its destination is an S3 bucket, and listed otherwise", () => {
    const delivery = (arn: string): StackJson => ({
      provider: { aws: [{ region: "eu-west-1" }, { alias: "us-east-1", region: "us-east-1" }] },
      resource: {
        aws_cloudwatch_log_delivery_destination: { d: { provider: "aws.us-east-1", delivery_destination_configuration: [{ destination_resource_arn: arn }] } },
        aws_cloudwatch_log_delivery: { l: { provider: "aws.us-east-1", delivery_destination_arn: "${aws_cloudwatch_log_delivery_destination.d.arn}" } },
      },
    });
    const usage = mergeAssumptions(QUIET, { edge: { requestsPerMonth: 2_000_000, accessLogBytesPerRequest: 500 } }, "test");
    const toS3 = run(fixtureStacks({ "zmanim-prod-cdn": delivery("arn:aws:s3:::logs/cloudfront") }), usage);
    expect(usdOf(toS3, "aws_cloudwatch_log_delivery.l", /delivery to S3/)).toBeCloseTo(1 * 0.25, 6);
    const toLogs = run(fixtureStacks({ "zmanim-prod-cdn": delivery("arn:aws:logs:us-east-1:111111111111:log-group:x") }), usage);
    expect(toLogs.unpriced).toContainEqual(expect.objectContaining({ address: "aws_cloudwatch_log_delivery.l", reason: "only deliveries to S3 are priced" }));
  });

  it("a log group that a flow log writes to is priced at the vended-log rate", () => {
    const r2 = run(fixtureStacks({
      "zmanim-prod-logs": {
        provider: { aws: [{ region: "eu-west-1" }] },
        resource: {
          aws_cloudwatch_log_group: { flow: { name: "/zmanim/prod/vpc-flow-logs", retention_in_days: 30 }, other: { name: "/zmanim/prod/api", retention_in_days: 30 } },
          aws_flow_log: { fl: { log_destination: "${aws_cloudwatch_log_group.flow.arn}", traffic_type: "ALL" } },
        },
      },
    }));
    expect(r2.lines.find((l) => l.address === "aws_cloudwatch_log_group.flow" && /ingestion/.test(l.component))?.rateKey).toBe("eu-west-1:logs.ingest.vended");
    expect(r2.lines.find((l) => l.address === "aws_cloudwatch_log_group.other" && /ingestion/.test(l.component))?.rateKey).toBe("eu-west-1:logs.ingest.standard");
  });
});

describe("unpriced resources are listed, never dropped", () => {
  it("an unknown type is reported with its stack and address", () => {
    const r = run(fixtureStacks());
    expect(r.unpriced).toEqual([
      { stack: "zmanim-prod-compute", address: "aws_lb.mystery", type: "aws_lb", reason: "no pricing rule for this resource type" },
    ]);
    expect(r.unpricedTypes).toEqual(["aws_lb"]);
  });

  it("a known type with a setting that has no rate is reported too", () => {
    const stacks = fixtureStacks();
    const compute = stacks.find((s) => s.name === "zmanim-prod-compute")!;
    const json = JSON.parse(JSON.stringify(compute.json)) as StackJson;
    (json.resource!.aws_instance.box as Record<string, unknown>).instance_type = "x2gd.metal";
    const r = run(stacks.map((s) => (s === compute ? { ...s, json } : s)));
    expect(r.unpriced).toContainEqual(expect.objectContaining({ address: "aws_instance.box", reason: expect.stringContaining("eu-west-1:ec2.x2gd.metal") }));
  });

  it("the CLI prints the unpriced types, warns without --strict and fails with --strict", () => {
    const dir = writeOutdir(fixtureStacks());
    tmp.push(dir);
    const plain = cli(["--outdir", dir, "--json", join(dir, "cost.json")]);
    expect(plain.code).toBe(0);
    expect(plain.out).toContain("zmanim-prod-compute aws_lb.mystery: no pricing rule");
    expect(plain.err).toMatch(/types aws_lb are not priced.*warning/);
    const strict = cli(["--outdir", dir, "--json", join(dir, "cost.json"), "--strict"]);
    expect(strict.code).toBe(3);
    const json = JSON.parse(readFileSync(join(dir, "cost.json"), "utf8"));
    expect(json.unpricedTypes).toEqual(["aws_lb"]);
    expect(json.ratesVersion).toBe(RATES_VERSION);
    for (const l of json.lines) expect(json.rates[l.rateKey].source).toMatch(/^https:\/\/aws\.amazon\.com\//);
  });

  it("every resource of the current synth is accounted for: priced, free or listed as unpriced", () => {
    const s = synthAll();
    const stacks = Object.entries(s.stacks).map(([short, json]) => ({ name: `zmanim-prod-${short}`, json: json as StackJson }));
    const r = run(stacks, DEFAULT_ASSUMPTIONS);
    const seen = new Map<string, Set<string>>(); // type -> addresses with a line or an unpriced entry
    for (const x of [...r.lines.filter((l) => !l.address.startsWith("(")), ...r.unpriced]) {
      if (!seen.has(x.type)) seen.set(x.type, new Set());
      seen.get(x.type)!.add(`${x.stack}|${x.address}`);
    }
    const free = new Map(r.free.map((f) => [f.type, f.count]));
    const byType = new Map<string, number>();
    for (const [, type] of allResources(s)) byType.set(type, (byType.get(type) ?? 0) + 1);
    expect(byType.size).toBeGreaterThan(10);
    for (const [type, count] of byType) {
      // Each resource is counted exactly once: with lines/unpriced entries, or as free.
      expect({ type, accounted: (seen.get(type)?.size ?? 0) + (free.get(type) ?? 0) }).toEqual({ type, accounted: count });
    }
  });
});

describe("the budget gate", () => {
  it("passes at the default usage and fails, exit 1, when usage grows", () => {
    const dir = writeOutdir(fixtureStacks());
    tmp.push(dir);
    const ok = cli(["--outdir", dir, "--json", join(dir, "ok.json")]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("within budget");

    const bigger = join(dir, "bigger.json");
    writeFileSync(bigger, JSON.stringify({ edge: { requestsPerMonth: 60_000_000 } }));
    const over = cli(["--outdir", dir, "--json", join(dir, "over.json"), "--assumptions", bigger]);
    expect(over.code).toBe(1);
    expect(over.err).toMatch(/exceeds the prod budget of \$50\.00/);
    const report = JSON.parse(readFileSync(join(dir, "over.json"), "utf8"));
    expect(report.overBudget).toBe(true);
    expect(report.totalUsd).toBeGreaterThan(50);
    expect(report.assumptions.edge.requestsPerMonth).toBe(60_000_000);
  });

  it("staging is priced with its own, smaller usage; an --assumptions file goes on top of it", () => {
    expect(assumptionsFor("prod")).toBe(DEFAULT_ASSUMPTIONS);
    const staging = assumptionsFor("staging");
    expect(staging.edge.requestsPerMonth).toBeLessThan(DEFAULT_ASSUMPTIONS.edge.requestsPerMonth / 10);
    expect(staging.edge.apiCacheHitRatio).toBe(DEFAULT_ASSUMPTIONS.edge.apiCacheHitRatio);
    const stacks = fixtureStacks().map((s) => ({ ...s, name: s.name.replace("-prod-", "-staging-") }));
    const dir = writeOutdir(stacks);
    tmp.push(dir);
    const file = join(dir, "a.json");
    writeFileSync(file, JSON.stringify({ hoursPerMonth: 100 }));
    const r = cli(["--outdir", dir, "--env", "staging", "--json", join(dir, "s.json"), "--assumptions", file]);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "s.json"), "utf8"));
    expect(report.environment).toBe("staging");
    expect(report.budgetUsd).toBe(30);
    expect(report.assumptions.hoursPerMonth).toBe(100);
    expect(report.assumptions.edge.requestsPerMonth).toBe(staging.edge.requestsPerMonth);
  });

  it("always-free allowances lower the total only when the assumptions apply them", () => {
    const usage = mergeAssumptions(DEFAULT_ASSUMPTIONS, {}, "test");
    const without = run(fixtureStacks(), usage);
    const withFree = run(fixtureStacks(), { ...usage, alwaysFreeTier: true });
    const credits = withFree.freeTierCredits.reduce((s, c) => s + c.usd, 0);
    expect(credits).toBeLessThan(0);
    expect(without.totalUsd).toBeCloseTo(without.listTotalUsd, 4);
    expect(withFree.totalUsd).toBeCloseTo(withFree.listTotalUsd + credits, 3);
  });
});

describe("bad input gets a clear error and writes nothing", () => {
  it("an unknown assumptions key names the key and the known keys", () => {
    expect(() => mergeAssumptions(DEFAULT_ASSUMPTIONS, { edge: { requestPerMonth: 1 } }, "x.json")).toThrow(AssumptionsError);
    expect(() => mergeAssumptions(DEFAULT_ASSUMPTIONS, { edge: { requestPerMonth: 1 } }, "x.json")).toThrow(/edge\.requestPerMonth: unknown key; known keys are requestsPerMonth/);
    expect(() => mergeAssumptions(DEFAULT_ASSUMPTIONS, { edge: { apiCacheHitRatio: 1.5 } }, "x.json")).toThrow(/edge\.apiCacheHitRatio = 1\.5: a share or ratio must lie between 0 and 1/);
    expect(() => mergeAssumptions(DEFAULT_ASSUMPTIONS, { hoursPerMonth: "730" }, "x.json")).toThrow(/hoursPerMonth = "730": expected a number/);
  });

  it("the CLI exits 2 for bad assumptions, a missing outdir or another environment's output, and writes no JSON", () => {
    const dir = writeOutdir(fixtureStacks());
    tmp.push(dir);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ nope: 1 }));
    const out = join(dir, "never.json");
    const r1 = cli(["--outdir", dir, "--json", out, "--assumptions", bad]);
    expect(r1.code).toBe(2);
    expect(r1.err).toContain("nope: unknown key");
    const r2 = cli(["--outdir", join(dir, "missing"), "--json", out]);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain("run `npm run synth` first");
    const r3 = cli(["--outdir", dir, "--json", out, "--env", "staging"]);
    expect(r3.code).toBe(2);
    expect(r3.err).toContain("holds no zmanim-staging-* stacks");
    const r4 = cli(["--outdir", dir, "--bogus"]);
    expect(r4.code).toBe(2);
    expect(r4.err).toContain('"--bogus": unknown option');
    expect(existsSync(out)).toBe(false);
  });
});

describe("the README cost block", () => {
  it("--update-readme writes the comparison with the epic between the markers; --check-readme detects staleness", () => {
    const dir = writeOutdir(fixtureStacks());
    tmp.push(dir);
    const readme = join(dir, "README.md");
    writeFileSync(readme, "# T\n<!-- cost:begin -->\n<!-- cost:end -->\ntail\n");
    expect(cli(["--outdir", dir, "--json", join(dir, "c.json"), "--readme", readme, "--check-readme"]).code).toBe(4);
    expect(cli(["--outdir", dir, "--json", join(dir, "c.json"), "--readme", readme, "--update-readme"]).code).toBe(0);
    const text = readFileSync(readme, "utf8");
    expect(text).toMatch(/^# T\n<!-- cost:begin -->\nEstimate for `prod`/);
    expect(text).toContain("| Public IPv4 (Elastic IP) | Free | $3.65 |");
    expect(text).toContain(`rates of ${RATES_VERSION}`);
    expect(text.endsWith("<!-- cost:end -->\ntail\n")).toBe(true);
    expect(cli(["--outdir", dir, "--json", join(dir, "c.json"), "--readme", readme, "--check-readme"]).code).toBe(0);
    const bigger = join(dir, "b.json");
    writeFileSync(bigger, JSON.stringify({ hoursPerMonth: 744 }));
    const stale = cli(["--outdir", dir, "--json", join(dir, "c.json"), "--readme", readme, "--check-readme", "--assumptions", bigger]);
    expect(stale.code).toBe(4);
    expect(stale.err).toContain("is stale");
  });
});

describe("the rate table", () => {
  it("is dated and every rate names a positive price, a unit, its region and an AWS source", () => {
    expect(RATES_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [key, rate] of Object.entries(RATES)) {
      expect(key.startsWith(`${rate.region}:`)).toBe(true);
      expect(rate.usd).toBeGreaterThan(0);
      expect(rate.unit.length).toBeGreaterThan(0);
      expect(rate.source).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(["eu-west-1", "us-east-1", "global"]).toContain(rate.region);
    }
  });

  it("every always-free pool refers to rates that exist", () => {
    for (const pool of ALWAYS_FREE) for (const k of pool.rateKeys) expect(RATES[k]).toBeDefined();
  });
});
