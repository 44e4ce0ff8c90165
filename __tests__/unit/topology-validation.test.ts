import { EnvironmentConfig, ScaledTopology, prod, scaled } from "../../constructs/config/environments";
import { environmentProblems } from "../../constructs/config/validate-environment";
import { configErrorMessage } from "../helpers/config-error";

const base = scaled.topology as ScaledTopology;
/** The shipped `scaled` example with a changed topology (and, optionally, other fields). */
const withTopology = (patch: Partial<ScaledTopology>, env: Partial<EnvironmentConfig> = {}): EnvironmentConfig => ({
  ...scaled,
  ...env,
  topology: { ...base, ...patch },
});
/** The same topology on prod's network, as prod would adopt it. */
const prodScaled = (patch: Partial<ScaledTopology>): EnvironmentConfig => ({
  ...prod,
  topology: {
    ...base,
    appSubnetCidrs: ["10.42.10.0/24", "10.42.11.0/24"],
    dataSubnetCidrs: ["10.42.20.0/24", "10.42.21.0/24"],
    ...patch,
  },
});

const message = configErrorMessage;

describe("scaled topology validation names the field, the value and the fix", () => {
  it("accepts the shipped example and prod adopting it", () => {
    expect(environmentProblems(scaled)).toEqual([]);
    expect(environmentProblems(prodScaled({}))).toEqual([]);
    expect(environmentProblems({ ...prod, topology: { kind: "single-box" } })).toEqual([]);
  });

  const cases: Array<[string, EnvironmentConfig, RegExp]> = [
    [
      "one AZ only",
      withTopology({ availabilityZones: ["eu-west-1a", "eu-west-1a"] }),
      /topology.availabilityZones = \["eu-west-1a","eu-west-1a"\]: list exactly two distinct zones of region eu-west-1/,
    ],
    [
      "three AZs",
      withTopology({ availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] as unknown as [string, string] }),
      /topology.availabilityZones = \[.*\]: list exactly two distinct zones/,
    ],
    [
      "AZ of another region",
      withTopology({ availabilityZones: ["eu-west-1a", "us-east-1b"] }),
      /topology.availabilityZones\[1\] = "us-east-1b": must be a zone of region eu-west-1/,
    ],
    [
      "AZs without the box's zone",
      withTopology({ availabilityZones: ["eu-west-1b", "eu-west-1c"] }),
      /topology.availabilityZones = \["eu-west-1b","eu-west-1c"\]: must include availabilityZone "eu-west-1a"/,
    ],
    [
      "app subnets overlapping each other",
      withTopology({ appSubnetCidrs: ["10.44.10.0/23", "10.44.11.0/24"] }),
      /topology.appSubnetCidrs\[1\] = "10.44.11.0\/24": overlaps topology.appSubnetCidrs\[0\] 10.44.10.0\/23/,
    ],
    [
      "data subnet overlapping an app subnet",
      withTopology({ dataSubnetCidrs: ["10.44.20.0/24", "10.44.10.0/25"] }),
      /topology.dataSubnetCidrs\[1\] = "10.44.10.0\/25": overlaps topology.appSubnetCidrs\[0\] 10.44.10.0\/24/,
    ],
    [
      "app subnet overlapping the public subnet",
      withTopology({ appSubnetCidrs: ["10.44.0.0/24", "10.44.11.0/24"] }),
      /topology.appSubnetCidrs\[0\] = "10.44.0.0\/24": overlaps publicSubnetCidr 10.44.0.0\/24/,
    ],
    [
      "data subnet outside the VPC",
      withTopology({ dataSubnetCidrs: ["10.44.20.0/24", "10.99.21.0/24"] }),
      /topology.dataSubnetCidrs\[1\] = "10.99.21.0\/24": must lie inside vpcCidr 10.44.0.0\/16/,
    ],
    [
      "malformed subnet",
      withTopology({ appSubnetCidrs: ["10.44.10.1/24", "10.44.11.0/24"] }),
      /topology.appSubnetCidrs\[0\] = "10.44.10.1\/24": use a network address in CIDR form/,
    ],
    [
      "one data subnet",
      withTopology({ dataSubnetCidrs: ["10.44.20.0/24"] as unknown as [string, string] }),
      /topology.dataSubnetCidrs = \["10.44.20.0\/24"\]: list two CIDRs inside vpcCidr/,
    ],
    [
      "unknown egress",
      withTopology({ egress: "proxy" as unknown as "nat-gateway" }),
      /topology.egress = "proxy": use "public-ip"/,
    ],
    [
      "fleet.min below 2",
      withTopology({ fleet: { ...base.fleet, min: 1 } }),
      /topology.fleet.min = 1: use at least 2 \(one instance per availability zone\)/,
    ],
    [
      "fleet.max below min",
      withTopology({ fleet: { ...base.fleet, min: 3, max: 2 } }),
      /topology.fleet.max = 2: must be at least fleet.min \(3\)/,
    ],
    [
      "x86 fleet",
      withTopology({ fleet: { ...base.fleet, instanceType: "t3.small" } }),
      /topology.fleet.instanceType = "t3.small": the AMI is arm64/,
    ],
    [
      "non-Graviton database",
      withTopology({ database: { ...base.database, instanceClass: "db.t3.medium" } }),
      /topology.database.instanceClass = "db.t3.medium": use a Graviton RDS class/,
    ],
    [
      "storage ceiling not above allocation",
      withTopology({ database: { ...base.database, allocatedStorageGb: 100, maxAllocatedStorageGb: 100 } }),
      /topology.database.maxAllocatedStorageGb = 100: must exceed allocatedStorageGb \(100\)/,
    ],
    [
      "storage below the gp3 minimum",
      withTopology({ database: { ...base.database, allocatedStorageGb: 10 } }),
      /topology.database.allocatedStorageGb = 10: use a whole number of GiB between 20/,
    ],
    [
      "backups kept under a week",
      withTopology({ database: { ...base.database, backupRetentionDays: 3 } }),
      /topology.database.backupRetentionDays = 3: use 7 to 35 days/,
    ],
    [
      "prod without Multi-AZ",
      prodScaled({ database: { ...base.database, multiAz: false } }),
      /topology.database.multiAz = false: prod requires Multi-AZ/,
    ],
    [
      "prod with a cache without replicas",
      prodScaled({ cache: { kind: "replication-group", nodeType: "cache.t4g.small", replicas: 0 } }),
      /topology.cache.replicas = 0: prod requires a highly available cache/,
    ],
    [
      "non-Graviton cache node",
      withTopology({ cache: { kind: "replication-group", nodeType: "cache.t3.small", replicas: 1 } }),
      /topology.cache.nodeType = "cache.t3.small": use a Graviton node type/,
    ],
    [
      "serverless cache without an ECPU bound",
      withTopology({ cache: { kind: "serverless", maxDataStorageGb: 1, maxEcpuPerSecond: 0 } }),
      /topology.cache.maxEcpuPerSecond = 0: use a whole number of ECPU/,
    ],
    [
      "unknown cache kind",
      withTopology({ cache: { kind: "memcached" } as unknown as ScaledTopology["cache"] }),
      /topology.cache.kind = "memcached": use "serverless" or "replication-group"/,
    ],
    [
      "keepBox missing",
      withTopology({ keepBox: undefined as unknown as boolean }),
      /topology.keepBox = null: use true while the box still runs/,
    ],
    [
      "unknown topology kind",
      { ...scaled, topology: { kind: "cluster" } as unknown as ScaledTopology },
      /topology.kind = "cluster": use "single-box" \(the default\) or "scaled"/,
    ],
  ];

  it.each(cases)("%s", (_name, env, expected) => {
    expect(message(env)).toMatch(expected);
  });

  it("allows a single-AZ database and a replica-less cache outside prod", () => {
    expect(
      environmentProblems(
        withTopology({
          database: { ...base.database, multiAz: false },
          cache: { kind: "replication-group", nodeType: "cache.t4g.micro", replicas: 0 },
        }),
      ),
    ).toEqual([]);
  });

  it("reports every topology problem at once", () => {
    const msg = message(
      withTopology({
        fleet: { ...base.fleet, min: 1 },
        egress: "x" as unknown as "public-ip",
        availabilityZones: ["eu-west-1a", "eu-west-1a"],
      }),
    );
    expect(msg).toMatch(/3 problems/);
  });
});
