import { environments, EnvironmentConfig, prod, staging } from "../../constructs/config/environments";
import {
  DEPLOY_ENVIRONMENT,
  GITHUB_OIDC_AUDIENCE,
  GITHUB_OIDC_HOST,
  READ_ONLY_ACCESS_ARN,
  ciSubjects,
  githubOidcProviderArn,
} from "../../stacks/cicd";
import { ciRoleName } from "../../constructs/config/naming";
import { githubOidcProviderMode } from "../../constructs/config/github-oidc";
import { environmentProblems, selectEnvironment } from "../../constructs/config/validate-environment";
import { asList, Statement, statements } from "../helpers/policy";
import { synthAll, TfJson, stackResourcesOfType } from "../helpers/synth";
import { ConfigError } from "../../constructs/config/errors";

type Body = Record<string, unknown>;
const resources = (json: TfJson, type: string, min = 1): Array<[string, Body]> =>
  stackResourcesOfType(json, type, { min });

/** Every policy statement a CI role gets, through managed policies attached to it (by role name). */
function roleStatements(json: TfJson, roleName: string): Statement[] {
  const policiesById = new Map(resources(json, "aws_iam_policy").map(([id, b]) => [id, b]));
  const out: Statement[] = [];
  for (const [, att] of resources(json, "aws_iam_role_policy_attachment")) {
    if (att.role !== `\${aws_iam_role.${roleIdOf(json, roleName)}.name}`) continue;
    const m = /^\$\{aws_iam_policy\.([\w-]+)\.arn\}$/.exec(String(att.policy_arn));
    if (m) out.push(...statements(policiesById.get(m[1])?.policy));
  }
  // A role may have no inline policy: its statements then all come from attachments.
  for (const [, p] of resources(json, "aws_iam_role_policy", 0)) {
    if (String(p.role).includes(roleIdOf(json, roleName))) out.push(...statements(p.policy));
  }
  return out;
}

function roleIdOf(json: TfJson, roleName: string): string {
  const hit = resources(json, "aws_iam_role").find(([, b]) => b.name === roleName);
  if (!hit) throw new Error(`no role named ${roleName}`);
  return hit[0];
}

function managedAttachments(json: TfJson, roleName: string): string[] {
  const id = roleIdOf(json, roleName);
  return resources(json, "aws_iam_role_policy_attachment")
    .filter(([, a]) => a.role === `\${aws_iam_role.${id}.name}` && !String(a.policy_arn).startsWith("${"))
    .map(([, a]) => String(a.policy_arn));
}

/** Does an IAM pattern (with * and ?) match a concrete string? */
const iamMatch = (pattern: string, value: string) =>
  new RegExp(
    "^" +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".") +
      "$",
  ).test(value);

describe.each(Object.entries(environments))("cicd stack (%s)", (_name, env) => {
  const cicd = synthAll(env).stacks.cicd;
  const roles = resources(cicd, "aws_iam_role");

  it("creates GitHub's OIDC provider for sts.amazonaws.com only, with no pinned thumbprint, or looks it up, under a pinned id", () => {
    const providers = resources(cicd, "aws_iam_openid_connect_provider", 0);
    const lookups = Object.entries(cicd.data?.aws_iam_openid_connect_provider ?? {});
    if (githubOidcProviderMode(env) === "lookup") {
      expect(providers).toEqual([]);
      expect(lookups.map(([id, d]) => [id, d.url])).toEqual([["github_oidc", `https://${GITHUB_OIDC_HOST}`]]);
      return;
    }
    expect(lookups).toEqual([]);
    expect(providers.map(([id]) => id)).toEqual(["github_oidc"]);
    const [, p] = providers[0];
    expect(p.url).toBe(`https://${GITHUB_OIDC_HOST}`);
    expect(p.client_id_list).toEqual([GITHUB_OIDC_AUDIENCE]);
    expect(p.thumbprint_list).toBeUndefined();
  });

  it("creates exactly the plan, deploy and release roles, named by constructs/config/naming.ts, under pinned ids", () => {
    expect(Object.fromEntries(roles.map(([id, b]) => [id, b.name]))).toEqual({
      gha_plan: ciRoleName(env, "plan"),
      gha_deploy: ciRoleName(env, "deploy"),
      gha_release: ciRoleName(env, "release"),
    });
  });

  it("every role trusts only GitHub's provider, with aud and sub pinned by StringEquals to exact repositories", () => {
    const expected: Record<string, string[]> = {
      [ciRoleName(env, "plan")]: [
        `repo:${env.github.infraRepository}:pull_request`,
        `repo:${env.github.infraRepository}:ref:refs/heads/main`,
      ],
      [ciRoleName(env, "deploy")]: [`repo:${env.github.infraRepository}:environment:${DEPLOY_ENVIRONMENT}`],
      [ciRoleName(env, "release")]: [
        `repo:${env.github.infraRepository}:environment:${DEPLOY_ENVIRONMENT}`,
        `repo:${env.github.appRepository}:environment:${DEPLOY_ENVIRONMENT}`,
      ],
    };
    for (const [id, role] of roles) {
      const sts = statements(role.assume_role_policy);
      expect([id, sts.length]).toEqual([id, 1]);
      const st = sts[0];
      expect([id, st.Effect, st.Action, st.Principal]).toEqual([
        id,
        "Allow",
        "sts:AssumeRoleWithWebIdentity",
        { Federated: githubOidcProviderArn(env) },
      ]);
      // Only StringEquals: no StringLike, no ForAnyValue, nothing a wildcard could slip through.
      expect([id, Object.keys(st.Condition ?? {})]).toEqual([id, ["StringEquals"]]);
      const eq = st.Condition!.StringEquals;
      expect([id, eq[`${GITHUB_OIDC_HOST}:aud`]]).toEqual([id, GITHUB_OIDC_AUDIENCE]);
      const subs = asList(eq[`${GITHUB_OIDC_HOST}:sub`] as string | string[]);
      expect([id, subs]).toEqual([id, expected[String(role.name)]]);
      for (const sub of subs) {
        expect([id, sub]).toEqual([
          id,
          expect.stringMatching(
            /^repo:[A-Za-z0-9-]+\/[A-Za-z0-9._-]+:(pull_request|ref:refs\/heads\/main|environment:production)$/,
          ),
        ]);
      }
    }
  });

  it("no role gets a '*' action on a '*' resource, except the managed ReadOnlyAccess on the plan role", () => {
    for (const [, role] of roles) {
      const name = String(role.name);
      const sts = roleStatements(cicd, name);
      expect([name, sts.length]).toEqual([name, expect.any(Number)]);
      expect(sts.length).toBeGreaterThan(0);
      for (const st of sts) {
        if (st.Effect !== "Allow") continue;
        const actions = asList(st.Action);
        const res = asList(st.Resource);
        expect([name, st.Sid, st.NotAction, st.NotResource]).toEqual([name, st.Sid, undefined, undefined]);
        const allActions = actions.some((a) => a === "*" || a === "*:*");
        expect([name, st.Sid, allActions]).toEqual([name, st.Sid, false]);
        // A service wildcard (ec2:*, s3:*) needs a scoped resource or a condition.
        const serviceWildcard = actions.some((a) => /^[a-z0-9-]+:\*$/.test(a));
        if (serviceWildcard && res.includes("*")) {
          expect([name, st.Sid, st.Condition]).toEqual([name, st.Sid, expect.any(Object)]);
        }
      }
      const managed = managedAttachments(cicd, name);
      expect([name, managed]).toEqual([name, name === ciRoleName(env, "plan") ? [READ_ONLY_ACCESS_ARN] : []]);
    }
  });

  it("the deploy role grants no service wildcard (`ec2:*`) and no `*` action: its grants are generated per action", () => {
    const actions = roleStatements(cicd, ciRoleName(env, "deploy"))
      .filter((s) => s.Effect === "Allow")
      .flatMap((s) => asList(s.Action));
    expect(actions.length).toBeGreaterThan(200);
    expect(actions.filter((a) => a.includes("*"))).toEqual([]);
  });

  it("the deploy role's documents each stay under IAM's 6,144-character limit, and the role under 10 attached policies", () => {
    const deployId = roleIdOf(cicd, ciRoleName(env, "deploy"));
    const attached = resources(cicd, "aws_iam_role_policy_attachment").filter(
      ([, a]) => a.role === `\${aws_iam_role.${deployId}.name}`,
    );
    expect(attached.length).toBeGreaterThan(3);
    expect(attached.length).toBeLessThanOrEqual(10);
    for (const [id, a] of attached) {
      const m = /^\$\{aws_iam_policy\.([\w-]+)\.arn\}$/.exec(String(a.policy_arn));
      const policy = String(resources(cicd, "aws_iam_policy").find(([pid]) => pid === m?.[1])?.[1].policy);
      expect([id, policy.replace(/\s/g, "").length <= 6144]).toEqual([id, true]);
    }
  });

  it("the plan role can read the state and take locks, and write nothing but .tflock objects", () => {
    const st = env.state;
    if (st.kind !== "s3") throw new Error("test expects the S3 backend");
    const sts = roleStatements(cicd, ciRoleName(env, "plan"));
    const writes = sts.filter((s) => asList(s.Action).some((a) => /^s3:(Put|Delete)/.test(a)));
    expect(writes.flatMap((s) => asList(s.Resource))).toEqual([`arn:aws:s3:::${st.bucket}/${env.name}/*.tflock`]);
    const allActions = sts.flatMap((s) => asList(s.Action));
    expect(allActions).toEqual(
      expect.arrayContaining([
        "s3:GetObject",
        "s3:ListBucket",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
      ]),
    );
    expect(allActions.filter((a) => /^(iam|ec2|ssm):(Create|Put|Delete|Run|Terminate|Send)/.test(a))).toEqual([]);
  });

  it("the deploy role may change only this environment's state keys and zmanim-<env>- names in S3, SSM and IAM", () => {
    const st = env.state;
    if (st.kind !== "s3") throw new Error("test expects the S3 backend");
    const sts = roleStatements(cicd, ciRoleName(env, "deploy")).filter((s) => s.Effect === "Allow");
    for (const s of sts) {
      const actions = asList(s.Action);
      const res = asList(s.Resource);
      if (actions.some((a) => a.startsWith("s3:") && !/^s3:(List|Get)Bucket/.test(a))) {
        for (const r of res) {
          expect([s.Sid, r]).toEqual([
            s.Sid,
            expect.stringMatching(
              new RegExp(`^arn:aws:s3:::(zmanim-${env.name}-\\*(/\\*)?|${st.bucket}/${env.name}/\\*)$`),
            ),
          ]);
        }
      }
      if (
        actions.some((a) => /^iam:(Create|Delete|Update|Put|Attach|Detach|PassRole)/.test(a)) &&
        !actions.includes("iam:CreateServiceLinkedRole")
      ) {
        for (const r of res)
          expect([s.Sid, r]).toEqual([
            s.Sid,
            expect.stringMatching(new RegExp(`:(role|policy|instance-profile)/zmanim-${env.name}-\\*$`)),
          ]);
      }
      if (actions.some((a) => /^ssm:(Put|Delete)Parameter/.test(a))) {
        expect([s.Sid, res]).toEqual([
          s.Sid,
          [`arn:aws:ssm:${env.region}:${env.accountId}:parameter/zmanim/${env.name}/*`],
        ]);
      }
    }
    // Another environment's buckets and state are out of reach.
    const other = env.name === "prod" ? "staging" : "prod";
    const s3Resources = sts
      .filter((s) => asList(s.Action).some((a) => a.startsWith("s3:")))
      .flatMap((s) => asList(s.Resource));
    expect(s3Resources.some((r) => iamMatch(r, `arn:aws:s3:::zmanim-${other}-backups-${env.accountId}/x`))).toBe(false);
    expect(s3Resources.some((r) => iamMatch(r, `arn:aws:s3:::${st.bucket}/${other}/network.tfstate`))).toBe(false);
    expect(s3Resources.some((r) => iamMatch(r, `arn:aws:s3:::${st.bucket}/${env.name}/network.tfstate`))).toBe(true);
  });

  it("the deploy role is denied every write to the CI roles and the OIDC provider (the trust root)", () => {
    const sts = roleStatements(cicd, ciRoleName(env, "deploy"));
    const denies = sts.filter((s) => s.Effect === "Deny");
    const deniedFor = (action: string, arn: string) =>
      denies.some(
        (d) =>
          asList(d.Action).some((a) => iamMatch(a, action)) &&
          asList(d.Resource).some((r) => iamMatch(r, arn)) &&
          !d.Condition,
      );
    for (const kind of ["plan", "deploy", "release"] as const) {
      const arn = `arn:aws:iam::${env.accountId}:role/${ciRoleName(env, kind)}`;
      for (const action of [
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:DeleteRole",
        "iam:PassRole",
      ]) {
        expect([kind, action, deniedFor(action, arn)]).toEqual([kind, action, true]);
      }
      const policyArn = `arn:aws:iam::${env.accountId}:policy/${ciRoleName(env, kind)}-state`;
      expect([kind, deniedFor("iam:CreatePolicyVersion", policyArn)]).toEqual([kind, true]);
    }
    expect(deniedFor("iam:UpdateOpenIDConnectProviderThumbprint", githubOidcProviderArn(env))).toBe(true);
    // ... while the instance role stays manageable.
    expect(deniedFor("iam:PutRolePolicy", `arn:aws:iam::${env.accountId}:role/zmanim-${env.name}-instance`)).toBe(
      false,
    );
  });

  it("the deploy role cannot destroy EC2 resources that are not tagged Project=zmanim, and acts only in the region", () => {
    const sts = roleStatements(cicd, ciRoleName(env, "deploy"));
    const ec2Allows = sts.filter((s) => s.Effect === "Allow" && asList(s.Action).some((a) => a.startsWith("ec2:")));
    expect(ec2Allows.length).toBeGreaterThan(5);
    // EC2 grants name the region: in the ARN, or, for calls AWS does not scope (Describe*), as a condition.
    for (const s of ec2Allows) {
      const res = asList(s.Resource);
      if (res.includes("*"))
        expect([s.Sid, res, s.Condition]).toEqual([
          s.Sid,
          ["*"],
          { StringEquals: { "aws:RequestedRegion": env.region } },
        ]);
      else
        for (const r of res)
          expect([s.Sid, r]).toEqual([
            s.Sid,
            expect.stringMatching(new RegExp(`^arn:aws:ec2:${env.region}:(${env.accountId})?:`)),
          ]);
    }
    const deny = sts.find((s) => s.Effect === "Deny" && asList(s.Action).includes("ec2:TerminateInstances"));
    expect(deny?.Condition).toEqual({ StringNotEquals: { "aws:ResourceTag/Project": "zmanim" } });
    expect(asList(deny?.Action)).toEqual(
      expect.arrayContaining(["ec2:DeleteVolume", "ec2:DetachVolume", "ec2:ReleaseAddress"]),
    );
  });

  it("the release role writes only release objects, kept site exports, the static bucket, and restarts only the tagged instance", () => {
    const sts = roleStatements(cicd, ciRoleName(env, "release"));
    const releases = `arn:aws:s3:::zmanim-${env.name}-releases-${env.accountId}`;
    const staticBucket = `arn:aws:s3:::zmanim-${env.name}-static-${env.accountId}`;
    const writeRes = sts
      .filter((s) => asList(s.Action).some((a) => /^s3:(Put|Delete)/.test(a)))
      .flatMap((s) => asList(s.Resource));
    // site-exports/: the kept static exports a rollback goes back to (scripts/ci/static-site-rollback.sh).
    expect(writeRes.sort()).toEqual(
      [`${releases}/latest.txt`, `${releases}/site-exports/*`, `${releases}/zmanim-api-*`, `${staticBucket}/*`].sort(),
    );
    const send = sts.filter((s) => asList(s.Action).includes("ssm:SendCommand"));
    const onInstances = send.find((s) => asList(s.Resource).some((r) => r.includes(":instance/")));
    expect(onInstances?.Condition).toEqual({
      StringEquals: { "ssm:resourceTag/Project": "zmanim", "ssm:resourceTag/Environment": env.name },
    });
    const onDocs = send.filter((s) => s !== onInstances).flatMap((s) => asList(s.Resource));
    expect(onDocs).toEqual([`arn:aws:ssm:${env.region}::document/AWS-RunShellScript`]);
    expect(sts.flatMap((s) => asList(s.Action))).toEqual(
      expect.arrayContaining(["ssm:GetCommandInvocation", "cloudfront:CreateInvalidation"]),
    );
    // Nothing in the release role can touch Terraform state or IAM.
    expect(sts.flatMap((s) => asList(s.Action)).filter((a) => /^(iam|dynamodb|ec2):/.test(a))).toEqual([]);
  });

  it("subjects never contain a wildcard, for every role kind", () => {
    for (const kind of ["plan", "deploy", "release"] as const) {
      for (const sub of ciSubjects(env, kind)) expect([kind, sub.includes("*")]).toEqual([kind, false]);
    }
  });
});

describe("one GitHub OIDC provider per account", () => {
  it("across the shipped environments, each account has at most one provider resource, and every other environment looks it up", () => {
    const byAccount = new Map<string, { created: string[]; lookedUp: string[] }>();
    for (const [name, env] of Object.entries(environments)) {
      const cicd = synthAll(env).stacks.cicd;
      const entry = byAccount.get(env.accountId) ?? { created: [], lookedUp: [] };
      for (const s of Object.values(synthAll(env).stacks)) {
        for (const [id] of resources(s, "aws_iam_openid_connect_provider", 0)) entry.created.push(`${name}/${id}`);
      }
      if (cicd.data?.aws_iam_openid_connect_provider) entry.lookedUp.push(name);
      byAccount.set(env.accountId, entry);
    }
    // All three shipped environments share account 111111111111: prod creates, staging and scaled look up.
    expect(Object.fromEntries(byAccount)).toEqual({
      "111111111111": { created: ["prod/github_oidc"], lookedUp: ["staging", "scaled"] },
    });
    for (const [account, e] of byAccount) expect([account, e.created.length <= 1]).toEqual([account, true]);
  });

  it("refuses a second environment that creates the provider in the same account, naming the field, the value and the fix", () => {
    const twice: Record<string, EnvironmentConfig> = {
      prod,
      staging: { ...staging, github: { ...staging.github, oidcProvider: undefined } },
    };
    expect(() => selectEnvironment([], { ZMANIM_ENV: "prod" }, twice)).toThrow(ConfigError);
    expect(() => selectEnvironment([], { ZMANIM_ENV: "prod" }, twice)).toThrow(
      'environments.staging.github.oidcProvider = "create" (the default): environments.prod already creates GitHub\'s OIDC provider in account 111111111111, ' +
        'and IAM holds one per account; set "lookup" here (docs/runbooks/first-deploy.md, "One GitHub OIDC provider per account")',
    );
    // In another account, the second environment may create its own.
    const elsewhere = { prod, staging: { ...twice.staging, accountId: "222222222222" } };
    expect(selectEnvironment([], { ZMANIM_ENV: "staging" }, elsewhere).github.oidcProvider).toBeUndefined();
  });

  it("refuses an unknown mode", () => {
    const bad = { ...prod, github: { ...prod.github, oidcProvider: "import" } } as unknown as EnvironmentConfig;
    expect(environmentProblems(bad)).toContain(
      'github.oidcProvider = "import": use "create" in the one environment of account 111111111111 whose cicd stack owns GitHub\'s OIDC provider, and "lookup" in every other environment of that account',
    );
  });
});
