import { Testing } from "cdktf/lib/testing";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { prod } from "../../constructs/config/environments";
import { NetworkStack } from "../../stacks/network";
import { synthAll, resourcesOfType } from "../helpers/synth";

const network = (env = prod) => {
  const app = Testing.app();
  return Testing.synth(new NetworkStack(app, { env }));
};

describe("network stack", () => {
  const json = network();
  const tf = JSON.parse(json);

  it("has one VPC with DNS support and one public subnet pinned to the configured AZ", () => {
    expect(json).toHaveResourceWithProperties(Vpc, {
      cidr_block: "10.42.0.0/16",
      enable_dns_hostnames: true,
      enable_dns_support: true,
    });
    expect(json).toHaveResourceWithProperties(Subnet, {
      cidr_block: "10.42.0.0/24",
      availability_zone: "eu-west-1a",
      map_public_ip_on_launch: false,
    });
    expect(Object.keys(tf.resource.aws_vpc)).toEqual(["vpc"]);
    expect(Object.keys(tf.resource.aws_subnet)).toEqual(["public_subnet"]);
  });

  it("routes 0.0.0.0/0 to an internet gateway and has no NAT gateway", () => {
    const routes = Object.values(tf.resource.aws_route) as Array<Record<string, string>>;
    expect(routes).toHaveLength(1);
    expect(routes[0].destination_cidr_block).toBe("0.0.0.0/0");
    expect(routes[0].gateway_id).toMatch(/^\$\{aws_internet_gateway\.[^.]+\.id\}$/);
    expect(routes[0].nat_gateway_id).toBeUndefined();
    expect(tf.resource.aws_nat_gateway).toBeUndefined();
    expect(Object.keys(tf.resource.aws_internet_gateway)).toHaveLength(1);
  });

  it("has a free S3 gateway endpoint on the public route table", () => {
    expect(json).toHaveResourceWithProperties(VpcEndpoint, {
      service_name: "com.amazonaws.eu-west-1.s3",
      vpc_endpoint_type: "Gateway",
      route_table_ids: ["${aws_route_table.public-rt.id}"],
    });
  });

  it("locks the default security group down to no rules at all", () => {
    expect(json).toHaveResourceWithProperties(DefaultSecurityGroup, { ingress: [], egress: [] });
  });

  it("logs flows to a retained log group", () => {
    expect(json).toHaveResourceWithProperties(FlowLog, {
      traffic_type: "ALL",
      log_destination_type: "cloud-watch-logs",
    });
    const groups = Object.values(tf.resource.aws_cloudwatch_log_group) as Array<Record<string, unknown>>;
    expect(groups).toEqual([expect.objectContaining({ name: "/zmanim/prod/vpc-flow-logs", retention_in_days: 30 })]);
  });

  it("admits the API port only from the VPC link group, and no SSH by default", () => {
    const ingress = Object.values(tf.resource.aws_vpc_security_group_ingress_rule) as Array<Record<string, unknown>>;
    expect(ingress).toHaveLength(1);
    expect(ingress[0]).toMatchObject({
      from_port: 8080,
      to_port: 8080,
      ip_protocol: "tcp",
      referenced_security_group_id: "${aws_security_group.vpc-link-sg.id}",
      security_group_id: "${aws_security_group.instance-sg.id}",
    });
    expect(ingress.some((r) => r.from_port === 22)).toBe(false);
  });

  it("opens SSH only to each configured admin CIDR", () => {
    const tf2 = JSON.parse(network({ ...prod, adminCidrs: ["203.0.113.7/32", "198.51.100.0/28"] }));
    const ssh = (
      Object.values(tf2.resource.aws_vpc_security_group_ingress_rule) as Array<Record<string, unknown>>
    ).filter((r) => r.from_port === 22);
    expect(ssh.map((r) => r.cidr_ipv4).sort()).toEqual(["198.51.100.0/28", "203.0.113.7/32"]);
    expect(ssh.every((r) => r.to_port === 22 && r.ip_protocol === "tcp")).toBe(true);
  });

  it("pins the logical ids of the VPC and subnet (renaming them would replace the network)", () => {
    const s = synthAll();
    expect(resourcesOfType(s, "aws_vpc").map(([, id]) => id)).toEqual(["vpc"]);
    expect(resourcesOfType(s, "aws_subnet").map(([, id]) => id)).toEqual(["public_subnet"]);
  });
});
