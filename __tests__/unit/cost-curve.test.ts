/**
 * The cost curve (npm run cost:curve): its points are `npm run cost` at that traffic, its crossings of the
 * budget are where the estimate passes it, and the chart shows what the JSON says.
 */
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { assumptionsFor } from "../../scripts/tools/cost/assumptions";
import { main as costMain } from "../../scripts/tools/cost/cli";
import {
  CostCurve,
  CURVE_REQUESTS,
  crossing,
  pointAt,
  renderCurveSvg,
  requestsText,
  SERIES,
  TopologyCurve,
} from "../../scripts/tools/cost/curve";
import { ASSUMED_APP_LABEL, assumedAppStack, main as curveMain, scaledInput } from "../../scripts/tools/cost/curve-cli";
import { CostReport } from "../../scripts/tools/cost/model";
import { loadStacks, stacksOfEnvironment } from "../../scripts/tools/cost/tfjson";
import { prod, scaled } from "../../constructs/config/environments";
import { synthAll } from "../helpers/synth";

const COMMITTED = JSON.parse(readFileSync(join(__dirname, "../../docs/cost-curve.json"), "utf8")) as CostCurve;
const topology = (name: TopologyCurve["topology"]) => COMMITTED.topologies.find((t) => t.topology === name)!;

const tmp = mkdtempSync(join(tmpdir(), "zmanim-cost-curve-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function costAt(requests: number): CostReport {
  const json = join(tmp, `cost-${requests}.json`);
  const code = costMain(
    ["--env", "prod", "--outdir", synthAll(prod).outdir, "--requests", String(requests), "--json", json],
    {},
    () => undefined,
    () => undefined,
  );
  expect([0, 1]).toContain(code);
  return JSON.parse(readFileSync(json, "utf8")) as CostReport;
}

describe("the committed curve (docs/cost-curve.json)", () => {
  it("runs from 100k to 500M requests a month for single-box and scaled", () => {
    expect(COMMITTED.topologies.map((t) => t.topology)).toEqual(["single-box", "scaled"]);
    for (const t of COMMITTED.topologies) expect(t.points.map((p) => p.requestsPerMonth)).toEqual([...CURVE_REQUESTS]);
    expect(CURVE_REQUESTS[0]).toBe(1e5);
    expect(CURVE_REQUESTS[CURVE_REQUESTS.length - 1]).toBe(5e8);
  });

  it.each([1e5, 5e6, 5e8])(
    "single-box at %d requests equals `npm run cost -- --requests` at that traffic",
    (requests) => {
      const p = topology("single-box").points.find((x) => x.requestsPerMonth === requests)!;
      const r = costAt(requests);
      expect(p.onDemandUsd).toBeCloseTo(r.onDemandTotalUsd, 2);
      expect(p.commitmentUsd).toBeCloseTo(r.commitmentTotalUsd, 2);
      expect(p.configuredUsd).toBeCloseTo(r.totalUsd, 2);
      const credits = r.freeTierCredits.filter((c) => !c.standing).reduce((s, c) => s + c.usd, 0);
      expect(p.allowancesUsd).toBeCloseTo(r.commitmentTotalUsd + credits, 2);
    },
  );

  it("the current point is prod's own estimate, the one `npm run cost` prints", () => {
    const r = costAt(assumptionsFor("prod").edge.requestsPerMonth);
    expect(topology("single-box").current.configuredUsd).toBeCloseTo(r.totalUsd, 2);
    expect(COMMITTED.currentRequestsPerMonth).toBe(assumptionsFor("prod").edge.requestsPerMonth);
  });

  it("scaled points are the estimate of the scaled stacks at that traffic", () => {
    const s = synthAll(scaled);
    const input = scaledInput(scaled, stacksOfEnvironment(loadStacks(s.outdir), scaled.name, s.outdir));
    for (const p of topology("scaled").points.filter((_, i) => i % 4 === 0))
      expect(
        pointAt(input.stacks, scaled.name, prod.monthlyBudgetUsd, assumptionsFor("prod"), p.requestsPerMonth),
      ).toEqual(p);
  });

  it("every series rises with traffic, and the commitment and the allowances only ever lower it", () => {
    for (const t of COMMITTED.topologies) {
      for (const s of SERIES)
        for (let i = 1; i < t.points.length; i++) expect(t.points[i][s]).toBeGreaterThanOrEqual(t.points[i - 1][s]);
      for (const p of t.points) {
        expect(p.commitmentUsd).toBeLessThanOrEqual(p.onDemandUsd);
        expect(p.allowancesUsd).toBeLessThanOrEqual(p.commitmentUsd);
        expect(p.commitmentRangeUsd[0]).toBeLessThanOrEqual(p.commitmentUsd);
        expect(p.commitmentRangeUsd[1]).toBeGreaterThanOrEqual(p.commitmentUsd);
      }
    }
  });
});

describe("crossings of the budget", () => {
  it("single-box on-demand is at or under budget at its crossing and over it 0.2% later, by `npm run cost` (or over it at any traffic)", () => {
    const x = topology("single-box").breakEven.onDemandUsd;
    // Since the monitoring stack (dashboard, edge metrics), the on-demand list price is over $50 before any traffic.
    expect(["at", "over-at-any-traffic"]).toContain(x.kind);
    if (x.kind === "over-at-any-traffic") {
      expect(x.fixedUsd).toBeGreaterThan(COMMITTED.budgetUsd);
      expect(costAt(0).onDemandTotalUsd).toBeCloseTo(x.fixedUsd, 2);
      return;
    }
    if (x.kind !== "at") return;
    expect(costAt(x.requestsPerMonth).onDemandTotalUsd).toBeLessThanOrEqual(COMMITTED.budgetUsd);
    expect(costAt(Math.ceil(x.requestsPerMonth * 1.002)).onDemandTotalUsd).toBeGreaterThan(COMMITTED.budgetUsd);
  });

  it("says when a series is over budget at any traffic, or under it beyond the range searched", () => {
    expect(crossing((r) => 100 + r / 1e6, 50)).toEqual({ kind: "over-at-any-traffic", fixedUsd: 100 });
    expect(crossing(() => 10, 50)).toEqual({ kind: "beyond", requestsPerMonth: 5e10 });
    const at = crossing((r) => 40 + r / 1e6, 50);
    expect(at.kind === "at" && Math.abs(at.requestsPerMonth - 1e7) / 1e7 < 0.002).toBe(true);
  });
});

describe("the chart (docs/cost-curve.svg)", () => {
  const svg = readFileSync(join(__dirname, "../../docs/cost-curve.svg"), "utf8");

  it("draws the budget line, both topologies, today's point and where single-box crosses the budget", () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain(`budget $${COMMITTED.budgetUsd}</text>`);
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    for (const t of COMMITTED.topologies)
      expect(svg).toContain(`>${t.topology}${t.assumed ? " (assumed)" : ""}</text>`);
    const box = topology("single-box");
    expect(svg).toContain(
      `today's assumption: ${requestsText(box.current.requestsPerMonth)} requests, $${box.current.configuredUsd.toFixed(2)}`,
    );
    const x = box.breakEven.onDemandUsd;
    if (x.kind === "at")
      expect(svg).toContain(
        `single-box on-demand crosses $${COMMITTED.budgetUsd} at ${requestsText(x.requestsPerMonth)}`,
      );
    else expect(svg).not.toContain("single-box on-demand crosses");
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it("is the rendering of the committed JSON", () => {
    expect(renderCurveSvg(COMMITTED)).toBe(svg);
  });
});

describe("the scaled curve while the environment has no fleet", () => {
  it("adds an assumed app stack from the fleet config, says so, and leaves the box out when keepBox is false", () => {
    const box = {
      name: "zmanim-scaled-compute",
      json: { resource: { aws_instance: { i: { instance_type: "m7g.medium" } } } },
    };
    const data = {
      name: "zmanim-scaled-data",
      json: { resource: { aws_db_instance: { db: { engine: "postgres" } } } },
    };
    const input = scaledInput(scaled, [box, data]);
    expect(input.assumed).toBe(ASSUMED_APP_LABEL);
    expect(input.stacks.map((s) => s.name)).toEqual(["zmanim-scaled-data", "zmanim-scaled-app"]);
    const app = assumedAppStack(scaled).json.resource!;
    const t = scaled.topology!;
    expect(
      t.kind === "scaled" &&
        app.aws_launch_template.fleet.instance_type === t.fleet.instanceType &&
        app.aws_autoscaling_group.fleet.min_size === t.fleet.min,
    ).toBe(true);
    const withFleet = { name: "zmanim-scaled-app", json: { resource: { aws_autoscaling_group: { asg: {} } } } };
    expect(scaledInput(scaled, [box, data, withFleet])).toEqual({
      topology: "scaled",
      environment: "scaled",
      stacks: [box, data, withFleet],
    });
    expect(() => assumedAppStack(prod)).toThrow(/topology is single-box/);
  });

  it("npm run cost:curve refuses an unknown option", () => {
    let err = "";
    expect(
      curveMain(
        ["--bogus"],
        tmp,
        () => undefined,
        (s) => (err += s),
      ),
    ).toBe(2);
    expect(err).toContain('"--bogus": unknown option');
  });
});
