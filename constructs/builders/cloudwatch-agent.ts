import { EnvironmentConfig } from "../config/environments";
import { logGroupPrefix, metricsNamespace } from "../config/naming";

/**
 * The metric contract between the box and the alarms (docs/on-box-layout.md, "Metrics"). Every metric lives in
 * `Zmanim/<env>` and carries exactly the dimensions listed here; an alarm on any other dimension set would
 * watch a metric that never arrives.
 */
export const METRICS = {
  /** CloudWatch agent, no dimensions (`omit_hostname`, no `append_dimensions`). */
  memUsedPercent: "mem_used_percent",
  /** CloudWatch agent, one dimension: `path` (rolled up with `aggregation_dimensions`, original dropped). */
  diskUsedPercent: "disk_used_percent",
  /** scripts/box/backup.sh, value 1 after each successful run, no dimensions. */
  backupSuccess: "BackupSuccess",
  /** scripts/box/restore-drill.sh, one per drill: 1 passed, 0 failed; no dimensions. */
  restoreDrillSuccess: "RestoreDrillSuccess",
  /**
   * Seconds since the last passed drill: 0 from scripts/box/restore-drill.sh when a drill passes, and the stamp's age
   * from scripts/box/backup.sh after each daily backup; no dimensions.
   */
  restoreDrillAgeSeconds: "RestoreDrillAgeSeconds",
} as const;

/** Mount points whose usage is measured and alarmed. */
export const MONITORED_PATHS = ["/", "/data"] as const;

/** Log files on the box and the log group (under `/zmanim/<env>/`) each one is shipped to. */
export const BOX_LOGS: ReadonlyArray<{ group: string; file: string }> = [
  { group: "api", file: "/var/log/zmanim/api.log" },
  { group: "postgresql", file: "/var/log/postgresql/postgresql-*-main.log" },
  { group: "redis", file: "/var/log/redis/redis-server.log" },
  { group: "backup", file: "/var/log/zmanim/backup.log" },
  { group: "restore-drill", file: "/var/log/zmanim/restore-drill.log" },
];

export function boxLogGroupName(env: EnvironmentConfig, group: string): string {
  return `${logGroupPrefix(env)}/${group}`;
}

/**
 * The CloudWatch agent configuration for the box. Delivered through SSM (`/zmanim/<env>/cloudwatch-agent`),
 * written by user data to the agent's config file and loaded with `amazon-cloudwatch-agent-ctl -a fetch-config`.
 */
export function cloudwatchAgentConfig(env: EnvironmentConfig): Record<string, unknown> {
  return {
    agent: {
      metrics_collection_interval: 60,
      // No `host` dimension: a replacement instance keeps publishing into the same metric.
      omit_hostname: true,
      run_as_user: "root",
    },
    metrics: {
      namespace: metricsNamespace(env),
      aggregation_dimensions: [["path"]],
      metrics_collected: {
        mem: { measurement: ["mem_used_percent"] },
        disk: {
          measurement: ["used_percent"],
          resources: [...MONITORED_PATHS],
          drop_device: true,
          // The original carries fstype as well; only the path-only rollup is published.
          drop_original_metrics: [METRICS.diskUsedPercent],
        },
      },
    },
    logs: {
      logs_collected: {
        files: {
          collect_list: BOX_LOGS.map((l) => ({
            file_path: l.file,
            log_group_name: boxLogGroupName(env, l.group),
            log_stream_name: "{instance_id}",
          })),
        },
      },
    },
  };
}

/** Log files on an API-only fleet instance and their log groups (under `/zmanim/<env>/`). */
export const FLEET_LOGS: ReadonlyArray<{ group: string; file: string }> = [
  { group: "fleet/api", file: "/var/log/zmanim/api.log" },
];

/** Dimension the fleet's agent metrics carry, so they never mix with the box's dimensionless ones. */
export const FLEET_METRIC_DIMENSION = "AutoScalingGroupName";

/**
 * The CloudWatch agent configuration of the API fleet (SSM `/zmanim/<env>/cloudwatch-agent-api`): memory and
 * root-disk usage per Auto Scaling group, and the API log. While `keepBox` holds, the box publishes into the same
 * namespace without dimensions; the fleet's `AutoScalingGroupName` dimension keeps the two series apart, so the
 * box's memory and agent-silent alarms keep watching the box alone. The value holds the agent's own
 * `${aws:AutoScalingGroupName}` placeholder; escape it before it goes into a Terraform string.
 */
export function fleetCloudwatchAgentConfig(env: EnvironmentConfig): Record<string, unknown> {
  return {
    agent: { metrics_collection_interval: 60, omit_hostname: true, run_as_user: "root" },
    metrics: {
      namespace: metricsNamespace(env),
      append_dimensions: { [FLEET_METRIC_DIMENSION]: "${aws:AutoScalingGroupName}" },
      aggregation_dimensions: [[FLEET_METRIC_DIMENSION]],
      metrics_collected: {
        mem: { measurement: ["mem_used_percent"] },
        disk: { measurement: ["used_percent"], resources: ["/"], drop_device: true },
      },
    },
    logs: {
      logs_collected: {
        files: {
          collect_list: FLEET_LOGS.map((l) => ({
            file_path: l.file,
            log_group_name: boxLogGroupName(env, l.group),
            log_stream_name: "{instance_id}",
          })),
        },
      },
    },
  };
}
