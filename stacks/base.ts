import { Construct } from "constructs";
import { TerraformStack } from "cdktf/lib/terraform-stack";
import { S3Backend } from "cdktf/lib/backends/s3-backend";
import { CloudBackend, NamedCloudWorkspace } from "cdktf/lib/backends/cloud-backend";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { EnvironmentConfig } from "../constructs/config/environments";
import { stackName, stateKey } from "../constructs/config/naming";
import { cloudBackendOf, workspaceName } from "../constructs/config/terraform-cloud";

export interface ZmanimStackProps {
  readonly env: EnvironmentConfig;
}

/**
 * Base for every deployable unit: an AWS provider that refuses any account but the environment's, with
 * default tags, and the environment's remote state (S3 + DynamoDB + lockfile, or a Terraform Cloud block).
 */
export abstract class ZmanimStack extends TerraformStack {
  readonly env: EnvironmentConfig;
  readonly shortName: string;
  /** The default (regional) provider. */
  readonly provider: AwsProvider;

  constructor(scope: Construct, short: string, props: ZmanimStackProps) {
    super(scope, stackName(props.env, short));
    this.env = props.env;
    this.shortName = short;
    this.provider = new AwsProvider(this, "aws", awsProviderConfig(props.env, props.env.region, short));
    configureState(this, props.env, short);
  }

  /** A second AWS provider for another region (us-east-1 for CloudFront certificates and metrics). */
  protected regionalProvider(id: string, region: string): AwsProvider {
    return new AwsProvider(this, id, { ...awsProviderConfig(this.env, region, this.shortName), alias: id });
  }
}

/**
 * The provider's default tags of a stack. They reach every resource's own `tags`, but not nested tag blocks
 * (launch template `tag_specifications`, Auto Scaling group `tag`): those take them explicitly (constructs/fleet.ts).
 */
export function defaultTagsOf(env: EnvironmentConfig, short: string): Record<string, string> {
  return {
    Project: "zmanim",
    Environment: env.name,
    Stack: short,
    ManagedBy: "terraform",
    Repository: env.github.infraRepository,
  };
}

function awsProviderConfig(env: EnvironmentConfig, region: string, short: string) {
  return {
    region,
    allowedAccountIds: [env.accountId],
    defaultTags: [{ tags: defaultTagsOf(env, short) }],
  };
}

/** Emits the backend for a stack. */
function configureState(stack: TerraformStack, env: EnvironmentConfig, short: string): void {
  const st = env.state;
  if (st.kind === "s3") {
    const backend = new S3Backend(stack, {
      bucket: st.bucket,
      key: stateKey(env, short),
      region: st.region,
      encrypt: true,
      dynamodbTable: st.lockTable,
    });
    // Terraform >= 1.10 native S3 locking. With dynamodb_table also set, Terraform takes both locks,
    // so clients on either scheme stay safe during the move off DynamoDB locking.
    backend.addOverride("use_lockfile", true);
  } else {
    // One workspace per stack, in the environment's project (constructs/config/terraform-cloud.ts). Consumers
    // read it through cdktf's `remote` data source, which needs the workspace name only.
    const cloud = cloudBackendOf(env)!;
    new CloudBackend(stack, {
      organization: cloud.organization,
      hostname: cloud.hostname,
      workspaces: new NamedCloudWorkspace(workspaceName(cloud, short), cloud.project),
    });
  }
}
