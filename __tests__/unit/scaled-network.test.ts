import { readFileSync, readdirSync } from "fs";
import { join } from "path";
import { Testing } from "cdktf/lib/testing";
import { EnvironmentConfig, ScaledTopology, prod, scaled } from "../../constructs/config/environments";
import { NetworkStack } from "../../stacks/network";
import { synthAll } from "../helpers/synth";

type Body = Record<string, unknown>;
interface NetworkJson {
  resource: Record<string, Record<string, Body>>;
}
const topology = scaled.topology as ScaledTopology;
const withTopology = (patch: Partial<ScaledTopology>): EnvironmentConfig => ({
  ...scaled,
  topology: { ...topology, ...patch },
});
const network = (env: EnvironmentConfig): NetworkJson =>
  JSON.parse(Testing.synth(new NetworkStack(Testing.app(), { env })));
const ref = (type: string, id: string, attr = "id") => `\${${type}.${id}.${attr}}`;
const of = (tf: NetworkJson, type: string): Record<string, Body> => tf.resource[type] ?? {};

describe("single-box output does not depend on the topology field", () => {
  it("prod with an explicit single-box topology synthesizes byte-identical JSON, every stack", () => {
    const files = (env: EnvironmentConfig) => {
      const { outdir } = synthAll(env);
      const dirs = readdirSync(join(outdir, "stacks")).sort();
      return Object.fromEntries(dirs.map((d) => [d, readFileSync(join(outdir, "stacks", d, "cdk.tf.json"), "utf8")]));
    };
    const implicit = files(prod);
    const explicit = files({ ...prod, topology: { kind: "single-box" } });
    expect(Object.keys(explicit)).toEqual(Object.keys(implicit));
    expect(Object.keys(implicit).length).toBeGreaterThanOrEqual(8);
    for (const stack of Object.keys(implicit)) expect([stack, explicit[stack]]).toEqual([stack, implicit[stack]]);
  });
});

describe("scaled network", () => {
  const tf = network(scaled);
  const subnets = of(tf, "aws_subnet");

  it("adds one app and one data subnet in each of the two zones, ids pinned", () => {
    expect(Object.keys(subnets).sort()).toEqual([
      "app_subnet_0",
      "app_subnet_1",
      "data_subnet_0",
      "data_subnet_1",
      "public_subnet",
    ]);
    topology.availabilityZones.forEach((az, i) => {
      expect(subnets[`app_subnet_${i}`]).toMatchObject({
        availability_zone: az,
        cidr_block: topology.appSubnetCidrs[i],
        vpc_id: ref("aws_vpc", "vpc"),
      });
      expect(subnets[`data_subnet_${i}`]).toMatchObject({
        availability_zone: az,
        cidr_block: topology.dataSubnetCidrs[i],
        map_public_ip_on_launch: false,
      });
    });
  });

  it("data subnets use a route table with no route at all (no internet gateway, no NAT)", () => {
    const assoc = Object.values(of(tf, "aws_route_table_association"));
    for (const i of [0, 1]) {
      const own = assoc.filter((a) => a.subnet_id === ref("aws_subnet", `data_subnet_${i}`));
      expect(own).toEqual([expect.objectContaining({ route_table_id: ref("aws_route_table", "data_route_table") })]);
    }
    const routes = Object.values(of(tf, "aws_route"));
    expect(routes.filter((r) => r.route_table_id === ref("aws_route_table", "data_route_table"))).toEqual([]);
    expect(of(tf, "aws_route_table").data_route_table.route).toBeUndefined();
    const endpoints = [
      ...Object.values(of(tf, "aws_vpc_endpoint")),
      ...Object.values(of(tf, "aws_vpc_endpoint_route_table_association")),
    ];
    expect(JSON.stringify(endpoints)).not.toContain("data_route_table");
  });

  it("with egress public-ip: app subnets map public IPs and route through the internet gateway; no NAT", () => {
    const assoc = Object.values(of(tf, "aws_route_table_association"));
    for (const i of [0, 1]) {
      expect(subnets[`app_subnet_${i}`].map_public_ip_on_launch).toBe(true);
      expect(assoc.filter((a) => a.subnet_id === ref("aws_subnet", `app_subnet_${i}`))).toEqual([
        expect.objectContaining({ route_table_id: ref("aws_route_table", "public-rt") }),
      ]);
    }
    expect(tf.resource.aws_nat_gateway).toBeUndefined();
    expect(tf.resource.aws_eip).toBeUndefined();
  });

  it("with egress nat-gateway: one NAT gateway (and EIP) in the public subnet, app subnets route to it", () => {
    const nat = network(withTopology({ egress: "nat-gateway" }));
    const gateways = Object.entries(of(nat, "aws_nat_gateway"));
    expect(gateways).toHaveLength(1);
    expect(gateways[0][1]).toMatchObject({
      subnet_id: ref("aws_subnet", "public_subnet"),
      allocation_id: ref("aws_eip", "nat_eip", "allocation_id"),
    });
    expect(Object.keys(of(nat, "aws_eip"))).toEqual(["nat_eip"]);
    const appRoutes = Object.values(of(nat, "aws_route")).filter(
      (r) => r.route_table_id === ref("aws_route_table", "app_route_table"),
    );
    expect(appRoutes).toEqual([
      expect.objectContaining({
        destination_cidr_block: "0.0.0.0/0",
        nat_gateway_id: ref("aws_nat_gateway", "nat_gateway"),
      }),
    ]);
    expect(appRoutes[0].gateway_id).toBeUndefined();
    const assoc = Object.values(of(nat, "aws_route_table_association"));
    for (const i of [0, 1]) {
      expect(of(nat, "aws_subnet")[`app_subnet_${i}`].map_public_ip_on_launch).toBe(false);
      expect(assoc.filter((a) => a.subnet_id === ref("aws_subnet", `app_subnet_${i}`))).toEqual([
        expect.objectContaining({ route_table_id: ref("aws_route_table", "app_route_table") }),
      ]);
    }
    expect(of(nat, "aws_vpc_endpoint_route_table_association").app_route_table_s3_endpoint).toMatchObject({
      route_table_id: ref("aws_route_table", "app_route_table"),
    });
  });

  /** Ingress rules of a group, as "<source group>:<from>-<to>". */
  const ingressOf = (json: NetworkJson, group: string) =>
    Object.values(of(json, "aws_vpc_security_group_ingress_rule"))
      .filter((r) => r.security_group_id === ref("aws_security_group", group))
      .map((r) => `${String(r.referenced_security_group_id ?? r.cidr_ipv4)}:${r.from_port}-${r.to_port}`)
      .sort();

  it("each tier admits exactly one upstream group on one port", () => {
    expect(ingressOf(tf, "alb_security_group")).toEqual([`${ref("aws_security_group", "vpc-link-sg")}:80-80`]);
    expect(ingressOf(tf, "app_security_group")).toEqual([
      `${ref("aws_security_group", "alb_security_group")}:8080-8080`,
    ]);
    expect(ingressOf(tf, "db_security_group")).toEqual([
      `${ref("aws_security_group", "app_security_group")}:5432-5432`,
    ]);
    expect(ingressOf(tf, "cache_security_group")).toEqual([
      `${ref("aws_security_group", "app_security_group")}:6379-6379`,
    ]);
  });

  it("the box may reach the database only while keepBox holds", () => {
    const kept = network(withTopology({ keepBox: true }));
    expect(ingressOf(kept, "db_security_group")).toEqual([
      `${ref("aws_security_group", "app_security_group")}:5432-5432`,
      `${ref("aws_security_group", "instance-sg")}:5432-5432`,
    ]);
    expect(ingressOf(kept, "cache_security_group")).toEqual([
      `${ref("aws_security_group", "app_security_group")}:6379-6379`,
    ]);
    // RDS's subscription to the box's publication: the only egress of a data group, and only while keepBox holds.
    const rule = (type: string, id: string) => of(kept, type)[id];
    expect(rule("aws_vpc_security_group_egress_rule", "db_to_box_egress")).toMatchObject({
      security_group_id: ref("aws_security_group", "db_security_group"),
      referenced_security_group_id: ref("aws_security_group", "instance-sg"),
      from_port: 5432,
      to_port: 5432,
    });
    expect(rule("aws_vpc_security_group_ingress_rule", "db_to_box_ingress")).toMatchObject({
      security_group_id: ref("aws_security_group", "instance-sg"),
      referenced_security_group_id: ref("aws_security_group", "db_security_group"),
      from_port: 5432,
    });
    expect(of(tf, "aws_vpc_security_group_egress_rule").db_to_box_egress).toBeUndefined();
  });

  it("the data groups have no egress and no CIDR ingress; every egress rule has a matching ingress", () => {
    const egress = Object.values(of(tf, "aws_vpc_security_group_egress_rule"));
    for (const g of ["db_security_group", "cache_security_group"]) {
      expect(egress.filter((r) => r.security_group_id === ref("aws_security_group", g))).toEqual([]);
    }
    const ingress = Object.values(of(tf, "aws_vpc_security_group_ingress_rule"));
    for (const r of ingress) {
      if (String(r.security_group_id).includes("instance-sg")) continue; // the box's own rules (single-box network)
      expect(r.cidr_ipv4).toBeUndefined();
    }
    for (const e of egress.filter((r) => r.referenced_security_group_id)) {
      expect(ingress).toContainEqual(
        expect.objectContaining({
          security_group_id: e.referenced_security_group_id,
          referenced_security_group_id: e.security_group_id,
          from_port: e.from_port,
        }),
      );
    }
  });
});
