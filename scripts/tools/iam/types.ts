/**
 * Which Terraform types the IAM action map must cover: every resource and data source type in the
 * synthesized stacks of every environment constructs/config/environments.ts exports (the `environments` map and the
 * shipped examples beside it), plus the types below that no shipped
 * environment synthesizes yet (the `scaled` topology's data and app tiers), so that their map entries are
 * in place before the first stack that uses them.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import * as shipped from "../../../constructs/config/environments";
import { EnvironmentConfig, ScaledTopology, topologyOf } from "../../../constructs/config/environments";
import { synthEnvironment } from "../../../main";
import { resourcePrefix } from "../../../constructs/config/naming";
import { TfDocument } from "../../../constructs/builders/iam/tf-document";

export const ANTICIPATED_RESOURCE_TYPES = [
  "aws_autoscaling_group",
  "aws_autoscaling_policy",
  "aws_db_instance",
  "aws_db_parameter_group",
  "aws_db_subnet_group",
  "aws_eip",
  "aws_elasticache_parameter_group",
  "aws_elasticache_replication_group",
  "aws_elasticache_serverless_cache",
  "aws_elasticache_subnet_group",
  "aws_elasticache_user",
  "aws_elasticache_user_group",
  "aws_iam_service_linked_role",
  "aws_launch_template",
  "aws_lb",
  "aws_lb_listener",
  "aws_lb_listener_rule",
  "aws_lb_target_group",
  "aws_nat_gateway",
  "aws_route_table_association",
  "aws_security_group_rule",
];

export const ANTICIPATED_DATA_TYPES = ["aws_availability_zones", "aws_caller_identity", "aws_region"];

/** Synthesizes `env` into a temporary directory and returns each stack's JSON, keyed by short stack name. */
export function synthStacks(env: EnvironmentConfig): Record<string, TfDocument> {
  const base = mkdtempSync(join(tmpdir(), "zmanim-iam-"));
  try {
    const outdir = synthEnvironment(env, join(base, "cdktf.out"));
    const stacks: Record<string, TfDocument> = {};
    for (const dir of readdirSync(join(outdir, "stacks"))) {
      stacks[dir.replace(`${resourcePrefix(env)}-`, "")] = JSON.parse(
        readFileSync(join(outdir, "stacks", dir, "cdk.tf.json"), "utf8"),
      );
    }
    return stacks;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/** Only the AWS provider's types carry IAM actions (random_*, terraform_remote_state do not). */
export const isAwsType = (type: string) => type.startsWith("aws_");

/** The AWS resource and data source types of the given stacks. */
export function typesOf(stacks: Record<string, TfDocument>): { resource: Set<string>; data: Set<string> } {
  const resource = new Set<string>();
  const data = new Set<string>();
  for (const json of Object.values(stacks)) {
    for (const t of Object.keys(json.resource ?? {})) if (isAwsType(t)) resource.add(t);
    for (const t of Object.keys(json.data ?? {})) if (isAwsType(t)) data.add(t);
  }
  return { resource, data };
}

const isEnvironment = (v: unknown): v is EnvironmentConfig =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as EnvironmentConfig).accountId === "string" &&
  typeof (v as EnvironmentConfig).region === "string";

/** Every environment constructs/config/environments.ts exports: those in `environments` and the shipped examples beside them. */
export function shippedEnvironments(): EnvironmentConfig[] {
  const byName = new Map<string, EnvironmentConfig>();
  for (const v of [...Object.values(shipped.environments), ...Object.values(shipped)])
    if (isEnvironment(v)) byName.set(v.name, v);
  return [...byName.values()];
}

/**
 * Shipped environments with the options no shipped environment turns on: each synthesizes resource types
 * (and grants) that the shipped set never does. Keyed by a label; the environment keeps its base's name, so
 * its names and ARNs are the ones that environment would really get.
 * - `prod+waf`: the web ACL on the distribution (`waf.enabled`, aws_wafv2_web_acl in us-east-1).
 * - `scaled+nat+replication-group+box`: one NAT gateway with its Elastic IP, a node-based Valkey
 *   replication group with its parameter and subnet groups, and the box kept beside the fleet.
 */
export function variantEnvironments(): Record<string, EnvironmentConfig> {
  const scaledTopology = topologyOf(shipped.scaled) as ScaledTopology;
  return {
    "prod+waf": { ...shipped.prod, waf: { enabled: true, apiRateLimitPer5Min: 2000 } },
    "scaled+nat+replication-group+box": {
      ...shipped.scaled,
      topology: {
        ...scaledTopology,
        egress: "nat-gateway",
        cache: { kind: "replication-group", nodeType: "cache.t4g.small", replicas: 1 },
        keepBox: true,
      },
    },
  };
}

/** Every type the vendored map must hold: synthesized in any shipped or variant environment, or anticipated above. */
export function requiredTypes(): { resource: string[]; data: string[] } {
  const resource = new Set(ANTICIPATED_RESOURCE_TYPES);
  const data = new Set(ANTICIPATED_DATA_TYPES);
  for (const env of [...shippedEnvironments(), ...Object.values(variantEnvironments())]) {
    const t = typesOf(synthStacks(env));
    t.resource.forEach((x) => resource.add(x));
    t.data.forEach((x) => data.add(x));
  }
  return { resource: [...resource].sort(), data: [...data].sort() };
}
