/**
 * What the release role and the instance role are asked to do: the AWS calls of the scripts they run,
 * each as (script, AWS CLI command or program, IAM action, resource ARN, request context).
 *
 * CLI commands map to IAM actions per the service authorization reference: `s3 cp` from S3 is GetObject
 * (its HeadObject is authorized as GetObject too), `s3 cp` to S3 is PutObject (multipart uploads included),
 * `s3 sync` lists with ListBucket and writes and deletes objects. __tests__/iam/iam-sufficiency.test.ts
 * guards the list: every `aws <service> <command>` in a script must appear here for that script.
 * Programs without a CLI line: restic (repository layout, https://restic.readthedocs.io/en/stable/design.html),
 * the CloudWatch agent (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/create-iam-roles-for-cloudwatch-agent.html)
 * and the SSM agent (https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-permissions.html).
 */
import { EnvironmentConfig } from "../../../constructs/config/environments";
import {
  bucketArn,
  mailFromAddress,
  metricsNamespace,
  sesIdentityArn,
  ssmParameterName,
  SSM_LEAVES,
  FLEET_CW_AGENT_LEAF,
} from "../../../constructs/config/naming";
import { DEPLOY_SCRIPTS, deployScriptCalls } from "../../../constructs/builders/deploy-role-policy";
import { cliRequests } from "../../../constructs/builders/iam/cli-map";
import { TfDocument } from "../../../constructs/builders/iam/tf-document";

import { BOX_LOGS, FLEET_LOGS, boxLogGroupName } from "../../../constructs/builders/cloudwatch-agent";
import { PLACEHOLDERS } from "../../../constructs/builders/iam/arns";
import { SimRequest, baseContext } from "./simulate";

export interface Call {
  /** Repository path of the script (or the program, for restic and the agents). */
  script: string;
  /** `aws <service> <command>` as the script runs it, or the program's own name. */
  cli: string;
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
  /** See SimRequest.awsOwned. */
  awsOwned?: boolean;
}

/** SecureString parameters the boot script reads with --with-decryption (the others are String). */
const SECURE_LEAVES = [
  SSM_LEAVES.postgresPassword,
  SSM_LEAVES.redisPassword,
  SSM_LEAVES.resticPassword,
  SSM_LEAVES.clerkSecretKey,
];
const BOOT_LEAVES = [...SECURE_LEAVES, SSM_LEAVES.config, SSM_LEAVES.cloudwatchAgent];
/** The same for the boot script's api role (a fleet instance of the scaled topology). */
const FLEET_SECURE_LEAVES = [SSM_LEAVES.databaseAppPassword, SSM_LEAVES.cachePassword, SSM_LEAVES.clerkSecretKey];
export const FLEET_BOOT_LEAVES = [
  ...FLEET_SECURE_LEAVES,
  SSM_LEAVES.config,
  SSM_LEAVES.dataConfig,
  FLEET_CW_AGENT_LEAF,
];

/** The aws/ssm key of the account: its id is known only there (placeholder format, docs/iam-sufficiency.md). */
const ssmKeyArn = (env: EnvironmentConfig) =>
  `arn:aws:kms:${env.region}:${env.accountId}:key/${PLACEHOLDERS.CertificateId}`;

/** The object keys restic reads and writes in an S3 repository (restic design document, "Repository Format"). */
const RESTIC_KEYS = [
  "config",
  "keys/0123abcd",
  "data/01/0123abcd",
  "index/0123abcd",
  "snapshots/0123abcd",
  "locks/0123abcd",
];

/** The domain of an email address: in the SES sandbox a recipient is verified as an address or a domain. */
const domainOf = (email: string) => email.slice(email.indexOf("@") + 1);

/**
 * The boot script's SSM reads: GetParameter on each leaf, and for SecureString leaves the KMS decrypt SSM makes
 * on the caller's behalf (through SSM, with the parameter's ARN as encryption context).
 */
function bootParameterCalls(
  env: EnvironmentConfig,
  leaves: readonly string[],
  secureLeaves: readonly string[],
): Call[] {
  const ssmArn = (leaf: string) => `arn:aws:ssm:${env.region}:${env.accountId}:parameter${ssmParameterName(env, leaf)}`;
  const calls: Call[] = leaves.map((leaf) => ({
    script: "scripts/box/user-data/common.sh",
    cli: "ssm get-parameter",
    action: "ssm:GetParameter",
    resource: ssmArn(leaf),
  }));
  for (const leaf of secureLeaves) {
    calls.push({
      script: "scripts/box/user-data/common.sh",
      cli: "ssm get-parameter",
      action: "kms:Decrypt",
      resource: ssmKeyArn(env),
      context: {
        "kms:ViaService": `ssm.${env.region}.amazonaws.com`,
        "kms:EncryptionContext:PARAMETER_ARN": ssmArn(leaf),
      },
    });
  }
  return calls;
}

export function instanceCalls(env: EnvironmentConfig): Call[] {
  const backups = bucketArn(env, "backups");
  const releases = bucketArn(env, "releases");
  const ns = metricsNamespace(env);
  const identity = (name: string) => `arn:aws:ses:${env.region}:${env.accountId}:identity/${name}`;
  const calls: Call[] = [];
  calls.push(...bootParameterCalls(env, BOOT_LEAVES, SECURE_LEAVES));
  // restic (backup.sh writes, restore.sh and restore-drill.sh read and lock), through its S3 backend.
  for (const script of ["scripts/box/backup.sh", "scripts/box/restore.sh"]) {
    calls.push({ script, cli: "restic", action: "s3:ListBucket", resource: backups });
    calls.push({ script, cli: "restic", action: "s3:GetBucketLocation", resource: backups });
    for (const key of RESTIC_KEYS)
      calls.push({ script, cli: "restic", action: "s3:GetObject", resource: `${backups}/${key}` });
    const written = script === "scripts/box/backup.sh" ? RESTIC_KEYS : ["locks/0123abcd"];
    for (const key of written)
      calls.push({ script, cli: "restic", action: "s3:PutObject", resource: `${backups}/${key}` });
    calls.push({ script, cli: "restic", action: "s3:DeleteObject", resource: `${backups}/locks/0123abcd` });
  }
  // BackupSuccess and RestoreDrillAgeSeconds (backup.sh), RestoreDrillSuccess and the age reset (restore-drill.sh).
  for (const script of ["scripts/box/backup.sh", "scripts/box/restore-drill.sh"]) {
    calls.push({
      script,
      cli: "cloudwatch put-metric-data",
      action: "cloudwatch:PutMetricData",
      resource: "*",
      context: { "cloudwatch:namespace": ns },
    });
  }
  // Failure mail. In the SES sandbox the send is authorized against the sender's identity and also against
  // the recipient's verified identity, which is the address itself or its domain.
  // https://docs.aws.amazon.com/ses/latest/dg/sending-authorization-policies.html ; .../request-production-access.html
  const mail = { "ses:FromAddress": mailFromAddress(env), "ses:Recipients": [env.alarmEmail], "ses:ApiVersion": "2" };
  for (const resource of [sesIdentityArn(env), identity(env.alarmEmail), identity(domainOf(env.alarmEmail))]) {
    calls.push({
      script: "scripts/box/notify-failure.sh",
      cli: "sesv2 send-email",
      action: "ses:SendEmail",
      resource,
      context: mail,
    });
  }
  for (const key of ["latest.txt", "zmanim-api-v1.4.2", "zmanim-api-v1.4.2.sha256"]) {
    calls.push({
      script: "packer/files/bin/update-binary.sh",
      cli: "s3 cp",
      action: "s3:GetObject",
      resource: `${releases}/${key}`,
    });
  }
  // A missing key answers 404 (not 403) only with ListBucket.
  calls.push({
    script: "packer/files/bin/update-binary.sh",
    cli: "s3 cp",
    action: "s3:ListBucket",
    resource: releases,
  });
  // The CloudWatch agent (constructs/builders/cloudwatch-agent.ts): log streams of the box's groups and its metrics.
  for (const l of BOX_LOGS) {
    const group = `arn:aws:logs:${env.region}:${env.accountId}:log-group:${boxLogGroupName(env, l.group)}`;
    calls.push({
      script: "amazon-cloudwatch-agent",
      cli: "amazon-cloudwatch-agent",
      action: "logs:DescribeLogStreams",
      resource: group,
    });
    calls.push({
      script: "amazon-cloudwatch-agent",
      cli: "amazon-cloudwatch-agent",
      action: "logs:CreateLogStream",
      resource: `${group}:log-stream:i-0123456789abcdef0`,
    });
    calls.push({
      script: "amazon-cloudwatch-agent",
      cli: "amazon-cloudwatch-agent",
      action: "logs:PutLogEvents",
      resource: `${group}:log-stream:i-0123456789abcdef0`,
    });
  }
  calls.push({
    script: "amazon-cloudwatch-agent",
    cli: "amazon-cloudwatch-agent",
    action: "cloudwatch:PutMetricData",
    resource: "*",
    context: { "cloudwatch:namespace": ns },
  });
  // The SSM agent: Session Manager and Run Command (the release role's restart).
  const instance = `arn:aws:ec2:${env.region}:${env.accountId}:instance/${PLACEHOLDERS.InstanceId}`;
  for (const action of [
    "ssm:UpdateInstanceInformation",
    "ssm:ListInstanceAssociations",
    "ssm:UpdateInstanceAssociationStatus",
  ]) {
    calls.push({ script: "amazon-ssm-agent", cli: "amazon-ssm-agent", action, resource: instance });
  }
  for (const action of [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenDataChannel",
  ]) {
    calls.push({ script: "amazon-ssm-agent", cli: "amazon-ssm-agent", action, resource: "*" });
  }
  for (const action of [
    "ec2messages:GetMessages",
    "ec2messages:AcknowledgeMessage",
    "ec2messages:SendReply",
    "ec2messages:GetEndpoint",
  ]) {
    calls.push({ script: "amazon-ssm-agent", cli: "amazon-ssm-agent", action, resource: "*" });
  }
  return calls;
}

/**
 * What an API-only fleet instance (scaled topology) is asked to do: the boot script's api role reads its SSM
 * parameters, update-binary.sh reads releases, and the CloudWatch and SSM agents run as on the box; no backups,
 * no mail.
 */
export function fleetCalls(env: EnvironmentConfig): Call[] {
  const calls: Call[] = [];
  calls.push(...bootParameterCalls(env, FLEET_BOOT_LEAVES, FLEET_SECURE_LEAVES));
  const agents = new Set(["packer/files/bin/update-binary.sh", "amazon-ssm-agent"]);
  calls.push(
    ...instanceCalls(env).filter(
      (c) =>
        agents.has(c.script) || (c.script === "amazon-cloudwatch-agent" && c.action === "cloudwatch:PutMetricData"),
    ),
  );
  // The agent's ec2tagger: the AutoScalingGroupName dimension comes from the instance's tags (ec2:DescribeTags,
  // no resource-level permissions). Without it the agent publishes no metric at all.
  calls.push({
    script: "amazon-cloudwatch-agent",
    cli: "amazon-cloudwatch-agent",
    action: "ec2:DescribeTags",
    resource: "*",
  });
  for (const l of FLEET_LOGS) {
    const group = `arn:aws:logs:${env.region}:${env.accountId}:log-group:${boxLogGroupName(env, l.group)}`;
    calls.push({
      script: "amazon-cloudwatch-agent",
      cli: "amazon-cloudwatch-agent",
      action: "logs:DescribeLogStreams",
      resource: group,
    });
    calls.push({
      script: "amazon-cloudwatch-agent",
      cli: "amazon-cloudwatch-agent",
      action: "logs:CreateLogStream",
      resource: `${group}:log-stream:i-0123456789abcdef0`,
    });
    calls.push({
      script: "amazon-cloudwatch-agent",
      cli: "amazon-cloudwatch-agent",
      action: "logs:PutLogEvents",
      resource: `${group}:log-stream:i-0123456789abcdef0`,
    });
  }
  return calls;
}

export function releaseCalls(env: EnvironmentConfig): Call[] {
  const releases = bucketArn(env, "releases");
  const site = bucketArn(env, "static");
  const calls: Call[] = [];
  const rel = "scripts/ci/release-api.sh";
  for (const key of ["latest.txt", "zmanim-api-v1.4.2.sha256"])
    calls.push({ script: rel, cli: "s3 cp", action: "s3:GetObject", resource: `${releases}/${key}` });
  calls.push({ script: rel, cli: "s3 cp", action: "s3:ListBucket", resource: releases });
  for (const key of ["zmanim-api-v1.4.2", "zmanim-api-v1.4.2.sha256", "latest.txt"]) {
    calls.push({ script: rel, cli: "s3 cp", action: "s3:PutObject", resource: `${releases}/${key}` });
  }
  // ssm-restart.sh: Run Command by tag; SSM authorizes the document and every targeted instance, whose tags
  // it passes as ssm:resourceTag/<key>.
  const restart = "scripts/ci/ssm-restart.sh";
  calls.push({
    script: restart,
    cli: "ssm send-command",
    action: "ssm:SendCommand",
    resource: `arn:aws:ssm:${env.region}::document/AWS-RunShellScript`,
    awsOwned: true,
  });
  calls.push({
    script: restart,
    cli: "ssm send-command",
    action: "ssm:SendCommand",
    resource: `arn:aws:ec2:${env.region}:${env.accountId}:instance/${PLACEHOLDERS.InstanceId}`,
    context: { "ssm:resourceTag/Project": "zmanim", "ssm:resourceTag/Environment": env.name },
  });
  calls.push({
    script: restart,
    cli: "ssm list-command-invocations",
    action: "ssm:ListCommandInvocations",
    resource: "*",
  });
  // static-site-rollback.sh: keeps each export (tarball + history.txt) in the releases bucket, reads them back.
  const rollback = "scripts/ci/static-site-rollback.sh";
  for (const key of ["site-exports/history.txt", "site-exports/0123456789ab.tar.gz"]) {
    calls.push({ script: rollback, cli: "s3 cp", action: "s3:GetObject", resource: `${releases}/${key}` });
    calls.push({ script: rollback, cli: "s3 cp", action: "s3:PutObject", resource: `${releases}/${key}` });
  }
  calls.push({ script: rollback, cli: "s3 cp", action: "s3:ListBucket", resource: releases });
  const sync = "scripts/ci/static-site-sync.sh";
  calls.push({ script: sync, cli: "s3 sync", action: "s3:ListBucket", resource: site });
  for (const action of ["s3:PutObject", "s3:DeleteObject"])
    calls.push({ script: sync, cli: "s3 sync", action, resource: `${site}/_next/static/chunks/app.js` });
  calls.push({ script: sync, cli: "s3 cp", action: "s3:PutObject", resource: `${site}/404.html` });
  const store = `arn:aws:cloudfront::${env.accountId}:key-value-store/${PLACEHOLDERS.KeyValueStoreId}`;
  calls.push({
    script: sync,
    cli: "cloudfront describe-key-value-store",
    action: "cloudfront:DescribeKeyValueStore",
    resource: store,
  });
  for (const [cli, action] of [
    ["cloudfront-keyvaluestore describe-key-value-store", "cloudfront-keyvaluestore:DescribeKeyValueStore"],
    ["cloudfront-keyvaluestore list-keys", "cloudfront-keyvaluestore:ListKeys"],
    ["cloudfront-keyvaluestore update-keys", "cloudfront-keyvaluestore:UpdateKeys"],
  ]) {
    calls.push({ script: sync, cli, action, resource: store });
  }
  calls.push({
    script: sync,
    cli: "cloudfront list-distributions",
    action: "cloudfront:ListDistributions",
    resource: "*",
  });
  calls.push({
    script: sync,
    cli: "cloudfront create-invalidation",
    action: "cloudfront:CreateInvalidation",
    resource: `arn:aws:cloudfront::${env.accountId}:distribution/${PLACEHOLDERS.DistributionId}`,
  });
  return calls;
}

/**
 * The deploy role's own CLI calls beside Terraform's (which scripts/tools/iam/roles.ts derives from the stacks):
 * those the role's policy is generated from (constructs/builders/deploy-role-policy.ts deployScriptCalls):
 * deploy-stacks.sh --metrics sends the deploy durations, PutMetricData with the namespace as its condition key,
 * and wait-instance-refresh.sh reads the instance refreshes of each group ami-consumers.js lists (`stacks`: the
 * synthesized stacks of `env`).
 */
export function deployCalls(env: EnvironmentConfig, stacks: Record<string, TfDocument>): Call[] {
  return deployScriptCalls(env, stacks).flatMap(({ script, argv }) =>
    cliRequests(argv, env).map((r) => ({
      script,
      cli: `${argv[0]} ${argv[1]}`,
      action: r.action,
      resource: r.resource,
      context: r.context,
    })),
  );
}

/** Calls as simulation requests: aws:RequestedRegion (us-east-1 for CloudFront) and the call's own context. */
export function callRequests(env: EnvironmentConfig, calls: Call[]): SimRequest[] {
  return calls.map((c) => ({
    action: c.action,
    resource: c.resource,
    context: { ...baseContext(c.action.split(":")[0], env.region, {}), ...(c.context ?? {}) },
    why: `${c.script}: ${c.cli}`,
    awsOwned: c.awsOwned,
  }));
}

/** The scripts each role runs, whose `aws` commands must all be in its call list. */
export const ROLE_SCRIPTS = {
  deploy: [DEPLOY_SCRIPTS.deployStacks, DEPLOY_SCRIPTS.waitInstanceRefresh],
  release: [
    "scripts/ci/release-api.sh",
    "scripts/ci/ssm-restart.sh",
    "scripts/ci/static-site-sync.sh",
    "scripts/ci/static-site-rollback.sh",
    "scripts/ci/health-check.sh",
  ],
  instance: [
    "scripts/box/user-data/common.sh",
    "scripts/box/user-data/box.sh",
    "scripts/box/user-data/api.sh",
    "scripts/box/backup.sh",
    "scripts/box/restore.sh",
    "scripts/box/restore-drill.sh",
    "scripts/box/notify-failure.sh",
    "scripts/box/lib/common.sh",
    "packer/files/bin/update-binary.sh",
  ],
};

/**
 * `aws <service> <command>` invocations in a shell script (comments skipped; global options such as
 * `--region "$R"` and `"${aws_args[@]}"` before the service are allowed).
 */
export function awsCliCommands(text: string): string[] {
  const found = new Set<string>();
  for (const line of text.split("\n")) {
    if (/^\s*#/.test(line)) continue;
    const re =
      /(?:^|[\s$(|&;`])aws((?:\s+(?:--[a-z-]+\s+"?\$\{?[A-Za-z_]+\}?"?|"\$\{[A-Za-z_]+\[@\]\}"))*)\s+([a-z0-9-]+)\s+([a-z0-9-]+)/g;
    for (const m of line.matchAll(re)) found.add(`${m[2]} ${m[3]}`);
  }
  return [...found].sort();
}
