import { Construct } from "constructs";
import { DbInstance } from "@cdktf/provider-aws/lib/db-instance";
import { DbParameterGroup } from "@cdktf/provider-aws/lib/db-parameter-group";
import { DbSubnetGroup } from "@cdktf/provider-aws/lib/db-subnet-group";
import { RetainedLogGroup } from "./log-group";
import { Problem, databaseStorageProblems } from "./config/limits";

export interface ManagedDatabaseProps {
  /** RDS instance identifier, e.g. `zmanim-prod-postgres`. Also names the subnet group and the final snapshot. */
  readonly identifier: string;
  /** Graviton instance class, e.g. `db.t4g.small`. */
  readonly instanceClass: string;
  /** At least two subnets in two zones, with no route to the internet (the data subnets). */
  readonly subnetIds: string[];
  /** Security groups of the instance; they decide who may open 5432. */
  readonly securityGroupIds: string[];
  /** A synchronous standby in a second zone, with automatic failover. @default true */
  readonly multiAz?: boolean;
  /** Initial gp3 storage in GiB. @default 20 (the gp3 minimum) */
  readonly allocatedStorageGb?: number;
  /** Storage autoscaling ceiling in GiB; must exceed `allocatedStorageGb`. @default 5 x allocatedStorageGb */
  readonly maxAllocatedStorageGb?: number;
  /** Automated backup retention in days, 7 to 35. @default 7 */
  readonly backupRetentionDays?: number;
  /** Database created with the instance; pg_cron runs its jobs in it. @default "zmanim" */
  readonly databaseName?: string;
  /**
   * The master user. Its password is managed by RDS in Secrets Manager and rotates (every 7 days by default), so
   * no application may use it: the application has its own role. @default "zmanim_master"
   */
  readonly masterUsername?: string;
  /** PostgreSQL major version; RDS applies minor versions itself. @default "16" */
  readonly engineMajorVersion?: string;
  /** Retention of the exported `postgresql` log in CloudWatch. @default 30 */
  readonly logRetentionDays?: number;
  /**
   * `max_slot_wal_keep_size` in MB: WAL a replication slot may hold back before PostgreSQL invalidates the slot.
   * It keeps a stalled subscriber from filling the disk. @default a quarter of `allocatedStorageGb`
   */
  readonly maxSlotWalKeepSizeMb?: number;
  /** UTC window for automated backups. @default "02:00-03:00" */
  readonly backupWindow?: string;
  /** UTC window for maintenance (minor upgrades, patches). @default "sun:03:30-sun:04:30" */
  readonly maintenanceWindow?: string;
  /** Prepended to every pinned logical id; give a second database in one stack its own. @default "" */
  readonly logicalIdPrefix?: string;
}

/**
 * RDS for PostgreSQL with the settings this project requires of any database it keeps data in:
 *
 * - engine major version pinned (`engine_version = "16"`), minors applied by RDS (`auto_minor_version_upgrade`).
 *   The AWS provider accepts a version prefix when auto minor upgrades are on and reports the running version
 *   in `engine_version_actual`, so an applied minor never shows up as drift.
 * - a parameter group of family `postgres<major>` with logical replication (`rds.logical_replication`),
 *   `pg_cron` preloaded and bound to the application database, and `rds.force_ssl`. It is named by prefix and
 *   created before it is destroyed, so a major upgrade (new family) creates the new group, moves the instance
 *   and only then deletes the old group, instead of deadlocking on a group still in use.
 * - gp3, encrypted, with storage autoscaling up to a ceiling;
 * - Multi-AZ by default; never publicly accessible; a subnet group on the given (private) subnets;
 * - deletion protection and Terraform `prevent_destroy`; a named final snapshot; backups kept 7 days or more,
 *   snapshots carrying the instance's tags;
 * - the master password managed by RDS (`manage_master_user_password`).
 *
 * Construction fails on a retention below 7 days, a storage ceiling not above the allocation, or fewer than two
 * subnets. Stateful ids are pinned: `<logicalIdPrefix>database`, `..._parameter_group`, `..._subnet_group`, `..._log_group`.
 */
export class ManagedDatabase extends Construct {
  readonly instance: DbInstance;
  readonly parameterGroup: DbParameterGroup;
  readonly subnetGroup: DbSubnetGroup;
  readonly logGroup: RetainedLogGroup;
  /** The values the instance was created with, defaults applied. */
  readonly allocatedStorageGb: number;
  readonly databaseName: string;

  /** Storage and backup rules (constructs/config/limits.ts); the environment validation applies them to `topology.database`. */
  static storageProblems(d: {
    allocatedStorageGb: number;
    maxAllocatedStorageGb: number;
    backupRetentionDays: number;
  }): Problem[] {
    return databaseStorageProblems(d);
  }

  constructor(scope: Construct, id: string, props: ManagedDatabaseProps) {
    super(scope, id);
    const allocated = props.allocatedStorageGb ?? 20;
    const ceiling = props.maxAllocatedStorageGb ?? allocated * 5;
    const retention = props.backupRetentionDays ?? 7;
    const major = props.engineMajorVersion ?? "16";
    const database = props.databaseName ?? "zmanim";
    const fail = (field: string, value: unknown, fix: string) => {
      throw new Error(`ManagedDatabase ${id}: ${field} = ${JSON.stringify(value)}: ${fix}`);
    };
    for (const p of ManagedDatabase.storageProblems({
      allocatedStorageGb: allocated,
      maxAllocatedStorageGb: ceiling,
      backupRetentionDays: retention,
    })) {
      fail(p.field, p.value, p.fix);
    }
    if (props.subnetIds.length < 2)
      fail("subnetIds", props.subnetIds, "give subnets in at least two zones (RDS requires it)");
    if (!/^\d+$/.test(major))
      fail("engineMajorVersion", major, 'give the major version only, e.g. "16"; RDS applies minors');
    const pin = (r: { overrideLogicalId(id: string): void }, suffix: string) =>
      r.overrideLogicalId(`${props.logicalIdPrefix ?? ""}database${suffix}`);
    this.allocatedStorageGb = allocated;
    this.databaseName = database;

    this.subnetGroup = new DbSubnetGroup(this, "subnet-group", {
      name: props.identifier,
      description: `Private data subnets of ${props.identifier}`,
      subnetIds: props.subnetIds,
    });
    pin(this.subnetGroup, "_subnet_group");

    // Static parameters take effect at the next reboot; RDS refuses `immediate` for them.
    const walKeepMb = props.maxSlotWalKeepSizeMb ?? Math.floor((allocated * 1024) / 4);
    this.parameterGroup = new DbParameterGroup(this, "parameter-group", {
      namePrefix: `${props.identifier}-pg${major}-`,
      family: `postgres${major}`,
      description: `${props.identifier}: logical replication, pg_cron, TLS only`,
      parameter: [
        { name: "rds.logical_replication", value: "1", applyMethod: "pending-reboot" },
        { name: "shared_preload_libraries", value: "pg_stat_statements,pg_cron", applyMethod: "pending-reboot" },
        { name: "cron.database_name", value: database, applyMethod: "pending-reboot" },
        { name: "rds.force_ssl", value: "1", applyMethod: "immediate" },
        { name: "max_slot_wal_keep_size", value: String(walKeepMb), applyMethod: "immediate" },
      ],
      lifecycle: { createBeforeDestroy: true },
    });
    pin(this.parameterGroup, "_parameter_group");

    // Created here first, so the exported log has a retention (RDS would create it without one).
    this.logGroup = new RetainedLogGroup(this, "log", {
      name: `/aws/rds/instance/${props.identifier}/postgresql`,
      retentionDays: props.logRetentionDays ?? 30,
    });
    pin(this.logGroup.logGroup, "_log_group");

    this.instance = new DbInstance(this, "instance", {
      identifier: props.identifier,
      engine: "postgres",
      engineVersion: major,
      autoMinorVersionUpgrade: true,
      allowMajorVersionUpgrade: false,
      instanceClass: props.instanceClass,
      multiAz: props.multiAz ?? true,
      storageType: "gp3",
      allocatedStorage: allocated,
      maxAllocatedStorage: ceiling,
      storageEncrypted: true,
      dbName: database,
      username: props.masterUsername ?? "zmanim_master",
      manageMasterUserPassword: true,
      parameterGroupName: this.parameterGroup.name,
      dbSubnetGroupName: this.subnetGroup.name,
      vpcSecurityGroupIds: props.securityGroupIds,
      publiclyAccessible: false,
      backupRetentionPeriod: retention,
      backupWindow: props.backupWindow ?? "02:00-03:00",
      maintenanceWindow: props.maintenanceWindow ?? "sun:03:30-sun:04:30",
      copyTagsToSnapshot: true,
      deleteAutomatedBackups: false,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${props.identifier}-final`,
      enabledCloudwatchLogsExports: ["postgresql"],
      dependsOn: [this.logGroup.logGroup],
      lifecycle: { preventDestroy: true },
    });
    pin(this.instance, "");
  }

  /** Host name of the instance (follows a Multi-AZ failover). */
  get address(): string {
    return this.instance.address;
  }

  get port(): number {
    return this.instance.port;
  }
}
