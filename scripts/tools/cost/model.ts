/**
 * The cost model: pure computation over the synthesized Terraform JSON, the rate table and the usage
 * assumptions. Every resource ends up in exactly one of three places: priced line items, the free list
 * (types AWS does not bill for), or the unpriced list (types or settings the model cannot price). Nothing
 * is dropped silently.
 */
import {
  ALWAYS_FREE,
  COMMITMENT_DISCOUNTS,
  CommitmentPlan,
  CommitmentTerm,
  CommitmentUpfront,
  RATES,
  RATES_VERSION,
} from "./rates";
import { UsageAssumptions } from "./assumptions";
import { JsonObject, LoadedStack, ResourceRef, regionOf, resourcesOf } from "./tfjson";

export interface LineItem {
  stack: string;
  /** `type.name` as in Terraform state. */
  address: string;
  type: string;
  component: string;
  quantity: number;
  unit: string;
  rateKey: string;
  unitUsd: number;
  usd: number;
  note?: string;
}

export interface UnpricedResource {
  stack: string;
  address: string;
  type: string;
  reason: string;
}

export interface FreeTierCredit {
  pool: string;
  description: string;
  /** Quantity of the allowance used by this estimate, in the unit of the rates it covers. */
  quantity: number;
  /** Negative. */
  usd: number;
  /** Part of the price (Route 53's free AWS-endpoint checks), applied whatever `alwaysFreeTier` says. */
  standing: boolean;
}

/** The instance purchase option next to on-demand (assumptions.commitment). */
export interface CommitmentSummary {
  plan: CommitmentPlan;
  term: CommitmentTerm;
  upfront: CommitmentUpfront;
  /**
   * On-demand cost of the instance hours the plan covers: every EC2 instance for a Compute Savings Plan, the
   * family (in its region) with the most spend for an EC2 Instance Savings Plan.
   */
  eligibleUsd: number;
  /** Fraction off on-demand: the range's ends and the midpoint used in the totals. */
  discount: { low: number; mid: number; high: number };
  /** Monthly saving (positive) at the midpoint and at the range's ends. */
  savingsUsd: { low: number; mid: number; high: number };
  /** Paid at purchase: the whole term ("all") or about half of it ("partial"); amortized into the monthly totals. */
  upfrontUsd: number;
}

export interface CostReport {
  ratesVersion: string;
  environment: string;
  budgetUsd: number;
  lines: LineItem[];
  perStack: Array<{ stack: string; usd: number }>;
  /** Types recognized as free of charge, with their resource counts. */
  free: Array<{ type: string; count: number }>;
  unpriced: UnpricedResource[];
  /** Sorted, distinct types among `unpriced`. */
  unpricedTypes: string[];
  /** Sum of all line items at list price. */
  listTotalUsd: number;
  freeTierCredits: FreeTierCredit[];
  freeTierApplied: boolean;
  /** listTotalUsd less the standing allowances: everything on-demand. */
  onDemandTotalUsd: number;
  commitment: CommitmentSummary;
  /** onDemandTotalUsd less the commitment's saving at the discount range's midpoint. */
  commitmentTotalUsd: number;
  /** commitmentTotalUsd plus the always-free credits when they apply; compared with the budget. */
  totalUsd: number;
  /** totalUsd at the discount range's ends (low = the largest discount). */
  totalRangeUsd: { low: number; high: number };
  overBudget: boolean;
  /** Usage numbers derived from the assumptions and the JSON (for the report and for review). */
  derived: Record<string, number>;
}

/** Types AWS does not bill for by themselves (their usage, if any, is priced on another resource). */
export const FREE_TYPES: ReadonlySet<string> = new Set([
  // Networking
  "aws_vpc",
  "aws_subnet",
  "aws_internet_gateway",
  "aws_egress_only_internet_gateway",
  "aws_route",
  "aws_route_table",
  "aws_route_table_association",
  "aws_main_route_table_association",
  "aws_default_route_table",
  "aws_security_group",
  "aws_default_security_group",
  "aws_security_group_rule",
  "aws_vpc_security_group_ingress_rule",
  "aws_vpc_security_group_egress_rule",
  "aws_network_acl",
  "aws_default_network_acl",
  "aws_network_acl_rule",
  "aws_vpc_dhcp_options",
  "aws_vpc_dhcp_options_association",
  "aws_eip_association",
  "aws_network_interface",
  "aws_vpc_endpoint_route_table_association",
  // Flow logs are billed as vended-log ingestion on their destination log group.
  "aws_flow_log",
  // Compute plumbing (an Auto Scaling group's instances are priced on the group, from its launch template)
  "aws_volume_attachment",
  "aws_key_pair",
  "aws_launch_template",
  "aws_placement_group",
  "aws_autoscaling_policy",
  "aws_autoscaling_lifecycle_hook",
  "aws_autoscaling_notification",
  "aws_autoscaling_attachment",
  "aws_autoscaling_traffic_source_attachment",
  // Load balancer parts (hours and LCUs are priced on aws_lb)
  "aws_lb_target_group",
  "aws_lb_listener",
  "aws_lb_listener_rule",
  "aws_lb_target_group_attachment",
  // Managed database and cache plumbing (instances, storage and nodes are priced on their resources)
  "aws_db_subnet_group",
  "aws_db_parameter_group",
  "aws_db_option_group",
  "aws_elasticache_subnet_group",
  "aws_elasticache_parameter_group",
  "aws_elasticache_user",
  "aws_elasticache_user_group",
  "aws_elasticache_user_group_association",
  "aws_db_event_subscription",
  // IAM
  "aws_iam_role",
  "aws_iam_role_policy",
  "aws_iam_role_policy_attachment",
  "aws_iam_policy",
  "aws_iam_policy_attachment",
  "aws_iam_instance_profile",
  "aws_iam_openid_connect_provider",
  "aws_iam_user",
  "aws_iam_user_policy",
  "aws_iam_group",
  "aws_iam_service_linked_role",
  // S3 configuration (storage and requests are priced on aws_s3_bucket)
  "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_ownership_controls",
  "aws_s3_bucket_server_side_encryption_configuration",
  "aws_s3_bucket_versioning",
  "aws_s3_bucket_lifecycle_configuration",
  "aws_s3_bucket_logging",
  "aws_s3_bucket_policy",
  "aws_s3_bucket_cors_configuration",
  "aws_s3_bucket_website_configuration",
  "aws_s3_bucket_notification",
  "aws_s3_bucket_acl",
  "aws_s3_object",
  "aws_s3_account_public_access_block",
  // CloudFront configuration (requests, transfer and invocations are priced on the distribution)
  "aws_cloudfront_origin_access_control",
  "aws_cloudfront_origin_access_identity",
  "aws_cloudfront_cache_policy",
  "aws_cloudfront_origin_request_policy",
  "aws_cloudfront_response_headers_policy",
  "aws_cloudfront_function",
  // API Gateway HTTP API parts (requests are priced on the API); VPC links are free for HTTP APIs
  "aws_apigatewayv2_stage",
  "aws_apigatewayv2_route",
  "aws_apigatewayv2_integration",
  "aws_apigatewayv2_authorizer",
  "aws_apigatewayv2_vpc_link",
  "aws_apigatewayv2_deployment",
  "aws_apigatewayv2_domain_name",
  "aws_apigatewayv2_api_mapping",
  "aws_api_gateway_account",
  // DNS, certificates, mail identities
  "aws_route53_record",
  "aws_route53_zone_association",
  "aws_acm_certificate_validation",
  "aws_ses_domain_dkim",
  "aws_ses_domain_mail_from",
  "aws_ses_identity_policy",
  "aws_ses_domain_identity_verification",
  "aws_sesv2_email_identity_mail_from_attributes",
  "aws_ses_configuration_set",
  "aws_sesv2_configuration_set",
  // Messaging, events, logs plumbing
  "aws_sns_topic_subscription",
  "aws_sns_topic_policy",
  "aws_cloudwatch_event_rule",
  "aws_cloudwatch_event_target",
  "aws_cloudwatch_log_resource_policy",
  "aws_cloudwatch_log_subscription_filter",
  "aws_kms_alias",
  "aws_cloudwatch_log_delivery_source",
  "aws_cloudwatch_log_delivery_destination",
  // Systems Manager documents/associations, budgets
  "aws_ssm_document",
  "aws_ssm_association",
  "aws_budgets_budget",
  // Cost Explorer: anomaly detection is free, and so is activating a cost allocation tag
  // (https://aws.amazon.com/aws-cost-management/aws-cost-anomaly-detection/pricing/); Budgets bills only
  // action-enabled budgets beyond two (https://aws.amazon.com/aws-cost-management/aws-budgets/pricing/).
  "aws_ce_anomaly_monitor",
  "aws_ce_anomaly_subscription",
  "aws_ce_cost_allocation_tag",
  // Cloud Map: an HTTP namespace has no hosted zone; services cost nothing by themselves
  "aws_service_discovery_http_namespace",
  // Non-AWS providers
  "random_password",
  "random_string",
  "random_id",
  "random_pet",
  "random_uuid",
  "null_resource",
  "terraform_data",
  "time_sleep",
  "time_static",
  "time_rotating",
  "tls_private_key",
]);

type Pricer = (ctx: PriceContext) => void;

interface Derived {
  edgeRequests: number;
  /** Health-check probes included in edgeRequests, split by protocol and by the checkers' region group. */
  probeHttpUs: number;
  probeHttpEurope: number;
  probeHttpsUs: number;
  probeHttpsEurope: number;
  edgeApiRequests: number;
  edgeStaticRequests: number;
  edgeApiMisses: number;
  edgeStaticMisses: number;
  originShieldRequests: number;
  apiOriginRequests: number;
  [key: string]: number;
}

interface PriceContext {
  stack: LoadedStack;
  res: ResourceRef;
  address: string;
  region: string | undefined;
  a: UsageAssumptions;
  d: Derived;
  index: ModelIndex;
  /** Adds a line item priced at `rateKey`; records the resource as unpriced when the rate is missing. */
  add(component: string, quantity: number, item: string, opts?: { region?: string; note?: string }): void;
  unpriced(reason: string): void;
}

interface ModelIndex {
  all: Array<{ stack: LoadedStack; res: ResourceRef }>;
  count(type: string): number;
  /** Log group addresses that a flow log delivers to (vended ingestion). */
  vendedLogGroups: Set<string>;
  /** Log group addresses a CloudWatch Logs delivery destination names (ingestion priced on the delivery). */
  deliveredLogGroups: Set<string>;
  state: { sesAssigned: boolean };
  /** HTTP APIs across all stacks; origin requests are split over them. */
  httpApis: number;
}

/** A value usable as a literal: not a Terraform expression. */
function lit<T>(v: T): T | undefined {
  if (typeof v === "string" && v.includes("${")) return undefined;
  return v;
}

/** cdktf emits single nested blocks either as an object or as a one-element list. */
function first(v: unknown): JsonObject | undefined {
  if (Array.isArray(v)) return (v[0] as JsonObject | undefined) ?? undefined;
  if (v && typeof v === "object") return v as JsonObject;
  return undefined;
}

function list(v: unknown): JsonObject[] {
  if (Array.isArray(v)) return v as JsonObject[];
  if (v && typeof v === "object") return [v as JsonObject];
  return [];
}

function num(v: unknown): number | undefined {
  const x = lit(v);
  if (typeof x === "number") return x;
  if (typeof x === "string" && /^\d+(\.\d+)?$/.test(x)) return Number(x);
  return undefined;
}

function matchUsage<T>(table: Record<string, T>, ...names: Array<string | undefined>): { key: string; value: T } {
  for (const [key, value] of Object.entries(table)) {
    if (key === "default") continue;
    if (names.some((n) => n !== undefined && n.includes(key))) return { key, value };
  }
  return { key: "default", value: table.default };
}

function priceVolume(
  ctx: PriceContext,
  label: string,
  type: string,
  sizeGb: number,
  iops?: number,
  throughput?: number,
  note?: string,
) {
  if (type === "gp3") {
    ctx.add(`${label} gp3 storage`, sizeGb, "ebs.gp3.storage", { note });
    if (iops !== undefined && iops > 3000) ctx.add(`${label} gp3 IOPS above 3,000`, iops - 3000, "ebs.gp3.iops");
    if (throughput !== undefined && throughput > 125)
      ctx.add(`${label} gp3 throughput above 125 MiB/s`, throughput - 125, "ebs.gp3.throughput");
  } else if (type === "gp2" || type === "st1" || type === "sc1") {
    ctx.add(`${label} ${type} storage`, sizeGb, `ebs.${type}.storage`, { note });
  } else {
    ctx.unpriced(`${label}: volume type ${JSON.stringify(type)} has no rate in scripts/tools/cost/rates.ts`);
  }
}

const PRICERS: Record<string, Pricer> = {
  aws_instance(ctx) {
    const b = ctx.res.body;
    const type = lit(b.instance_type);
    if (typeof type !== "string") return ctx.unpriced("instance_type is not a literal; cannot look up its rate");
    ctx.add(`EC2 ${type} on-demand`, ctx.a.hoursPerMonth, `ec2.${type}`);
    const root = first(b.root_block_device);
    const rootType = (lit(root?.volume_type) as string | undefined) ?? "gp3";
    const rootSize = num(root?.volume_size);
    priceVolume(
      ctx,
      "root volume",
      rootType,
      rootSize ?? ctx.a.ec2.defaultRootVolumeGb,
      num(root?.iops),
      num(root?.throughput),
      rootSize === undefined ? `size not set; assumed the AMI's ${ctx.a.ec2.defaultRootVolumeGb} GB` : undefined,
    );
    for (const [i, v] of list(b.ebs_block_device).entries()) {
      const size = num(v.volume_size);
      if (size === undefined) ctx.unpriced(`ebs_block_device[${i}].volume_size is not a literal`);
      else
        priceVolume(
          ctx,
          `ebs_block_device[${i}]`,
          (lit(v.volume_type) as string) ?? "gp2",
          size,
          num(v.iops),
          num(v.throughput),
        );
    }
    if (lit(b.associate_public_ip_address) === true)
      ctx.add("auto-assigned public IPv4", ctx.a.hoursPerMonth, "vpc.public-ipv4");
    if (lit(b.monitoring) === true) ctx.add("detailed monitoring (7 metrics)", 7, "cloudwatch.metric");
    const cpu = first(b.credit_specification);
    const note =
      /^t\d/.test(type) && lit(cpu?.cpu_credits) !== "standard"
        ? "burstable: unlimited-mode CPU credits not included"
        : undefined;
    if (ctx.a.cloudwatch.customMetricsPerInstance > 0)
      ctx.add(
        "CloudWatch agent and backup custom metrics",
        ctx.a.cloudwatch.customMetricsPerInstance,
        "cloudwatch.metric",
        { note },
      );
    if (ctx.a.cloudwatch.putMetricDataPerInstance > 0)
      ctx.add("PutMetricData API requests", ctx.a.cloudwatch.putMetricDataPerInstance, "cloudwatch.api-request");
    if (ctx.a.ec2.internetEgressGbPerMonth > 0)
      ctx.add("data transfer out to the internet", ctx.a.ec2.internetEgressGbPerMonth, "ec2.data-transfer-out");
  },
  aws_ebs_volume(ctx) {
    const b = ctx.res.body;
    const size = num(b.size);
    if (size === undefined)
      return ctx.unpriced("size is not a literal (or the volume comes from a snapshot); cannot price");
    priceVolume(ctx, "volume", (lit(b.type) as string) ?? "gp2", size, num(b.iops), num(b.throughput));
  },
  aws_eip(ctx) {
    ctx.add("public IPv4 address (charged since 2024-02-01, attached or not)", ctx.a.hoursPerMonth, "vpc.public-ipv4");
  },
  aws_nat_gateway(ctx) {
    ctx.add("NAT gateway hours", ctx.a.hoursPerMonth, "vpc.nat-gateway");
    ctx.add("NAT gateway data processed", ctx.a.scaled.natGbProcessedPerMonth, "vpc.nat-gateway.data", {
      note: "assumptions.scaled.natGbProcessedPerMonth",
    });
  },
  aws_autoscaling_group(ctx) {
    const b = ctx.res.body;
    const ref = String(first(b.launch_template)?.id ?? first(b.launch_template)?.name ?? "");
    const m = /aws_launch_template\.([A-Za-z0-9_-]+)\./.exec(ref);
    const lt = m ? ctx.stack.json.resource?.aws_launch_template?.[m[1]] : undefined;
    if (!lt)
      return ctx.unpriced(
        "launch_template does not name an aws_launch_template of this stack; cannot read the instance type",
      );
    const type = lit(lt.instance_type);
    if (typeof type !== "string") return ctx.unpriced("the launch template's instance_type is not a literal");
    const configured = num(b.desired_capacity) ?? num(b.min_size);
    if (configured === undefined) return ctx.unpriced("neither desired_capacity nor min_size is a literal");
    // The fleet follows the origin traffic: enough instances for the peak, never fewer than configured.
    const s = ctx.a.scaled;
    const peakRps = (ctx.d.apiOriginRequests / (ctx.a.hoursPerMonth * 3600)) * s.peakToAverage;
    const n = Math.max(configured, Math.ceil(peakRps / s.originRequestsPerSecondPerInstance));
    const note =
      n > configured
        ? `${n} instances for a peak of ${Math.round(peakRps)} origin requests/s (assumptions.scaled)`
        : undefined;
    ctx.add(`EC2 ${type} on-demand x ${n}`, n * ctx.a.hoursPerMonth, `ec2.${type}`, { note });
    const ebs = list(lt.block_device_mappings)
      .map((d) => first(d.ebs))
      .find((e) => e !== undefined);
    const size = num(ebs?.volume_size) ?? ctx.a.ec2.defaultRootVolumeGb;
    priceVolume(
      ctx,
      `root volumes x ${n}`,
      (lit(ebs?.volume_type) as string | undefined) ?? "gp3",
      size * n,
      undefined,
      undefined,
      num(ebs?.volume_size) === undefined
        ? `size not set; assumed the AMI's ${ctx.a.ec2.defaultRootVolumeGb} GB`
        : undefined,
    );
    // A public IPv4 per instance: asked for by the launch template, or given by the subnets it launches into.
    const asked = list(lt.network_interfaces)
      .map((ni) => lit(ni.associate_public_ip_address))
      .find((v) => v !== undefined);
    const bySubnet = subnetsMapPublicIp(ctx.index, b.vpc_zone_identifier);
    if (asked === true || asked === "true" || (asked === undefined && bySubnet))
      ctx.add(`public IPv4 addresses x ${n}`, n * ctx.a.hoursPerMonth, "vpc.public-ipv4", {
        note: asked === undefined ? "the subnets set map_public_ip_on_launch" : undefined,
      });
    if (s.customMetricsPerFleetInstance > 0)
      ctx.add(`CloudWatch agent custom metrics x ${n}`, n * s.customMetricsPerFleetInstance, "cloudwatch.metric");
    if (ctx.a.cloudwatch.putMetricDataPerInstance > 0)
      ctx.add(
        `PutMetricData API requests x ${n}`,
        n * ctx.a.cloudwatch.putMetricDataPerInstance,
        "cloudwatch.api-request",
      );
  },
  aws_lb(ctx) {
    const type = (lit(ctx.res.body.load_balancer_type) as string | undefined) ?? "application";
    if (type !== "application")
      return ctx.unpriced(`load_balancer_type ${JSON.stringify(type)}: only Application Load Balancers are priced`);
    ctx.add("Application Load Balancer hours", ctx.a.hoursPerMonth, "elb.alb.hour");
    // An LCU-hour covers 1 GB processed, 25 new connections/s or 1,000 rule evaluations/s; the largest dimension is billed.
    const n = ctx.index.count("aws_lb");
    const perHour = ctx.d.apiOriginRequests / n / ctx.a.hoursPerMonth;
    const gb = (perHour * ctx.a.scaled.albBytesPerRequest) / 1e9;
    const conns = (perHour * ctx.a.scaled.albNewConnectionsPerRequest) / 3600 / 25;
    const rules = perHour / 3600 / 1000;
    ctx.add(
      "ALB capacity units (processed bytes, new connections, rule evaluations)",
      Math.max(gb, conns, rules) * ctx.a.hoursPerMonth,
      "elb.alb.lcu",
      {
        note: "assumptions.scaled.albBytesPerRequest / albNewConnectionsPerRequest",
      },
    );
  },
  aws_db_instance(ctx) {
    const b = ctx.res.body;
    const engine = String(lit(b.engine) ?? "");
    if (engine !== "postgres")
      return ctx.unpriced(`engine ${JSON.stringify(engine)}: only RDS for PostgreSQL is priced`);
    const cls = lit(b.instance_class);
    if (typeof cls !== "string") return ctx.unpriced("instance_class is not a literal");
    const multiAz = lit(b.multi_az) === true;
    const copies = multiAz ? 2 : 1;
    const az = multiAz ? "Multi-AZ (primary and standby)" : "Single-AZ";
    ctx.add(`RDS PostgreSQL ${cls} ${az}`, copies * ctx.a.hoursPerMonth, `rds.postgres.${cls}`, {
      note: multiAz ? "Multi-AZ bills two instance-hours per hour" : undefined,
    });
    const storageType = (lit(b.storage_type) as string | undefined) ?? "gp2";
    if (storageType !== "gp3") return ctx.unpriced(`storage_type ${JSON.stringify(storageType)}: only gp3 is priced`);
    const gb = num(b.allocated_storage);
    if (gb === undefined) return ctx.unpriced("allocated_storage is not a literal");
    ctx.add(`gp3 storage, ${az}`, copies * gb, "rds.gp3.storage", {
      note: "allocated size; autoscaling above it is not modelled",
    });
    const iops = num(b.iops);
    if (iops !== undefined && iops > 3000)
      ctx.add(`gp3 IOPS above 3,000, ${az}`, copies * (iops - 3000), "rds.gp3.iops");
    if (ctx.a.scaled.databaseBackupGbMonthBeyondFree > 0)
      ctx.add(
        "backup storage beyond the free 100% of storage",
        ctx.a.scaled.databaseBackupGbMonthBeyondFree,
        "rds.backup-storage",
        { note: "assumptions.scaled.databaseBackupGbMonthBeyondFree" },
      );
    if (lit(b.manage_master_user_password) === true)
      ctx.add("managed master password (Secrets Manager secret)", 1, "secretsmanager.secret");
  },
  aws_elasticache_serverless_cache(ctx) {
    const engine = String(lit(ctx.res.body.engine) ?? "");
    if (engine !== "valkey") return ctx.unpriced(`engine ${JSON.stringify(engine)}: only Valkey is priced`);
    const s = ctx.a.scaled;
    const gb = Math.max(0.1, s.cacheDataGb);
    ctx.add("Serverless Valkey data stored", gb * ctx.a.hoursPerMonth, "elasticache.serverless.valkey.storage", {
      note: `assumptions.scaled.cacheDataGb${gb > s.cacheDataGb ? " (raised to the 0.1 GB minimum)" : ""}`,
    });
    const retention = num(ctx.res.body.snapshot_retention_limit) ?? 0;
    if (retention > 0)
      ctx.add(`daily snapshots kept ${retention} days`, gb * retention, "elasticache.snapshot", {
        note: "one full copy of assumptions.scaled.cacheDataGb per kept day",
      });
    const n =
      ctx.index.count("aws_elasticache_serverless_cache") + ctx.index.count("aws_elasticache_replication_group");
    ctx.add(
      "ElastiCache Processing Units",
      (ctx.d.apiOriginRequests * s.cacheEcpuPerOriginRequest) / n,
      "elasticache.serverless.valkey.ecpu",
      {
        note: "assumptions.scaled.cacheEcpuPerOriginRequest",
      },
    );
  },
  aws_elasticache_replication_group(ctx) {
    const b = ctx.res.body;
    const engine = String(lit(b.engine) ?? "redis");
    if (engine !== "valkey") return ctx.unpriced(`engine ${JSON.stringify(engine)}: only Valkey is priced`);
    const type = lit(b.node_type);
    if (typeof type !== "string") return ctx.unpriced("node_type is not a literal");
    const clusters = num(b.num_cache_clusters);
    const groups = num(b.num_node_groups);
    const replicas = num(b.replicas_per_node_group);
    const nodes =
      clusters ?? (groups !== undefined || replicas !== undefined ? (groups ?? 1) * ((replicas ?? 0) + 1) : undefined);
    if (nodes === undefined)
      return ctx.unpriced("neither num_cache_clusters nor num_node_groups / replicas_per_node_group is a literal");
    ctx.add(`Valkey ${type} nodes x ${nodes}`, nodes * ctx.a.hoursPerMonth, `elasticache.valkey.${type}`);
  },
  aws_vpc_endpoint(ctx) {
    const t = (lit(ctx.res.body.vpc_endpoint_type) as string | undefined) ?? "Gateway";
    if (t === "Gateway") return; // gateway endpoints (S3, DynamoDB) are free
    if (t !== "Interface") return ctx.unpriced(`vpc_endpoint_type ${JSON.stringify(t)} has no rate`);
    const subnets = lit(ctx.res.body.subnet_ids);
    const azs = Array.isArray(subnets) ? Math.max(1, subnets.length) : 1;
    ctx.add(
      "interface endpoint hours per AZ (data processing not included)",
      azs * ctx.a.hoursPerMonth,
      "vpc.interface-endpoint",
    );
  },
  aws_s3_bucket(ctx) {
    const name = lit(ctx.res.body.bucket) as string | undefined;
    const { key, value } = matchUsage(ctx.a.buckets, name, ctx.res.name);
    const note = `assumptions.buckets.${key}`;
    ctx.add("S3 Standard storage", value.storageGb, "s3.standard.storage", { note });
    ctx.add("PUT/COPY/POST/LIST requests", value.tier1Requests, "s3.requests.tier1", { note });
    ctx.add("GET requests", value.tier2Requests, "s3.requests.tier2", { note });
  },
  aws_cloudfront_distribution(ctx) {
    const n = ctx.index.count("aws_cloudfront_distribution");
    const share = 1 / n;
    const note = n > 1 ? `edge traffic split evenly over ${n} distributions` : undefined;
    const us = ctx.a.edge.shareUnitedStates;
    const gb = ctx.a.edge.gbServedPerMonth * share;
    const req = ctx.a.edge.requestsPerMonth * share;
    ctx.add("data transfer out, United States", gb * us, "cloudfront.dto.us", { region: "global", note });
    ctx.add("data transfer out, Europe and Israel", gb * (1 - us), "cloudfront.dto.europe-israel", {
      region: "global",
      note,
    });
    ctx.add("HTTPS requests, United States", req * us, "cloudfront.https.us", { region: "global", note });
    ctx.add("HTTPS requests, Europe and Israel", req * (1 - us), "cloudfront.https.europe-israel", {
      region: "global",
      note,
    });
    // Route 53 health-check probes, billed by protocol and by where the checkers are.
    const probes: Array<[number, string, string]> = [
      [ctx.d.probeHttpUs, "HTTP", "http.us"],
      [ctx.d.probeHttpEurope, "HTTP", "http.europe-israel"],
      [ctx.d.probeHttpsUs, "HTTPS", "https.us"],
      [ctx.d.probeHttpsEurope, "HTTPS", "https.europe-israel"],
    ];
    for (const [n, proto, item] of probes)
      if (n > 0)
        ctx.add(
          `health-check probes (${proto}, ${item.endsWith(".us") ? "US" : "Europe"} checkers)`,
          n * share,
          `cloudfront.${item}`,
          { region: "global" },
        );
    if (ctx.a.edge.originUploadGbPerMonth > 0)
      ctx.add(
        "data transfer to the origin (request bodies)",
        ctx.a.edge.originUploadGbPerMonth * share,
        "cloudfront.dto-origin",
        { region: "global", note: "assumptions.edge.originUploadGbPerMonth" },
      );
    // Behaviours are classed as API (origin on API Gateway, or a /api path) or static; each class's traffic is
    // split evenly over its behaviours. Origin Shield sees every edge miss bound for a shielded origin.
    const origins = list(ctx.res.body.origin);
    const shielded = new Map<string, string>();
    const apiOrigins = new Set<string>();
    for (const o of origins) {
      const id = String(o.origin_id);
      const s = first(o.origin_shield);
      if (s && lit(s.enabled) === true) shielded.set(id, String(lit(s.origin_shield_region) ?? "unknown"));
      if (API_ORIGIN.test(String(o.domain_name))) apiOrigins.add(id);
    }
    const all = [first(ctx.res.body.default_cache_behavior), ...list(ctx.res.body.ordered_cache_behavior)].filter(
      (b): b is JsonObject => !!b,
    );
    const isApi = (b: JsonObject) =>
      apiOrigins.has(String(b.target_origin_id)) || String(b.path_pattern ?? "").startsWith("/api");
    const nApi = all.filter(isApi).length;
    const nStatic = all.length - nApi;
    const perOrigin = new Map<string, number>();
    const fnRequests = new Map<string, number>();
    for (const b of all) {
      const api = isApi(b);
      const n = api ? nApi : nStatic;
      const requests = ((api ? ctx.d.edgeApiRequests : ctx.d.edgeStaticRequests) * share) / n;
      const misses = ((api ? ctx.d.edgeApiMisses : ctx.d.edgeStaticMisses) * share) / n;
      const target = String(b.target_origin_id);
      perOrigin.set(target, (perOrigin.get(target) ?? 0) + misses);
      const fns = list(b.function_association).length;
      if (fns > 0) fnRequests.set(target, (fnRequests.get(target) ?? 0) + requests * fns);
      if (list(b.lambda_function_association).length > 0) ctx.unpriced("Lambda@Edge associations have no rate");
    }
    for (const [target, misses] of perOrigin) {
      const region = shielded.get(target);
      if (region === undefined) continue;
      const group = region.startsWith("eu-") ? "europe" : region.startsWith("us-") ? "us" : undefined;
      if (!group) ctx.unpriced(`Origin Shield region ${JSON.stringify(region)} has no rate`);
      else
        ctx.add(`Origin Shield requests (origin ${target}, ${region})`, misses, `cloudfront.origin-shield.${group}`, {
          region: "global",
        });
    }
    for (const [target, invocations] of fnRequests)
      ctx.add(`CloudFront Functions invocations (behaviours to ${target})`, invocations, "cloudfront.function", {
        region: "global",
      });
    const paths = ctx.a.edge.invalidationPathsPerMonth * share;
    if (paths > 1000)
      ctx.add("invalidation paths beyond 1,000", paths - 1000, "cloudfront.invalidation-path", { region: "global" });
  },
  aws_cloudfront_key_value_store(ctx) {
    // spa-router.js reads the store once per request it handles (twice for a path the export lacks).
    ctx.add("KeyValueStore reads (site-path lookups)", ctx.d.edgeStaticRequests, "cloudfront.kvs-read", {
      region: "global",
      note: "upper bound: one read per static request",
    });
  },
  aws_cloudwatch_log_delivery(ctx) {
    // CloudFront standard logging (v2) and other vended logs delivered to S3.
    const dest = String(ctx.res.body.delivery_destination_arn ?? "");
    const m = /aws_cloudwatch_log_delivery_destination\.([A-Za-z0-9_-]+)\./.exec(dest);
    const destination = m ? ctx.stack.json.resource?.aws_cloudwatch_log_delivery_destination?.[m[1]] : undefined;
    const target = String(first(destination?.delivery_destination_configuration)?.destination_resource_arn ?? dest);
    const s3 =
      destination?.delivery_destination_type === "S3" ||
      target.startsWith("arn:aws:s3:::") ||
      ctx.res.body.s3_delivery_configuration !== undefined;
    const group = /aws_cloudwatch_log_group\.([A-Za-z0-9_-]+)\./.exec(target);
    if (!s3 && group) {
      // CloudFront's access log (the edge-metric fields only) into a log group: vended ingestion here, storage
      // on the log group (ModelIndex.deliveredLogGroups).
      const gbCwl = (ctx.d.edgeRequests * ctx.a.edge.edgeMetricsLogBytesPerRequest) / 1e9;
      return ctx.add(
        "vended log delivery to CloudWatch Logs (CloudFront access log fields)",
        gbCwl,
        "logs.ingest.vended",
        {
          note: "assumptions.edge.edgeMetricsLogBytesPerRequest",
        },
      );
    }
    if (!s3) return ctx.unpriced("only deliveries to S3 or to a log group of this stack are priced");
    const gb = (ctx.d.edgeRequests * ctx.a.edge.accessLogBytesPerRequest) / 1e9;
    ctx.add("vended log delivery to S3 (CloudFront access logs)", gb, "logs.vended.s3", {
      note: "assumptions.edge.accessLogBytesPerRequest",
    });
  },
  aws_apigatewayv2_api(ctx) {
    const proto = lit(ctx.res.body.protocol_type);
    if (proto !== "HTTP") return ctx.unpriced(`protocol_type ${JSON.stringify(proto)}: only HTTP APIs are priced`);
    const n = ctx.index.httpApis;
    ctx.add("HTTP API requests reaching the origin", ctx.d.apiOriginRequests / n, "apigw.http.request", {
      note: n > 1 ? `split evenly over ${n} HTTP APIs` : undefined,
    });
  },
  aws_cloudwatch_log_group(ctx) {
    const b = ctx.res.body;
    if (lit(b.log_group_class) === "INFREQUENT_ACCESS")
      return ctx.unpriced("log_group_class INFREQUENT_ACCESS has no rate");
    const name = lit(b.name) as string | undefined;
    const { key, value } = matchUsage(ctx.a.logGroups, name, ctx.res.name);
    if (ctx.index.deliveredLogGroups.has(ctx.address)) {
      const gb = (ctx.d.edgeRequests * ctx.a.edge.edgeMetricsLogBytesPerRequest) / 1e9;
      const days = num(b.retention_in_days) ?? 0;
      return ctx.add(
        `log storage (${days}-day retention; ingestion priced on its log delivery)`,
        gb * (days > 0 ? days / 30 : 12),
        "logs.storage",
        {
          note: "assumptions.edge.edgeMetricsLogBytesPerRequest",
        },
      );
    }
    const vended = ctx.index.vendedLogGroups.has(ctx.address);
    const retention = num(b.retention_in_days) ?? 0;
    const note = `assumptions.logGroups.${key}`;
    ctx.add(
      vended ? "vended log ingestion (flow logs)" : "log ingestion",
      value.ingestGbPerMonth,
      vended ? "logs.ingest.vended" : "logs.ingest.standard",
      { note },
    );
    const months = retention > 0 ? retention / 30 : 12;
    ctx.add(
      `log storage (${retention > 0 ? `${retention}-day retention` : "no retention: 12 months assumed"}, uncompressed upper bound)`,
      value.ingestGbPerMonth * months,
      "logs.storage",
      { note },
    );
  },
  aws_cloudwatch_metric_alarm(ctx) {
    const b = ctx.res.body;
    const queries = list(b.metric_query);
    let metrics = queries.length > 0 ? queries.filter((q) => first(q.metric) !== undefined).length : 1;
    if (lit(b.threshold_metric_id) !== undefined) metrics *= 3; // anomaly detection band = 3 metrics
    const period = num(b.period) ?? num(first(queries.find((q) => first(q.metric))?.metric)?.period) ?? 60;
    const hi = period < 60;
    ctx.add(
      `${hi ? "high" : "standard"}-resolution alarm (${metrics} metric${metrics === 1 ? "" : "s"})`,
      metrics,
      hi ? "cloudwatch.alarm.high-resolution" : "cloudwatch.alarm.standard",
    );
  },
  aws_cloudwatch_composite_alarm(ctx) {
    ctx.add("composite alarm", 1, "cloudwatch.alarm.composite");
  },
  aws_cloudwatch_dashboard(ctx) {
    ctx.add("dashboard", 1, "cloudwatch.dashboard");
  },
  aws_cloudwatch_log_metric_filter(ctx) {
    ctx.add(
      "custom metric published by the filter",
      list(ctx.res.body.metric_transformation).length || 1,
      "cloudwatch.metric",
    );
  },
  aws_route53_zone(ctx) {
    ctx.add("hosted zone", 1, "route53.hosted-zone", { region: "global" });
    const isPrivate = list(ctx.res.body.vpc).length > 0;
    if (!isPrivate)
      ctx.add("standard (non-alias) queries", ctx.a.dns.queriesPerZonePerMonth, "route53.query.standard", {
        region: "global",
      });
  },
  aws_route53_health_check(ctx) {
    const b = ctx.res.body;
    const type = String(lit(b.type) ?? "");
    const endpoint = !["CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL"].includes(type);
    const kind = endpoint ? ctx.a.dns.healthCheckEndpoint : "aws";
    ctx.add(
      `${endpoint ? "endpoint" : type.toLowerCase()} health check (${kind === "aws" ? "AWS" : "non-AWS"} endpoint)`,
      1,
      `route53.health-check.${kind}`,
      {
        region: "global",
        note: endpoint ? `assumptions.dns.healthCheckEndpoint = ${kind}` : undefined,
      },
    );
    const features: string[] = [];
    if (type.startsWith("HTTPS")) features.push("HTTPS");
    if (type.endsWith("STR_MATCH")) features.push("string matching");
    if (num(b.request_interval) === 10) features.push("fast interval");
    if (lit(b.measure_latency) === true) features.push("latency measurement");
    if (features.length)
      ctx.add(`optional features: ${features.join(", ")}`, features.length, `route53.health-check.feature.${kind}`, {
        region: "global",
      });
  },
  aws_acm_certificate(ctx) {
    if (ctx.res.body.certificate_authority_arn !== undefined)
      ctx.unpriced("private certificates (certificate_authority_arn) have no rate");
    // Public ACM certificates are free.
  },
  aws_ses_domain_identity: priceSesIdentity,
  aws_ses_email_identity: priceSesIdentity,
  aws_sesv2_email_identity: priceSesIdentity,
  aws_sns_topic(ctx) {
    ctx.add("publishes", ctx.a.messaging.snsPublishesPerTopic, "sns.publish");
    ctx.add("email notifications", ctx.a.messaging.snsEmailsPerTopic, "sns.email");
  },
  aws_ssm_parameter(ctx) {
    if (lit(ctx.res.body.tier) === "Advanced") ctx.add("advanced parameter", 1, "ssm.parameter.advanced");
  },
  aws_kms_key(ctx) {
    ctx.add("customer managed key", 1, "kms.key");
  },
  aws_service_discovery_private_dns_namespace(ctx) {
    ctx.add("private hosted zone behind the namespace", 1, "route53.hosted-zone", { region: "global" });
  },
  aws_service_discovery_public_dns_namespace(ctx) {
    ctx.add("public hosted zone behind the namespace", 1, "route53.hosted-zone", { region: "global" });
  },
  aws_service_discovery_service(ctx) {
    const n = ctx.index.count("aws_service_discovery_service");
    const calls =
      ctx.a.cloudMap.discoverCallsPerMonth === "per-origin-request"
        ? ctx.d.apiOriginRequests
        : ctx.a.cloudMap.discoverCallsPerMonth;
    ctx.add("DiscoverInstances API calls", calls / n, "cloudmap.discover-api", {
      note:
        ctx.a.cloudMap.discoverCallsPerMonth === "per-origin-request"
          ? "upper bound: one call per origin request"
          : undefined,
    });
  },
  aws_service_discovery_instance(ctx) {
    ctx.add("registered instance", 1, "cloudmap.resource");
  },
  aws_dlm_lifecycle_policy(ctx) {
    ctx.add("EBS snapshot storage kept by the policy", ctx.a.snapshotGbMonth, "ebs.snapshot", {
      note: "assumptions.snapshotGbMonth",
    });
  },
  aws_wafv2_web_acl(ctx) {
    const b = ctx.res.body;
    const global = lit(b.scope) === "CLOUDFRONT";
    const region = global ? "us-east-1" : ctx.region;
    ctx.add("web ACL", 1, "waf.web-acl", { region });
    ctx.add("rules", list(b.rule).length, "waf.rule", { region });
    ctx.add("requests inspected", global ? ctx.d.edgeRequests : ctx.d.apiOriginRequests, "waf.request", { region });
  },
};

/**
 * Whether any subnet that `refs` names (directly, `${aws_subnet.<name>.id}`, or through a cross-stack output,
 * `...cross-stack-output-aws_subnet<name>id}`) sets map_public_ip_on_launch.
 */
function subnetsMapPublicIp(index: ModelIndex, refs: unknown): boolean {
  const text = JSON.stringify(refs ?? "");
  return index.all.some(
    ({ res }) =>
      res.type === "aws_subnet" &&
      (lit(res.body.map_public_ip_on_launch) === true || lit(res.body.map_public_ip_on_launch) === "true") &&
      (text.includes(`aws_subnet.${res.name}.`) || text.includes(`cross-stack-output-aws_subnet${res.name}id`)),
  );
}

function priceSesIdentity(ctx: PriceContext) {
  if (ctx.index.state.sesAssigned) return;
  ctx.index.state.sesAssigned = true;
  ctx.add("outbound emails (backup-failure notices)", ctx.a.messaging.sesEmailsPerMonth, "ses.email");
}

/** An HTTP(S) endpoint health check, as the probe traffic it sends through the edge. */
export interface EndpointHealthCheck {
  https: boolean;
  /** Share of its checker regions in the United States (the rest are billed in Europe). */
  shareUnitedStates: number;
}

/** Derived traffic numbers; see UsageAssumptions.edge for each input. */
export function deriveUsage(
  a: UsageAssumptions,
  apiShielded: boolean,
  checks: readonly EndpointHealthCheck[] = [],
): Derived {
  const e = a.edge;
  // Health-check probes are uncached API requests on top of the viewers' traffic.
  const per = a.dns.healthCheckRequestsPerMonth;
  const probe = (https: boolean, us: boolean) =>
    checks
      .filter((c) => c.https === https)
      .reduce((n, c) => n + per * (us ? c.shareUnitedStates : 1 - c.shareUnitedStates), 0);
  const healthCheckRequests = checks.length * per;
  const viewerApi = e.requestsPerMonth * e.apiShareOfRequests;
  const edgeApiRequests = viewerApi + healthCheckRequests;
  const edgeStaticRequests = e.requestsPerMonth - viewerApi;
  const edgeApiMisses = viewerApi * (1 - e.apiCacheHitRatio) + healthCheckRequests;
  // Page views and assets miss at their own ratios (pages: pageCacheHitRatio, assets: staticCacheHitRatio).
  const pages = e.pageShareOfStaticRequests;
  const edgeStaticMisses =
    edgeStaticRequests * (pages * (1 - e.pageCacheHitRatio) + (1 - pages) * (1 - e.staticCacheHitRatio));
  // Origin Shield answers some of the API's edge misses only when the API origin sits behind it.
  const shieldHit = apiShielded ? e.originShieldHitRatio : 0;
  return {
    edgeRequests: e.requestsPerMonth + healthCheckRequests,
    healthCheckRequests,
    probeHttpUs: probe(false, true),
    probeHttpEurope: probe(false, false),
    probeHttpsUs: probe(true, true),
    probeHttpsEurope: probe(true, false),
    edgeApiRequests,
    edgeStaticRequests,
    edgeApiMisses,
    edgeStaticMisses,
    originShieldRequests: apiShielded ? edgeApiMisses + edgeStaticMisses : 0,
    apiOriginRequests: viewerApi * (1 - e.apiCacheHitRatio) * (1 - shieldHit) + healthCheckRequests,
  };
}

/** Whether an API origin (API Gateway) of some distribution has Origin Shield enabled. */
function apiOriginShielded(stacks: LoadedStack[]): boolean {
  for (const s of stacks)
    for (const body of Object.values(s.json.resource?.aws_cloudfront_distribution ?? {}))
      for (const o of list(body.origin))
        if (lit(first(o.origin_shield)?.enabled) === true && API_ORIGIN.test(String(o.domain_name))) return true;
  return false;
}

/** An origin domain that is an API Gateway endpoint. */
const API_ORIGIN = /execute-api|aws_apigatewayv2_api|apigatewayv2/;

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface EstimateOptions {
  environment: string;
  budgetUsd: number;
  assumptions: UsageAssumptions;
}

/** Prices every resource of `stacks`. Pure: no I/O, no clock. */
export function estimate(stacks: LoadedStack[], opts: EstimateOptions): CostReport {
  const a = opts.assumptions;
  const endpointChecks: EndpointHealthCheck[] = [];
  for (const s of stacks)
    for (const b of Object.values(s.json.resource?.aws_route53_health_check ?? {})) {
      const type = String(lit(b.type) ?? "");
      if (!/^HTTP/.test(type)) continue;
      const regions = lit(b.regions);
      // Without `regions`, Route 53 checks from all of its regions; most are outside the US.
      const us =
        Array.isArray(regions) && regions.length > 0
          ? regions.filter((r) => String(r).startsWith("us-")).length / regions.length
          : 0.25;
      endpointChecks.push({ https: type.startsWith("HTTPS"), shareUnitedStates: us });
    }
  const d = deriveUsage(a, apiOriginShielded(stacks), endpointChecks);
  const all = stacks.flatMap((stack) => resourcesOf(stack).map((res) => ({ stack, res })));
  const counts = new Map<string, number>();
  for (const { res } of all) counts.set(res.type, (counts.get(res.type) ?? 0) + 1);
  const vendedLogGroups = new Set<string>();
  for (const { res } of all) {
    if (res.type !== "aws_flow_log") continue;
    const dest = String(res.body.log_destination ?? "");
    const m = /aws_cloudwatch_log_group\.([A-Za-z0-9_-]+)\./.exec(dest);
    if (m) vendedLogGroups.add(`aws_cloudwatch_log_group.${m[1]}`);
  }
  const deliveredLogGroups = new Set<string>();
  for (const { res } of all) {
    if (res.type !== "aws_cloudwatch_log_delivery_destination") continue;
    const arn = String(first(res.body.delivery_destination_configuration)?.destination_resource_arn ?? "");
    const m = /aws_cloudwatch_log_group\.([A-Za-z0-9_-]+)\./.exec(arn);
    if (m) deliveredLogGroups.add(`aws_cloudwatch_log_group.${m[1]}`);
  }
  const httpApis = Math.max(
    1,
    all.filter(({ res }) => res.type === "aws_apigatewayv2_api" && res.body.protocol_type === "HTTP").length,
  );
  const index: ModelIndex = {
    all,
    count: (t) => counts.get(t) ?? 0,
    vendedLogGroups,
    deliveredLogGroups,
    state: { sesAssigned: false },
    httpApis,
  };

  const lines: LineItem[] = [];
  const unpriced: UnpricedResource[] = [];
  const free = new Map<string, number>();

  for (const { stack, res } of all) {
    const address = `${res.type}.${res.name}`;
    const pricer = PRICERS[res.type];
    if (!pricer) {
      if (FREE_TYPES.has(res.type)) free.set(res.type, (free.get(res.type) ?? 0) + 1);
      else
        unpriced.push({ stack: stack.name, address, type: res.type, reason: "no pricing rule for this resource type" });
      continue;
    }
    const region = regionOf(stack, res.body);
    const before = lines.length;
    let hadUnpriced = false;
    const ctx: PriceContext = {
      stack,
      res,
      address,
      region,
      a,
      d,
      index,
      add(component, quantity, item, o) {
        const r = o?.region ?? region ?? "unknown";
        const rateKey = `${r}:${item}`;
        const rate = RATES[rateKey];
        if (!rate) {
          hadUnpriced = true;
          unpriced.push({
            stack: stack.name,
            address,
            type: res.type,
            reason: `${component}: no rate ${JSON.stringify(rateKey)} in scripts/tools/cost/rates.ts`,
          });
          return;
        }
        const line: LineItem = {
          stack: stack.name,
          address,
          type: res.type,
          component,
          quantity: round(quantity, 6),
          unit: rate.unit,
          rateKey,
          unitUsd: rate.usd,
          usd: round(quantity * rate.usd, 6),
        };
        if (o?.note) line.note = o.note;
        lines.push(line);
      },
      unpriced(reason) {
        hadUnpriced = true;
        unpriced.push({ stack: stack.name, address, type: res.type, reason });
      },
    };
    pricer(ctx);
    if (lines.length === before && !hadUnpriced) free.set(res.type, (free.get(res.type) ?? 0) + 1);
  }

  // Custom metrics that alarms watch but the assumptions do not account for.
  const customAlarmMetrics = new Set<string>();
  for (const { res } of all) {
    if (res.type !== "aws_cloudwatch_metric_alarm") continue;
    const ns = lit(res.body.namespace);
    if (typeof ns === "string" && !ns.startsWith("AWS/"))
      customAlarmMetrics.add(`${ns}/${String(res.body.metric_name)}/${JSON.stringify(res.body.dimensions ?? {})}`);
  }
  const instances = index.count("aws_instance");
  const assumed = instances * a.cloudwatch.customMetricsPerInstance;
  if (customAlarmMetrics.size > assumed) {
    const alarm = all.find(({ res }) => res.type === "aws_cloudwatch_metric_alarm")!;
    const region = regionOf(alarm.stack, alarm.res.body) ?? "unknown";
    const rate = RATES[`${region}:cloudwatch.metric`];
    const q = customAlarmMetrics.size - assumed;
    if (rate)
      lines.push({
        stack: alarm.stack.name,
        address: "(alarmed custom metrics)",
        type: "aws_cloudwatch_metric_alarm",
        component: `custom metrics alarmed on but not in assumptions.cloudwatch (${customAlarmMetrics.size} seen, ${assumed} assumed)`,
        quantity: q,
        unit: rate.unit,
        rateKey: `${region}:cloudwatch.metric`,
        unitUsd: rate.usd,
        usd: round(q * rate.usd, 6),
      });
  }

  // Always-free allowances, allocated to the most expensive matching lines first.
  const credits: FreeTierCredit[] = [];
  for (const pool of ALWAYS_FREE) {
    const matching = lines.filter((l) => pool.rateKeys.includes(l.rateKey)).sort((x, y) => y.unitUsd - x.unitUsd);
    let left = pool.quantity;
    let usd = 0;
    let used = 0;
    for (const l of matching) {
      const q = Math.min(left, l.quantity);
      left -= q;
      used += q;
      usd += q * l.unitUsd;
      if (left <= 0) break;
    }
    if (usd > 0)
      credits.push({
        pool: pool.id,
        description: pool.description,
        quantity: round(used, 6),
        usd: -round(usd, 6),
        standing: pool.standing === true,
      });
  }

  const perStackMap = new Map<string, number>(stacks.map((s) => [s.name, 0]));
  for (const l of lines) perStackMap.set(l.stack, (perStackMap.get(l.stack) ?? 0) + l.usd);
  const listTotal = lines.reduce((s, l) => s + l.usd, 0);
  const standingTotal = credits.filter((c) => c.standing).reduce((s, c) => s + c.usd, 0);
  const freeTierTotal = credits.filter((c) => !c.standing).reduce((s, c) => s + c.usd, 0);
  const onDemandTotal = listTotal + standingTotal;
  const commitment = summarizeCommitment(lines, a.commitment);
  const commitmentTotal = onDemandTotal - commitment.savingsUsd.mid;
  const applied = a.alwaysFreeTier ? freeTierTotal : 0;
  const total = commitmentTotal + applied;
  const derived: Record<string, number> = {};
  for (const [k, v] of Object.entries(d)) derived[k] = round(v, 2);
  return {
    ratesVersion: RATES_VERSION,
    environment: opts.environment,
    budgetUsd: opts.budgetUsd,
    lines,
    perStack: [...perStackMap.entries()].map(([stack, usd]) => ({ stack, usd: round(usd) })),
    free: [...free.entries()]
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([type, count]) => ({ type, count })),
    unpriced,
    unpricedTypes: [...new Set(unpriced.map((u) => u.type))].sort(),
    listTotalUsd: round(listTotal),
    freeTierCredits: credits,
    freeTierApplied: a.alwaysFreeTier,
    onDemandTotalUsd: round(onDemandTotal),
    commitment,
    commitmentTotalUsd: round(commitmentTotal),
    totalUsd: round(total),
    totalRangeUsd: {
      low: round(onDemandTotal - commitment.savingsUsd.high + applied),
      high: round(onDemandTotal - commitment.savingsUsd.low + applied),
    },
    overBudget: total > opts.budgetUsd,
    derived,
  };
}

/** Instance-hour lines a Savings Plan covers: EC2 instance types (not RDS, ElastiCache or volumes). */
export function isCommitmentEligible(l: LineItem): boolean {
  return /^[a-z0-9-]+:ec2\.[a-z0-9]+\.[a-z0-9]+$/.test(l.rateKey);
}

/** `eu-west-1:ec2.t4g.small` -> `eu-west-1:t4g` (an EC2 Instance Savings Plan covers one family in one region). */
function familyOf(l: LineItem): string {
  const [region, item] = l.rateKey.split(":");
  return `${region}:${item.split(".")[1]}`;
}

function summarizeCommitment(lines: readonly LineItem[], c: UsageAssumptions["commitment"]): CommitmentSummary {
  let covered = lines.filter(isCommitmentEligible);
  if (c.plan === "ec2-instance-savings-plan") {
    // Bought for the family in the region with the most instance spend; other families stay on-demand.
    const byFamily = new Map<string, number>();
    for (const l of covered) byFamily.set(familyOf(l), (byFamily.get(familyOf(l)) ?? 0) + l.usd);
    const top = [...byFamily.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0]?.[0];
    covered = covered.filter((l) => familyOf(l) === top);
  }
  const eligible = covered.reduce((s, l) => s + l.usd, 0);
  const range = c.plan === "on-demand" ? { low: 0, high: 0 } : COMMITMENT_DISCOUNTS[c.plan][c.term][c.upfront];
  const mid = (range.low + range.high) / 2;
  const months = c.term === "3yr" ? 36 : 12;
  const upfrontShare = c.plan === "on-demand" ? 0 : c.upfront === "all" ? 1 : c.upfront === "partial" ? 0.5 : 0;
  return {
    plan: c.plan,
    term: c.term,
    upfront: c.upfront,
    eligibleUsd: round(eligible),
    discount: { low: range.low, mid: round(mid, 4), high: range.high },
    savingsUsd: { low: round(eligible * range.low), mid: round(eligible * mid), high: round(eligible * range.high) },
    upfrontUsd: round(eligible * (1 - mid) * months * upfrontShare, 2),
  };
}
