import { Construct } from "constructs";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { Password } from "@cdktf/provider-random/lib/password";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { EnvironmentConfig, topologyOf } from "../constructs/config/environments";
import {
  bucketName,
  logGroupPrefix,
  mailFromAddress,
  metricsNamespace,
  ssmParameterName,
  ssmPrefix,
  SSM_LEAVES,
} from "../constructs/config/naming";

/** The value the Clerk key placeholder is created with. User data refuses to start the API with it. */
export const CLERK_PLACEHOLDER = "PLACEHOLDER_set_out_of_band_see_docs_secrets_md";

/** Generated secrets: alphanumeric only, so they are safe in URLs, env files and redis.conf unquoted. */
const GENERATED: Array<{ id: string; leaf: string; description: string }> = [
  { id: "postgres_password", leaf: SSM_LEAVES.postgresPassword, description: "Password of the zmanim PostgreSQL role" },
  { id: "redis_password", leaf: SSM_LEAVES.redisPassword, description: "Redis requirepass" },
  {
    id: "restic_password",
    leaf: SSM_LEAVES.resticPassword,
    description: "Key of the restic backup repository; without it no backup can be read",
  },
];

/** Generated only in the scaled topology, for the managed data stores (docs/topologies.md). */
const GENERATED_SCALED: typeof GENERATED = [
  {
    id: "database_app_password",
    leaf: SSM_LEAVES.databaseAppPassword,
    description: "Password of the zmanim role on RDS PostgreSQL (the application's own login, not the master user)",
  },
  {
    id: "cache_password",
    leaf: SSM_LEAVES.cachePassword,
    description: "Password of the zmanim user of ElastiCache Valkey",
  },
];

/** Characters allowed in a `config` value: each becomes `KEY=value` in box.env, unquoted. */
const SAFE_CONFIG_VALUE = /^[A-Za-z0-9@%+=:,./_-]*$/;

/**
 * The non-secret settings the box needs, as written to SSM `config` and turned into `/etc/zmanim/box.env`
 * by user data (keys become variable names as they are).
 */
export function boxConfig(env: EnvironmentConfig): Record<string, string> {
  const backups = bucketName(env, "backups");
  const config: Record<string, string> = {
    ZMANIM_ENV: env.name,
    AWS_REGION: env.region,
    AWS_DEFAULT_REGION: env.region,
    ZMANIM_DOMAIN: env.domain.siteName,
    ZMANIM_API_PORT: String(env.api.port),
    ZMANIM_HEALTH_PATH: env.api.healthPath,
    ZMANIM_BACKUP_BUCKET: backups,
    ZMANIM_RELEASES_BUCKET: bucketName(env, "releases"),
    RESTIC_REPOSITORY: `s3:s3.${env.region}.amazonaws.com/${backups}`,
    ZMANIM_ALARM_EMAIL: env.alarmEmail,
    ZMANIM_MAIL_FROM: mailFromAddress(env),
    ZMANIM_METRICS_NAMESPACE: metricsNamespace(env),
    ZMANIM_LOG_GROUP_PREFIX: logGroupPrefix(env),
    ZMANIM_SSM_PREFIX: ssmPrefix(env),
  };
  for (const [key, value] of Object.entries(config)) {
    if (!SAFE_CONFIG_VALUE.test(value)) {
      throw new Error(
        `box config ${key} = ${JSON.stringify(value)}: only letters, digits and @%+=:,./_- are allowed, ` +
          `because box.env is read unquoted by systemd and by shell; fix the environment definition`,
      );
    }
  }
  return config;
}

/**
 * SSM parameters under /zmanim/<env>/: generated passwords (random provider, SecureString), the Clerk key
 * placeholder (set out of band, never overwritten), and the plain `config` JSON the box turns into box.env.
 *
 * The random provider lives only in this stack: it is not in the local Terraform mirror, so this stack is
 * the one that `scripts/dev/tf-validate.sh` skips, and every other stack stays validatable.
 * Rotation and the Clerk key: docs/secrets.md.
 */
export class SecretsStack extends ZmanimStack {
  /** Keyed by SSM leaf name. */
  readonly parameters: Record<string, SsmParameter> = {};

  constructor(scope: Construct, props: ZmanimStackProps) {
    super(scope, "secrets", props);
    const env = props.env;
    new RandomProvider(this, "random");

    for (const g of topologyOf(env).kind === "scaled" ? [...GENERATED, ...GENERATED_SCALED] : GENERATED) {
      // No prevent_destroy on the generator: rotation is `terraform apply -replace=random_password.<id>`,
      // which updates the SSM value in place. The SSM parameter itself is protected.
      const password = new Password(this, `${g.id}-random`, {
        length: 40,
        special: false,
        minLower: 2,
        minUpper: 2,
        minNumeric: 2,
      });
      password.overrideLogicalId(g.id);
      const param = new SsmParameter(this, `${g.id}-param`, {
        name: ssmParameterName(env, g.leaf),
        description: g.description,
        type: "SecureString",
        value: password.result,
        lifecycle: { preventDestroy: true },
      });
      param.overrideLogicalId(`${g.id}_param`);
      this.parameters[g.leaf] = param;
    }

    const clerk = new SsmParameter(this, "clerk-secret-key-param", {
      name: ssmParameterName(env, SSM_LEAVES.clerkSecretKey),
      description: "Clerk secret key (sk_live_...); set out of band, see docs/secrets.md",
      type: "SecureString",
      value: CLERK_PLACEHOLDER,
      lifecycle: { preventDestroy: true, ignoreChanges: ["value"] },
    });
    clerk.overrideLogicalId("clerk_secret_key_param");
    this.parameters[SSM_LEAVES.clerkSecretKey] = clerk;

    const config = new SsmParameter(this, "config-param", {
      name: ssmParameterName(env, SSM_LEAVES.config),
      description: "Non-secret settings of the box (JSON object of KEY: value); becomes /etc/zmanim/box.env",
      type: "String",
      value: JSON.stringify(boxConfig(env)),
    });
    config.overrideLogicalId("config_param");
    this.parameters[SSM_LEAVES.config] = config;
  }
}
