/**
 * Invariants of the scaled topology, checked on every resource of the relevant type in the synthesized output of
 * the shipped `scaled` example and of variants (a replication-group cache, NAT egress, keepBox, prod adopting it).
 */
import { EnvironmentConfig, ScaledTopology, prod, scaled } from "../../constructs/config/environments";
import { ResourceAddress, resolveRef } from "../helpers/refs";
import { Synthesized, allResources, resourcesOfType, synthAll } from "../helpers/synth";

type Body = Record<string, unknown>;
const base = scaled.topology as ScaledTopology;
const variant = (patch: Partial<ScaledTopology>, env: Partial<EnvironmentConfig> = {}): EnvironmentConfig => ({
  ...scaled,
  ...env,
  topology: { ...base, ...patch },
});
const prodScaled: EnvironmentConfig = {
  ...prod,
  topology: {
    ...base,
    appSubnetCidrs: ["10.42.10.0/24", "10.42.11.0/24"],
    dataSubnetCidrs: ["10.42.20.0/24", "10.42.21.0/24"],
    database: { ...base.database, instanceClass: "db.m7g.large" },
    cache: { kind: "replication-group", nodeType: "cache.t4g.small", replicas: 1 },
  },
};
const variants: Array<[string, EnvironmentConfig]> = [
  ["scaled example", scaled],
  [
    "replication-group cache, NAT egress",
    variant({ egress: "nat-gateway", cache: { kind: "replication-group", nodeType: "cache.t4g.micro", replicas: 0 } }),
  ],
  ["keepBox", variant({ keepBox: true })],
  ["prod adopting it", prodScaled],
];

/** Every subnet id a data store is placed in, resolved to the network's subnet resource. */
function dataStoreSubnets(s: Synthesized): Array<[string, ResourceAddress | undefined]> {
  const out: Array<[string, ResourceAddress | undefined]> = [];
  for (const type of ["aws_db_subnet_group", "aws_elasticache_subnet_group", "aws_elasticache_serverless_cache"]) {
    for (const [stack, id, body] of resourcesOfType(s, type, { min: 0 })) {
      for (const subnet of (body.subnet_ids as string[] | undefined) ?? [])
        out.push([`${type}.${id}`, resolveRef(s, stack, subnet)]);
    }
  }
  return out;
}

/** Every security group a data store is attached to, resolved. */
function dataStoreGroups(s: Synthesized): Array<[string, ResourceAddress | undefined]> {
  const out: Array<[string, ResourceAddress | undefined]> = [];
  const fields: Record<string, string> = {
    aws_db_instance: "vpc_security_group_ids",
    aws_elasticache_replication_group: "security_group_ids",
    aws_elasticache_serverless_cache: "security_group_ids",
  };
  for (const [type, field] of Object.entries(fields)) {
    for (const [stack, id, body] of resourcesOfType(s, type, { min: 0 })) {
      for (const sg of (body[field] as string[] | undefined) ?? [])
        out.push([`${type}.${id}`, resolveRef(s, stack, sg)]);
    }
  }
  return out;
}

describe.each(variants)("scaled topology invariants (%s)", (_name, env) => {
  const s = synthAll(env);
  const t = env.topology as ScaledTopology;
  const network = s.stacks.network.resource ?? {};

  it("has data stores at all (the invariants below are not vacuous)", () => {
    expect(resourcesOfType(s, "aws_db_instance")).toHaveLength(1);
    expect(
      resourcesOfType(s, "aws_elasticache_serverless_cache", { min: 0 }).length +
        resourcesOfType(s, "aws_elasticache_replication_group", { min: 0 }).length,
    ).toBe(1);
    expect(dataStoreSubnets(s).length).toBeGreaterThanOrEqual(4);
  });

  it("no database is publicly accessible", () => {
    for (const [stack, id, body] of resourcesOfType(s, "aws_db_instance"))
      expect([stack, id, body.publicly_accessible]).toEqual([stack, id, false]);
  });

  it("every data store lives only in subnets whose route table has no route out of the VPC", () => {
    const assoc = Object.values(network.aws_route_table_association ?? {});
    const routes = Object.values(network.aws_route ?? {});
    for (const [store, subnet] of dataStoreSubnets(s)) {
      expect([store, subnet?.type]).toEqual([store, "aws_subnet"]);
      expect([store, (network.aws_subnet?.[subnet!.id] as Body).map_public_ip_on_launch]).toEqual([store, false]);
      const tables = assoc
        .filter((a) => resolveRef(s, "network", a.subnet_id)?.id === subnet!.id)
        .map((a) => resolveRef(s, "network", a.route_table_id)!.id);
      expect([store, tables.length]).toEqual([store, 1]);
      const table = network.aws_route_table?.[tables[0]] as Body;
      expect([store, table.route ?? []]).toEqual([store, []]);
      const out = routes.filter((r) => resolveRef(s, "network", r.route_table_id)?.id === tables[0]);
      expect([store, out]).toEqual([store, []]);
      for (const e of Object.values(network.aws_vpc_endpoint ?? {}))
        expect(JSON.stringify(e.route_table_ids ?? [])).not.toContain(tables[0]);
    }
  });

  it("data stores admit connections only from the app group (and the box's group while keepBox)", () => {
    const allowed = new Set(["app_security_group", ...(t.keepBox ? ["instance-sg"] : [])]);
    const groups = dataStoreGroups(s);
    expect(groups.length).toBeGreaterThanOrEqual(2);
    for (const [store, sg] of groups) {
      expect([store, sg?.type]).toEqual([store, "aws_security_group"]);
      const group = network.aws_security_group?.[sg!.id] as Body;
      expect([store, group.ingress]).toEqual([store, undefined]);
      const rules = allResources(s).filter(
        ([stack, type, , body]) =>
          type === "aws_vpc_security_group_ingress_rule" && resolveRef(s, stack, body.security_group_id)?.id === sg!.id,
      );
      expect(rules.length).toBeGreaterThan(0);
      for (const [stack, , id, rule] of rules) {
        expect([id, rule.cidr_ipv4, rule.cidr_ipv6, rule.prefix_list_id]).toEqual([
          id,
          undefined,
          undefined,
          undefined,
        ]);
        const source = resolveRef(s, stack, rule.referenced_security_group_id)?.id;
        expect([id, allowed.has(source ?? "")]).toEqual([id, true]);
      }
    }
  });

  it("the app group admits only the ALB group", () => {
    const rules = resourcesOfType(s, "aws_vpc_security_group_ingress_rule").filter(
      ([stack, , r]) => resolveRef(s, stack, r.security_group_id)?.id === "app_security_group",
    );
    expect(rules.length).toBeGreaterThan(0);
    for (const [stack, id, r] of rules)
      expect([id, r.cidr_ipv4, resolveRef(s, stack, r.referenced_security_group_id)?.id]).toEqual([
        id,
        undefined,
        "alb_security_group",
      ]);
  });

  it("every database has deletion protection, prevent_destroy, a named final snapshot and a week of backups", () => {
    for (const [, id, db] of resourcesOfType(s, "aws_db_instance")) {
      expect([
        id,
        db.deletion_protection,
        db.skip_final_snapshot,
        (db.lifecycle as Body | undefined)?.prevent_destroy,
      ]).toEqual([id, true, false, true]);
      expect(db.final_snapshot_identifier).toMatch(/^zmanim-[a-z0-9]+-postgres-final$/);
      expect(db.backup_retention_period as number).toBeGreaterThanOrEqual(7);
      expect(db.storage_encrypted).toBe(true);
    }
    for (const [, id, rg] of resourcesOfType(s, "aws_elasticache_replication_group", { min: 0 })) {
      expect([id, rg.final_snapshot_identifier, rg.transit_encryption_enabled, rg.at_rest_encryption_enabled]).toEqual([
        id,
        "zmanim-" + env.name + "-final",
        true,
        "true",
      ]);
      expect(rg.user_group_ids).toHaveLength(1);
    }
    for (const [, id, c] of resourcesOfType(s, "aws_elasticache_serverless_cache", { min: 0 }))
      expect([id, typeof c.user_group_id]).toEqual([id, "string"]);
  });

  if (env.name === "prod") {
    it("prod runs Multi-AZ and a highly available cache", () => {
      for (const [, id, db] of resourcesOfType(s, "aws_db_instance")) expect([id, db.multi_az]).toEqual([id, true]);
      for (const [, id, rg] of resourcesOfType(s, "aws_elasticache_replication_group")) {
        expect([id, rg.automatic_failover_enabled, rg.multi_az_enabled]).toEqual([id, true, true]);
        expect(rg.num_cache_clusters as number).toBeGreaterThanOrEqual(2);
      }
    });
  }
});
