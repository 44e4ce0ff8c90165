/**
 * scripts/tools/cost/diff.ts: the pull request's cost report. Two synthesized trees that differ by known resources
 * (prod, and prod with the web ACL on: aws_wafv2_web_acl in us-east-1) are
 * priced by the real `npm run cost` entry point, then diffed: the lines, the totals and the budget gate.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { main as costMain } from "../../scripts/tools/cost/cli";
import { CostReportJson, diffReports, main as diffMain, renderDiffMarkdown } from "../../scripts/tools/cost/diff";
import { prod } from "../../constructs/config/environments";
import { variantEnvironments } from "../../scripts/tools/iam/types";
import { synthAll } from "../helpers/synth";

const dir = mkdtempSync(join(tmpdir(), "zmanim-cost-diff-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `npm run cost -- --outdir OUT --json FILE` in-process; returns the report. */
function price(outdir: string, name: string): CostReportJson {
  const file = join(dir, `${name}.json`);
  const code = costMain(
    ["--outdir", outdir, "--json", file],
    { ZMANIM_ENV: "prod" },
    () => undefined,
    () => undefined,
  );
  expect([name, code <= 1]).toEqual([name, true]); // 1 is "over budget", still a report
  return JSON.parse(readFileSync(file, "utf8")) as CostReportJson;
}

function diffCli(base: CostReportJson, head: CostReportJson): { code: number; out: string; err: string } {
  const b = join(dir, "b.json");
  const h = join(dir, "h.json");
  writeFileSync(b, JSON.stringify(base));
  writeFileSync(h, JSON.stringify(head));
  let out = "";
  let err = "";
  const code = diffMain(
    [b, h],
    (s) => (out += s),
    (s) => (err += s),
  );
  return { code, out, err };
}

describe("cost diff of two synthesized trees", () => {
  const base = price(synthAll(prod).outdir, "base");
  const head = price(synthAll(variantEnvironments()["prod+waf"]).outdir, "head");

  it("lists exactly the resources that differ, with their monthly cost, and both totals", () => {
    const d = diffReports(base, head);
    expect(d.resources.map((r) => [r.resource, r.kind, r.baseUsd, Number(r.headUsd.toFixed(2))])).toEqual(WAF_LINES);
    expect(d.base.totalUsd).toBe(base.totalUsd);
    expect(d.head.totalUsd).toBe(head.totalUsd);
    // The web ACL is not covered by the compute commitment: the totals differ by its full price.
    expect(Number(d.deltaUsd.toFixed(2))).toBe(10.31);
    const md = renderDiffMarkdown(d);
    expect(md).toContain(`| base | $${base.totalUsd.toFixed(2)} | $50.00 (over) |`);
    expect(md).toContain(`| head | $${head.totalUsd.toFixed(2)} | $50.00 (over) |`);
    for (const [resource, , , usd] of WAF_LINES)
      expect(md).toContain(
        `| \`${resource}\` (added) | $0.00 | $${(usd as number).toFixed(2)} | +$${(usd as number).toFixed(2)} |`,
      );
  });

  it("the same tree twice: no resource changed, within budget or not", () => {
    const d = diffReports(base, base);
    expect([d.resources, d.deltaUsd]).toEqual([[], 0]);
    expect(renderDiffMarkdown(d)).toContain("No resource's monthly cost changed.");
  });

  it("budget gate: fails only when the change takes the estimate over; already over is a warning", () => {
    const at = (r: CostReportJson, budgetUsd: number) => ({ ...r, budgetUsd });
    // Budget between the two totals: the change crosses it.
    const between = (base.totalUsd + head.totalUsd) / 2;
    const crosses = diffCli(at(base, between), at(head, between));
    expect([crosses.code, crosses.err]).toEqual([1, expect.stringContaining("this change takes prod over its budget")]);
    expect(crosses.out).toContain("**This change takes the estimate over the budget");
    // Both under: green.
    const within = diffCli(at(base, 1000), at(head, 1000));
    expect([within.code, within.err, within.out]).toEqual([0, "", expect.stringContaining("Within budget")]);
    // Base already over (prod's own $50 today): a warning, not red, even though head adds cost.
    const over = diffCli(base, head);
    expect([over.code, over.err]).toEqual([
      0,
      expect.stringMatching(/^::warning::cost: prod was already over its budget before this change/),
    ]);
    // The change brings it back under: green.
    expect(diffCli(at(head, between), at(base, between)).code).toBe(0);
  });

  it("bad input exits 2 and names the file and the fix", () => {
    let err = "";
    expect(
      diffMain(
        [join(dir, "none.json"), join(dir, "b.json")],
        () => undefined,
        (s) => (err += s),
      ),
    ).toBe(2);
    expect(err).toContain("none.json: no such file; write it with `npm run cost -- --json");
    writeFileSync(join(dir, "x.json"), JSON.stringify({ environment: "prod", totalUsd: "12" }));
    err = "";
    expect(
      diffMain(
        [join(dir, "x.json"), join(dir, "x.json")],
        () => undefined,
        (s) => (err += s),
      ),
    ).toBe(2);
    expect(err).toContain("field budgetUsd is undefined, expected a number");
    err = "";
    expect(diffCli({ ...base, environment: "staging" }, head).code).toBe(2);
  });
});

/**
 * The web ACL's line: resource, kind, base, head (USD a month: $5 per web ACL, $1 per rule, $0.60 per million
 * requests it inspects; rates in scripts/tools/cost/rates.ts). Nothing else differs between the two trees.
 */
const WAF_LINES: Array<[string, string, number, number]> = [
  ["zmanim-prod-cdn aws_wafv2_web_acl.web-acl", "added", 0, 10.31],
];
