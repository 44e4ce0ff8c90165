/**
 * The accepted-risk register (docs/security/accepted-risks.md) against the project's policy rule set
 * (scripts/tools/policy/rules.ts) over every stack of every shipped environment: every finding is listed, and every
 * listed line still matches a finding.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { environments } from "../../constructs/config/environments";
import { covers, Finding, findings, parseRegister, reconcile, RULES } from "../../scripts/tools/policy/rules";
import { synthAll } from "../helpers/synth";

const REGISTER_PATH = join(__dirname, "../../docs/security/accepted-risks.md");
const register = () => parseRegister(readFileSync(REGISTER_PATH, "utf8"));

/** Findings of every shipped environment, each address tagged with its environment. */
function allFindings(): Array<Finding & { env: string }> {
  return Object.values(environments).flatMap((env) => {
    const s = synthAll(env);
    const stacks = Object.entries(s.stacks).map(([stack, json]) => ({ stack, resources: (json.resource ?? {}) as never }));
    return findings(stacks).map((f) => ({ ...f, env: env.name }));
  });
}

describe("accepted-risk register", () => {
  let found: Array<Finding & { env: string }>;
  beforeAll(() => {
    found = allFindings();
  });

  it("lists every finding of every stack of every shipped environment", () => {
    const { unlisted } = reconcile(found, register());
    expect(unlisted.map((f) => `${f.id} ${f.address} (${(f as Finding & { env: string }).env})`)).toEqual([]);
  });

  it("has no stale line: every entry still matches a finding", () => {
    const { stale } = reconcile(found, register());
    expect(stale.map((e) => `line ${e.line}: ${e.id} (${e.scope})`)).toEqual([]);
  });

  it("gives each entry a reason, a price or alternative, and when to revisit; one line per id and scope", () => {
    const entries = register();
    expect(entries.length).toBeGreaterThanOrEqual(10);
    for (const e of entries) {
      expect([e.id, e.scope, /revisit/i.test(e.reason)]).toEqual([e.id, e.scope, true]);
      // The id is one the rule set checks, for a type it checks.
      const rule = RULES.find((r) => r.id === e.id && (e.scope === r.type || e.scope.includes(`/${r.type}.`)));
      expect([e.id, e.scope, rule !== undefined]).toEqual([e.id, e.scope, true]);
    }
    const keys = entries.map((e) => `${e.id} ${e.scope}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it("the rule set runs over every stack: it sees resources of each environment's stacks", () => {
    for (const env of Object.values(environments)) {
      const stacks = Object.keys(synthAll(env).stacks);
      expect([env.name, stacks.length >= 8]).toEqual([env.name, true]);
    }
    expect(new Set(found.map((f) => f.env))).toEqual(new Set(Object.keys(environments).map((k) => environments[k].name)));
  });
});

describe("reconcile", () => {
  const f = (id: string, address: string): Finding => ({ id, type: address.split("/")[1].split(".")[0], address });
  const entries = parseRegister(
    "intro\n\n- CKV_AWS_158 (aws_cloudwatch_log_group): reason, revisit.\n- CKV_AWS_21 (storage/aws_s3_bucket.logs_bucket): reason, revisit.\n",
  );

  it("fails on an unlisted finding, naming it", () => {
    const { unlisted } = reconcile([f("CKV_AWS_158", "api/aws_cloudwatch_log_group.x"), f("CKV_AWS_21", "storage/aws_s3_bucket.static_bucket")], entries);
    expect(unlisted).toEqual([f("CKV_AWS_21", "storage/aws_s3_bucket.static_bucket")]);
  });

  it("fails on a stale entry whose finding is gone", () => {
    const { stale } = reconcile([f("CKV_AWS_158", "api/aws_cloudwatch_log_group.x")], entries);
    expect(stale.map((e) => e.scope)).toEqual(["storage/aws_s3_bucket.logs_bucket"]);
  });

  it("a type scope covers every resource of the type, an address scope only that resource", () => {
    expect(covers(entries[0], f("CKV_AWS_158", "compute/aws_cloudwatch_log_group.y"))).toBe(true);
    expect(covers(entries[1], f("CKV_AWS_21", "storage/aws_s3_bucket.logs_bucket"))).toBe(true);
    expect(covers(entries[1], f("CKV_AWS_21", "storage/aws_s3_bucket.backups_bucket"))).toBe(false);
  });

  it("refuses a list item without the entry's shape, naming the line", () => {
    expect(() => parseRegister("x\n- CKV_AWS_1 missing scope\n")).toThrow(/line 2: "- CKV_AWS_1 missing scope" is not/);
  });
});
