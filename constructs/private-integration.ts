import { Construct } from "constructs";
import { Apigatewayv2Integration } from "@cdktf/provider-aws/lib/apigatewayv2-integration";
import { Apigatewayv2VpcLink } from "@cdktf/provider-aws/lib/apigatewayv2-vpc-link";
import { ServiceDiscoveryHttpNamespace } from "@cdktf/provider-aws/lib/service-discovery-http-namespace";
import { ServiceDiscoveryInstance } from "@cdktf/provider-aws/lib/service-discovery-instance";
import { ServiceDiscoveryService } from "@cdktf/provider-aws/lib/service-discovery-service";

/**
 * A Cloud Map service with one registered address: one host at a fixed private IP. The namespace is an HTTP
 * namespace: API Gateway finds the instance with DiscoverInstances, which works for every namespace type, so
 * no Route 53 private hosted zone ($0.50/month) is needed. Sources: the integrationUri field of the API Gateway
 * v2 API reference ("If you specify the ARN of an AWS Cloud Map service, API Gateway uses DiscoverInstances to
 * identify resources") and Cloud Map's DiscoverInstances reference ("You can use DiscoverInstances to discover
 * instances for any type of namespace").
 */
export interface CloudMapTarget {
  kind: "cloud-map";
  /** HTTP namespace name, e.g. `zmanim-prod-api`. */
  namespaceName: string;
  /** Service name inside the namespace. @default "api" */
  serviceName?: string;
  /** Cloud Map instance id of the one registration. */
  instanceId: string;
  ipv4: string;
  port: number;
}

/**
 * A load balancer listener. API Gateway sends each request to the listener, which picks a healthy target; the
 * integration needs no service discovery. AWS: "For an Application Load Balancer or Network Load Balancer,
 * specify the listener ARN" (HTTP API private integrations).
 */
export interface LoadBalancerListenerTarget {
  kind: "load-balancer-listener";
  listenerArn: string;
}

export interface PrivateIntegrationProps {
  /** The HTTP API. */
  readonly apiId: string;
  /** Name of the VPC link. */
  readonly name: string;
  /** Subnets where the VPC link places its ENIs; they must reach the target. */
  readonly subnetIds: string[];
  /** Security groups of the VPC link's ENIs (egress to the target's port only). */
  readonly securityGroupIds: string[];
  readonly target: CloudMapTarget | LoadBalancerListenerTarget;
  /** Description of the integration. */
  readonly description: string;
  /**
   * Integration timeout. @default 29000 (the HTTP API maximum for a synchronous request; the Go API answers
   * long before)
   */
  readonly timeoutMilliseconds?: number;
}

/**
 * An HTTP API private integration (D12): a VPC link and an `HTTP_PROXY` integration, with payload format 1.0,
 * that forwards every method to either a Cloud Map service (one box at a fixed private address) or a load
 * balancer listener (a fleet). Nothing behind it is reachable from the internet.
 *
 * Logical ids are an external contract (a VPC link takes minutes to replace): `vpc-link`, `integration`,
 * and for Cloud Map `namespace`, `api-service`, `api-instance`. One private integration per stack.
 */
export class PrivateIntegration extends Construct {
  readonly vpcLink: Apigatewayv2VpcLink;
  readonly integration: Apigatewayv2Integration;
  /** The Cloud Map service, when the target is one. */
  readonly service?: ServiceDiscoveryService;

  constructor(scope: Construct, id: string, props: PrivateIntegrationProps) {
    super(scope, id);
    const timeout = props.timeoutMilliseconds ?? 29000;
    if (!Number.isInteger(timeout) || timeout < 50 || timeout > 30000) {
      throw new Error(
        `PrivateIntegration ${id}: timeoutMilliseconds = ${timeout}; use a whole number between 50 and 30000`,
      );
    }
    if (props.subnetIds.length === 0)
      throw new Error(`PrivateIntegration ${id}: subnetIds is empty; give the VPC link at least one subnet`);

    this.vpcLink = new Apigatewayv2VpcLink(this, "vpc-link", {
      name: props.name,
      subnetIds: props.subnetIds,
      securityGroupIds: props.securityGroupIds,
    });
    this.vpcLink.overrideLogicalId("vpc-link");

    let integrationUri: string;
    const t = props.target;
    if (t.kind === "cloud-map") {
      const namespace = new ServiceDiscoveryHttpNamespace(this, "namespace", {
        name: t.namespaceName,
        description: "Service discovery for the API Gateway VPC link (DiscoverInstances only, no DNS)",
      });
      namespace.overrideLogicalId("namespace");
      this.service = new ServiceDiscoveryService(this, "api-service", {
        name: t.serviceName ?? "api",
        description: "The Go API on the instance",
        namespaceId: namespace.id,
      });
      this.service.overrideLogicalId("api-service");
      new ServiceDiscoveryInstance(this, "api-instance", {
        serviceId: this.service.id,
        instanceId: t.instanceId,
        attributes: {
          AWS_INSTANCE_IPV4: t.ipv4,
          AWS_INSTANCE_PORT: String(t.port),
        },
      }).overrideLogicalId("api-instance");
      integrationUri = this.service.arn;
    } else {
      integrationUri = t.listenerArn;
    }

    this.integration = new Apigatewayv2Integration(this, "integration", {
      apiId: props.apiId,
      description: props.description,
      integrationType: "HTTP_PROXY",
      integrationMethod: "ANY",
      connectionType: "VPC_LINK",
      connectionId: this.vpcLink.id,
      integrationUri,
      payloadFormatVersion: "1.0",
      timeoutMilliseconds: timeout,
    });
    this.integration.overrideLogicalId("integration");
  }
}
