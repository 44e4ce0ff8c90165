/**
 * Rules that both the environment validation and a construct enforce, in one place. Each returns problems as
 * { field, value, fix } with the field named as the caller's own input names it (`min`, `backupRetentionDays`
 * ...); `validate-environment.ts` prefixes its path (`topology.fleet.min`) and the construct its id. A rule
 * changed here changes both, so the environment check and the construct can never disagree.
 */

export interface Problem {
  readonly field: string;
  readonly value: unknown;
  readonly fix: string;
}

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

/** Limits of the API fleet's size and scaling target. */
export const FLEET_LIMITS = { minSize: 2, maxSize: 100, minCpu: 10, maxCpu: 90 } as const;

/** The fleet's size: at least one instance per zone (two zones), max at least min, a CPU target tracking can hold. */
export function fleetSizeProblems(f: { min?: unknown; max?: unknown; targetCpuPercent?: unknown }): Problem[] {
  const out: Problem[] = [];
  const { minSize, maxSize, minCpu, maxCpu } = FLEET_LIMITS;
  const minOk = isInt(f.min, minSize, maxSize);
  if (!minOk)
    out.push({
      field: "min",
      value: f.min ?? null,
      fix: `use at least ${minSize} (one instance per availability zone), at most ${maxSize}`,
    });
  if (!isInt(f.max, minSize, maxSize))
    out.push({
      field: "max",
      value: f.max ?? null,
      fix: `use a whole number from ${minSize} to ${maxSize}, at least fleet.min`,
    });
  else if (minOk && (f.max as number) < (f.min as number))
    out.push({ field: "max", value: f.max, fix: `must be at least fleet.min (${f.min})` });
  if (!isInt(f.targetCpuPercent, minCpu, maxCpu))
    out.push({
      field: "targetCpuPercent",
      value: f.targetCpuPercent ?? null,
      fix: `use a whole percentage from ${minCpu} to ${maxCpu} for target tracking`,
    });
  return out;
}

/** RDS storage and automated backups: gp3's 20 GiB floor, an autoscaling ceiling above it, 7 to 35 days of backups. */
export function databaseStorageProblems(d: {
  allocatedStorageGb?: unknown;
  maxAllocatedStorageGb?: unknown;
  backupRetentionDays?: unknown;
}): Problem[] {
  const out: Problem[] = [];
  const allocatedOk = isInt(d.allocatedStorageGb, 20, 65536);
  if (!allocatedOk)
    out.push({
      field: "allocatedStorageGb",
      value: d.allocatedStorageGb ?? null,
      fix: "use a whole number of GiB between 20 (the gp3 minimum) and 65536",
    });
  if (!isInt(d.maxAllocatedStorageGb, 21, 65536))
    out.push({
      field: "maxAllocatedStorageGb",
      value: d.maxAllocatedStorageGb ?? null,
      fix: "use a whole number of GiB up to 65536, above allocatedStorageGb (storage autoscaling ceiling)",
    });
  else if (allocatedOk && (d.maxAllocatedStorageGb as number) <= (d.allocatedStorageGb as number))
    out.push({
      field: "maxAllocatedStorageGb",
      value: d.maxAllocatedStorageGb,
      fix: `must exceed allocatedStorageGb (${d.allocatedStorageGb}); otherwise storage autoscaling is off`,
    });
  if (!isInt(d.backupRetentionDays, 7, 35))
    out.push({
      field: "backupRetentionDays",
      value: d.backupRetentionDays ?? null,
      fix: "use 7 to 35 days; automated backups replace restic for PostgreSQL in this topology",
    });
  return out;
}
