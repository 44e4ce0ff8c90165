import { Construct } from "constructs";
import { Fn } from "cdktf/lib/terraform-functions";
import { TerraformOutput } from "cdktf/lib/terraform-output";
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { DbEventSubscription } from "@cdktf/provider-aws/lib/db-event-subscription";
import { ManagedDatabase } from "../constructs/managed-database";
import { ManagedCache } from "../constructs/managed-cache";
import { addAlarmTopic, alarmTopicOwner } from "../constructs/alarm-topic";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { ScaledTopology } from "../constructs/config/environments";
import { NetworkStack } from "./network";
import { alarmTopicArn, ssmParameterName, resourcePrefix, SSM_LEAVES } from "../constructs/config/naming";

import { dataAlarms } from "../constructs/data-alarms";

export interface DataStackProps extends ZmanimStackProps {
  readonly network: NetworkStack;
  readonly topology: ScaledTopology;
}

/** Name of the application's own PostgreSQL role on RDS (created by docs/runbooks/scale-out.md). */
export const DATABASE_APP_USER = "zmanim";

/**
 * The scaled topology's data tier: RDS for PostgreSQL and ElastiCache for Valkey in the data subnets, their
 * alarms, and the `data-config` SSM parameter the API fleet reads its endpoints from.
 *
 * Secrets stay in the secrets stack: the application's database password is only ever read by the fleet and the
 * scale-out runbook (this stack never sees it), and the cache password is read here by name, because
 * ElastiCache needs it to create the user. Stateful ids are pinned (see the constructs).
 */
export class DataStack extends ZmanimStack {
  readonly database: ManagedDatabase;
  readonly cache: ManagedCache;

  constructor(scope: Construct, props: DataStackProps) {
    super(scope, "data", props);
    const { env, topology: t } = props;
    const net = props.network.scaled;
    if (!net)
      throw new Error(
        `data stack: environment "${env.name}" has no scaled network; the data stack exists only in the scaled topology`,
      );
    const prefix = resourcePrefix(env);
    const dataSubnets = net.dataSubnets.map((s) => s.id);
    if (alarmTopicOwner(env) === "data") addAlarmTopic(this, env);

    this.database = new ManagedDatabase(this, "database", {
      identifier: `${prefix}-postgres`,
      instanceClass: t.database.instanceClass,
      multiAz: t.database.multiAz,
      allocatedStorageGb: t.database.allocatedStorageGb,
      maxAllocatedStorageGb: t.database.maxAllocatedStorageGb,
      backupRetentionDays: t.database.backupRetentionDays,
      subnetIds: dataSubnets,
      securityGroupIds: [net.databaseSecurityGroup.id],
      logRetentionDays: env.logRetentionDays,
    });

    const cachePassword = new DataAwsSsmParameter(this, "cache-password", {
      name: ssmParameterName(env, SSM_LEAVES.cachePassword),
      withDecryption: true,
    });
    this.cache = new ManagedCache(this, "cache", {
      name: prefix,
      capacity: t.cache,
      subnetIds: dataSubnets,
      securityGroupIds: [net.cacheSecurityGroup.id],
      password: cachePassword.value,
      snapshotRetentionDays: t.database.backupRetentionDays,
      notificationTopicArn: alarmTopicArn(env),
    });

    const dataConfig = new SsmParameter(this, "data-config", {
      name: ssmParameterName(env, SSM_LEAVES.dataConfig),
      description: "Endpoints of RDS PostgreSQL and ElastiCache Valkey (JSON of KEY: value) for the API fleet",
      type: "String",
      value: Fn.jsonencode({
        ZMANIM_DB_HOST: this.database.address,
        ZMANIM_DB_PORT: Fn.tostring(this.database.port),
        ZMANIM_DB_NAME: this.database.databaseName,
        ZMANIM_DB_USER: DATABASE_APP_USER,
        ZMANIM_CACHE_HOST: this.cache.address,
        ZMANIM_CACHE_PORT: Fn.tostring(this.cache.port),
        ZMANIM_CACHE_USER: "zmanim",
        ZMANIM_CACHE_TLS: "true",
      }),
    });
    dataConfig.overrideLogicalId("data_config_param");

    dataAlarms(this, { env, topology: t, database: this.database, cacheName: prefix });

    // Failures, failovers, low storage and recoveries of the instance reach the alarm mailbox as they happen.
    // RDS events: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html
    new DbEventSubscription(this, "database-events", {
      name: `${prefix}-postgres-events`,
      snsTopic: alarmTopicArn(env),
      sourceType: "db-instance",
      sourceIds: [this.database.instance.identifier],
      eventCategories: ["availability", "failover", "failure", "low storage", "recovery"],
    });

    new TerraformOutput(this, "database-endpoint", { value: this.database.address });
    new TerraformOutput(this, "database-port", { value: this.database.port });
    new TerraformOutput(this, "database-master-secret-arn", {
      value: this.database.instance.masterUserSecret.get(0).secretArn,
      description: "RDS-managed secret of the master user (administration only; it rotates)",
    });
    new TerraformOutput(this, "cache-endpoint", { value: this.cache.address });
    new TerraformOutput(this, "data-config-parameter", { value: dataConfig.name });
    new TerraformOutput(this, "database-app-password-parameter", {
      value: ssmParameterName(env, SSM_LEAVES.databaseAppPassword),
    });
    new TerraformOutput(this, "cache-password-parameter", { value: cachePassword.name });
  }
}
