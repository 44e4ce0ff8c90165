/**
 * Terraform Cloud as the environment's state and run platform: the typed `state` field and its overrides,
 * the `cloud` block and remote-state reads of every stack, and the cicd stack's workload identity (OIDC
 * provider, plan and apply roles with pinned trust and the GitHub roles' own policies).
 */
import { EnvironmentConfig, prod, scaled } from "../../constructs/config/environments";
import { environmentProblems, selectEnvironment } from "../../constructs/config/validate-environment";
import { cloudBackendOf, stackShortNames, tfcSubjects, tfcRoleName } from "../../constructs/config/terraform-cloud";

import { tfcTrustPolicy } from "../../constructs/tfc-workload-identity";
import { ciRoleName } from "../../constructs/config/naming";
import { statements } from "../helpers/policy";
import { synthAll, TfJson } from "../helpers/synth";

const cloud = (base: EnvironmentConfig, extra: Record<string, unknown> = {}): EnvironmentConfig => ({
  ...base,
  state: { kind: "cloud", organization: "shtetl", workspacePrefix: `zmanim-${base.name}-`, ...extra },
});

describe("state: the Terraform Cloud fields", () => {
  it("defaults project, execution mode, hostname and Terraform version", () => {
    expect(cloudBackendOf(cloud(prod))).toEqual({
      organization: "shtetl",
      hostname: "app.terraform.io",
      project: "zmanim-prod",
      workspacePrefix: "zmanim-prod-",
      executionMode: "remote",
      terraformVersion: "1.11.4",
    });
    expect(cloudBackendOf(prod)).toBeUndefined();
  });

  it("names the field, the value and the fix for each invalid value", () => {
    const problems = environmentProblems(
      cloud(prod, {
        organization: "shtetl inc",
        project: "x",
        executionMode: "cloud",
        terraformVersion: "~> 1.11",
        hostname: "https://app.terraform.io",
      }),
    );
    expect(problems).toEqual([
      'state.organization = "shtetl inc": use the Terraform Cloud organization name (letters, digits, - and _)',
      'state.project = "x": use 3 to 40 letters, digits, spaces, - or _ (e.g. "zmanim-prod"), or leave it out for zmanim-<env>; TFC_PROJECT overrides it',
      'state.executionMode = "cloud": use one of "remote", "local", "agent"; "remote" records runs in Terraform Cloud with dynamic AWS credentials; TFC_EXECUTION_MODE overrides it',
      'state.terraformVersion = "~> 1.11": use an exact Terraform release such as "1.11.4" (the one CI installs)',
      'state.hostname = "https://app.terraform.io": use a host name without scheme, e.g. "app.terraform.io" or your Terraform Enterprise host',
    ]);
    expect(environmentProblems(cloud(prod, { workspacePrefix: "x".repeat(84) }))).toEqual([
      `state.workspacePrefix = "${"x".repeat(84)}": workspace names are at most 90 characters; shorten the prefix`,
    ]);
    expect(
      environmentProblems(cloud(prod, { project: "zmanim prod", executionMode: "agent", terraformVersion: "1.12.0" })),
    ).toEqual([]);
  });

  it("keeps the environment variables as overrides, on an S3 environment and on a cloud one", () => {
    const defs = {
      prod,
      tfc: cloud(
        {
          ...prod,
          name: "tfc",
          vpcCidr: "10.50.0.0/16",
          publicSubnetCidr: "10.50.0.0/24",
          github: { ...prod.github, oidcProvider: "lookup" },
          activatesCostAllocationTags: false,
        },
        { project: "from-file", executionMode: "remote" },
      ),
    };
    expect(selectEnvironment([], {}, defs)).toBe(prod);
    expect(
      selectEnvironment(
        [],
        {
          ZMANIM_STATE_BACKEND: "cloud",
          TFC_ORGANIZATION: "o",
          TFC_PROJECT: "p-1",
          TFC_EXECUTION_MODE: "agent",
          TFC_WORKSPACE_PREFIX: "w-",
        },
        defs,
      ).state,
    ).toEqual({ kind: "cloud", organization: "o", workspacePrefix: "w-", project: "p-1", executionMode: "agent" });
    expect(selectEnvironment(["--env", "tfc"], { TFC_PROJECT: "override" }, defs).state).toEqual({
      kind: "cloud",
      organization: "shtetl",
      workspacePrefix: "zmanim-tfc-",
      project: "override",
      executionMode: "remote",
    });
    expect(() => selectEnvironment(["--env", "tfc"], { TFC_EXECUTION_MODE: "fast" }, defs)).toThrow(
      /state.executionMode = "fast": use one of "remote", "local", "agent"/,
    );
    expect(() => selectEnvironment(["--env", "tfc"], { ZMANIM_STATE_BACKEND: "s3" }, defs)).toThrow(
      /ZMANIM_STATE_BACKEND = "s3": environment "tfc" selects Terraform Cloud \(state.kind "cloud"\) and names no state bucket/,
    );
  });
});

describe.each([
  ["prod", cloud(prod)],
  ["scaled", cloud(scaled)],
])("Terraform Cloud mode (%s)", (name, env) => {
  const s = synthAll(env);

  it("lists exactly the stacks the app synthesizes", () => {
    expect(
      stackShortNames(env)
        .map((x) => `zmanim-${name}-${x}`)
        .sort(),
    ).toEqual(Object.keys(s.manifest.stacks).sort());
  });

  it("writes a cloud block (organization, project, the stack's own workspace) in every stack and no S3 backend", () => {
    for (const [short, json] of Object.entries(s.stacks)) {
      expect([short, json.terraform.cloud, json.terraform.backend]).toEqual([
        short,
        {
          hostname: "app.terraform.io",
          organization: "shtetl",
          workspaces: { name: `zmanim-${name}-${short}`, project: `zmanim-${name}` },
        },
        undefined,
      ]);
    }
  });

  it("reads every producer's state from its own workspace in the same organization, as the manifest says", () => {
    let reads = 0;
    for (const [short, json] of Object.entries(s.stacks)) {
      const deps = s.manifest.stacks[`zmanim-${name}-${short}`].dependencies;
      const remote = Object.values(json.data?.terraform_remote_state ?? {});
      for (const rs of remote) {
        reads++;
        expect(rs.backend).toBe("remote");
        const cfg = rs.config as { organization: string; hostname: string; workspaces: { name: string } };
        expect([cfg.organization, cfg.hostname]).toEqual(["shtetl", "app.terraform.io"]);
        expect(deps).toContain(cfg.workspaces.name);
        expect(Object.keys(s.manifest.stacks)).toContain(cfg.workspaces.name);
      }
    }
    expect(reads).toBeGreaterThan(3);
  });

  describe("cicd: workload identity for Terraform Cloud runs", () => {
    const cicd = s.stacks.cicd;
    const res = (type: string) => (cicd.resource?.[type] ?? {}) as Record<string, Record<string, unknown>>;

    it("creates the OIDC provider for https://app.terraform.io with audience aws.workload.identity", () => {
      const p = res("aws_iam_openid_connect_provider").tfc_oidc;
      expect({ url: p.url, client_id_list: p.client_id_list }).toEqual({
        url: "https://app.terraform.io",
        client_id_list: ["aws.workload.identity"],
      });
    });

    it("pins each phase role's trust to the audience and to organization, project, workspace and run phase, without wildcards", () => {
      const remote = stackShortNames(env).filter((x) => x !== "cicd");
      for (const phase of ["plan", "apply"] as const) {
        const role = res("aws_iam_role")[`tfc_${phase}`];
        expect(role.name).toBe(`zmanim-${name}-tfc-${phase}`);
        const [st] = statements(role.assume_role_policy);
        expect(st.Principal).toEqual({ Federated: "arn:aws:iam::111111111111:oidc-provider/app.terraform.io" });
        expect(st.Action).toBe("sts:AssumeRoleWithWebIdentity");
        expect(st.Condition).toEqual({
          StringEquals: {
            "app.terraform.io:aud": "aws.workload.identity",
            "app.terraform.io:sub": remote.map(
              (x) => `organization:shtetl:project:zmanim-${name}:workspace:zmanim-${name}-${x}:run_phase:${phase}`,
            ),
          },
        });
        expect(String(role.assume_role_policy)).not.toMatch(/\*/);
        expect(tfcTrustPolicy(env, phase)).toEqual(JSON.parse(String(role.assume_role_policy)));
      }
      expect(tfcSubjects(env, "apply")).not.toContain(
        `organization:shtetl:project:zmanim-${name}:workspace:zmanim-${name}-cicd:run_phase:apply`,
      );
    });

    it("attaches the apply role to exactly the deploy role's policies and the plan role to the plan role's (same resources)", () => {
      const attachments = (roleId: string) =>
        Object.values(res("aws_iam_role_policy_attachment"))
          .filter((a) => a.role === `\${aws_iam_role.${roleId}.name}`)
          .map((a) => String(a.policy_arn))
          .sort();
      expect(attachments("tfc_apply")).toEqual(attachments("gha_deploy"));
      expect(attachments("tfc_plan")).toEqual(attachments("gha_plan"));
      expect(attachments("tfc_apply").length).toBeGreaterThanOrEqual(4);
      expect(attachments("tfc_plan")).toContain("arn:aws:iam::aws:policy/ReadOnlyAccess");
      expect(Object.keys(res("aws_iam_role_policy")).filter((k) => k.startsWith("tfc"))).toEqual([]);
    });

    it("denies the deploy (and so the apply) role any write to the Terraform Cloud roles and provider", () => {
      const iam = Object.values(res("aws_iam_policy")).flatMap((p) => statements((p as { policy: string }).policy));
      const deny = iam.find((x) => x.Sid === "NeverTheTrustRoot");
      expect(deny?.Resource).toEqual(
        expect.arrayContaining([
          `arn:aws:iam::111111111111:role/zmanim-${name}-tfc-*`,
          "arn:aws:iam::111111111111:oidc-provider/app.terraform.io",
        ]),
      );
      expect(tfcRoleName(env, "apply")).toBe(`zmanim-${name}-tfc-apply`);
      expect(ciRoleName(env, "deploy")).toBe(`zmanim-${name}-gha-deploy`);
    });

    it("outputs both role ARNs for the bootstrap", () => {
      expect(cicd.output?.tfc_plan_role_arn).toEqual({ value: "${aws_iam_role.tfc_plan.arn}" });
      expect(cicd.output?.tfc_apply_role_arn).toEqual({ value: "${aws_iam_role.tfc_apply.arn}" });
    });
  });
});

describe("S3 environments are untouched", () => {
  it.each([
    ["prod", prod],
    ["scaled", scaled],
  ])("%s: no Terraform Cloud provider, role or output", (_n, env) => {
    const cicd: TfJson = synthAll(env).stacks.cicd;
    // The GitHub provider: created by prod, looked up by scaled (one per account).
    expect([
      ...Object.keys(cicd.resource?.aws_iam_openid_connect_provider ?? {}),
      ...Object.keys(cicd.data?.aws_iam_openid_connect_provider ?? {}),
    ]).toEqual(["github_oidc"]);
    expect(Object.keys(cicd.resource?.aws_iam_role ?? {}).filter((k) => k.startsWith("tfc"))).toEqual([]);
    expect(Object.keys(cicd.output ?? {}).filter((k) => k.startsWith("tfc"))).toEqual([]);
    expect(JSON.stringify(cicd)).not.toContain("tfc-");
  });
});
