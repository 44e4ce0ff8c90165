import { Construct } from "constructs";
import { AlarmSet, AlarmSpec } from "./alarm-set";
import { ManagedDatabase } from "./managed-database";
import { EnvironmentConfig, ScaledTopology } from "./config/environments";
import { alarmTopicArn, resourcePrefix } from "./config/naming";

const GIB = 1024 ** 3;

/**
 * Memory of an RDS Graviton class in GiB: t4g and m*g have 4 GiB per vCPU from `large` up (micro 1, small 2,
 * medium 4), r*g twice that, x2g four times. https://aws.amazon.com/rds/instance-types/
 */
export function dbClassMemoryGib(instanceClass: string): number {
  const m = /^db\.([a-z0-9]+)\.(\w+)$/.exec(instanceClass);
  if (!m) throw new Error(`instance class ${JSON.stringify(instanceClass)}: expected db.<family>.<size>`);
  const [, family, size] = m;
  const base: Record<string, number> = { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16 };
  const n = /^(\d+)xlarge$/.exec(size);
  const general = n ? 16 * Number(n[1]) : base[size];
  if (general === undefined) throw new Error(`instance class ${instanceClass}: unknown size ${size}`);
  const factor = family.startsWith("x2") ? 4 : family.startsWith("r") ? 2 : 1;
  return general * factor;
}

export interface DataAlarmsProps {
  readonly env: EnvironmentConfig;
  readonly topology: ScaledTopology;
  readonly database: ManagedDatabase;
  /** Serverless cache name or replication group id. */
  readonly cacheName: string;
}

/**
 * Alarms of the data tier, each notifying the environment's alarm topic on alarm and on return to OK. Metric
 * names: RDS https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html, ElastiCache
 * Serverless https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/serverless-metrics-events-redis.html and
 * node-based https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.Redis.html.
 */
export function dataAlarms(scope: Construct, props: DataAlarmsProps): AlarmSet {
  const { env, topology: t, database } = props;
  const specs: AlarmSpec[] = [];
  /** Five-minute periods, three in a row. */
  const alarm = (
    id: string,
    spec: Pick<
      AlarmSpec,
      | "alarmDescription"
      | "namespace"
      | "metricName"
      | "dimensions"
      | "statistic"
      | "comparisonOperator"
      | "threshold"
      | "treatMissingData"
    >,
  ) =>
    specs.push({
      id: id.replace(/-/g, "_"),
      name: id,
      period: 300,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      ...spec,
    });

  const db = { DBInstanceIdentifier: database.instance.identifier };
  const allocatedBytes = database.allocatedStorageGb * GIB;
  const memoryBytes = dbClassMemoryGib(t.database.instanceClass) * GIB;
  alarm("db-free-storage", {
    alarmDescription:
      "RDS free storage below 10% of the initial allocation (or 2 GiB) for 15 minutes; autoscaling may be at its ceiling",
    namespace: "AWS/RDS",
    metricName: "FreeStorageSpace",
    dimensions: db,
    statistic: "Minimum",
    comparisonOperator: "LessThanThreshold",
    threshold: Math.max(2 * GIB, Math.floor(allocatedBytes / 10)),
  });
  alarm("db-cpu", {
    alarmDescription: "RDS CPU above 80% for 15 minutes",
    namespace: "AWS/RDS",
    metricName: "CPUUtilization",
    dimensions: db,
    statistic: "Average",
    comparisonOperator: "GreaterThanThreshold",
    threshold: 80,
  });
  alarm("db-freeable-memory", {
    alarmDescription: `RDS freeable memory below 10% of the class's ${memoryBytes / GIB} GiB for 15 minutes`,
    namespace: "AWS/RDS",
    metricName: "FreeableMemory",
    dimensions: db,
    statistic: "Average",
    comparisonOperator: "LessThanThreshold",
    threshold: Math.floor(memoryBytes / 10),
  });
  // A slot that stops advancing holds back WAL; max_slot_wal_keep_size (a quarter of the storage) invalidates
  // it eventually. Alarm at half of that, while the subscriber can still catch up. No slot: no data, no alarm.
  const slotBytes = Math.floor(allocatedBytes / 8);
  alarm("db-replication-slot-lag", {
    alarmDescription: "The most lagging replication slot holds back more than 1/8 of the storage in WAL for 15 minutes",
    namespace: "AWS/RDS",
    metricName: "OldestReplicationSlotLag",
    dimensions: db,
    statistic: "Maximum",
    comparisonOperator: "GreaterThanThreshold",
    threshold: slotBytes,
    treatMissingData: "notBreaching",
  });
  alarm("db-transaction-logs", {
    alarmDescription: "WAL on disk above 1/8 of the storage for 15 minutes (a stalled slot or archiving)",
    namespace: "AWS/RDS",
    metricName: "TransactionLogsDiskUsage",
    dimensions: db,
    statistic: "Maximum",
    comparisonOperator: "GreaterThanThreshold",
    threshold: slotBytes,
    treatMissingData: "notBreaching",
  });

  const c = t.cache;
  if (c.kind === "serverless") {
    const cache = { clusterId: props.cacheName };
    alarm("cache-storage", {
      alarmDescription: `Valkey data above 80% of its ${c.maxDataStorageGb} GB limit for 15 minutes; at the limit it evicts keys with a TTL, then refuses writes`,
      namespace: "AWS/ElastiCache",
      metricName: "BytesUsedForCache",
      dimensions: cache,
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: Math.floor(c.maxDataStorageGb * 1e9 * 0.8),
    });
    alarm("cache-ecpu", {
      alarmDescription: `Valkey ECPU above 80% of its ${c.maxEcpuPerSecond}/s limit for 15 minutes; at the limit requests are throttled`,
      namespace: "AWS/ElastiCache",
      metricName: "ElastiCacheProcessingUnits",
      dimensions: cache,
      statistic: "Sum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: Math.floor(c.maxEcpuPerSecond * 300 * 0.8),
    });
  } else {
    // Node-based metrics are per node: <replication group id>-001, -002, ...
    for (let i = 1; i <= 1 + c.replicas; i++) {
      const node = `${props.cacheName}-${String(i).padStart(3, "0")}`;
      alarm(`cache-memory-${i}`, {
        alarmDescription: `Valkey node ${node} memory above 80% of maxmemory for 15 minutes; at 100% it evicts keys with a TTL, then refuses writes`,
        namespace: "AWS/ElastiCache",
        metricName: "DatabaseMemoryUsagePercentage",
        dimensions: { CacheClusterId: node },
        statistic: "Maximum",
        comparisonOperator: "GreaterThanThreshold",
        threshold: 80,
      });
      alarm(`cache-cpu-${i}`, {
        alarmDescription: `Valkey node ${node} engine CPU above 80% for 15 minutes`,
        namespace: "AWS/ElastiCache",
        metricName: "EngineCPUUtilization",
        dimensions: { CacheClusterId: node },
        statistic: "Average",
        comparisonOperator: "GreaterThanThreshold",
        threshold: 80,
      });
    }
  }
  return new AlarmSet(scope, "alarms", {
    topicArn: alarmTopicArn(env),
    namePrefix: `${resourcePrefix(env)}-`,
    alarms: specs,
  });
}
