import { Construct } from "constructs";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { RetainedLogGroup } from "../constructs/log-group";
import { VpcFlowLogs } from "../constructs/vpc-flow-logs";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { EnvironmentConfig, topologyOf } from "../constructs/config/environments";
import { ScaledNetwork } from "../constructs/scaled-network";
import { logGroupPrefix, resourcePrefix } from "../constructs/config/naming";

/**
 * The network: one VPC, one public subnet pinned to the environment's availability zone, an internet
 * gateway, a free S3 gateway endpoint, and no NAT gateway (the AMI carries everything it needs).
 *
 * Security groups live here so that every other stack can reference them without a cycle:
 * - `instanceSecurityGroup`: the API port only from the VPC link's group; SSH only from admin CIDRs.
 * - `vpcLinkSecurityGroup`: the API Gateway VPC link's ENIs; egress only to the instance's API port.
 */
export class NetworkStack extends ZmanimStack {
  readonly vpc: Vpc;
  readonly publicSubnet: Subnet;
  readonly routeTable: RouteTable;
  readonly s3Endpoint: VpcEndpoint;
  readonly instanceSecurityGroup: SecurityGroup;
  readonly vpcLinkSecurityGroup: SecurityGroup;
  /** The two-AZ layout of the `scaled` topology; undefined in `single-box`. */
  readonly scaled?: ScaledNetwork;

  constructor(scope: Construct, props: ZmanimStackProps) {
    super(scope, "network", props);
    const env = props.env;
    const prefix = resourcePrefix(env);

    this.vpc = new Vpc(this, "vpc", {
      cidrBlock: env.vpcCidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: prefix },
    });
    this.vpc.overrideLogicalId("vpc");

    // Lock the default security group: no rules at all, so nothing that falls back to it is reachable.
    new DefaultSecurityGroup(this, "default-sg", { vpcId: this.vpc.id, ingress: [], egress: [] });

    this.publicSubnet = new Subnet(this, "public-subnet", {
      vpcId: this.vpc.id,
      cidrBlock: env.publicSubnetCidr,
      availabilityZone: env.availabilityZone,
      // The instance gets its public address from the Elastic IP, never from auto-assignment.
      mapPublicIpOnLaunch: false,
      tags: { Name: `${prefix}-public-${env.availabilityZone}` },
    });
    this.publicSubnet.overrideLogicalId("public_subnet");

    const igw = new InternetGateway(this, "igw", { vpcId: this.vpc.id, tags: { Name: prefix } });

    this.routeTable = new RouteTable(this, "public-rt", { vpcId: this.vpc.id, tags: { Name: `${prefix}-public` } });
    new Route(this, "default-route", {
      routeTableId: this.routeTable.id,
      destinationCidrBlock: "0.0.0.0/0",
      gatewayId: igw.id,
    });
    new RouteTableAssociation(this, "public-rt-assoc", {
      subnetId: this.publicSubnet.id,
      routeTableId: this.routeTable.id,
    });

    // Gateway endpoints are free; backups and releases reach S3 without crossing the internet, and
    // bucket policies can pin the instance's access to this endpoint (aws:SourceVpce).
    this.s3Endpoint = new VpcEndpoint(this, "s3-endpoint", {
      vpcId: this.vpc.id,
      serviceName: `com.amazonaws.${env.region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: [this.routeTable.id],
      tags: { Name: `${prefix}-s3` },
    });

    this.vpcLinkSecurityGroup = new SecurityGroup(this, "vpc-link-sg", {
      name: `${prefix}-vpc-link`,
      description: "API Gateway VPC link ENIs; may reach only the instance API port",
      vpcId: this.vpc.id,
      tags: { Name: `${prefix}-vpc-link` },
    });

    this.instanceSecurityGroup = new SecurityGroup(this, "instance-sg", {
      name: `${prefix}-instance`,
      description: "Zmanim box: API port from the VPC link only; SSH from admin CIDRs only",
      vpcId: this.vpc.id,
      tags: { Name: `${prefix}-instance` },
    });

    this.addBoxRules(env);

    const topology = topologyOf(env);
    if (topology.kind === "scaled") {
      this.scaled = new ScaledNetwork(this, "scaled", { env, topology, network: this, internetGateway: igw });
    }

    this.addFlowLogs(env);
  }

  /** The box's group: the API port from the VPC link only, SSH from admin CIDRs, HTTPS and PostgreSQL out. */
  private addBoxRules(env: EnvironmentConfig): void {
    new VpcSecurityGroupEgressRule(this, "vpc-link-to-instance", {
      securityGroupId: this.vpcLinkSecurityGroup.id,
      description: "VPC link to the Go API",
      ipProtocol: "tcp",
      fromPort: env.api.port,
      toPort: env.api.port,
      referencedSecurityGroupId: this.instanceSecurityGroup.id,
    });

    new VpcSecurityGroupIngressRule(this, "instance-api-from-vpc-link", {
      securityGroupId: this.instanceSecurityGroup.id,
      description: "Go API from the API Gateway VPC link",
      ipProtocol: "tcp",
      fromPort: env.api.port,
      toPort: env.api.port,
      referencedSecurityGroupId: this.vpcLinkSecurityGroup.id,
    });

    env.adminCidrs.forEach((cidr, i) => {
      new VpcSecurityGroupIngressRule(this, `instance-ssh-admin-${i}`, {
        securityGroupId: this.instanceSecurityGroup.id,
        description: `SSH from admin CIDR ${cidr}`,
        ipProtocol: "tcp",
        fromPort: 22,
        toPort: 22,
        cidrIpv4: cidr,
      });
    });

    // Egress: HTTPS to AWS APIs (SSM, CloudWatch, SES; S3 traffic takes the gateway endpoint route) and
    // PostgreSQL to the migration source (Xata) for scripts/migrate-db. Instance metadata, the VPC
    // resolver and Amazon Time Sync are link-local and not subject to security groups.
    new VpcSecurityGroupEgressRule(this, "instance-https-out", {
      securityGroupId: this.instanceSecurityGroup.id,
      description: "HTTPS to AWS service endpoints",
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
    });
    new VpcSecurityGroupEgressRule(this, "instance-postgres-out", {
      securityGroupId: this.instanceSecurityGroup.id,
      // The tool lives in scripts/box/ now; the description keeps the path it was created with, so plans stay empty.
      description: "PostgreSQL to the migration source (scripts/migrate-db); TLS is required by the tool",
      ipProtocol: "tcp",
      fromPort: 5432,
      toPort: 5432,
      cidrIpv4: "0.0.0.0/0",
    });
  }

  /** Flow logs: every accepted and rejected flow, aggregated per 10 minutes to keep ingestion small. */
  private addFlowLogs(env: EnvironmentConfig): void {
    const prefix = resourcePrefix(env);
    const flowLogs = new RetainedLogGroup(this, "flow-logs", {
      name: `${logGroupPrefix(env)}/vpc-flow-logs`,
      retentionDays: env.logRetentionDays,
    });
    new VpcFlowLogs(this, "vpc-flow-logs", {
      vpcId: this.vpc.id,
      logGroup: flowLogs,
      roleName: `${prefix}-vpc-flow-logs`,
      accountId: env.accountId,
      region: env.region,
    });
  }
}
