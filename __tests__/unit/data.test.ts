import { Testing } from "cdktf/lib/testing";
import { TerraformStack } from "cdktf/lib/terraform-stack";
import { EnvironmentConfig, ScaledTopology, prod, scaled } from "../../constructs/config/environments";
import { ManagedDatabase, ManagedDatabaseProps } from "../../constructs/managed-database";
import { ManagedCache } from "../../constructs/managed-cache";
import { dbClassMemoryGib } from "../../constructs/data-alarms";
import { resourcesOfType, synthAll } from "../helpers/synth";

const topology = scaled.topology as ScaledTopology;
const withTopology = (patch: Partial<ScaledTopology>): EnvironmentConfig => ({
  ...scaled,
  topology: { ...topology, ...patch },
});
const replicated = withTopology({ cache: { kind: "replication-group", nodeType: "cache.t4g.micro", replicas: 1 } });
const remote = (id: string) =>
  `\${data.terraform_remote_state.cross-stack-reference-input-zmanim-scaled-network.outputs.cross-stack-output-${id}}`;

describe("data stack", () => {
  const s = synthAll(scaled);
  const data = s.stacks.data;

  it("exists only in the scaled topology, after the network, the secrets and the (retired) box", () => {
    expect(synthAll(prod).stacks.data).toBeUndefined();
    expect(data).toBeDefined();
    expect(s.manifest.stacks["zmanim-scaled-data"].dependencies.sort()).toEqual([
      "zmanim-scaled-compute",
      "zmanim-scaled-network",
      "zmanim-scaled-secrets",
    ]);
  });

  it("runs PostgreSQL 16 (major pinned, minors by RDS), Multi-AZ, private, protected, on the data subnets", () => {
    const dbs = resourcesOfType(s, "aws_db_instance");
    expect(dbs.map(([stack, id]) => `${stack}.${id}`)).toEqual(["data.database"]);
    expect(dbs[0][2]).toMatchObject({
      engine: "postgres",
      engine_version: "16",
      auto_minor_version_upgrade: true,
      allow_major_version_upgrade: false,
      instance_class: "db.t4g.small",
      multi_az: true,
      storage_type: "gp3",
      storage_encrypted: true,
      allocated_storage: 20,
      max_allocated_storage: 100,
      publicly_accessible: false,
      deletion_protection: true,
      lifecycle: { prevent_destroy: true },
      skip_final_snapshot: false,
      final_snapshot_identifier: "zmanim-scaled-postgres-final",
      backup_retention_period: 7,
      copy_tags_to_snapshot: true,
      manage_master_user_password: true,
      vpc_security_group_ids: [remote("aws_security_groupdb_security_groupid")],
      db_subnet_group_name: "${aws_db_subnet_group.database_subnet_group.name}",
      parameter_group_name: "${aws_db_parameter_group.database_parameter_group.name}",
    });
    expect(dbs[0][2].password).toBeUndefined();
    expect(data.resource?.aws_db_subnet_group?.database_subnet_group.subnet_ids).toEqual([
      remote("aws_subnetdata_subnet_0id"),
      remote("aws_subnetdata_subnet_1id"),
    ]);
  });

  it("has a replaceable postgres16 parameter group: logical replication, pg_cron, TLS only", () => {
    const group = data.resource?.aws_db_parameter_group?.database_parameter_group as Record<string, unknown>;
    expect(group).toMatchObject({
      family: "postgres16",
      name_prefix: "zmanim-scaled-postgres-pg16-",
      lifecycle: { create_before_destroy: true },
    });
    expect(group.name).toBeUndefined();
    const params = Object.fromEntries(
      (group.parameter as Array<{ name: string; value: string }>).map((p) => [p.name, p.value]),
    );
    expect(params).toMatchObject({
      "rds.logical_replication": "1",
      "cron.database_name": "zmanim",
      "rds.force_ssl": "1",
      max_slot_wal_keep_size: String(5 * 1024),
    });
    expect(params.shared_preload_libraries.split(",")).toContain("pg_cron");
  });

  it("serverless Valkey: usage limits, data subnets, cache group, a user group whose default user is off", () => {
    const cache = data.resource?.aws_elasticache_serverless_cache?.cache as Record<string, unknown>;
    expect(cache).toMatchObject({
      engine: "valkey",
      name: "zmanim-scaled",
      cache_usage_limits: [{ data_storage: [{ maximum: 1, unit: "GB" }], ecpu_per_second: [{ maximum: 5000 }] }],
      security_group_ids: [remote("aws_security_groupcache_security_groupid")],
      subnet_ids: [remote("aws_subnetdata_subnet_0id"), remote("aws_subnetdata_subnet_1id")],
      user_group_id: "${aws_elasticache_user_group.cache_user_group.user_group_id}",
      snapshot_retention_limit: 7,
    });
    const users = data.resource?.aws_elasticache_user ?? {};
    expect(users.cache_default_user).toMatchObject({
      user_name: "default",
      access_string: "off -@all",
      engine: "valkey",
    });
    expect(users.cache_app_user).toMatchObject({
      user_name: "zmanim",
      engine: "valkey",
      authentication_mode: { type: "password", passwords: ["${data.aws_ssm_parameter.cache-password.value}"] },
    });
    expect(data.data?.aws_ssm_parameter?.["cache-password"]).toMatchObject({
      name: "/zmanim/scaled/cache-password",
      with_decryption: true,
    });
  });

  it("a replication group: TLS required, encrypted at rest, failover and Multi-AZ with a replica", () => {
    const group = synthAll(replicated).stacks.data.resource?.aws_elasticache_replication_group?.cache;
    expect(group).toMatchObject({
      engine: "valkey",
      num_cache_clusters: 2,
      automatic_failover_enabled: true,
      multi_az_enabled: true,
      transit_encryption_enabled: true,
      transit_encryption_mode: "required",
      at_rest_encryption_enabled: "true",
      user_group_ids: ["${aws_elasticache_user_group.cache_user_group.user_group_id}"],
      subnet_group_name: "${aws_elasticache_subnet_group.cache_subnet_group.name}",
      notification_topic_arn: "arn:aws:sns:eu-west-1:111111111111:zmanim-scaled-alarms",
    });
    expect(group?.auth_token).toBeUndefined();
  });

  it("generates the application's database and cache passwords in the secrets stack, only when scaled", () => {
    const names = (env: EnvironmentConfig) =>
      Object.values(synthAll(env).stacks.secrets.resource?.aws_ssm_parameter ?? {}).map((p) => p.name);
    expect(names(scaled)).toEqual(
      expect.arrayContaining(["/zmanim/scaled/database-app-password", "/zmanim/scaled/cache-password"]),
    );
    expect(names(prod)).not.toContain("/zmanim/prod/database-app-password");
    expect(names(prod)).not.toContain("/zmanim/prod/cache-password");
    // The master user's secret is RDS's; no stack generates or stores a master password.
    expect(JSON.stringify(data)).not.toMatch(/master_password|"password":/);
  });

  it("publishes the endpoints for the fleet in data-config and as outputs", () => {
    const param = data.resource?.aws_ssm_parameter?.data_config_param as Record<string, string>;
    expect(param.name).toBe("/zmanim/scaled/data-config");
    expect(param.value).toContain('"ZMANIM_DB_HOST" = aws_db_instance.database.address');
    expect(param.value).toContain(
      '"ZMANIM_CACHE_PORT" = tostring(aws_elasticache_serverless_cache.cache.endpoint[0].port)',
    );
    expect(param.value).toContain('"ZMANIM_DB_USER" = "zmanim"');
    expect(Object.keys(data.output ?? {})).toEqual(
      expect.arrayContaining([
        "database-endpoint",
        "database-port",
        "cache-endpoint",
        "data-config-parameter",
        "cache-password-parameter",
        "database-app-password-parameter",
      ]),
    );
  });

  it("alarms on storage, CPU, memory, slot lag and WAL, and the cache's storage and ECPU, all to the alarm topic", () => {
    const alarms = Object.entries(data.resource?.aws_cloudwatch_metric_alarm ?? {});
    const byMetric = Object.fromEntries(alarms.map(([, a]) => [a.metric_name as string, a]));
    expect(Object.keys(byMetric).sort()).toEqual([
      "BytesUsedForCache",
      "CPUUtilization",
      "ElastiCacheProcessingUnits",
      "FreeStorageSpace",
      "FreeableMemory",
      "OldestReplicationSlotLag",
      "TransactionLogsDiskUsage",
    ]);
    expect(byMetric.FreeableMemory.threshold).toBe(Math.floor((2 * 1024 ** 3) / 10));
    expect(byMetric.OldestReplicationSlotLag).toMatchObject({
      treat_missing_data: "notBreaching",
      threshold: (20 * 1024 ** 3) / 8,
    });
    expect(byMetric.ElastiCacheProcessingUnits).toMatchObject({
      dimensions: { clusterId: "zmanim-scaled" },
      threshold: 5000 * 300 * 0.8,
    });
    for (const [, a] of alarms) {
      expect(a.alarm_actions).toEqual(["arn:aws:sns:eu-west-1:111111111111:zmanim-scaled-alarms"]);
      expect(a.ok_actions).toEqual(a.alarm_actions);
    }
    const nodeAlarms = Object.values(synthAll(replicated).stacks.data.resource?.aws_cloudwatch_metric_alarm ?? {})
      .filter((a) => a.namespace === "AWS/ElastiCache")
      .map((a) => `${a.metric_name}@${(a.dimensions as Record<string, string>).CacheClusterId}`)
      .sort();
    expect(nodeAlarms).toEqual([
      "DatabaseMemoryUsagePercentage@zmanim-scaled-001",
      "DatabaseMemoryUsagePercentage@zmanim-scaled-002",
      "EngineCPUUtilization@zmanim-scaled-001",
      "EngineCPUUtilization@zmanim-scaled-002",
    ]);
  });
});

describe("managed data constructs refuse unsafe settings at construction", () => {
  const base: ManagedDatabaseProps = {
    identifier: "db",
    instanceClass: "db.t4g.small",
    subnetIds: ["a", "b"],
    securityGroupIds: ["sg"],
  };
  const db = (patch: Partial<ManagedDatabaseProps>) => () =>
    new ManagedDatabase(new TerraformStack(Testing.app(), "t"), "db", { ...base, ...patch });

  it("names the field, the value and the fix", () => {
    expect(db({ backupRetentionDays: 3 })).toThrow(/ManagedDatabase db: backupRetentionDays = 3: use 7 to 35 days/);
    expect(db({ allocatedStorageGb: 50, maxAllocatedStorageGb: 50 })).toThrow(
      /maxAllocatedStorageGb = 50: must exceed allocatedStorageGb \(50\)/,
    );
    expect(db({ subnetIds: ["a"] })).toThrow(/subnetIds = \["a"\]: give subnets in at least two zones/);
    expect(db({ engineMajorVersion: "16.4" })).toThrow(/engineMajorVersion = "16.4": give the major version only/);
    const cache = (password: string) => () =>
      new ManagedCache(new TerraformStack(Testing.app(), "t"), "cache", {
        name: "c",
        capacity: topology.cache,
        subnetIds: ["a", "b"],
        securityGroupIds: ["sg"],
        password,
      });
    expect(cache("short")).toThrow(/ManagedCache cache: password = "\(hidden\)": use 16 to 128 printable characters/);
  });

  it("defaults to Multi-AZ, 7 days of backups and a storage ceiling of five times the allocation", () => {
    const stack = new TerraformStack(Testing.app(), "t");
    new ManagedDatabase(stack, "db", base);
    const tf = JSON.parse(Testing.synth(stack));
    expect(tf.resource.aws_db_instance.database).toMatchObject({
      multi_az: true,
      backup_retention_period: 7,
      allocated_storage: 20,
      max_allocated_storage: 100,
    });
  });

  it("knows the memory of Graviton classes", () => {
    expect(dbClassMemoryGib("db.t4g.micro")).toBe(1);
    expect(dbClassMemoryGib("db.m7g.large")).toBe(8);
    expect(dbClassMemoryGib("db.r7g.2xlarge")).toBe(64);
    expect(() => dbClassMemoryGib("db.t4g.huge")).toThrow(/unknown size huge/);
  });
});
