/**
 * Least privilege by construction: the deploy role's Allow statements are generated from the action map
 * for what the environment synthesizes (constructs/builders/deploy-role-policy.ts). This file shows the
 * other direction of the sufficiency tests (__tests__/iam/iam-sufficiency.test.ts): nothing is granted that
 * no synthesized resource, AMI build step, ami.yml call or CI script call needs, and every statement is
 * load-bearing (taking it away makes the simulation name the actions that then fail). It simulates a few
 * thousand requests per environment, so it lives in the iam jest project with the other heavy IAM files.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { EnvironmentConfig } from "../../constructs/config/environments";
import { ciRoleName } from "../../constructs/config/naming";
import {
  ADMIN_APPLIED,
  deployRoleRequests,
  grantStatements,
  PolicyStatement,
  unusedGrants,
} from "../../constructs/builders/deploy-role-policy";
import { actionData } from "../../constructs/builders/iam/iam-data-sync";
import { SERVICE_LINKED_ROLES } from "../../scripts/tools/preflight/checks";
import { RolePolicies, SimRequest, denials, rolePolicies } from "../../scripts/tools/iam/simulate";
import { shippedEnvironments } from "../../scripts/tools/iam/types";
import { synthAll } from "../helpers/synth";
import { TfDocument } from "../../constructs/builders/iam/tf-document";

jest.setTimeout(180_000);

const statementsOf = (role: RolePolicies): PolicyStatement[] =>
  role.policies.flatMap((p) =>
    ([] as PolicyStatement[]).concat(p.policy.Statement as PolicyStatement | PolicyStatement[]),
  );

/** The stacks the deploy role applies, from the synthesized JSON (independent of the construct tree the stack used). */
const workloadOf = (stacks: Record<string, TfDocument>) =>
  Object.fromEntries(Object.entries(stacks).filter(([n]) => !ADMIN_APPLIED.includes(n)));

describe.each(shippedEnvironments().map((e) => [e.name, e] as [string, EnvironmentConfig]))(
  "deploy role least privilege (%s)",
  (_name, env) => {
    let role: RolePolicies;
    let requests: SimRequest[];
    let generated: PolicyStatement[];
    beforeAll(() => {
      const stacks = synthAll(env).stacks as Record<string, TfDocument>;
      role = rolePolicies(stacks, ciRoleName(env, "deploy"), env.accountId);
      requests = deployRoleRequests(env, workloadOf(stacks));
      generated = statementsOf(role).filter((s) => s.Effect === "Allow" && !s.Sid.startsWith("State"));
    });

    it("the synthesized role carries exactly the statements generated from the synthesized stacks", () => {
      expect(generated).toEqual(grantStatements(requests, env));
    });

    it("every granted action, on every resource it is granted on, is one a synthesized resource needs", () => {
      expect(generated.length).toBeGreaterThan(40);
      expect(unusedGrants(statementsOf(role), requests)).toEqual([]);
    });

    it("an unused action added to a statement is reported, naming it", () => {
      const copy = JSON.parse(JSON.stringify(statementsOf(role))) as PolicyStatement[];
      const ec2 = copy.find((s) => s.Effect === "Allow" && s.Action.includes("ec2:CreateSecurityGroup"))!;
      ec2.Action.push("ec2:CreateVpnGateway");
      expect(unusedGrants(copy, requests)).toEqual(
        ec2.Resource.map((r) => `ec2:CreateVpnGateway on ${r} (${ec2.Sid}): no synthesized resource needs it`),
      );
    });

    it("taking away any generated statement makes the simulation deny each of its actions, by name", async () => {
      const missing: string[] = [];
      for (const st of generated) {
        const without: RolePolicies = {
          ...role,
          policies: role.policies.map((p) => ({
            ...p,
            policy: {
              ...p.policy,
              Statement: ([] as PolicyStatement[])
                .concat(p.policy.Statement as PolicyStatement[])
                .filter((x) => x.Sid !== st.Sid),
            },
          })),
        };
        const asked = requests.filter((r) => st.Action.some((a) => a.toLowerCase() === r.action.toLowerCase()));
        const failed = new Set((await denials(without, asked)).map((d) => d.action.toLowerCase()));
        for (const a of st.Action)
          if (!failed.has(a.toLowerCase()))
            missing.push(`${st.Sid}: without it, ${a} is still allowed everywhere it is needed`);
      }
      expect(missing).toEqual([]);
    });
  },
);

/**
 * Actions granted on `*` although the Service Authorization Reference lists a resource type for them: the
 * type is optional and the role's call names none, so IAM authorizes the call against `*`. PutMetricData's
 * `dataset` is named by calls that send to a CloudWatch dataset; deploy-stacks.sh's put-metric-data sends
 * none (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
 */
const OPTIONAL_TYPE_UNNAMED: Record<string, string[]> = { "cloudwatch:PutMetricData": ["dataset"] };

describe("deploy role: the actions granted on `*`", () => {
  const doc = readFileSync(join(__dirname, "..", "..", "docs", "iam-sufficiency.md"), "utf8");
  const section = doc.slice(doc.indexOf("### Actions granted on `*`"));
  const listed = new Set([...section.matchAll(/^\| `([a-z0-9-]+:[A-Za-z0-9]+)` \|/gm)].map((m) => m[1]));

  it.each(shippedEnvironments().map((e) => [e.name, e] as [string, EnvironmentConfig]))(
    "%s: each has no resource type in the Service Authorization Reference, and docs/iam-sufficiency.md lists it",
    (_name, env) => {
      const role = rolePolicies(
        synthAll(env).stacks as Record<string, TfDocument>,
        ciRoleName(env, "deploy"),
        env.accountId,
      );
      const onStar = [
        ...new Set(
          statementsOf(role)
            .filter((s) => s.Effect === "Allow" && s.Resource.includes("*"))
            .flatMap((s) => s.Action),
        ),
      ].sort();
      expect(onStar.length).toBeGreaterThan(30);
      const typed = onStar.filter((a) => actionData(a).resourceTypes.length > 0);
      expect(
        typed.map((a) => [a, actionData(a).resourceTypes.map((t) => `${t.name}${t.required ? " (required)" : ""}`)]),
      ).toEqual(Object.entries(OPTIONAL_TYPE_UNNAMED).filter(([a]) => onStar.includes(a)));
      // ... and is scoped by its namespace instead.
      const metrics = statementsOf(role).filter(
        (s) => s.Effect === "Allow" && s.Action.includes("cloudwatch:PutMetricData"),
      );
      expect(metrics.map((s) => [s.Action, s.Resource, s.Condition])).toEqual([
        [
          ["cloudwatch:PutMetricData"],
          ["*"],
          { StringEquals: { "cloudwatch:namespace": "Zmanim/Deploy", "aws:RequestedRegion": env.region } },
        ],
      ]);
      expect(onStar.filter((a) => !listed.has(a))).toEqual([]);
    },
  );
});

describe("deploy role: the service-linked roles scripts/tools/preflight/checks.ts expects it to be able to create", () => {
  it.each(shippedEnvironments().map((e) => [e.name, e] as [string, EnvironmentConfig]))("%s", (_name, env) => {
    const stacks = synthAll(env).stacks as Record<string, TfDocument>;
    const role = rolePolicies(stacks, ciRoleName(env, "deploy"), env.accountId);
    const creatable = statementsOf(role)
      .filter((s) => s.Effect === "Allow" && s.Action.includes("iam:CreateServiceLinkedRole"))
      .map((s) => s.Condition?.StringEquals?.["iam:AWSServiceName"]);
    // What the preflight checks, where the environment synthesizes what creates it.
    const has = (type: string) => Object.values(stacks).some((s) => Object.keys(s.resource?.[type] ?? {}).length > 0);
    const expected = SERVICE_LINKED_ROLES.map(([service]) => service).filter((service) =>
      service === "events.amazonaws.com"
        ? has("aws_instance")
        : service === "ops.apigateway.amazonaws.com"
          ? has("aws_apigatewayv2_vpc_link")
          : true,
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(creatable).toEqual(expect.arrayContaining(expected));
  });
});
