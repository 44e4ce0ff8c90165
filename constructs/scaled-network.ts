import { Construct } from "constructs";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { VpcEndpointRouteTableAssociation } from "@cdktf/provider-aws/lib/vpc-endpoint-route-table-association";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { EnvironmentConfig, ScaledTopology } from "./config/environments";
import { resourcePrefix } from "./config/naming";

/** Port of the internal ALB's listener; the VPC link reaches the ALB on it (plain HTTP inside the VPC). */
export const ALB_LISTENER_PORT = 80;
/** PostgreSQL and Valkey ports of the managed data stores. */
export const DATABASE_PORT = 5432;
export const CACHE_PORT = 6379;

/** What the scaled layout builds on: the single-box network's VPC, public subnet, route table and groups. */
export interface BaseNetwork {
  readonly vpc: Vpc;
  readonly publicSubnet: Subnet;
  readonly routeTable: RouteTable;
  readonly s3Endpoint: VpcEndpoint;
  readonly instanceSecurityGroup: SecurityGroup;
  readonly vpcLinkSecurityGroup: SecurityGroup;
}

export interface ScaledNetworkProps {
  readonly env: EnvironmentConfig;
  readonly topology: ScaledTopology;
  /** The stack's VPC, public subnet and route table, and the VPC link and box security groups. */
  readonly network: BaseNetwork;
  readonly internetGateway: InternetGateway;
}

/**
 * The two-AZ layout of the `scaled` topology, added to the single-box network (which it leaves unchanged):
 *
 * - **App subnets**, one per zone, for the internal ALB and the API fleet. With egress `public-ip` they
 *   share the public route table (default route to the internet gateway) and map a public IPv4 to each
 *   instance; with `nat-gateway` they get their own route table whose default route is one NAT gateway.
 *   The NAT gateway sits in the public subnet: a NAT gateway must live in a subnet that routes to the
 *   internet gateway, which an app subnet routing to the NAT gateway does not.
 * - **Data subnets**, one per zone, for RDS and ElastiCache. Their route table holds only the VPC's local
 *   route: no internet gateway, no NAT gateway, so nothing in them can reach or be reached from outside.
 * - **Security groups**, each admitting exactly one upstream: VPC link -> ALB (listener port) -> app (API
 *   port) -> database (5432) and cache (6379). While `keepBox` holds, the box and the database may reach each
 *   other on 5432, for the replication that moves the data either way (docs/runbooks/scale-out.md).
 *
 * Every resource id is pinned: the subnets and groups are referenced by stateful resources.
 */
export class ScaledNetwork extends Construct {
  /** App subnets, in the order of `topology.availabilityZones`. */
  readonly appSubnets: Subnet[];
  /** Data subnets, in the order of `topology.availabilityZones`. */
  readonly dataSubnets: Subnet[];
  readonly dataRouteTable: RouteTable;
  /** The app subnets' route table: the public one (egress `public-ip`) or a NAT-routed one. */
  readonly appRouteTable: RouteTable;
  readonly natGateway?: NatGateway;
  /** The internal ALB: listener port from the VPC link group only. */
  readonly albSecurityGroup: SecurityGroup;
  /** The API fleet: the API port from the ALB group only. */
  readonly appSecurityGroup: SecurityGroup;
  /** RDS: 5432 from the app group (and the box's group while `keepBox`). */
  readonly databaseSecurityGroup: SecurityGroup;
  /** ElastiCache: 6379 from the app group only. */
  readonly cacheSecurityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: ScaledNetworkProps) {
    super(scope, id);
    const { env, topology: t, network } = props;
    const prefix = resourcePrefix(env);
    const vpcId = network.vpc.id;

    const subnets = (tier: "app" | "data", cidrs: [string, string]) =>
      cidrs.map((cidr, i) => {
        const az = t.availabilityZones[i];
        const subnet = new Subnet(this, `${tier}-subnet-${i}`, {
          vpcId,
          cidrBlock: cidr,
          availabilityZone: az,
          mapPublicIpOnLaunch: tier === "app" && t.egress === "public-ip",
          tags: { Name: `${prefix}-${tier}-${az}`, Tier: tier },
        });
        subnet.overrideLogicalId(`${tier}_subnet_${i}`);
        return subnet;
      });
    this.appSubnets = subnets("app", t.appSubnetCidrs);
    this.dataSubnets = subnets("data", t.dataSubnetCidrs);

    if (t.egress === "nat-gateway") {
      const eip = new Eip(this, "nat-eip", { domain: "vpc", tags: { Name: `${prefix}-nat` } });
      eip.overrideLogicalId("nat_eip");
      this.natGateway = new NatGateway(this, "nat", {
        allocationId: eip.allocationId,
        subnetId: network.publicSubnet.id,
        connectivityType: "public",
        tags: { Name: `${prefix}-nat` },
        dependsOn: [props.internetGateway],
      });
      this.natGateway.overrideLogicalId("nat_gateway");
      this.appRouteTable = new RouteTable(this, "app-rt", { vpcId, tags: { Name: `${prefix}-app` } });
      this.appRouteTable.overrideLogicalId("app_route_table");
      new Route(this, "app-default-route", {
        routeTableId: this.appRouteTable.id,
        destinationCidrBlock: "0.0.0.0/0",
        natGatewayId: this.natGateway.id,
      }).overrideLogicalId("app_default_route");
      // Releases and logs still reach S3 through the free gateway endpoint, not the NAT gateway.
      new VpcEndpointRouteTableAssociation(this, "app-rt-s3", {
        routeTableId: this.appRouteTable.id,
        vpcEndpointId: network.s3Endpoint.id,
      }).overrideLogicalId("app_route_table_s3_endpoint");
    } else {
      this.appRouteTable = network.routeTable;
    }

    // Only the implicit local route: the data tier has no way in or out of the VPC.
    this.dataRouteTable = new RouteTable(this, "data-rt", { vpcId, tags: { Name: `${prefix}-data` } });
    this.dataRouteTable.overrideLogicalId("data_route_table");

    this.appSubnets.forEach((s, i) =>
      new RouteTableAssociation(this, `app-rt-assoc-${i}`, {
        subnetId: s.id,
        routeTableId: this.appRouteTable.id,
      }).overrideLogicalId(`app_subnet_${i}_route_table`),
    );
    this.dataSubnets.forEach((s, i) =>
      new RouteTableAssociation(this, `data-rt-assoc-${i}`, {
        subnetId: s.id,
        routeTableId: this.dataRouteTable.id,
      }).overrideLogicalId(`data_subnet_${i}_route_table`),
    );

    const group = (key: string, name: string, description: string) => {
      const sg = new SecurityGroup(this, `${key}-sg`, {
        name: `${prefix}-${name}`,
        description,
        vpcId,
        tags: { Name: `${prefix}-${name}` },
      });
      sg.overrideLogicalId(`${key}_security_group`);
      return sg;
    };
    this.albSecurityGroup = group("alb", "alb", "Internal ALB: listener port from the API Gateway VPC link only");
    this.appSecurityGroup = group("app", "app", "API fleet: API port from the internal ALB only");
    this.databaseSecurityGroup = group("db", "db", "RDS PostgreSQL: 5432 from the API fleet only");
    this.cacheSecurityGroup = group("cache", "cache", "ElastiCache Valkey: 6379 from the API fleet only");

    /** One hop: `from` may open `port` on `to`, as a matching egress and ingress rule. */
    this.addRules(props);
  }
  /** Each group admits exactly one upstream: VPC link -> ALB -> app -> database and cache; and the app's way out. */
  private addRules(props: ScaledNetworkProps): void {
    const { env, topology: t, network } = props;
    const allow = (id: string, from: SecurityGroup, to: SecurityGroup, port: number, description: string) => {
      new VpcSecurityGroupEgressRule(this, `${id}-out`, {
        securityGroupId: from.id,
        description,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        referencedSecurityGroupId: to.id,
      }).overrideLogicalId(`${id.replace(/-/g, "_")}_egress`);
      new VpcSecurityGroupIngressRule(this, `${id}-in`, {
        securityGroupId: to.id,
        description,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        referencedSecurityGroupId: from.id,
      }).overrideLogicalId(`${id.replace(/-/g, "_")}_ingress`);
    };
    allow(
      "vpc-link-to-alb",
      network.vpcLinkSecurityGroup,
      this.albSecurityGroup,
      ALB_LISTENER_PORT,
      "API Gateway VPC link to the internal ALB",
    );
    allow(
      "alb-to-app",
      this.albSecurityGroup,
      this.appSecurityGroup,
      env.api.port,
      "Internal ALB to the Go API (traffic and health checks)",
    );
    allow("app-to-db", this.appSecurityGroup, this.databaseSecurityGroup, DATABASE_PORT, "Go API to RDS PostgreSQL");
    allow("app-to-cache", this.appSecurityGroup, this.cacheSecurityGroup, CACHE_PORT, "Go API to ElastiCache Valkey");
    if (t.keepBox) {
      // The box already may open 5432 anywhere (its migration egress rule); only the ingress is needed.
      new VpcSecurityGroupIngressRule(this, "box-to-db-in", {
        securityGroupId: this.databaseSecurityGroup.id,
        description: "The box, while it replicates into RDS (keepBox)",
        ipProtocol: "tcp",
        fromPort: DATABASE_PORT,
        toPort: DATABASE_PORT,
        referencedSecurityGroupId: network.instanceSecurityGroup.id,
      }).overrideLogicalId("box_to_db_ingress");
      // The other way for the move itself: RDS's subscription connects to the box's publication
      // (docs/runbooks/scale-out.md); RDS's outbound connections follow the database group's egress rules.
      allow(
        "db-to-box",
        this.databaseSecurityGroup,
        network.instanceSecurityGroup,
        DATABASE_PORT,
        "RDS subscribes to the box's publication (keepBox)",
      );
    }

    // The fleet's way out: AWS APIs over HTTPS (SSM, CloudWatch, SES; S3 takes the gateway endpoint).
    new VpcSecurityGroupEgressRule(this, "app-https-out", {
      securityGroupId: this.appSecurityGroup.id,
      description: "HTTPS to AWS service endpoints",
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
    }).overrideLogicalId("app_https_egress");
  }
}
