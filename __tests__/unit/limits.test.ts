/**
 * One home per rule: the environment validation and the constructs apply the same rules
 * (constructs/config/limits.ts), so they refuse the same values with the same fix.
 */
import { Testing } from "cdktf/lib/testing";
import { TerraformStack } from "cdktf/lib/terraform-stack";
import { ScaledTopology, scaled } from "../../constructs/config/environments";
import { environmentProblems } from "../../constructs/config/validate-environment";
import { Fleet } from "../../constructs/fleet";
import { ManagedDatabase } from "../../constructs/managed-database";

const withTopology = (patch: (t: ScaledTopology) => ScaledTopology) => ({
  ...scaled,
  topology: patch(scaled.topology as ScaledTopology),
});

describe("shared limits", () => {
  it("the fleet: the environment and the construct refuse one instance with the same fix", () => {
    const envProblem = environmentProblems(withTopology((t) => ({ ...t, fleet: { ...t.fleet, min: 1 } })));
    expect(envProblem).toEqual([
      "topology.fleet.min = 1: use at least 2 (one instance per availability zone), at most 100",
    ]);
    expect(Fleet.sizeProblems({ minSize: 1, maxSize: 4, targetCpuPercent: 50 })).toEqual([
      { field: "minSize", value: 1, fix: "use at least 2 (one instance per availability zone), at most 100" },
    ]);
    expect(Fleet.sizeProblems({ minSize: 2, maxSize: 4, targetCpuPercent: 95 })).toEqual([
      { field: "targetCpuPercent", value: 95, fix: "use a whole percentage from 10 to 90 for target tracking" },
    ]);
  });

  it("the database: the environment and the construct refuse three days of backups with the same fix", () => {
    const envProblem = environmentProblems(
      withTopology((t) => ({ ...t, database: { ...t.database, backupRetentionDays: 3 } })),
    );
    expect(envProblem).toEqual([
      "topology.database.backupRetentionDays = 3: use 7 to 35 days; automated backups replace restic for PostgreSQL in this topology",
    ]);
    const build = () =>
      new ManagedDatabase(new TerraformStack(Testing.app(), "t"), "db", {
        identifier: "db",
        instanceClass: "db.t4g.small",
        subnetIds: ["a", "b"],
        securityGroupIds: ["sg"],
        backupRetentionDays: 3,
      });
    expect(build).toThrow(
      "ManagedDatabase db: backupRetentionDays = 3: use 7 to 35 days; automated backups replace restic for PostgreSQL in this topology",
    );
  });
});
