import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import {
  DEFAULT_ASSUMPTIONS,
  UsageAssumptions,
  mergeAssumptions,
  AssumptionsError,
  assumptionsFor,
  atTraffic,
} from "../../scripts/tools/cost/assumptions";
import { main } from "../../scripts/tools/cost/cli";
import { CostReport, estimate } from "../../scripts/tools/cost/model";
import { ALWAYS_FREE, COMMITMENT_DISCOUNTS, RATES, RATES_VERSION } from "../../scripts/tools/cost/rates";
import { LoadedStack, StackJson } from "../../scripts/tools/cost/tfjson";
import { allResources, synthAll } from "../helpers/synth";
import { scaled } from "../../constructs/config/environments";

const FIXTURE = JSON.parse(readFileSync(join(__dirname, "../fixtures/cost/small-app.json"), "utf8")) as Record<
  string,
  StackJson
>;

function fixtureStacks(extra: Record<string, StackJson> = {}): LoadedStack[] {
  const all = { ...FIXTURE, ...extra } as Record<string, StackJson>;
  return Object.entries(all)
    .filter(([name]) => name !== "//")
    .map(([name, json]) => ({ name, json }));
}

/** Assumptions that isolate the resource prices: no usage-driven lines. */
const QUIET: UsageAssumptions = mergeAssumptions(
  DEFAULT_ASSUMPTIONS,
  {
    edge: { requestsPerMonth: 0, gbServedPerMonth: 0 },
    cloudwatch: { customMetricsPerInstance: 0, putMetricDataPerInstance: 0 },
    ec2: { internetEgressGbPerMonth: 0 },
  },
  "test",
);

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
  const code = main(
    args,
    {},
    (s) => (out += s),
    (s) => (err += s),
  );
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
    expect(free).toMatchObject({
      aws_vpc: 1,
      aws_subnet: 1,
      aws_security_group: 1,
      aws_volume_attachment: 1,
      aws_eip_association: 1,
    });
    expect(r.unpriced.map((u) => u.type)).not.toEqual(expect.arrayContaining(["aws_vpc", "aws_subnet"]));
  });

  it("the list total is the sum of the lines and the per-stack totals", () => {
    const sum = r.lines.reduce((s, l) => s + l.usd, 0);
    expect(r.listTotalUsd).toBeCloseTo(sum, 3);
    expect(r.perStack.reduce((s, p) => s + p.usd, 0)).toBeCloseTo(sum, 3);
    expect(r.listTotalUsd).toBeCloseTo(32.704 + 0.88 + 1.76 + 3.65, 3);
  });

  it("gp3 IOPS and throughput above the free baseline are priced", () => {
    const r2 = run(
      fixtureStacks({
        "zmanim-prod-extra": {
          provider: { aws: [{ region: "eu-west-1" }] },
          resource: { aws_ebs_volume: { fast: { size: 100, type: "gp3", iops: 6000, throughput: 250 } } },
        },
      }),
    );
    expect(usdOf(r2, "aws_ebs_volume.fast", /IOPS/)).toBeCloseTo(3000 * 0.0055, 6);
    expect(usdOf(r2, "aws_ebs_volume.fast", /throughput/)).toBeCloseTo(125 * 0.044, 6);
  });

  it("alarms count their metrics; sub-minute periods use the high-resolution rate", () => {
    const r2 = run(
      fixtureStacks({
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
      }),
    );
    expect(usdOf(r2, "aws_cloudwatch_metric_alarm.simple", /standard/)).toBeCloseTo(0.1, 6);
    expect(usdOf(r2, "aws_cloudwatch_metric_alarm.fast", /high-resolution/)).toBeCloseTo(0.3, 6);
    expect(usdOf(r2, "aws_cloudwatch_metric_alarm.math", /2 metrics/)).toBeCloseTo(0.2, 6);
  });

  it("an HTTPS health check: base price, the HTTPS option, and its probes as uncached API requests", () => {
    const r2 = run(
      fixtureStacks({
        "zmanim-prod-dns": {
          provider: { aws: [{ region: "eu-west-1" }] },
          resource: {
            aws_route53_health_check: { hc: { type: "HTTPS", fqdn: "zmanim.shtetl.io", request_interval: 30 } },
          },
        },
      }),
    );
    expect(usdOf(r2, "aws_route53_health_check.hc", /endpoint health check \(non-AWS/)).toBeCloseTo(0.75, 6);
    expect(usdOf(r2, "aws_route53_health_check.hc", /optional features: HTTPS$/)).toBeCloseTo(2, 6);
    expect(usdOf(r2, "aws_apigatewayv2_api.api", /requests/)).toBeCloseTo(
      QUIET.dns.healthCheckRequestsPerMonth * 1.11e-6,
      6,
    );
    expect(usdOf(run(fixtureStacks()), "aws_apigatewayv2_api.api", /requests/)).toBe(0);
  });

  it("a CloudFront log delivery is priced when its destination is an S3 bucket, and listed otherwise", () => {
    const delivery = (arn: string): StackJson => ({
      provider: { aws: [{ region: "eu-west-1" }, { alias: "us-east-1", region: "us-east-1" }] },
      resource: {
        aws_cloudwatch_log_delivery_destination: {
          d: { provider: "aws.us-east-1", delivery_destination_configuration: [{ destination_resource_arn: arn }] },
        },
        aws_cloudwatch_log_delivery: {
          l: {
            provider: "aws.us-east-1",
            delivery_destination_arn: "${aws_cloudwatch_log_delivery_destination.d.arn}",
          },
        },
      },
    });
    const usage = mergeAssumptions(
      QUIET,
      { edge: { requestsPerMonth: 2_000_000, accessLogBytesPerRequest: 500 } },
      "test",
    );
    const toS3 = run(fixtureStacks({ "zmanim-prod-cdn": delivery("arn:aws:s3:::logs/cloudfront") }), usage);
    expect(usdOf(toS3, "aws_cloudwatch_log_delivery.l", /delivery to S3/)).toBeCloseTo(1 * 0.25, 6);
    const toLogs = run(
      fixtureStacks({ "zmanim-prod-cdn": delivery("arn:aws:logs:us-east-1:111111111111:log-group:x") }),
      usage,
    );
    expect(toLogs.unpriced).toContainEqual(
      expect.objectContaining({
        address: "aws_cloudwatch_log_delivery.l",
        reason: "only deliveries to S3 or to a log group of this stack are priced",
      }),
    );
  });

  it("a delivery into a log group of its stack is vended ingestion on the delivery, storage only on the log group", () => {
    const stack: StackJson = {
      provider: { aws: [{ region: "eu-west-1" }, { alias: "us-east-1", region: "us-east-1" }] },
      resource: {
        aws_cloudwatch_log_group: {
          g: { provider: "aws.us-east-1", name: "/zmanim/prod/cloudfront-edge", retention_in_days: 30 },
        },
        aws_cloudwatch_log_delivery_destination: {
          d: {
            provider: "aws.us-east-1",
            delivery_destination_configuration: [{ destination_resource_arn: "${aws_cloudwatch_log_group.g.arn}" }],
          },
        },
        aws_cloudwatch_log_delivery: {
          l: {
            provider: "aws.us-east-1",
            delivery_destination_arn: "${aws_cloudwatch_log_delivery_destination.d.arn}",
          },
        },
      },
    };
    const usage = mergeAssumptions(
      QUIET,
      { edge: { requestsPerMonth: 2_000_000, edgeMetricsLogBytesPerRequest: 50 } },
      "test",
    );
    const r = run(fixtureStacks({ "zmanim-prod-monitoring": stack }), usage);
    // 2M requests x 50 bytes = 0.1 GB at $0.50 (us-east-1 vended), stored 30 days at $0.03.
    expect(usdOf(r, "aws_cloudwatch_log_delivery.l", /vended log delivery to CloudWatch Logs/)).toBeCloseTo(
      0.1 * 0.5,
      6,
    );
    expect(usdOf(r, "aws_cloudwatch_log_group.g", /log storage/)).toBeCloseTo(0.1 * 0.03, 6);
    expect(r.lines.filter((l) => l.address === "aws_cloudwatch_log_group.g").map((l) => l.rateKey)).toEqual([
      "us-east-1:logs.storage",
    ]);
  });

  it("a log group that a flow log writes to is priced at the vended-log rate", () => {
    const r2 = run(
      fixtureStacks({
        "zmanim-prod-logs": {
          provider: { aws: [{ region: "eu-west-1" }] },
          resource: {
            aws_cloudwatch_log_group: {
              flow: { name: "/zmanim/prod/vpc-flow-logs", retention_in_days: 30 },
              other: { name: "/zmanim/prod/api", retention_in_days: 30 },
            },
            aws_flow_log: { fl: { log_destination: "${aws_cloudwatch_log_group.flow.arn}", traffic_type: "ALL" } },
          },
        },
      }),
    );
    expect(
      r2.lines.find((l) => l.address === "aws_cloudwatch_log_group.flow" && /ingestion/.test(l.component))?.rateKey,
    ).toBe("eu-west-1:logs.ingest.vended");
    expect(
      r2.lines.find((l) => l.address === "aws_cloudwatch_log_group.other" && /ingestion/.test(l.component))?.rateKey,
    ).toBe("eu-west-1:logs.ingest.standard");
  });
});

describe("unpriced resources are listed, never dropped", () => {
  it("an unknown type is reported with its stack and address", () => {
    const r = run(fixtureStacks());
    expect(r.unpriced).toEqual([
      {
        stack: "zmanim-prod-compute",
        address: "aws_mq_broker.mystery",
        type: "aws_mq_broker",
        reason: "no pricing rule for this resource type",
      },
    ]);
    expect(r.unpricedTypes).toEqual(["aws_mq_broker"]);
  });

  it("a known type with a setting that has no rate is reported too", () => {
    const stacks = fixtureStacks();
    const compute = stacks.find((s) => s.name === "zmanim-prod-compute")!;
    const json = JSON.parse(JSON.stringify(compute.json)) as StackJson;
    (json.resource!.aws_instance.box as Record<string, unknown>).instance_type = "x2gd.metal";
    const r = run(stacks.map((s) => (s === compute ? { ...s, json } : s)));
    expect(r.unpriced).toContainEqual(
      expect.objectContaining({
        address: "aws_instance.box",
        reason: expect.stringContaining("eu-west-1:ec2.x2gd.metal"),
      }),
    );
  });

  it("the CLI prints the unpriced types, warns without --strict and fails with --strict", () => {
    const dir = writeOutdir(fixtureStacks());
    tmp.push(dir);
    const plain = cli(["--outdir", dir, "--json", join(dir, "cost.json")]);
    expect(plain.code).toBe(0);
    expect(plain.out).toContain("zmanim-prod-compute aws_mq_broker.mystery: no pricing rule");
    expect(plain.err).toMatch(/types aws_mq_broker are not priced.*warning/);
    const strict = cli(["--outdir", dir, "--json", join(dir, "cost.json"), "--strict"]);
    expect(strict.code).toBe(3);
    const json = JSON.parse(readFileSync(join(dir, "cost.json"), "utf8"));
    expect(json.unpricedTypes).toEqual(["aws_mq_broker"]);
    expect(json.ratesVersion).toBe(RATES_VERSION);
    for (const l of json.lines) expect(json.rates[l.rateKey].source).toMatch(/^https:\/\/aws\.amazon\.com\//);
  });

  it("every resource of the current synth is accounted for: priced, free or listed as unpriced", () => {
    const s = synthAll();
    const stacks = Object.entries(s.stacks).map(([short, json]) => ({
      name: `zmanim-prod-${short}`,
      json: json as StackJson,
    }));
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
      expect({ type, accounted: (seen.get(type)?.size ?? 0) + (free.get(type) ?? 0) }).toEqual({
        type,
        accounted: count,
      });
    }
  });
});

describe("the scaled example environment", () => {
  it("prices every resource it synthesizes: none is left unpriced, and its database and cache have lines", () => {
    const s = synthAll(scaled);
    const stacks = Object.entries(s.stacks).map(([short, json]) => ({
      name: `zmanim-scaled-${short}`,
      json: json as StackJson,
    }));
    const r = run(stacks, DEFAULT_ASSUMPTIONS);
    expect(r.unpriced).toEqual([]);
    for (const [, type] of allResources(s).filter(([, t]) =>
      /^aws_(db_instance|elasticache_serverless_cache|elasticache_replication_group|lb|autoscaling_group|nat_gateway)$/.test(
        t,
      ),
    ))
      expect({ type, lines: r.lines.some((l) => l.type === type && l.usd > 0) }).toEqual({ type, lines: true });
    expect(r.lines.some((l) => l.type === "aws_db_instance")).toBe(true);
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
    const usage = mergeAssumptions(DEFAULT_ASSUMPTIONS, { commitment: { plan: "on-demand" } }, "test");
    const without = run(fixtureStacks(), usage);
    const withFree = run(fixtureStacks(), { ...usage, alwaysFreeTier: true });
    const credits = withFree.freeTierCredits.reduce((s, c) => s + c.usd, 0);
    expect(credits).toBeLessThan(0);
    expect(withFree.freeTierCredits.every((c) => !c.standing)).toBe(true);
    expect(without.totalUsd).toBeCloseTo(without.listTotalUsd, 4);
    expect(withFree.totalUsd).toBeCloseTo(withFree.listTotalUsd + credits, 3);
  });
});

describe("bad input gets a clear error and writes nothing", () => {
  it("an unknown assumptions key names the key and the known keys", () => {
    expect(() => mergeAssumptions(DEFAULT_ASSUMPTIONS, { edge: { requestPerMonth: 1 } }, "x.json")).toThrow(
      AssumptionsError,
    );
    expect(() => mergeAssumptions(DEFAULT_ASSUMPTIONS, { edge: { requestPerMonth: 1 } }, "x.json")).toThrow(
      /edge\.requestPerMonth: unknown key; known keys are requestsPerMonth/,
    );
    expect(() => mergeAssumptions(DEFAULT_ASSUMPTIONS, { edge: { apiCacheHitRatio: 1.5 } }, "x.json")).toThrow(
      /edge\.apiCacheHitRatio = 1\.5: a share or ratio must lie between 0 and 1/,
    );
    expect(() => mergeAssumptions(DEFAULT_ASSUMPTIONS, { hoursPerMonth: "730" }, "x.json")).toThrow(
      /hoursPerMonth = "730": expected a number/,
    );
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

describe("docs/cost.md blocks", () => {
  it("--update-doc writes the comparison with the epic and every line item between the markers", () => {
    const dir = writeOutdir(fixtureStacks());
    tmp.push(dir);
    const doc = join(dir, "cost.md");
    writeFileSync(
      doc,
      "# T\n<!-- cost:begin -->\n<!-- cost:end -->\nmid\n<!-- cost-detail:begin -->\n<!-- cost-detail:end -->\ntail\n",
    );
    expect(cli(["--outdir", dir, "--json", join(dir, "c.json"), "--update-doc", doc]).code).toBe(0);
    const text = readFileSync(doc, "utf8");
    expect(text).toMatch(/^# T\n<!-- cost:begin -->\nEstimate for `prod`/);
    expect(text).toContain("| Public IPv4 (Elastic IP) | Free | $3.65 |");
    expect(text).toContain(`rates of ${RATES_VERSION}`);
    expect(text).toMatch(/\| With a 1-year Compute Savings Plan, no upfront \| \| \$\d+\.\d\d \|/);
    expect(text).toContain("| compute | `aws_eip.ip` |");
    expect(text.endsWith("<!-- cost-detail:end -->\ntail\n")).toBe(true);
    const missing = join(dir, "nomarkers.md");
    writeFileSync(missing, "# nothing\n");
    const bad = cli(["--outdir", dir, "--json", join(dir, "c2.json"), "--update-doc", missing]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("markers <!-- cost:begin --> ... <!-- cost:end --> not found");
    expect(existsSync(join(dir, "c2.json"))).toBe(false);
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

describe("commitments: the instance hours on-demand and under the configured Savings Plan, side by side", () => {
  const box = 730 * 0.0448; // $32.704 of m7g.medium hours in the fixture

  it("a 1-year Compute Savings Plan, no upfront, takes the midpoint of its discount range off the instance hours only", () => {
    const r = run(
      fixtureStacks(),
      mergeAssumptions(QUIET, { commitment: { plan: "compute-savings-plan", term: "1yr", upfront: "none" } }, "test"),
    );
    const d = COMMITMENT_DISCOUNTS["compute-savings-plan"]["1yr"].none;
    expect(r.commitment.eligibleUsd).toBeCloseTo(box, 3);
    expect(r.commitment.discount.mid).toBeCloseTo((d.low + d.high) / 2, 6);
    expect(r.onDemandTotalUsd).toBeCloseTo(r.listTotalUsd, 4);
    expect(r.commitmentTotalUsd).toBeCloseTo(r.onDemandTotalUsd - (box * (d.low + d.high)) / 2, 3);
    expect(r.totalUsd).toBeCloseTo(r.commitmentTotalUsd, 4);
    expect(r.totalRangeUsd.low).toBeCloseTo(r.onDemandTotalUsd - box * d.high, 3);
    expect(r.totalRangeUsd.high).toBeCloseTo(r.onDemandTotalUsd - box * d.low, 3);
    expect(r.commitment.upfrontUsd).toBe(0);
  });

  it("all upfront pays the whole term at purchase; partial about half; on-demand saves nothing", () => {
    const at = (commitment: unknown) => run(fixtureStacks(), mergeAssumptions(QUIET, { commitment }, "test"));
    const all = at({ plan: "ec2-instance-savings-plan", term: "3yr", upfront: "all" });
    const mid = all.commitment.discount.mid;
    expect(all.commitment.upfrontUsd).toBeCloseTo(box * (1 - mid) * 36, 1);
    const partial = at({ plan: "ec2-instance-savings-plan", term: "1yr", upfront: "partial" });
    expect(partial.commitment.upfrontUsd).toBeCloseTo(box * (1 - partial.commitment.discount.mid) * 12 * 0.5, 1);
    const none = at({ plan: "on-demand" });
    expect([none.commitmentTotalUsd, none.commitment.savingsUsd.mid, none.totalRangeUsd.low]).toEqual([
      none.onDemandTotalUsd,
      0,
      none.onDemandTotalUsd,
    ]);
    // A 3-year plan saves more than a 1-year one; an EC2 Instance plan more than a Compute plan.
    expect(all.commitmentTotalUsd).toBeLessThan(partial.commitmentTotalUsd);
  });

  it("every Savings Plan option has a range inside AWS's published ceilings (72% EC2 Instance, 66% Compute)", () => {
    for (const [plan, terms] of Object.entries(COMMITMENT_DISCOUNTS))
      for (const options of Object.values(terms))
        for (const { low, high } of Object.values(options)) {
          expect(low).toBeGreaterThan(0);
          expect(low).toBeLessThanOrEqual(high);
          expect(high).toBeLessThanOrEqual(plan === "compute-savings-plan" ? 0.66 : 0.72);
        }
  });

  it("npm run cost prints both totals and exits 0 when the committed total is under budget though on-demand is over", () => {
    const dir = writeOutdir(fixtureStacks());
    tmp.push(dir);
    const committed = cli(["--outdir", dir, "--json", join(dir, "c.json"), "--requests", "25e6"]);
    const report = JSON.parse(readFileSync(join(dir, "c.json"), "utf8")) as CostReport;
    expect(report.onDemandTotalUsd).toBeGreaterThan(50);
    expect(report.totalUsd).toBeLessThan(50);
    expect(committed.code).toBe(0);
    expect(committed.out).toMatch(/On-demand +\$\d+\.\d\d/);
    expect(committed.out).toMatch(
      /With a 1-year Compute Savings Plan, no upfront +\$\d+\.\d\d +saves \$8\.83 of \$32\.70 instance hours/,
    );
    expect(committed.out).toContain("within budget");
    const file = join(dir, "od.json");
    writeFileSync(file, JSON.stringify({ commitment: { plan: "on-demand" } }));
    const onDemand = cli(["--outdir", dir, "--json", join(dir, "o.json"), "--requests", "25e6", "--assumptions", file]);
    expect(onDemand.code).toBe(1);
    expect(onDemand.err).toMatch(/estimate \$\d+\.\d\d \(no commitment \(on-demand\)\) exceeds the prod budget/);
  });

  it("a commitment the table does not know is refused with the field, the value and the choices", () => {
    expect(() => mergeAssumptions(DEFAULT_ASSUMPTIONS, { commitment: { plan: "reserved" } }, "x.json")).toThrow(
      /commitment\.plan = "reserved": use one of "on-demand", "ec2-instance-savings-plan", "compute-savings-plan"/,
    );
    expect(() =>
      mergeAssumptions(DEFAULT_ASSUMPTIONS, { commitment: { term: "5yr", upfront: "most" } }, "x.json"),
    ).toThrow(/commitment\.term = "5yr": use "1yr" or "3yr"[\s\S]*commitment\.upfront = "most"/);
    expect(cli(["--requests", "lots"]).err).toContain('--requests "lots": use a number of viewer requests per month');
  });
});

describe("allowances", () => {
  const check = (type: string, regions: string[]): StackJson => ({
    provider: { aws: [{ region: "eu-west-1" }] },
    resource: { aws_route53_health_check: { hc: { type, fqdn: "zmanim.shtetl.io", request_interval: 30, regions } } },
  });

  it("Route 53 bills the first 50 AWS-endpoint health checks at $0, free tier or not; a non-AWS endpoint pays", () => {
    const aws = run(
      fixtureStacks({ "zmanim-prod-dns": check("HTTP", ["us-east-1", "us-west-2", "eu-west-1"]) }),
      mergeAssumptions(QUIET, { dns: { healthCheckEndpoint: "aws" } }, "test"),
    );
    expect(usdOf(aws, "aws_route53_health_check.hc", /endpoint health check \(AWS/)).toBeCloseTo(0.5, 6);
    expect(aws.freeTierCredits).toContainEqual(
      expect.objectContaining({ pool: "route53-aws-health-checks", usd: -0.5, standing: true }),
    );
    expect(aws.freeTierApplied).toBe(false);
    expect(aws.onDemandTotalUsd).toBeCloseTo(aws.listTotalUsd - 0.5, 4);
    const nonAws = run(
      fixtureStacks({ "zmanim-prod-dns": check("HTTP", ["us-east-1", "us-west-2", "eu-west-1"]) }),
      QUIET,
    );
    expect(nonAws.freeTierCredits.find((c) => c.pool === "route53-aws-health-checks")).toBeUndefined();
    expect(nonAws.onDemandTotalUsd).toBeCloseTo(nonAws.listTotalUsd, 4);
  });

  it("an HTTP check's probes are billed as HTTP requests, split by where its checkers are; HTTPS ones as HTTPS", () => {
    const cdn: StackJson = {
      provider: { aws: [{ region: "eu-west-1" }] },
      resource: {
        aws_cloudfront_distribution: {
          d: {
            origin: [{ origin_id: "api", domain_name: "x.execute-api.eu-west-1.amazonaws.com" }],
            default_cache_behavior: { target_origin_id: "api" },
          },
        },
      },
    };
    const per = QUIET.dns.healthCheckRequestsPerMonth;
    const http = run(
      fixtureStacks({
        "zmanim-prod-dns": check("HTTP", ["us-east-1", "us-west-2", "eu-west-1"]),
        "zmanim-prod-cdn": cdn,
      }),
    );
    expect(usdOf(http, "aws_cloudfront_distribution.d", /probes \(HTTP, US/)).toBeCloseTo(
      ((per * 2) / 3) * 0.0075e-4,
      6,
    );
    expect(usdOf(http, "aws_cloudfront_distribution.d", /probes \(HTTP, Europe/)).toBeCloseTo((per / 3) * 0.009e-4, 6);
    expect(http.lines.filter((l) => /HTTPS requests/.test(l.component)).every((l) => l.usd === 0)).toBe(true);
    const https = run(
      fixtureStacks({
        "zmanim-prod-dns": check("HTTPS", ["us-east-1", "us-west-2", "eu-west-1"]),
        "zmanim-prod-cdn": cdn,
      }),
    );
    expect(usdOf(https, "aws_cloudfront_distribution.d", /probes \(HTTPS, US/)).toBeCloseTo(
      ((per * 2) / 3) * 0.01e-4,
      6,
    );
    expect(usdOf(https, "aws_route53_health_check.hc", /optional features: HTTPS$/)).toBeCloseTo(2, 6);
  });

  it("Origin Shield in front of the static origin only does not thin the API's origin requests", () => {
    const origins = (apiShield: boolean) => ({
      provider: { aws: [{ region: "eu-west-1" }] },
      resource: {
        aws_cloudfront_distribution: {
          d: {
            origin: [
              {
                origin_id: "s3",
                domain_name: "b.s3.eu-west-1.amazonaws.com",
                origin_shield: { enabled: true, origin_shield_region: "eu-west-1" },
              },
              {
                origin_id: "api",
                domain_name: "x.execute-api.eu-west-1.amazonaws.com",
                origin_shield: { enabled: apiShield, origin_shield_region: "eu-west-1" },
              },
            ],
            default_cache_behavior: { target_origin_id: "s3" },
            ordered_cache_behavior: [{ path_pattern: "/api/*", target_origin_id: "api" }],
          },
        },
      },
    });
    const a = DEFAULT_ASSUMPTIONS;
    const viewerMisses = a.edge.requestsPerMonth * a.edge.apiShareOfRequests * (1 - a.edge.apiCacheHitRatio);
    expect(run(fixtureStacks({ "zmanim-prod-cdn": origins(false) }), a).derived.apiOriginRequests).toBeCloseTo(
      viewerMisses,
      0,
    );
    expect(run(fixtureStacks({ "zmanim-prod-cdn": origins(true) }), a).derived.apiOriginRequests).toBeCloseTo(
      viewerMisses * (1 - a.edge.originShieldHitRatio),
      0,
    );
  });

  it("request bodies sent to the origin are priced as CloudFront transfer to origin, and are immaterial at the defaults", () => {
    const cdn: StackJson = {
      provider: { aws: [{ region: "eu-west-1" }] },
      resource: {
        aws_cloudfront_distribution: {
          d: {
            origin: [{ origin_id: "api", domain_name: "x.execute-api.eu-west-1.amazonaws.com" }],
            default_cache_behavior: { target_origin_id: "api" },
          },
        },
      },
    };
    const r = run(fixtureStacks({ "zmanim-prod-cdn": cdn }), DEFAULT_ASSUMPTIONS);
    const line = usdOf(r, "aws_cloudfront_distribution.d", /transfer to the origin/);
    expect(line).toBeCloseTo(DEFAULT_ASSUMPTIONS.edge.originUploadGbPerMonth * 0.02, 6);
    expect(line).toBeLessThan(0.01);
  });
});

describe("the scaled topology's resources", () => {
  const data: StackJson = {
    provider: { aws: [{ region: "eu-west-1" }] },
    resource: {
      aws_db_instance: {
        db: {
          engine: "postgres",
          instance_class: "db.t4g.small",
          multi_az: true,
          allocated_storage: 20,
          storage_type: "gp3",
          manage_master_user_password: true,
        },
      },
      aws_elasticache_serverless_cache: { cache: { engine: "valkey", snapshot_retention_limit: 7 } },
      aws_elasticache_replication_group: {
        nodes: { engine: "valkey", node_type: "cache.t4g.small", num_cache_clusters: 2 },
      },
      aws_db_subnet_group: { s: {} },
      aws_db_event_subscription: { e: {} },
    },
  };
  const app = (extra: Record<string, unknown> = {}): StackJson => ({
    provider: { aws: [{ region: "eu-west-1" }] },
    resource: {
      aws_lb: { alb: { load_balancer_type: "application", internal: true } },
      aws_launch_template: {
        lt: {
          instance_type: "t4g.small",
          network_interfaces: [{ associate_public_ip_address: true }],
          block_device_mappings: [{ ebs: { volume_size: 10, volume_type: "gp3" } }],
        },
      },
      aws_autoscaling_group: {
        asg: {
          min_size: 2,
          max_size: 4,
          launch_template: { id: "${aws_launch_template.lt.id}", version: "1" },
          ...extra,
        },
      },
      aws_nat_gateway: { nat: {} },
      aws_lb_listener: { l: {} },
      aws_lb_target_group: { tg: {} },
    },
  });

  it("RDS PostgreSQL Multi-AZ pays two instance-hours and two copies of its gp3 storage, plus the managed secret", () => {
    const r = run(fixtureStacks({ "zmanim-prod-data": data }));
    expect(usdOf(r, "aws_db_instance.db", /db\.t4g\.small Multi-AZ/)).toBeCloseTo(2 * 730 * 0.036, 6);
    expect(usdOf(r, "aws_db_instance.db", /gp3 storage/)).toBeCloseTo(2 * 20 * 0.127, 6);
    expect(usdOf(r, "aws_db_instance.db", /Secrets Manager/)).toBeCloseTo(0.4, 6);
    const single = JSON.parse(JSON.stringify(data)) as StackJson;
    (single.resource!.aws_db_instance.db as Record<string, unknown>).multi_az = false;
    expect(
      usdOf(run(fixtureStacks({ "zmanim-prod-data": single })), "aws_db_instance.db", /db\.t4g\.small Single-AZ/),
    ).toBeCloseTo(730 * 0.036, 6);
  });

  it("ElastiCache: serverless Valkey by stored GB-hour (0.1 GB minimum), ECPU per origin request and snapshots; nodes by node-hour", () => {
    const usage = mergeAssumptions(
      QUIET,
      { edge: { requestsPerMonth: 1_000_000 }, scaled: { cacheDataGb: 0.05 } },
      "test",
    );
    const r = run(fixtureStacks({ "zmanim-prod-data": data }), usage);
    expect(usdOf(r, "aws_elasticache_serverless_cache.cache", /data stored/)).toBeCloseTo(0.1 * 730 * 0.0939, 6);
    const origin = r.derived.apiOriginRequests;
    expect(origin).toBeGreaterThan(0);
    // Two caches share the origin's ECPU evenly.
    expect(usdOf(r, "aws_elasticache_serverless_cache.cache", /Processing Units/)).toBeCloseTo(
      (origin * 2 * 0.0025e-6) / 2,
      6,
    );
    expect(usdOf(r, "aws_elasticache_serverless_cache.cache", /snapshots/)).toBeCloseTo(0.1 * 7 * 0.085, 6);
    expect(usdOf(r, "aws_elasticache_replication_group.nodes", /nodes x 2/)).toBeCloseTo(2 * 730 * 0.0288, 6);
  });

  it("the fleet: instances from the launch template, as many as the configured minimum or the peak needs", () => {
    const quiet = run(fixtureStacks({ "zmanim-prod-app": app() }));
    expect(usdOf(quiet, "aws_autoscaling_group.asg", /EC2 t4g\.small on-demand x 2/)).toBeCloseTo(2 * 730 * 0.0184, 6);
    expect(usdOf(quiet, "aws_autoscaling_group.asg", /root volumes x 2 gp3/)).toBeCloseTo(2 * 10 * 0.088, 6);
    expect(usdOf(quiet, "aws_autoscaling_group.asg", /public IPv4 addresses x 2/)).toBeCloseTo(2 * 730 * 0.005, 6);
    expect(usdOf(quiet, "aws_lb.alb", /Application Load Balancer hours/)).toBeCloseTo(730 * 0.0252, 6);
    expect(usdOf(quiet, "aws_nat_gateway.nat", /NAT gateway hours/)).toBeCloseTo(730 * 0.048, 6);
    expect(usdOf(quiet, "aws_nat_gateway.nat", /data processed/)).toBeCloseTo(
      QUIET.scaled.natGbProcessedPerMonth * 0.048,
      6,
    );
    // 1 billion viewer requests, no CDN in this fixture: 400M origin requests, 152/s on average, 457/s at a
    // 3x peak -> 5 instances of 100/s.
    const busy = run(
      fixtureStacks({ "zmanim-prod-app": app() }),
      mergeAssumptions(QUIET, { edge: { requestsPerMonth: 1e9 } }, "test"),
    );
    expect(busy.derived.apiOriginRequests).toBe(4e8);
    expect(usdOf(busy, "aws_autoscaling_group.asg", /EC2 t4g\.small on-demand x 5$/)).toBeCloseTo(5 * 730 * 0.0184, 6);
    const lcu = busy.lines.find((l) => l.address === "aws_lb.alb" && /capacity units/.test(l.component))!;
    // 400M x 4 KB = 1,600 GB a month, 2.2 GB an hour: processed bytes are the largest LCU dimension.
    expect(lcu.quantity).toBeCloseTo(1600, 1);
    // A Compute Savings Plan covers the fleet's hours and the fixture's box; an EC2 Instance Savings Plan only
    // the family with the most spend (t4g here, 5 instances against one m7g).
    expect(busy.commitment.eligibleUsd).toBeCloseTo(5 * 730 * 0.0184 + 730 * 0.0448, 2);
    const family = run(
      fixtureStacks({ "zmanim-prod-app": app() }),
      mergeAssumptions(
        QUIET,
        { edge: { requestsPerMonth: 1e9 }, commitment: { plan: "ec2-instance-savings-plan" } },
        "test",
      ),
    );
    expect(family.commitment.eligibleUsd).toBeCloseTo(5 * 730 * 0.0184, 2);
    expect(
      run(fixtureStacks({ "zmanim-prod-app": app({ desired_capacity: 3 }) })).lines.some((l) =>
        / x 3$/.test(l.component),
      ),
    ).toBe(true);
  });

  it("the fleet pays a public IPv4 per instance when its subnets map one on launch, through a cross-stack reference too", () => {
    const network = (map: boolean): StackJson => ({
      provider: { aws: [{ region: "eu-west-1" }] },
      resource: { aws_subnet: { app_subnet_0: { cidr_block: "10.44.10.0/24", map_public_ip_on_launch: map } } },
    });
    const stack = app({
      vpc_zone_identifier: ["${data.terraform_remote_state.x.outputs.cross-stack-output-aws_subnetapp_subnet_0id}"],
    });
    delete (stack.resource!.aws_launch_template.lt as Record<string, unknown>).network_interfaces;
    const mapped = run(fixtureStacks({ "zmanim-prod-network": network(true), "zmanim-prod-app": stack }));
    expect(usdOf(mapped, "aws_autoscaling_group.asg", /public IPv4 addresses x 2/)).toBeCloseTo(2 * 730 * 0.005, 6);
    const unmapped = run(fixtureStacks({ "zmanim-prod-network": network(false), "zmanim-prod-app": stack }));
    expect(unmapped.lines.some((l) => l.address === "aws_autoscaling_group.asg" && /IPv4/.test(l.component))).toBe(
      false,
    );
  });

  it("every rate of the scaled topology is dated and sourced, and marked unverified where no AWS page was read", () => {
    for (const k of Object.keys(RATES).filter((x) => /:(rds|elasticache|elb)\./.test(x))) {
      expect([k, RATES[k].checked]).toEqual([k, "unverified"]);
      expect(RATES[k].source).toMatch(/^https:\/\/aws\.amazon\.com\/(rds|elasticache|elasticloadbalancing)\//);
    }
  });
});

describe("traffic", () => {
  it("atTraffic scales the traffic-driven numbers and leaves the fixed ones; --requests prices exactly that", () => {
    const a = assumptionsFor("prod");
    const ten = atTraffic(a, a.edge.requestsPerMonth * 10);
    expect(ten.edge.gbServedPerMonth).toBeCloseTo(a.edge.gbServedPerMonth * 10, 6);
    expect(ten.logGroups["apigw-access"].ingestGbPerMonth).toBeCloseTo(
      a.logGroups["apigw-access"].ingestGbPerMonth * 10,
      6,
    );
    expect(ten.buckets.logs.tier1Requests).toBeCloseTo(a.buckets.logs.tier1Requests * 10, 6);
    expect([ten.logGroups.postgresql, ten.buckets.backups, ten.cloudwatch, ten.hoursPerMonth]).toEqual([
      a.logGroups.postgresql,
      a.buckets.backups,
      a.cloudwatch,
      a.hoursPerMonth,
    ]);
    const dir = writeOutdir(fixtureStacks());
    tmp.push(dir);
    expect(cli(["--outdir", dir, "--json", join(dir, "t.json"), "--requests", "50000000"]).code).toBe(1);
    const report = JSON.parse(readFileSync(join(dir, "t.json"), "utf8")) as CostReport;
    expect(report.totalUsd).toBeCloseTo(run(fixtureStacks(), atTraffic(a, 5e7)).totalUsd, 4);
    expect(report.derived.edgeRequests).toBeGreaterThanOrEqual(5e7);
  });
});
