/**
 * Resource ARNs for simulated requests, built from the synthesized Terraform JSON.
 *
 * For every action, iam-data gives the IAM resource types the action is authorized against and their ARN
 * formats (`arn:${Partition}:logs:${Region}:${Account}:delivery-source:${DeliverySourceName}`). The
 * variables are filled from the resource's configuration where Terraform knows them before apply (names,
 * region, account). Identifiers that exist only after apply (instance, volume, distribution, zone ids...)
 * get a placeholder in the service's real format (PLACEHOLDERS below; docs/iam-sufficiency.md).
 */
import { actionData, resourceTypeArn } from "./iam-data-sync";

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
  // The AWS managed keys (aws/ssm, aws/secretsmanager): ids known only in the account.
  KeyId: "0123abcd-4567-89ef-0123-456789abcdef",
};

export interface ArnTarget {
  region: string;
  account: string;
  /** The resource's own IAM resource type, `service:type` (e.g. `s3:bucket`), when it has one. */
  primary?: string;
  /**
   * Other resource types the resource's own requests are authorized against: API Gateway authorizes each
   * HTTP verb on the path it is sent to, the collection to create (`/apis`), the item afterwards (`/apis/{id}`).
   */
  also?: string[];
  /** ARN variable values known from the configuration, keyed by IAM ARN variable name. */
  vars: Record<string, string>;
  /**
   * Ids AWS assigns when the resource is created (a build's instance, image...): used in the ARN like
   * PLACEHOLDERS, and, unlike `vars`, never a reason to evaluate an optional resource type.
   */
  generated?: Record<string, string>;
  /** How a generated id is written in a policy when AWS gives it a known form (`rds!db-*`); `*` otherwise. */
  generatedPatterns?: Record<string, string>;
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
    if (target.generated && v in target.generated) return target.generated[v];
    if (v in PLACEHOLDERS) return PLACEHOLDERS[v];
    return `example-${v.toLowerCase()}`;
  });
}

/** The ARN variables of a format other than partition, region and account. */
export const formatVariables = (format: string) =>
  [...format.matchAll(/\$\{([A-Za-z0-9]+)\}/g)]
    .map((m) => m[1])
    .filter((v) => !["Partition", "Region", "Account"].includes(v));

/** One resource a request is authorized against: its ARN and the iam-data format it was filled from. */
export interface ArnOf {
  resource: string;
  format?: string;
  /** An ARN the reference's list for the action does not hold (HTTP API paths): evaluated unvalidated. */
  unvalidated?: boolean;
}

/**
 * API Gateway authorizes an HTTP API call as its HTTP verb on the path it is sent to. The Service
 * Authorization Reference lists the REST API's paths under each verb, but has the HTTP API's resource types
 * (`/apis`, `/apis/{id}`, `/apis/{id}/routes/{id}`, `/vpclinks`, `/tags/{arn}`...): a create is a POST to the
 * collection, reads GET the item (and list the collection), updates PATCH or PUT the item, a delete DELETEs
 * it; tags are POST and DELETE on `/tags/{resource ARN}` (the verbs and paths of the API Gateway V2 API
 * reference, e.g. CreateApi is `POST /v2/apis`, DeleteRoute `DELETE /v2/apis/{apiId}/routes/{routeId}`).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/security_iam_service-with-iam.html
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagementv2.html
 * https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/resources.html
 */
const HTTP_API_PATHS: Record<string, Array<"item" | "collection" | "tags">> = {
  POST: ["collection", "tags"],
  GET: ["item", "collection", "tags"],
  PATCH: ["item"],
  PUT: ["item"],
  DELETE: ["item", "tags"],
};

function httpApiArns(verb: string, target: ArnTarget): ArnOf[] | undefined {
  const kinds = HTTP_API_PATHS[verb.toUpperCase()];
  if (!kinds || !target.primary?.startsWith("apigateway:") || !target.also?.length) return undefined;
  const typeOf = { item: target.primary.split(":")[1], collection: target.also[0].split(":")[1], tags: "tags" };
  return kinds.map((k) => {
    const format = resourceTypeArn("apigateway", typeOf[k]);
    return { resource: fillArn(format, target), format, unvalidated: true };
  });
}

/**
 * The resources `action` is authorized against for `target`, per the Service Authorization Reference:
 * `*` for actions without resource types; else every resource type the action requires, the resource's own
 * type when the action takes it, and, for Write actions, every optional type the request names, that is
 * whose ARN variables the configuration fixes (CreateDBInstance names its parameter group, subnet group and option group, and
 * IAM authorizes it against each). With none of these, the first resource type the action lists.
 */
export function arnsOf(action: string, target: ArnTarget): ArnOf[] {
  const [service, name] = splitAction(action);
  if (service === "apigateway") {
    const paths = httpApiArns(name, target);
    if (paths) return paths;
  }
  const details = actionData(action);
  if (details.resourceTypes.length === 0) return [{ resource: "*" }];
  // Resource type names are compared case-insensitively (iam-data writes API Gateway's as `Api`, `Apis`).
  const own = [target.primary, ...(target.also ?? [])].filter((t): t is string => !!t).map((t) => t.toLowerCase());
  const isOwn = (name: string) => own.includes(`${service}:${name.toLowerCase()}`);
  const named = (rt: { name: string }) => {
    // Only a write names other resources (tagging and reads act on the one resource they are given).
    if (details.accessLevel !== "Write") return false;
    const vars = formatVariables(resourceTypeArn(service, rt.name));
    return vars.length > 0 && vars.every((v) => v in target.vars);
  };
  const chosen = details.resourceTypes.filter((rt) => rt.required || isOwn(rt.name) || named(rt));
  const formats = (chosen.length ? chosen : details.resourceTypes).map((rt) => resourceTypeArn(service, rt.name));
  const fill = (format: string): ArnOf => ({ resource: fillArn(format, target), format });
  if (chosen.length) {
    const out = new Map<string, ArnOf>();
    for (const f of formats) out.set(fillArn(f, target), fill(f));
    return [...out.values()];
  }
  // None required and not the resource's own type: the type whose ARN the configuration fills best.
  const known = (f: string) => formatVariables(f).filter((v) => v in target.vars).length;
  return [fill(formats.reduce((a, b) => (known(b) > known(a) ? b : a)))];
}

/** The ARNs of arnsOf (kept async for its callers). */
export async function arnsFor(action: string, target: ArnTarget): Promise<string[]> {
  return arnsOf(action, target).map((a) => a.resource);
}
