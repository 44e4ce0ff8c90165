import { Construct } from "constructs";
import { ElasticacheServerlessCache } from "@cdktf/provider-aws/lib/elasticache-serverless-cache";
import { ElasticacheReplicationGroup } from "@cdktf/provider-aws/lib/elasticache-replication-group";
import { ElasticacheSubnetGroup } from "@cdktf/provider-aws/lib/elasticache-subnet-group";
import { ElasticacheUser } from "@cdktf/provider-aws/lib/elasticache-user";
import { ElasticacheUserGroup } from "@cdktf/provider-aws/lib/elasticache-user-group";
import type { ManagedCacheConfig } from "./config/environments";

export interface ManagedCacheProps {
  /**
   * Name of the cache (serverless cache name or replication group id), lowercase, at most 40 characters, e.g.
   * `zmanim-prod`. Also prefixes the user ids and names the user and subnet groups.
   */
  readonly name: string;
  /**
   * Serverless (capacity bounded by a storage and an ECPU ceiling) or a node-based replication group (node type
   * and replica count). Both are Valkey with TLS, encryption at rest and a user group.
   */
  readonly capacity: ManagedCacheConfig;
  /** Subnets in at least two zones, with no route to the internet (the data subnets). */
  readonly subnetIds: string[];
  /** Security groups of the cache; they decide who may open 6379. */
  readonly securityGroupIds: string[];
  /**
   * Password of the application's cache user (16 to 128 printable characters). It is stored in the data stack's
   * state, which is encrypted at rest; rotation is `terraform apply` with a new value.
   */
  readonly password: string;
  /** The application's user name (`AUTH <user> <password>`). @default "zmanim" */
  readonly username?: string;
  /**
   * The application's ACL. @default "on ~* &* +@all -@admin" (every key and channel, no administrative command)
   */
  readonly accessString?: string;
  /** Valkey major version. @default "8" */
  readonly majorEngineVersion?: string;
  /**
   * Days of daily snapshots kept; 0 turns snapshots off. The cache holds state as well as caches (keys without a
   * TTL, see docs/topologies.md), so it is backed up like the box's Redis. @default 7
   */
  readonly snapshotRetentionDays?: number;
  /** UTC hour (`HH:MM`) at which the daily snapshot starts. @default "01:00" */
  readonly snapshotTime?: string;
  /**
   * SNS topic for a replication group's events (failover, node replacement, failed snapshot). Serverless caches
   * publish none. @default no notifications
   */
  readonly notificationTopicArn?: string;
}

/**
 * ElastiCache for Valkey, reachable only inside the VPC, with:
 * - TLS in transit (serverless caches always use it; a replication group gets `transit_encryption_mode =
 *   required`) and encryption at rest;
 * - role-based access: a user group whose `default` user is switched off, plus one password user for the
 *   application. Anyone who reaches the port still has to authenticate.
 * - serverless: usage limits on data storage and ECPU per second (cost guards). Multi-AZ by construction.
 * - replication group: one primary plus `replicas`; with at least one replica, automatic failover and Multi-AZ.
 *   At maximum memory it evicts keys with a TTL first (`volatile-lru`, the default parameter group), as the
 *   box's Redis does; ElastiCache Serverless does the same when it reaches its storage limit.
 *
 * Construction fails on a password outside 16..128 characters (for literal values) or fewer than two subnets.
 * Every id is pinned with the `cache` prefix.
 */
export class ManagedCache extends Construct {
  readonly userGroup: ElasticacheUserGroup;
  readonly serverless?: ElasticacheServerlessCache;
  readonly replicationGroup?: ElasticacheReplicationGroup;
  /** Host of the primary (read-write) endpoint. */
  readonly address: string;
  /** Port of the primary endpoint. */
  readonly port: number;

  constructor(scope: Construct, id: string, props: ManagedCacheProps) {
    super(scope, id);
    const fail = (field: string, value: unknown, fix: string) => {
      throw new Error(`ManagedCache ${id}: ${field} = ${JSON.stringify(value)}: ${fix}`);
    };
    if (props.subnetIds.length < 2) fail("subnetIds", props.subnetIds, "give subnets in at least two zones");
    const literal = !props.password.includes("${");
    if (literal && (props.password.length < 16 || props.password.length > 128))
      fail("password", "(hidden)", "use 16 to 128 printable characters (ElastiCache's rule)");
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(props.name))
      fail("name", props.name, "use at most 40 lowercase letters, digits and hyphens");
    const major = props.majorEngineVersion ?? "8";
    const retention = props.snapshotRetentionDays ?? 7;
    const snapshotTime = props.snapshotTime ?? "01:00";

    const disabledDefault = new ElasticacheUser(this, "default-user", {
      userId: `${props.name}-default`,
      userName: "default",
      engine: "valkey",
      accessString: "off -@all",
      authenticationMode: { type: "no-password-required" },
    });
    disabledDefault.overrideLogicalId("cache_default_user");
    const app = new ElasticacheUser(this, "app-user", {
      userId: `${props.name}-app`,
      userName: props.username ?? "zmanim",
      engine: "valkey",
      accessString: props.accessString ?? "on ~* &* +@all -@admin",
      authenticationMode: { type: "password", passwords: [props.password] },
    });
    app.overrideLogicalId("cache_app_user");
    this.userGroup = new ElasticacheUserGroup(this, "user-group", {
      userGroupId: props.name,
      engine: "valkey",
      userIds: [disabledDefault.userId, app.userId],
    });
    this.userGroup.overrideLogicalId("cache_user_group");

    const c = props.capacity;
    if (c.kind === "serverless") {
      this.serverless = new ElasticacheServerlessCache(this, "serverless", {
        name: props.name,
        engine: "valkey",
        majorEngineVersion: major,
        description: `${props.name}: Valkey, serverless`,
        cacheUsageLimits: [
          {
            dataStorage: [{ maximum: c.maxDataStorageGb, unit: "GB" }],
            ecpuPerSecond: [{ maximum: c.maxEcpuPerSecond }],
          },
        ],
        subnetIds: props.subnetIds,
        securityGroupIds: props.securityGroupIds,
        userGroupId: this.userGroup.userGroupId,
        snapshotRetentionLimit: retention,
        ...(retention > 0 ? { dailySnapshotTime: snapshotTime } : {}),
      });
      this.serverless.overrideLogicalId("cache");
      this.address = this.serverless.endpoint.get(0).address;
      this.port = this.serverless.endpoint.get(0).port;
    } else {
      const subnetGroup = new ElasticacheSubnetGroup(this, "subnet-group", {
        name: props.name,
        description: `Private data subnets of ${props.name}`,
        subnetIds: props.subnetIds,
      });
      subnetGroup.overrideLogicalId("cache_subnet_group");
      const ha = c.replicas >= 1;
      const [hour, minute] = snapshotTime.split(":").map(Number);
      const end = `${String((hour + 1) % 24).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
      this.replicationGroup = new ElasticacheReplicationGroup(this, "replication-group", {
        replicationGroupId: props.name,
        description: `${props.name}: Valkey, ${1 + c.replicas} node(s)`,
        engine: "valkey",
        engineVersion: `${major}.0`,
        parameterGroupName: `default.valkey${major}`,
        nodeType: c.nodeType,
        numCacheClusters: 1 + c.replicas,
        automaticFailoverEnabled: ha,
        multiAzEnabled: ha,
        port: 6379,
        subnetGroupName: subnetGroup.name,
        securityGroupIds: props.securityGroupIds,
        atRestEncryptionEnabled: "true", // a string in this provider version
        transitEncryptionEnabled: true,
        transitEncryptionMode: "required",
        userGroupIds: [this.userGroup.userGroupId],
        autoMinorVersionUpgrade: "true", // a string in this provider version
        snapshotRetentionLimit: retention,
        ...(retention > 0 ? { snapshotWindow: `${snapshotTime}-${end}` } : {}),
        finalSnapshotIdentifier: `${props.name}-final`,
        ...(props.notificationTopicArn ? { notificationTopicArn: props.notificationTopicArn } : {}),
        maintenanceWindow: "sun:04:30-sun:05:30",
      });
      this.replicationGroup.overrideLogicalId("cache");
      this.address = this.replicationGroup.primaryEndpointAddress;
      this.port = 6379;
    }
  }
}
