/**
 * The optional web ACL (`waf` in the environment): off in every shipped environment (the budget's choice,
 * docs/security/accepted-risks.md CKV_AWS_68); when on, a CLOUDFRONT-scope web ACL in us-east-1 with AWS
 * managed common rules and a per-IP rate limit on /api/*, attached to the distribution and shown by the
 * cost report.
 */
import { environments, prod } from "../../constructs/config/environments";
import { validateEnvironment } from "../../constructs/config/validate-environment";
import { main as costMain } from "../../scripts/tools/cost/cli";
import { synthAll } from "../helpers/synth";

type Body = Record<string, unknown>;
const withWaf = { ...prod, waf: { enabled: true, apiRateLimitPer5Min: 1000 } };

describe("waf", () => {
  it("is off in every shipped environment: no web ACL, no web_acl_id", () => {
    for (const env of Object.values(environments)) {
      const r = synthAll(env).stacks.cdn.resource as Record<string, Record<string, Body>>;
      expect([env.name, r.aws_wafv2_web_acl, r.aws_cloudfront_distribution.distribution.web_acl_id]).toEqual([
        env.name,
        undefined,
        undefined,
      ]);
    }
  });

  it("when on: one CLOUDFRONT web ACL in us-east-1, common rules and an /api/* rate limit, attached to the distribution", () => {
    const r = synthAll(withWaf).stacks.cdn.resource as Record<string, Record<string, Body>>;
    const acl = r.aws_wafv2_web_acl["web-acl"];
    expect([acl.provider, acl.scope, acl.name, acl.default_action]).toEqual([
      "aws.us-east-1",
      "CLOUDFRONT",
      "zmanim-prod-edge",
      { allow: {} },
    ]);
    const rules = acl.rule as Body[];
    expect(rules.map((x) => [x.name, x.priority])).toEqual([
      ["aws-common", 0],
      ["api-rate-limit", 1],
    ]);
    expect(rules[0].statement).toEqual({
      managed_rule_group_statement: { vendor_name: "AWS", name: "AWSManagedRulesCommonRuleSet" },
    });
    expect(rules[0].override_action).toEqual({ none: {} });
    expect(rules[1].action).toEqual({ block: {} });
    const rate = (rules[1].statement as Body).rate_based_statement as Body;
    expect([rate.limit, rate.aggregate_key_type]).toEqual([1000, "IP"]);
    expect((rate.scope_down_statement as Body).byte_match_statement).toEqual(
      expect.objectContaining({
        search_string: "/api/",
        positional_constraint: "STARTS_WITH",
        field_to_match: { uri_path: {} },
      }),
    );
    expect(r.aws_cloudfront_distribution.distribution.web_acl_id).toBe("${aws_wafv2_web_acl.web-acl.arn}");
  });

  it("when on, the cost report shows the web ACL, its rules and the inspected requests", () => {
    const out: string[] = [];
    costMain(
      ["--env", "prod", "--outdir", synthAll(withWaf).outdir],
      {},
      (s) => out.push(s),
      (s) => out.push(s),
    );
    const text = out.join("");
    expect(text).toMatch(/aws_wafv2_web_acl\.web-acl\s+web ACL\s+\$5\.00/);
    expect(text).toMatch(/aws_wafv2_web_acl\.web-acl\s+rules\s+\$2\.00/);
    expect(text).toMatch(/aws_wafv2_web_acl\.web-acl\s+requests inspected/);
  });

  it("refuses a rate limit outside AWS WAF's range, naming the field", () => {
    expect(() => validateEnvironment({ ...prod, waf: { enabled: true, apiRateLimitPer5Min: 5 } })).toThrow(
      /waf\.apiRateLimitPer5Min = 5: use a whole number/,
    );
  });
});
