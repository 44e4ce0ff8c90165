import { Construct } from "constructs";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { DataAwsIamOpenidConnectProvider } from "@cdktf/provider-aws/lib/data-aws-iam-openid-connect-provider";
import { githubOidcProviderMode } from "../constructs/config/github-oidc";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { TerraformOutput } from "cdktf/lib/terraform-output";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { EnvironmentConfig } from "../constructs/config/environments";
import { bucketArn, ciRoleName, resourcePrefix } from "../constructs/config/naming";

import { TfcWorkloadIdentity } from "../constructs/tfc-workload-identity";
import { tfcOidcProviderArn, tfcRoleArnPattern } from "../constructs/config/terraform-cloud";
import { deployRoleRequests, grantStatements, packDocuments } from "../constructs/builders/deploy-role-policy";
import { TfDocument } from "../constructs/builders/iam/tf-document";

/**
 * The cicd stack reads no other stack's state: bucket names and ARNs come from constructs/config/naming.ts, so an
 * administrator can apply it on its own, first, before the pipeline it enables exists. The deploy role's
 * grants are generated from the Terraform JSON of the stacks it deploys (`workload`: every other stack of
 * the environment, built before this one; constructs/builders/deploy-role-policy.ts).
 */
export interface CicdStackProps extends ZmanimStackProps {
  readonly workload: Record<string, TfDocument>;
}

/** Host of GitHub's OIDC issuer; also the prefix of its IAM condition keys. */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/** The audience configure-aws-credentials requests; the only one the provider and the roles accept. */
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";

/** The GitHub environment whose jobs may deploy and release (required reviewers are set on it in GitHub). */
export const DEPLOY_ENVIRONMENT = "production";

/** The AWS-managed policy the plan role reads the account with. */
export const READ_ONLY_ACCESS_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess";

export type CiRoleKind = "plan" | "deploy" | "release";

/**
 * Each CI role's `max_session_duration`, in seconds: the longest session a job may ask for with
 * configure-aws-credentials' `role-duration-seconds` (without it, OIDC sessions last 1 hour). IAM allows 3600 to
 * 43200; AssumeRoleWithWebIdentity may use all of it, since the 1-hour cap applies only to role chaining
 * (AssumeRole with a role's credentials), which the workflows never do
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html, DurationSeconds).
 * The deploy role runs deploy.yml and ami.yml, whose first-apply budgets pass 3 hours; a job that outlived its
 * credentials would fail mid-apply with ExpiredToken, lock held. __tests__/unit/workflows.test.ts checks that
 * no job outlasts the session it asks for, and that none asks for more than its role allows.
 */
export const CI_MAX_SESSION_SECONDS: Record<CiRoleKind, number> = { plan: 3600, deploy: 4 * 3600, release: 3600 };

interface Statement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** One IAM provider per URL and account: its ARN is deterministic. */
export function githubOidcProviderArn(env: EnvironmentConfig): string {
  return `arn:aws:iam::${env.accountId}:oidc-provider/${GITHUB_OIDC_HOST}`;
}

/**
 * The exact OIDC `sub` claims each role trusts (GitHub's default subject format). Every entry names one
 * repository and one ref, event or environment: there is no wildcard anywhere.
 *
 * - plan: pull requests of this repository and its `main` branch (manual plans of main).
 * - deploy: only jobs of this repository that run in the `production` environment (required reviewers).
 * - release: `production` jobs of this repository (manual releases) and of the application repository,
 *   whose release job calls release-api.yml (`workflow_call`). In a called workflow the subject is the
 *   caller's, so the application repository's own `production` environment gates its releases.
 */
export function ciSubjects(env: EnvironmentConfig, kind: CiRoleKind): string[] {
  const infra = env.github.infraRepository;
  switch (kind) {
    case "plan":
      return [`repo:${infra}:pull_request`, `repo:${infra}:ref:refs/heads/main`];
    case "deploy":
      return [`repo:${infra}:environment:${DEPLOY_ENVIRONMENT}`];
    case "release":
      return [
        `repo:${infra}:environment:${DEPLOY_ENVIRONMENT}`,
        `repo:${env.github.appRepository}:environment:${DEPLOY_ENVIRONMENT}`,
      ];
  }
}

/** Trust policy: web identity from GitHub's provider, audience and subject pinned with StringEquals. */
export function ciTrustPolicy(env: EnvironmentConfig, kind: CiRoleKind): object {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "GitHubOidc",
        Effect: "Allow",
        Principal: { Federated: githubOidcProviderArn(env) },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
            [`${GITHUB_OIDC_HOST}:sub`]: ciSubjects(env, kind),
          },
        },
      },
    ],
  };
}

/** Terraform state access: read for plan (plus the locks), read-write for deploy. Empty for Terraform Cloud. */
function stateStatements(env: EnvironmentConfig, write: boolean): Statement[] {
  const st = env.state;
  if (st.kind !== "s3") return [];
  const bucket = `arn:aws:s3:::${st.bucket}`;
  const lockTable = `arn:aws:dynamodb:${st.region}:${env.accountId}:table/${st.lockTable}`;
  const out: Statement[] = [
    {
      Sid: "StateList",
      Effect: "Allow",
      Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
      Resource: [bucket],
    },
    { Sid: "StateRead", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucket}/${env.name}/*`] },
    {
      // Plans lock too: DynamoDB lock items and, with use_lockfile, `<key>.tflock` objects.
      Sid: "StateLockTable",
      Effect: "Allow",
      Action: ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
      Resource: [lockTable],
    },
  ];
  out.push(
    write
      ? {
          Sid: "StateWrite",
          Effect: "Allow",
          Action: ["s3:PutObject", "s3:DeleteObject"],
          Resource: [`${bucket}/${env.name}/*`],
        }
      : {
          Sid: "StateLockFiles",
          Effect: "Allow",
          Action: ["s3:PutObject", "s3:DeleteObject"],
          Resource: [`${bucket}/${env.name}/*.tflock`],
        },
  );
  return out;
}

/** SecureString parameters are read with decryption during refresh; only through SSM, only in the region. */
function ssmDecryptStatement(env: EnvironmentConfig, actions: string[]): Statement {
  return {
    Sid: "SsmKmsViaService",
    Effect: "Allow",
    Action: actions,
    Resource: [`arn:aws:kms:${env.region}:${env.accountId}:key/*`],
    Condition: { StringEquals: { "kms:ViaService": `ssm.${env.region}.amazonaws.com` } },
  };
}

/** Plan role, on top of the managed ReadOnlyAccess: the state, its locks, SecureString decryption. */
export function planPolicyStatements(env: EnvironmentConfig): Statement[] {
  return [...stateStatements(env, false), ssmDecryptStatement(env, ["kms:Decrypt"])];
}

/**
 * Deploy role: the Terraform state, two guards, and the grants generated from what the environment's stacks
 * need (constructs/builders/deploy-role-policy.ts), each document under IAM's 6,144-character limit. The
 * apply-phase roles reuse this function. docs/iam-sufficiency.md ("The deploy role") explains the grants.
 */
export function deployPolicyDocuments(
  env: EnvironmentConfig,
  workload: Record<string, TfDocument>,
): Record<string, Statement[]> {
  const acct = env.accountId;
  const gha = `${resourcePrefix(env)}-gha-*`;
  const guards: Statement[] = [
    {
      // The CI roles and the OIDC provider are the trust root: changed only by an administrator applying the
      // cicd stack, never by the pipeline they authorize.
      Sid: "NeverTheTrustRoot",
      Effect: "Deny",
      Action: [
        "iam:Create*",
        "iam:Delete*",
        "iam:Update*",
        "iam:Put*",
        "iam:Attach*",
        "iam:Detach*",
        "iam:Tag*",
        "iam:Untag*",
        "iam:PassRole",
        "iam:AddClientIDToOpenIDConnectProvider",
        "iam:RemoveClientIDFromOpenIDConnectProvider",
      ],
      Resource: [
        `arn:aws:iam::${acct}:role/${gha}`,
        `arn:aws:iam::${acct}:policy/${gha}`,
        githubOidcProviderArn(env),
        ...(env.state.kind === "cloud" ? [tfcRoleArnPattern(env), tfcOidcProviderArn(env)] : []),
      ],
    },
    {
      // EC2 ids are unknown before create, so EC2 grants are by resource type in the region; destructive calls
      // stay off anything not tagged Project=zmanim.
      Sid: "Ec2DestroyOnlyProject",
      Effect: "Deny",
      Action: [
        "ec2:TerminateInstances",
        "ec2:StopInstances",
        "ec2:RebootInstances",
        "ec2:DeleteVolume",
        "ec2:DetachVolume",
        "ec2:ReleaseAddress",
        "ec2:DeleteVpc",
        "ec2:DeleteSubnet",
        "ec2:DeleteSnapshot",
        "ec2:DeregisterImage",
      ],
      Resource: ["*"],
      Condition: { StringNotEquals: { "aws:ResourceTag/Project": "zmanim" } },
    },
  ];
  const grants = packDocuments(grantStatements(deployRoleRequests(env, workload), env));
  return {
    state: [...stateStatements(env, true), ...guards],
    ...Object.fromEntries(grants.map((statements, i) => [`grants-${i + 1}`, statements])),
  };
}

/**
 * Release role: binary releases (path 2) and the static site. No Terraform state: the distribution is
 * found by its alias and the instance by its tags.
 */
export function releasePolicyStatements(env: EnvironmentConfig): Statement[] {
  const releases = bucketArn(env, "releases");
  const staticSite = bucketArn(env, "static");
  return [
    { Sid: "ReleasesList", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [releases, staticSite] },
    {
      Sid: "ReleasesObjects",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject"],
      // site-exports/: every deployed static export and its history (scripts/ci/static-site-rollback.sh).
      Resource: [`${releases}/zmanim-api-*`, `${releases}/latest.txt`, `${releases}/site-exports/*`],
    },
    {
      Sid: "StaticSiteObjects",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      Resource: [`${staticSite}/*`],
    },
    {
      Sid: "RestartOnProjectInstance",
      Effect: "Allow",
      Action: ["ssm:SendCommand"],
      Resource: [`arn:aws:ec2:${env.region}:${env.accountId}:instance/*`],
      Condition: { StringEquals: { "ssm:resourceTag/Project": "zmanim", "ssm:resourceTag/Environment": env.name } },
    },
    {
      Sid: "RunShellScriptDocument",
      Effect: "Allow",
      Action: ["ssm:SendCommand"],
      Resource: [`arn:aws:ssm:${env.region}::document/AWS-RunShellScript`],
    },
    {
      // These read calls support no resource-level permissions.
      Sid: "CommandStatus",
      Effect: "Allow",
      Action: [
        "ssm:GetCommandInvocation",
        "ssm:ListCommandInvocations",
        "ssm:ListCommands",
        "cloudfront:ListDistributions",
      ],
      Resource: ["*"],
    },
    {
      Sid: "Invalidate",
      Effect: "Allow",
      Action: ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
      Resource: [`arn:aws:cloudfront::${env.accountId}:distribution/*`],
    },
    {
      // The site-paths key value store (static-site-sync.sh): found by name, then read and written through
      // the CloudFront KeyValueStore API. Store ids are generated: scoped to the account's stores.
      Sid: "SitePathsStore",
      Effect: "Allow",
      Action: [
        "cloudfront:DescribeKeyValueStore",
        "cloudfront-keyvaluestore:DescribeKeyValueStore",
        "cloudfront-keyvaluestore:ListKeys",
        "cloudfront-keyvaluestore:UpdateKeys",
      ],
      Resource: [`arn:aws:cloudfront::${env.accountId}:key-value-store/*`],
    },
  ];
}

const doc = (statements: Statement[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/**
 * GitHub OIDC provider and the three CI roles (plan, deploy, release). This stack is the trust root of the
 * pipeline: an administrator applies it (the first time, and after every change); the deploy role is denied
 * any write to these roles and the provider.
 *
 * The provider is one per account: the environment with `github.oidcProvider: "create"` owns it here; the others
 * of that account read it with a data source (a plan fails, naming it, until the owner's cicd stack is applied).
 */
export class CicdStack extends ZmanimStack {
  readonly oidcProvider: IamOpenidConnectProvider | DataAwsIamOpenidConnectProvider;
  readonly roles: Record<CiRoleKind, IamRole>;

  constructor(scope: Construct, props: CicdStackProps) {
    super(scope, "cicd", props);
    const env = props.env;

    if (githubOidcProviderMode(env) === "create") {
      // No thumbprint_list: IAM trusts GitHub's issuer through its own root CA library (AWS guidance since
      // July 2023), so a rotated GitHub certificate can never lock CI out.
      const created = new IamOpenidConnectProvider(this, "github_oidc", {
        url: `https://${GITHUB_OIDC_HOST}`,
        clientIdList: [GITHUB_OIDC_AUDIENCE],
      });
      created.overrideLogicalId("github_oidc");
      this.oidcProvider = created;
    } else {
      // Another environment of the account owns it (constructs/config/github-oidc.ts). The roles trust its
      // deterministic ARN either way; the lookup makes a missing provider fail the plan instead of the roles.
      const found = new DataAwsIamOpenidConnectProvider(this, "github_oidc", { url: `https://${GITHUB_OIDC_HOST}` });
      found.overrideLogicalId("github_oidc");
      this.oidcProvider = found;
    }

    const role = (kind: CiRoleKind, description: string, maxSessionDuration: number) => {
      const r = new IamRole(this, `gha_${kind}`, {
        name: ciRoleName(env, kind),
        description,
        assumeRolePolicy: JSON.stringify(ciTrustPolicy(env, kind)),
        maxSessionDuration,
        dependsOn: [this.oidcProvider],
      });
      r.overrideLogicalId(`gha_${kind}`);
      return r;
    };
    this.roles = {
      plan: role(
        "plan",
        "GitHub Actions: terraform plan on pull requests and main (read-only)",
        CI_MAX_SESSION_SECONDS.plan,
      ),
      deploy: role(
        "deploy",
        "GitHub Actions: cdktf deploy and AMI builds from the production environment",
        CI_MAX_SESSION_SECONDS.deploy,
      ),
      release: role(
        "release",
        "GitHub Actions: API binary releases and static site uploads",
        CI_MAX_SESSION_SECONDS.release,
      ),
    };

    const attached: Record<CiRoleKind, Record<string, string>> = { plan: {}, deploy: {}, release: {} };
    const attach = (kind: CiRoleKind, id: string, policyArn: string) => {
      attached[kind][id] = policyArn;
      return new IamRolePolicyAttachment(this, `gha_${kind}_${id}`, { role: this.roles[kind].name, policyArn });
    };

    attach("plan", "read_only", READ_ONLY_ACCESS_ARN);
    const managed = (kind: CiRoleKind, part: string, statements: Statement[]) => {
      const policy = new IamPolicy(this, `gha_${kind}_${part}_policy`, {
        name: `${ciRoleName(env, kind)}-${part}`,
        description: `GitHub Actions ${kind} role: ${part}`,
        policy: doc(statements),
      });
      attach(kind, part, policy.arn);
    };
    managed("plan", "state", planPolicyStatements(env));
    for (const [part, statements] of Object.entries(deployPolicyDocuments(env, props.workload)))
      managed("deploy", part, statements);
    managed("release", "release", releasePolicyStatements(env));

    for (const kind of ["plan", "deploy", "release"] as const) {
      new TerraformOutput(this, `${kind}_role_arn`, { value: this.roles[kind].arn });
    }

    // Terraform Cloud runs: the same policies as the GitHub plan and deploy roles (constructs/tfc-workload-identity.ts).
    if (env.state.kind === "cloud")
      new TfcWorkloadIdentity(this, "tfc", { env, planPolicyArns: attached.plan, applyPolicyArns: attached.deploy });
  }
}
