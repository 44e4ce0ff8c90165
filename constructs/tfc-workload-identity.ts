import { Construct } from "constructs";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { TerraformOutput } from "cdktf/lib/terraform-output";
import { EnvironmentConfig } from "./config/environments";
import {
  TFC_AWS_AUDIENCE,
  TfcRunPhase,
  tfcOidcHost,
  tfcOidcProviderArn,
  tfcRoleName,
  tfcSubjects,
} from "./config/terraform-cloud";

/**
 * Terraform Cloud's dynamic provider credentials for AWS: an IAM OIDC provider for the issuer
 * `https://<hostname>` (https://app.terraform.io) and one role per run phase, assumed by the runs of the
 * environment's remote-execution workspaces with their workload identity token.
 * https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/aws-configuration
 * https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/workload-identity-tokens
 *
 * The roles carry no policy of their own: the apply role is attached to exactly the managed policies of the
 * GitHub deploy role, the plan role to those of the GitHub plan role (the same `aws_iam_policy` resources,
 * so one document is the source of both). The workspaces name the roles in TFC_AWS_PLAN_ROLE_ARN and
 * TFC_AWS_APPLY_ROLE_ARN (scripts/tools/tfc/bootstrap sets them from this stack's outputs).
 */

/** Trust policy: web identity from Terraform Cloud's provider; audience and each workspace's `sub` pinned. */
export function tfcTrustPolicy(env: EnvironmentConfig, phase: TfcRunPhase): object {
  const host = tfcOidcHost(env);
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "TerraformCloudWorkloadIdentity",
        Effect: "Allow",
        Principal: { Federated: tfcOidcProviderArn(env) },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${host}:aud`]: TFC_AWS_AUDIENCE,
            [`${host}:sub`]: tfcSubjects(env, phase),
          },
        },
      },
    ],
  };
}

export interface TfcWorkloadIdentityProps {
  readonly env: EnvironmentConfig;
  /** Policy ARNs attached to the GitHub plan role, by attachment id suffix. */
  readonly planPolicyArns: Record<string, string>;
  /** Policy ARNs attached to the GitHub deploy role, by attachment id suffix. */
  readonly applyPolicyArns: Record<string, string>;
}

export class TfcWorkloadIdentity extends Construct {
  readonly oidcProvider: IamOpenidConnectProvider;
  readonly roles: Record<TfcRunPhase, IamRole>;

  constructor(scope: Construct, id: string, props: TfcWorkloadIdentityProps) {
    super(scope, id);
    const env = props.env;
    // No thumbprint_list, as for GitHub's provider: IAM verifies the issuer's certificate with its own
    // library of trusted root CAs.
    this.oidcProvider = new IamOpenidConnectProvider(this, "oidc", {
      url: `https://${tfcOidcHost(env)}`,
      clientIdList: [TFC_AWS_AUDIENCE],
    });
    this.oidcProvider.overrideLogicalId("tfc_oidc");

    const role = (phase: TfcRunPhase, description: string, policies: Record<string, string>) => {
      const r = new IamRole(this, phase, {
        name: tfcRoleName(env, phase),
        description,
        assumeRolePolicy: JSON.stringify(tfcTrustPolicy(env, phase)),
        maxSessionDuration: 3600,
        dependsOn: [this.oidcProvider],
      });
      r.overrideLogicalId(`tfc_${phase}`);
      for (const [part, arn] of Object.entries(policies)) {
        new IamRolePolicyAttachment(this, `${phase}_${part}`, { role: r.name, policyArn: arn }).overrideLogicalId(
          `tfc_${phase}_${part}`,
        );
      }
      new TerraformOutput(scope, `tfc_${phase}_role_arn`, { value: r.arn });
      return r;
    };
    this.roles = {
      plan: role(
        "plan",
        "Terraform Cloud: plan phase of remote runs (the GitHub plan role's permissions)",
        props.planPolicyArns,
      ),
      apply: role(
        "apply",
        "Terraform Cloud: apply phase of remote runs (the GitHub deploy role's permissions)",
        props.applyPolicyArns,
      ),
    };
  }
}
