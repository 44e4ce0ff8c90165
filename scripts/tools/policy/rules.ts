/**
 * The project's own policy rule set: checkov rules (same ids, same intent) evaluated over the synthesized
 * Terraform JSON of every stack. Checkov itself is a Python tool this project does not install; each rule
 * here restates one checkov check for the resource types the project synthesizes. A finding is a rule that
 * fails on one resource; docs/security/accepted-risks.md lists the findings accepted as decisions, and
 * __tests__/unit/accepted-risks.test.ts fails on any finding it does not list and on any entry no finding
 * matches any more.
 */
import { readFileSync } from "fs";
import { join } from "path";
import {
  actionsWithoutConstraints,
  CREDENTIAL_ACTIONS,
  DATA_EXFILTRATION_ACTIONS,
  privilegeEscalations,
  Statement,
  unconstrainedActions,
  unconstrainedAmong,
} from "./iam-analysis";

type Body = Record<string, unknown>;

/** One synthesized stack: its short name and its Terraform JSON resources. */
export interface StackJson {
  stack: string;
  resources: Record<string, Record<string, Body>>;
}

export interface Rule {
  /** The checkov id, e.g. CKV_AWS_68. */
  id: string;
  /** The Terraform resource type it checks. */
  type: string;
  /** What a passing resource does (checkov's title, shortened). */
  title: string;
  /**
   * Types the rule reads as companions of `type` (a bucket's versioning, a VPC's default security group);
   * checkov's graph checks list them among their resource types, and the coverage test counts them as covered.
   */
  companions?: string[];
  /** true when the resource passes. `ctx` holds every stack and the resource's id, for rules that look at companions. */
  pass(body: Body, ctx: RuleContext): boolean;
}

export interface RuleContext {
  all: StackJson[];
  /** The resource's logical id. */
  id: string;
}

export interface Finding {
  id: string;
  type: string;
  /** `<stack>/<type>.<logical id>` */
  address: string;
}

const first = (v: unknown): Body | undefined =>
  Array.isArray(v) ? (v[0] as Body | undefined) : (v as Body | undefined);
const set = (v: unknown) => v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0);

/**
 * A policy document as synthesized: a JSON string, or a Terraform `${jsonencode({...})}` expression (cdktf
 * writes one when the document holds a reference). The expression is read as JSON with `=` for `:` and each
 * bare reference (`aws_s3_bucket.logs.arn`) as a string. undefined when it is neither.
 */
export function policyDocument(doc: unknown): Body | undefined {
  if (typeof doc !== "string") return undefined;
  let text = doc.trim();
  const m = /^\$\{jsonencode\(([\s\S]*)\)\}$/.exec(text);
  if (m) {
    let out = "";
    const src = m[1];
    for (let i = 0; i < src.length;) {
      const c = src[i];
      if (c === '"') {
        let j = i + 1;
        while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
        out += src.slice(i, j + 1);
        i = j + 1;
      } else if (c === "=") {
        out += ":";
        i++;
      } else if (/[A-Za-z_]/.test(c)) {
        let j = i;
        while (j < src.length && /[A-Za-z0-9_.\-[\]*]/.test(src[j])) j++;
        const word = src.slice(i, j);
        out += ["true", "false", "null"].includes(word) ? word : JSON.stringify(word);
        i = j;
      } else {
        out += c;
        i++;
      }
    }
    text = out;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as Body) : undefined;
  } catch {
    return undefined;
  }
}
/** Every statement of a policy document (see policyDocument). */
export function statementsOf(doc: unknown): Body[] {
  const parsed = policyDocument(doc);
  const st = parsed?.Statement as Body | Body[] | undefined;
  return Array.isArray(st) ? st : st ? [st] : [];
}
/** Allow statements of an IAM policy document (unresolved tokens make it unreadable). */
function allowStatements(doc: unknown): Body[] {
  return statementsOf(doc).filter((s) => s.Effect === "Allow");
}
const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string]);

/** Companion resources of a bucket: `type` resources whose `bucket` is its name or a reference to it. */
function bucketCompanions(b: Body, ctx: RuleContext, type: string): Body[] {
  const ref = `aws_s3_bucket.${ctx.id}.`;
  return ctx.all
    .flatMap((s) => Object.values(s.resources[type] ?? {}))
    .filter((c) => String(c.bucket) === String(b.bucket) || String(c.bucket).includes(ref));
}
/** Every Allow statement of an IAM role's inline policies. */
const inlineStatements = (b: Body) =>
  (Array.isArray(b.inline_policy) ? (b.inline_policy as Body[]) : []).flatMap((p) => allowStatements(p.policy));
const allowsStar = (sts: Body[]) => sts.some((s) => list(s.Action).includes("*"));

const OWN_RULES: Rule[] = [
  // S3
  {
    id: "CKV_AWS_145",
    type: "aws_s3_bucket",
    companions: ["aws_s3_bucket_server_side_encryption_configuration"],
    title: "S3 bucket encrypted with a KMS key by default",
    pass: (b, ctx) =>
      bucketCompanions(b, ctx, "aws_s3_bucket_server_side_encryption_configuration").some((c) =>
        JSON.stringify(c).includes("aws:kms"),
      ),
  },
  {
    id: "CKV_AWS_21",
    type: "aws_s3_bucket",
    companions: ["aws_s3_bucket_versioning"],
    title: "S3 bucket has versioning enabled",
    pass: (b, ctx) =>
      bucketCompanions(b, ctx, "aws_s3_bucket_versioning").some(
        (c) => first(c.versioning_configuration)?.status === "Enabled",
      ),
  },
  {
    id: "CKV_AWS_18",
    type: "aws_s3_bucket",
    title: "S3 bucket has access logging enabled",
    pass: (b, ctx) => bucketCompanions(b, ctx, "aws_s3_bucket_logging").length > 0,
  },
  {
    id: "CKV_AWS_144",
    type: "aws_s3_bucket",
    title: "S3 bucket has cross-region replication enabled",
    pass: (b, ctx) => bucketCompanions(b, ctx, "aws_s3_bucket_replication_configuration").length > 0,
  },
  // CloudFront
  {
    id: "CKV_AWS_68",
    type: "aws_cloudfront_distribution",
    title: "CloudFront distribution has WAF enabled",
    pass: (b) => set(b.web_acl_id),
  },
  {
    id: "CKV_AWS_86",
    type: "aws_cloudfront_distribution",
    title: "CloudFront distribution has access logging (logging_config) enabled",
    pass: (b) => set(b.logging_config),
  },
  {
    id: "CKV_AWS_174",
    type: "aws_cloudfront_distribution",
    title: "CloudFront viewers use TLS 1.2 or later",
    pass: (b) => /^TLSv1\.2_/.test(String(first(b.viewer_certificate)?.minimum_protocol_version ?? "")),
  },
  {
    id: "CKV_AWS_305",
    type: "aws_cloudfront_distribution",
    title: "CloudFront distribution has a default root object",
    pass: (b) => set(b.default_root_object),
  },
  {
    id: "CKV_AWS_310",
    type: "aws_cloudfront_distribution",
    title: "CloudFront distribution has origin failover (an origin group)",
    pass: (b) => set(b.origin_group),
  },
  // API Gateway v2 (its stage's access logging is checkov's CKV_AWS_76 for Terraform; CKV_AWS_95 is the CloudFormation id)
  {
    id: "CKV_AWS_309",
    type: "aws_apigatewayv2_route",
    title: "API Gateway v2 route names an authorization type other than NONE",
    pass: (b) => set(b.authorization_type) && b.authorization_type !== "NONE",
  },
  // CloudWatch Logs
  {
    id: "CKV_AWS_158",
    type: "aws_cloudwatch_log_group",
    title: "CloudWatch log group is encrypted with a KMS key",
    pass: (b) => set(b.kms_key_id),
  },
  {
    id: "CKV_AWS_338",
    type: "aws_cloudwatch_log_group",
    title: "CloudWatch log group keeps logs at least a year",
    pass: (b) => Number(b.retention_in_days ?? 0) === 0 || Number(b.retention_in_days) >= 365,
  },
  // SNS, SSM
  {
    id: "CKV_AWS_26",
    type: "aws_sns_topic",
    title: "SNS topic is encrypted (kms_master_key_id)",
    pass: (b) => set(b.kms_master_key_id),
  },
  {
    id: "CKV_AWS_337",
    type: "aws_ssm_parameter",
    title: "SecureString SSM parameter uses a customer managed KMS key",
    pass: (b) => b.type !== "SecureString" || (set(b.key_id) && !String(b.key_id).includes("alias/aws/ssm")),
  },
  // EC2 and EBS
  {
    id: "CKV_AWS_79",
    type: "aws_instance",
    title: "EC2 instance requires IMDSv2",
    pass: (b) => first(b.metadata_options)?.http_tokens === "required",
  },
  {
    id: "CKV_AWS_126",
    type: "aws_instance",
    title: "EC2 instance has detailed monitoring",
    pass: (b) => b.monitoring === true,
  },
  {
    id: "CKV_AWS_135",
    type: "aws_instance",
    title: "EC2 instance is EBS-optimized",
    pass: (b) => b.ebs_optimized === true,
  },
  {
    id: "CKV_AWS_8",
    type: "aws_instance",
    title: "EC2 instance's root volume is encrypted",
    pass: (b) => first(b.root_block_device)?.encrypted === true,
  },
  {
    id: "CKV_AWS_79",
    type: "aws_launch_template",
    title: "Launch template requires IMDSv2",
    pass: (b) => first(b.metadata_options)?.http_tokens === "required",
  },
  { id: "CKV_AWS_3", type: "aws_ebs_volume", title: "EBS volume is encrypted", pass: (b) => b.encrypted === true },
  {
    id: "CKV_AWS_189",
    type: "aws_ebs_volume",
    title: "EBS volume is encrypted with a customer managed KMS key",
    pass: (b) => set(b.kms_key_id),
  },
  // VPC
  {
    id: "CKV_AWS_130",
    type: "aws_subnet",
    title: "Subnet does not assign public IPs on launch",
    pass: (b) => b.map_public_ip_on_launch !== true,
  },
  // IAM: the actions of every Allow statement of every inline and managed policy document.
  {
    id: "CKV_AWS_63",
    type: "aws_iam_role_policy",
    title: 'No IAM policy allows the action "*"',
    pass: (b) => !allowsStar(allowStatements(b.policy)),
  },
  {
    id: "CKV_AWS_63",
    type: "aws_iam_policy",
    title: 'No IAM policy allows the action "*"',
    pass: (b) => !allowsStar(allowStatements(b.policy)),
  },
  {
    id: "CKV_AWS_63",
    type: "aws_iam_role",
    title: 'No IAM policy allows the action "*"',
    pass: (b) => !allowsStar(inlineStatements(b)),
  },
  // RDS (scaled topology; its ElastiCache is serverless, always encrypted)
  {
    id: "CKV_AWS_16",
    type: "aws_db_instance",
    title: "RDS instance is encrypted at rest",
    pass: (b) => b.storage_encrypted === true,
  },
  { id: "CKV_AWS_157", type: "aws_db_instance", title: "RDS instance is Multi-AZ", pass: (b) => b.multi_az === true },
  {
    id: "CKV_AWS_293",
    type: "aws_db_instance",
    title: "RDS instance has deletion protection",
    pass: (b) => b.deletion_protection === true,
  },
  {
    id: "CKV_AWS_118",
    type: "aws_db_instance",
    title: "RDS instance has enhanced monitoring",
    pass: (b) => Number(b.monitoring_interval ?? 0) > 0,
  },
  // Load balancers (scaled topology)
  {
    id: "CKV_AWS_91",
    type: "aws_lb",
    title: "Load balancer has access logging",
    pass: (b) => first(b.access_logs)?.enabled === true,
  },
  {
    id: "CKV_AWS_131",
    type: "aws_lb",
    title: "Application load balancer drops invalid header fields",
    pass: (b) => b.drop_invalid_header_fields === true,
  },
];

// --- The rest of checkov's rules for the types the project synthesizes (scripts/tools/policy/data/checkov) ---
// Each restates the check's semantics from checkov's source (the file is named in aws-rules.json); checkov's
// blocks are lists, cdktf writes some as objects, and `first` reads both.

const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));
const truthy = (v: unknown) => v === true || v === "true";
/** Every resource of `type` across the stacks whose JSON mentions `aws_<type>.<id>` (a same-stack reference) or a cross-stack output of it. */
function referrers(ctx: RuleContext, selfType: string, type: string): Body[] {
  const same = `${selfType}.${ctx.id}.`;
  const cross = `${selfType}${ctx.id}`;
  return ctx.all
    .flatMap((s) => Object.values(s.resources[type] ?? {}))
    .filter((r) => {
      const text = JSON.stringify(r);
      return text.includes(same) || text.includes(`output-${cross}`);
    });
}
/** Security group rules (inline blocks or aws_vpc_security_group_*_rule) that open `port` (-1: every port) to the internet. */
function opensToWorld(rule: Body, port: number): boolean {
  // checkov's AbsSecurityGroupUnrestrictedIngress: a rule naming a prefix list or another security group as
  // its peer is not open; the VPC rule's peer is `referenced_security_group_id` / `prefix_list_id`.
  if (
    set(rule.prefix_list_ids) ||
    set(rule.prefix_list_id) ||
    set(rule.referenced_security_group_id) ||
    set(rule.security_groups) ||
    set(rule.source_security_group_id) ||
    truthy(rule.self)
  )
    return false;
  const protocol = str(rule.ip_protocol ?? rule.protocol);
  const from = rule.from_port === undefined ? -1 : Number(rule.from_port);
  let to = rule.to_port === undefined ? -1 : Number(rule.to_port);
  if (from === 0 && to === 0) to = 65535;
  const inRange = (from <= port && port <= to) || protocol === "-1" || (port === -1 && from === 0 && to === 65535);
  if (!inRange) return false;
  const v4 = [...list(rule.cidr_blocks), ...list(rule.cidr_ipv4)];
  const v6 = [...list(rule.ipv6_cidr_blocks), ...list(rule.cidr_ipv6)];
  return v4.includes("0.0.0.0/0") || v6.some((c) => c === "::/0" || c === "0000:0000:0000:0000:0000:0000:0000:0000/0");
}
const sgRules = (b: Body, dir: "ingress" | "egress") =>
  Array.isArray(b[dir]) ? (b[dir] as Body[]) : b[dir] ? [b[dir] as Body] : [];
const noOpenIngress = (port: number) => (b: Body) => !sgRules(b, "ingress").some((r) => opensToWorld(r, port));
const ingressRule = (port: number) => (b: Body) => !opensToWorld(b, port);
/** Cache behaviours of a distribution: the default one and every ordered one. */
const behaviours = (b: Body): Body[] =>
  [
    first(b.default_cache_behavior),
    ...(Array.isArray(b.ordered_cache_behavior) ? (b.ordered_cache_behavior as Body[]) : []),
  ].filter((x): x is Body => !!x);
const origins = (b: Body): Body[] =>
  Array.isArray(b.origin) ? (b.origin as Body[]) : b.origin ? [b.origin as Body] : [];
/** The statements of a role's trust policy. */
const trustStatements = (b: Body) => statementsOf(b.assume_role_policy).filter((s) => s.Effect !== "Deny");
const awsPrincipals = (s: Body): string[] => {
  const p = s.Principal as Body | string | undefined;
  if (p === "*") return ["*"];
  return p && typeof p === "object" ? list(p.AWS) : [];
};
/** cloudsplaining-style analyses of an identity policy's statements (scripts/tools/policy/iam-analysis.ts). */
const doc = (b: Body) => statementsOf(b.policy) as Statement[];
/** AWS access keys in text (checkov's secrets scan of user data, the AWS key detector). */
const AWS_KEY = /(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}|aws_secret_access_key\s*[=:]\s*["']?[A-Za-z0-9/+]{40}/;
function userDataText(b: Body): string {
  if (typeof b.user_data === "string") {
    const t = b.user_data;
    // Launch templates take base64; decode when it is base64, else read as is.
    if (/^[A-Za-z0-9+/=\s]+$/.test(t) && t.length % 4 === 0) return Buffer.from(t, "base64").toString("utf8");
    return t;
  }
  return typeof b.user_data_base64 === "string" ? Buffer.from(b.user_data_base64, "base64").toString("utf8") : "";
}
/** CKV_AWS_70: no Allow to `*` unless a condition narrows it by ARN or a string match (checkov's check_conditions). */
const noAnyPrincipal = (b: Body) =>
  !statementsOf(b.policy).some((s) => {
    if (s.Effect !== "Allow") return false;
    if (s.Principal !== "*" && !awsPrincipals(s).includes("*")) return false;
    const c = (s.Condition ?? {}) as Record<string, unknown>;
    return ![
      "ArnEquals",
      "ArnLike",
      "ArnNotEquals",
      "ArnNotLike",
      "StringEquals",
      "StringEqualsIgnoreCase",
      "StringLike",
    ].some((k) => k in c);
  });
/** CKV_AWS_93: no unconditional Deny of the bucket-policy actions to `*` (only the root user could then change the policy). */
const noLockout = (b: Body) =>
  !statementsOf(b.policy).some(
    (s) =>
      s.Effect === "Deny" &&
      !s.Condition &&
      !s.NotAction &&
      (s.Principal === "*" || awsPrincipals(s).includes("*")) &&
      list(s.Action).some((a) => ["s3:PutBucketPolicy", "s3:*BucketPolicy", "s3:Put*", "s3:*", "*"].includes(a)),
  );
const IAM_TYPES = ["aws_iam_policy", "aws_iam_role_policy"];
const iamRules = (id: string, title: string, pass: (sts: Statement[]) => boolean): Rule[] =>
  IAM_TYPES.map((type) => ({ id, type, title, pass: (b: Body) => pass(doc(b)) }));
const POLICY_ATTACHMENTS = ["aws_iam_role_policy_attachment"];
const ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess";

export const CHECKOV_RULES: Rule[] = [
  // ACM
  {
    id: "CKV_AWS_233",
    type: "aws_acm_certificate",
    title: "ACM certificate is created before the old one is destroyed",
    pass: (b) => truthy(first(b.lifecycle)?.create_before_destroy),
  },
  {
    id: "CKV_AWS_234",
    type: "aws_acm_certificate",
    title: "ACM certificate keeps certificate transparency logging",
    pass: (b) => {
      const p = first(b.options)?.certificate_transparency_logging_preference;
      return p === undefined || p === "ENABLED";
    },
  },
  {
    id: "CKV2_AWS_71",
    type: "aws_acm_certificate",
    title: "ACM certificate names no wildcard domain",
    pass: (b) => !str(b.domain_name).includes("*") && !list(b.subject_alternative_names).some((n) => n.includes("*")),
  },
  // API Gateway v2
  {
    id: "CKV_AWS_76",
    type: "aws_apigatewayv2_stage",
    title: "API Gateway stage has access logging",
    pass: (b) => set(first(b.access_log_settings)?.destination_arn),
  },
  {
    id: "CKV2_AWS_51",
    type: "aws_apigatewayv2_stage",
    companions: ["aws_apigatewayv2_api"],
    title: "API Gateway stage uses client certificates (WebSocket APIs; HTTP APIs pass)",
    pass: (b, ctx) =>
      set(b.client_certificate_id) ||
      !ctx.all.some((s) =>
        Object.entries(s.resources.aws_apigatewayv2_api ?? {}).some(
          ([id, api]) => str(b.api_id).includes(`aws_apigatewayv2_api.${id}.`) && api.protocol_type === "WEBSOCKET",
        ),
      ),
  },
  {
    id: "CKV2_AWS_77",
    type: "aws_apigatewayv2_api",
    title: "An API with a WAF web ACL has the Log4j managed rules (no web ACL passes)",
    pass: (_b, ctx) => referrers(ctx, "aws_apigatewayv2_api", "aws_wafv2_web_acl_association").length === 0,
  },
  // Auto Scaling
  {
    id: "CKV_AWS_153",
    type: "aws_autoscaling_group",
    title: "Auto Scaling group supplies tags to its instances",
    pass: (b) => set(b.tag) || set(b.tags),
  },
  {
    id: "CKV_AWS_315",
    type: "aws_autoscaling_group",
    title: "Auto Scaling group uses a launch template",
    pass: (b) => set(b.launch_template) || set(first(b.mixed_instances_policy)?.launch_template),
  },
  {
    id: "CKV2_AWS_15",
    type: "aws_autoscaling_group",
    companions: ["aws_lb_target_group"],
    title: "Auto Scaling group behind a load balancer uses ELB health checks",
    pass: (b) => !set(b.target_group_arns) || b.health_check_type === "ELB",
  },
  // CloudFront
  {
    id: "CKV_AWS_34",
    type: "aws_cloudfront_distribution",
    title: "No cache behaviour lets viewers use plain HTTP (viewer_protocol_policy allow-all)",
    pass: (b) => !behaviours(b).some((c) => c.viewer_protocol_policy === "allow-all"),
  },
  {
    id: "CKV_AWS_216",
    type: "aws_cloudfront_distribution",
    title: "CloudFront distribution is enabled",
    pass: (b) => truthy(b.enabled),
  },
  {
    id: "CKV_AWS_374",
    type: "aws_cloudfront_distribution",
    title: "CloudFront distribution has a geo restriction",
    pass: (b) => first(first(b.restrictions)?.geo_restriction)?.restriction_type !== "none",
  },
  {
    id: "CKV2_AWS_32",
    type: "aws_cloudfront_distribution",
    companions: ["aws_cloudfront_response_headers_policy"],
    title: "CloudFront distribution has a response headers policy",
    pass: (b) => behaviours(b).some((c) => set(c.response_headers_policy_id)),
  },
  {
    id: "CKV2_AWS_42",
    type: "aws_cloudfront_distribution",
    title: "CloudFront distribution uses a custom (ACM or IAM) certificate",
    pass: (b) =>
      set(first(b.viewer_certificate)?.acm_certificate_arn) || set(first(b.viewer_certificate)?.iam_certificate_id),
  },
  {
    id: "CKV2_AWS_46",
    type: "aws_cloudfront_distribution",
    title: "S3 origins use origin access (OAC or OAI)",
    pass: (b) =>
      origins(b).every(
        (o) =>
          !/s3[.-]|aws_s3_bucket/.test(str(o.domain_name)) ||
          set(o.origin_access_control_id) ||
          set(o.s3_origin_config),
      ),
  },
  {
    id: "CKV2_AWS_47",
    type: "aws_cloudfront_distribution",
    title: "CloudFront's WAF web ACL has the Log4j and anonymous-IP managed rules",
    pass: (b, ctx) => {
      const acl = ctx.all
        .flatMap((s) => Object.entries(s.resources.aws_wafv2_web_acl ?? {}))
        .find(
          ([id]) =>
            str(b.web_acl_id).includes(`aws_wafv2_web_acl.${id}.`) ||
            str(b.web_acl_id).includes(`aws_wafv2_web_acl${id}`),
        );
      const text = acl ? JSON.stringify(acl[1]) : "";
      return text.includes("AWSManagedRulesAnonymousIpList") && text.includes("AWSManagedRulesKnownBadInputsRuleSet");
    },
  },
  {
    id: "CKV2_AWS_54",
    type: "aws_cloudfront_distribution",
    title: "No custom origin allows SSLv3",
    pass: (b) => !origins(b).some((o) => list(first(o.custom_origin_config)?.origin_ssl_protocols).includes("SSLv3")),
  },
  {
    id: "CKV2_AWS_72",
    type: "aws_cloudfront_distribution",
    title: "Custom origins are reached over HTTPS only",
    pass: (b) =>
      !truthy(b.enabled) ||
      origins(b).every((o) => {
        const c = first(o.custom_origin_config);
        return !c || c.origin_protocol_policy === "https-only" || /\.media(store|package)\./.test(str(o.domain_name));
      }),
  },
  {
    id: "CKV_AWS_259",
    type: "aws_cloudfront_response_headers_policy",
    title: "Response headers policy sends HSTS for a year, with subdomains, preload and override",
    pass: (b) => {
      const sts = first(first(b.security_headers_config)?.strict_transport_security);
      return (
        !!sts &&
        Number(sts.access_control_max_age_sec ?? 0) >= 31536000 &&
        truthy(sts.include_subdomains) &&
        truthy(sts.preload) &&
        truthy(sts.override)
      );
    },
  },
  // CloudWatch
  {
    id: "CKV_AWS_66",
    type: "aws_cloudwatch_log_group",
    title: "Log group sets a retention",
    pass: (b) => set(b.retention_in_days),
  },
  {
    id: "CKV_AWS_319",
    type: "aws_cloudwatch_metric_alarm",
    title: "Alarm actions are enabled",
    pass: (b) => b.actions_enabled !== false && b.actions_enabled !== "false",
  },
  // RDS
  {
    id: "CKV_AWS_17",
    type: "aws_db_instance",
    title: "RDS instance is not publicly accessible",
    pass: (b) => !truthy(b.publicly_accessible),
  },
  {
    id: "CKV_AWS_129",
    type: "aws_db_instance",
    title: "RDS instance exports its logs",
    pass: (b) => list(b.enabled_cloudwatch_logs_exports).length > 0,
  },
  {
    id: "CKV_AWS_133",
    type: "aws_db_instance",
    title: "RDS instance keeps automated backups (1 to 35 days)",
    pass: (b) =>
      b.backup_retention_period === undefined ||
      (Number(b.backup_retention_period) > 0 && Number(b.backup_retention_period) <= 35),
  },
  {
    id: "CKV_AWS_161",
    type: "aws_db_instance",
    title: "RDS (MySQL, PostgreSQL) instance has IAM authentication",
    pass: (b) => !["mysql", "postgres"].includes(str(b.engine)) || truthy(b.iam_database_authentication_enabled),
  },
  {
    id: "CKV_AWS_211",
    type: "aws_db_instance",
    title: "RDS instance uses a current CA",
    pass: (b) =>
      b.ca_cert_identifier === undefined ||
      ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"].includes(str(b.ca_cert_identifier)),
  },
  {
    id: "CKV_AWS_226",
    type: "aws_db_instance",
    title: "RDS instance takes minor version upgrades",
    pass: (b) => truthy(b.auto_minor_version_upgrade),
  },
  {
    id: "CKV_AWS_250",
    type: "aws_db_instance",
    title: "RDS PostgreSQL is not a version with the log_fdw flaw (AWS-2022-004)",
    pass: (b) => {
      if (b.engine !== "postgres") return true;
      const [maj, min] = str(b.engine_version).split(".").map(Number);
      if (min === undefined || Number.isNaN(min)) return true; // a major version alone: checkov cannot tell, and RDS picks the latest minor
      return (
        maj >= 14 ||
        (maj === 13 && min > 2) ||
        (maj === 12 && min > 6) ||
        (maj === 11 && min > 11) ||
        (maj === 10 && min > 16)
      );
    },
  },
  {
    id: "CKV_AWS_353",
    type: "aws_db_instance",
    title: "RDS instance has Performance Insights",
    pass: (b) => truthy(b.performance_insights_enabled),
  },
  {
    id: "CKV_AWS_354",
    type: "aws_db_instance",
    title: "Performance Insights is encrypted with a customer managed key",
    pass: (b) => !truthy(b.performance_insights_enabled) || set(b.performance_insights_kms_key_id),
  },
  {
    id: "CKV_AWS_388",
    type: "aws_db_instance",
    title: "Aurora PostgreSQL is not a version with the local file read flaw",
    pass: (b) =>
      !str(b.engine).includes("aurora-postgresql") ||
      !["10.11", "10.12", "10.13", "11.6", "11.7", "11.8"].includes(str(b.engine_version)),
  },
  {
    id: "CKV2_AWS_30",
    type: "aws_db_instance",
    companions: ["aws_db_parameter_group"],
    title: "PostgreSQL logs statements (log_statement and log_min_duration_statement)",
    pass: (b, ctx) => {
      if (b.engine !== "postgres") return true;
      const groups = ctx.all
        .flatMap((s) => Object.entries(s.resources.aws_db_parameter_group ?? {}))
        .filter(([id]) => str(b.parameter_group_name).includes(`aws_db_parameter_group.${id}.`));
      const names = groups.flatMap(([, g]) =>
        (Array.isArray(g.parameter) ? (g.parameter as Body[]) : []).map((p) => p.name),
      );
      return names.includes("log_statement") && names.includes("log_min_duration_statement");
    },
  },
  {
    id: "CKV2_AWS_60",
    type: "aws_db_instance",
    title: "RDS instance copies tags to snapshots",
    pass: (b) => truthy(b.copy_tags_to_snapshot),
  },
  {
    id: "CKV2_AWS_69",
    type: "aws_db_instance",
    companions: ["aws_db_parameter_group"],
    title: "RDS (PostgreSQL, SQL Server) requires TLS (rds.force_ssl = 1)",
    pass: (b, ctx) => {
      const groups = ctx.all
        .flatMap((s) => Object.entries(s.resources.aws_db_parameter_group ?? {}))
        .filter(([id]) => str(b.parameter_group_name).includes(`aws_db_parameter_group.${id}.`));
      if (groups.length === 0) return true;
      return groups.every(
        ([, g]) =>
          !/^postgres|sqlserver/.test(str(g.family)) ||
          (Array.isArray(g.parameter) ? (g.parameter as Body[]) : []).some(
            (p) => p.name === "rds.force_ssl" && str(p.value) === "1",
          ),
      );
    },
  },
  // DynamoDB (the state lock table)
  {
    id: "CKV_AWS_28",
    type: "aws_dynamodb_table",
    title: "DynamoDB table has point-in-time recovery",
    pass: (b) => truthy(first(b.point_in_time_recovery)?.enabled),
  },
  {
    id: "CKV_AWS_119",
    type: "aws_dynamodb_table",
    title: "DynamoDB table is encrypted with a customer managed key",
    pass: (b) => truthy(first(b.server_side_encryption)?.enabled) && set(first(b.server_side_encryption)?.kms_key_arn),
  },
  {
    id: "CKV2_AWS_16",
    type: "aws_dynamodb_table",
    title: "DynamoDB table scales (on-demand, or provisioned with auto scaling)",
    pass: (b, ctx) =>
      b.billing_mode === "PAY_PER_REQUEST" ||
      referrers(ctx, "aws_dynamodb_table", "aws_appautoscaling_target").length > 0,
  },
  // EBS, EC2
  {
    id: "CKV2_AWS_2",
    type: "aws_ebs_volume",
    companions: ["aws_volume_attachment"],
    title: "Only encrypted EBS volumes are attached",
    pass: (b, ctx) => truthy(b.encrypted) || referrers(ctx, "aws_ebs_volume", "aws_volume_attachment").length === 0,
  },
  {
    id: "CKV2_AWS_19",
    type: "aws_eip",
    companions: ["aws_eip_association"],
    title: "VPC Elastic IP is attached to an instance",
    pass: (b, ctx) =>
      !(b.domain === "vpc" || truthy(b.vpc)) ||
      set(b.instance) ||
      referrers(ctx, "aws_eip", "aws_eip_association").some((a) => set(a.instance_id)),
  },
  {
    id: "CKV_AWS_46",
    type: "aws_instance",
    title: "No AWS credentials in user data",
    pass: (b) => !AWS_KEY.test(userDataText(b)),
  },
  {
    id: "CKV_AWS_46",
    type: "aws_launch_template",
    title: "No AWS credentials in user data",
    pass: (b) => !AWS_KEY.test(userDataText(b)),
  },
  {
    id: "CKV_AWS_88",
    type: "aws_instance",
    title: "EC2 instance has no public IP",
    pass: (b) => !truthy(b.associate_public_ip_address),
  },
  {
    id: "CKV_AWS_88",
    type: "aws_launch_template",
    title: "Launch template gives no public IP",
    pass: (b) => !truthy(first(b.network_interfaces)?.associate_public_ip_address),
  },
  {
    id: "CKV_AWS_341",
    type: "aws_launch_template",
    title: "Launch template's metadata hop limit is 1",
    pass: (b) => {
      const h = first(b.metadata_options)?.http_put_response_hop_limit;
      return h === undefined || Number(h) === 1;
    },
  },
  {
    id: "CKV2_AWS_41",
    type: "aws_instance",
    title: "EC2 instance has an IAM role (instance profile)",
    pass: (b) => set(b.iam_instance_profile),
  },
  // IAM roles and attachments
  {
    id: "CKV_AWS_60",
    type: "aws_iam_role",
    title: "Role's trust policy does not admit every AWS principal",
    pass: (b) => !trustStatements(b).some((s) => awsPrincipals(s).includes("*")),
  },
  {
    id: "CKV_AWS_61",
    type: "aws_iam_role",
    title: "Role's trust policy does not admit a whole account",
    pass: (b) =>
      !trustStatements(b).some((s) => awsPrincipals(s).some((p) => /^(\d{12}|arn:aws:iam::\d{12}:root)/.test(p))),
  },
  {
    id: "CKV_AWS_274",
    type: "aws_iam_role",
    title: "Role does not use AdministratorAccess",
    pass: (b) => !list(b.managed_policy_arns).includes(ADMIN_POLICY_ARN),
  },
  ...POLICY_ATTACHMENTS.map((type): Rule => ({
    id: "CKV_AWS_274",
    type,
    title: "No AdministratorAccess attachment",
    pass: (b) => b.policy_arn !== ADMIN_POLICY_ARN,
  })),
  {
    id: "CKV2_AWS_56",
    type: "aws_iam_role",
    title: "Role does not use IAMFullAccess",
    pass: (b) => !list(b.managed_policy_arns).some((a) => a.includes("IAMFullAccess")),
  },
  ...POLICY_ATTACHMENTS.map((type): Rule => ({
    id: "CKV2_AWS_56",
    type,
    title: "No IAMFullAccess attachment",
    pass: (b) => !str(b.policy_arn).includes("IAMFullAccess"),
  })),
  {
    id: "CKV_AWS_393",
    type: "aws_iam_role",
    title: "A GitHub OIDC trust pins token.actions.githubusercontent.com:sub to named repositories",
    pass: (b) =>
      trustStatements(b).every((s) => {
        const fed = list((s.Principal as Body | undefined)?.Federated);
        if (!fed.some((f) => f.includes("oidc-provider/token.actions.githubusercontent.com"))) return true;
        const cond = (s.Condition ?? {}) as Record<string, Record<string, unknown>>;
        const subs = ["StringEquals", "StringLike"].flatMap((op) =>
          list(cond[op]?.["token.actions.githubusercontent.com:sub"]),
        );
        return subs.length > 0 && subs.every((v) => /^repo:[^*/:]+\/[^*/:]+:/.test(v));
      }),
  },
  // IAM policy documents (cloudsplaining semantics: scripts/tools/policy/iam-analysis.ts)
  ...iamRules(
    "CKV_AWS_62",
    'No policy allows "*" on "*"',
    (sts) => !sts.some((s) => s.Effect === "Allow" && list(s.Action).includes("*") && list(s.Resource).includes("*")),
  ),
  ...iamRules(
    "CKV_AWS_286",
    'No policy allows privilege escalation on "*"',
    (sts) => privilegeEscalations(sts).length === 0,
  ),
  ...iamRules(
    "CKV_AWS_287",
    'No policy allows an action that returns credentials on "*"',
    (sts) => unconstrainedAmong(sts, CREDENTIAL_ACTIONS).length === 0,
  ),
  ...iamRules(
    "CKV_AWS_288",
    'No policy allows a data-exfiltration read on "*"',
    (sts) => unconstrainedAmong(sts, DATA_EXFILTRATION_ACTIONS).length === 0,
  ),
  ...iamRules(
    "CKV_AWS_289",
    'No policy allows permissions management on "*" without a condition',
    (sts) => actionsWithoutConstraints(sts, "Permissions management").length === 0,
  ),
  ...iamRules(
    "CKV_AWS_290",
    'No policy allows write access on "*" without a condition',
    (sts) => actionsWithoutConstraints(sts, "Write").length === 0,
  ),
  ...iamRules(
    "CKV_AWS_355",
    'No policy allows a resource-scopable action on "*"',
    (sts) => unconstrainedActions(sts).length === 0,
  ),
  ...iamRules(
    "CKV2_AWS_40",
    'No policy allows "iam:*"',
    (sts) => !sts.some((s) => s.Effect === "Allow" && list(s.Action).some((a) => a === "iam:*" || a === "*")),
  ),
  // Load balancers (scaled)
  {
    id: "CKV_AWS_150",
    type: "aws_lb",
    title: "Load balancer has deletion protection",
    pass: (b) => truthy(b.enable_deletion_protection),
  },
  {
    id: "CKV_AWS_152",
    type: "aws_lb",
    title: "Network/gateway load balancer balances across zones (application: not applicable)",
    pass: (b) =>
      (b.load_balancer_type ?? "application") === "application" || truthy(b.enable_cross_zone_load_balancing),
  },
  {
    id: "CKV_AWS_328",
    type: "aws_lb",
    title: "Load balancer's desync mitigation is defensive or strictest",
    pass: (b) => b.desync_mitigation_mode !== "monitor",
  },
  {
    id: "CKV2_AWS_20",
    type: "aws_lb",
    companions: ["aws_lb_listener"],
    title: "ALB redirects HTTP (port 80) to HTTPS",
    pass: (_b, ctx) =>
      referrers(ctx, "aws_lb", "aws_lb_listener").every(
        (l) =>
          !(str(l.port) === "80" && l.protocol === "HTTP") ||
          (first(l.default_action)?.type === "redirect" &&
            first(first(l.default_action)?.redirect)?.protocol === "HTTPS"),
      ),
  },
  {
    id: "CKV2_AWS_28",
    type: "aws_lb",
    title: "Internet-facing ALB has a WAF web ACL",
    pass: (b, ctx) =>
      truthy(b.internal) ||
      ["network", "gateway"].includes(str(b.load_balancer_type)) ||
      referrers(ctx, "aws_lb", "aws_wafv2_web_acl_association").length > 0,
  },
  {
    id: "CKV2_AWS_76",
    type: "aws_lb",
    title: "Internet-facing ALB's web ACL has the Log4j managed rules (internal passes)",
    pass: (b, ctx) => truthy(b.internal) || referrers(ctx, "aws_lb", "aws_wafv2_web_acl_association").length === 0,
  },
  {
    id: "CKV_AWS_2",
    type: "aws_lb_listener",
    title: "Listener uses HTTPS (or redirects HTTP to HTTPS)",
    pass: (b) =>
      ["HTTPS", "TLS", "TCP", "UDP", "TCP_UDP"].includes(str(b.protocol)) ||
      (first(b.default_action)?.type === "redirect" && first(first(b.default_action)?.redirect)?.protocol === "HTTPS"),
  },
  {
    id: "CKV_AWS_103",
    type: "aws_lb_listener",
    companions: ["aws_lb"],
    title: "Listener uses TLS 1.2 or later",
    pass: (b) =>
      ["TCP", "UDP", "TCP_UDP"].includes(str(b.protocol)) ||
      (["HTTPS", "TLS"].includes(str(b.protocol)) &&
        /^(ELBSecurityPolicy-FS-1-2|ELBSecurityPolicy-TLS-1-2|ELBSecurityPolicy-TLS13)/.test(str(b.ssl_policy))) ||
      (first(b.default_action)?.type === "redirect" && first(first(b.default_action)?.redirect)?.protocol === "HTTPS"),
  },
  {
    id: "CKV2_AWS_74",
    type: "aws_lb_listener",
    title: "HTTPS/TLS listener names a strong SSL policy",
    pass: (b) =>
      !["HTTPS", "TLS"].includes(str(b.protocol)) ||
      (set(b.ssl_policy) &&
        ![
          "ELBSecurityPolicy-2016-08",
          "ELBSecurityPolicy-2015-05",
          "ELBSecurityPolicy-TLS-1-0-2015-04",
          "ELBSecurityPolicy-TLS-1-1-2017-01",
          "ELBSecurityPolicy-2015-03",
          "ELBSecurityPolicy-2015-02",
          "ELBSecurityPolicy-2014-10",
          "ELBSecurityPolicy-Default",
        ].includes(str(b.ssl_policy))),
  },
  {
    id: "CKV_AWS_261",
    type: "aws_lb_target_group",
    title: "HTTP(S) target group has a health check path",
    pass: (b) => !["HTTP", "HTTPS"].includes(str(b.protocol)) || set(first(b.health_check)?.path),
  },
  {
    id: "CKV_AWS_378",
    type: "aws_lb_target_group",
    companions: ["aws_lb_listener"],
    title: "Target group does not use plain HTTP",
    pass: (b) => b.protocol !== "HTTP",
  },
  // Route 53
  {
    id: "CKV2_AWS_23",
    type: "aws_route53_record",
    title: "A record points at a resource (an alias or a managed address)",
    pass: (b) => b.type !== "A" || set(b.alias) || list(b.records).some((r) => r.includes("${")),
  },
  {
    id: "CKV2_AWS_38",
    type: "aws_route53_zone",
    title: "Public hosted zone signs with DNSSEC",
    pass: (b, ctx) =>
      set(b.vpc) ||
      referrers(ctx, "aws_route53_zone", "aws_route53_hosted_zone_dnssec").length > 0 ||
      referrers(ctx, "aws_route53_zone", "aws_route53_key_signing_key").length > 0,
  },
  {
    id: "CKV2_AWS_39",
    type: "aws_route53_zone",
    title: "Public hosted zone logs DNS queries",
    pass: (b, ctx) => set(b.vpc) || referrers(ctx, "aws_route53_zone", "aws_route53_query_log").length > 0,
  },
  // Routes
  {
    id: "CKV2_AWS_35",
    type: "aws_route",
    title: "The default route does not go through an instance (NAT instance)",
    pass: (b) => !set(b.instance_id) || !str(b.destination_cidr_block).includes("0.0.0.0/0"),
  },
  {
    id: "CKV2_AWS_35",
    type: "aws_route_table",
    title: "The default route does not go through an instance (NAT instance)",
    pass: (b) =>
      !(Array.isArray(b.route) ? (b.route as Body[]) : []).some(
        (r) => set(r.instance_id) && str(r.cidr_block).includes("0.0.0.0/0"),
      ),
  },
  {
    id: "CKV2_AWS_44",
    type: "aws_route",
    title: "No peering route to all traffic",
    pass: (b) =>
      !set(b.vpc_peering_connection_id) ||
      !(str(b.destination_cidr_block) === "0.0.0.0/0" || str(b.destination_ipv6_cidr_block) === "::/0"),
  },
  {
    id: "CKV2_AWS_44",
    type: "aws_route_table",
    title: "No peering route to all traffic",
    pass: (b) =>
      !(Array.isArray(b.route) ? (b.route as Body[]) : []).some(
        (r) => set(r.vpc_peering_connection_id) && (r.cidr_block === "0.0.0.0/0" || r.ipv6_cidr_block === "::/0"),
      ),
  },
  // S3
  {
    id: "CKV_AWS_19",
    type: "aws_s3_bucket",
    companions: ["aws_s3_bucket_server_side_encryption_configuration"],
    title: "S3 bucket is encrypted at rest (SSE-S3 or SSE-KMS)",
    pass: (b, ctx) =>
      bucketCompanions(b, ctx, "aws_s3_bucket_server_side_encryption_configuration").every((c) =>
        /"sse_algorithm":"(aws:kms|AES256|aws:kms:dsse)"/.test(JSON.stringify(c)),
      ),
  },
  {
    id: "CKV_AWS_20",
    type: "aws_s3_bucket",
    title: "S3 bucket ACL does not grant public read",
    pass: (b, ctx) =>
      ![b, ...bucketCompanions(b, ctx, "aws_s3_bucket_acl")].some((x) =>
        ["public-read", "public-read-write", "website", "authenticated-read"].includes(str(x.acl)),
      ),
  },
  {
    id: "CKV_AWS_57",
    type: "aws_s3_bucket",
    title: "S3 bucket ACL does not grant public write",
    pass: (b, ctx) => ![b, ...bucketCompanions(b, ctx, "aws_s3_bucket_acl")].some((x) => x.acl === "public-read-write"),
  },
  ...["aws_s3_bucket_policy", "aws_s3_bucket"].flatMap((type): Rule[] => [
    {
      id: "CKV_AWS_70",
      type,
      title: "Bucket policy allows no action to any principal (without a narrowing condition)",
      pass: noAnyPrincipal,
    },
    {
      id: "CKV_AWS_93",
      type,
      title: "Bucket policy does not deny everyone the policy actions unconditionally (root-only lockout)",
      pass: noLockout,
    },
  ]),
  {
    id: "CKV_AWS_143",
    type: "aws_s3_bucket",
    title: "S3 bucket's object_lock_configuration block, when present, enables Object Lock",
    pass: (b) => {
      const l = first(b.object_lock_configuration);
      return !l || l.object_lock_enabled === "Enabled";
    },
  },
  {
    id: "CKV2_AWS_6",
    type: "aws_s3_bucket",
    companions: ["aws_s3_bucket_public_access_block"],
    title: "S3 bucket has a public access block",
    pass: (b, ctx) =>
      bucketCompanions(b, ctx, "aws_s3_bucket_public_access_block").some(
        (c) => truthy(c.block_public_acls) && truthy(c.block_public_policy),
      ),
  },
  {
    id: "CKV2_AWS_61",
    type: "aws_s3_bucket",
    companions: ["aws_s3_bucket_lifecycle_configuration"],
    title: "S3 bucket has a lifecycle configuration",
    pass: (b, ctx) =>
      bucketCompanions(b, ctx, "aws_s3_bucket_lifecycle_configuration").length > 0 || set(b.lifecycle_rule),
  },
  {
    id: "CKV2_AWS_62",
    type: "aws_s3_bucket",
    title: "S3 bucket sends event notifications",
    pass: (b, ctx) => bucketCompanions(b, ctx, "aws_s3_bucket_notification").length > 0,
  },
  {
    id: "CKV_AWS_300",
    type: "aws_s3_bucket_lifecycle_configuration",
    title: "Lifecycle aborts incomplete multipart uploads for the whole bucket",
    pass: (b) =>
      (Array.isArray(b.rule) ? (b.rule as Body[]) : [first(b.rule)].filter((x): x is Body => !!x)).some((r) => {
        if (!set(r.abort_incomplete_multipart_upload) || r.status !== "Enabled") return false;
        const f = first(r.filter);
        const inner = first(f?.and) ?? f;
        return !set(inner?.prefix);
      }),
  },
  {
    id: "CKV2_AWS_65",
    type: "aws_s3_bucket_ownership_controls",
    title: "Bucket ACLs are disabled (BucketOwnerEnforced)",
    pass: (b) => first(b.rule)?.object_ownership === "BucketOwnerEnforced",
  },
  // Security groups
  {
    id: "CKV_AWS_23",
    type: "aws_security_group",
    title: "Security group and its inline rules have descriptions",
    pass: (b) =>
      set(b.description) && [...sgRules(b, "ingress"), ...sgRules(b, "egress")].every((r) => set(r.description)),
  },
  {
    id: "CKV_AWS_23",
    type: "aws_vpc_security_group_ingress_rule",
    title: "Security group rule has a description",
    pass: (b) => set(b.description),
  },
  {
    id: "CKV_AWS_23",
    type: "aws_vpc_security_group_egress_rule",
    title: "Security group rule has a description",
    pass: (b) => set(b.description),
  },
  ...(
    [
      ["CKV_AWS_24", 22],
      ["CKV_AWS_25", 3389],
      ["CKV_AWS_260", 80],
      ["CKV_AWS_277", -1],
    ] as Array<[string, number]>
  ).flatMap(([id, port]): Rule[] => [
    {
      id,
      type: "aws_security_group",
      title: `No ingress from the internet to ${port === -1 ? "every port" : `port ${port}`}`,
      pass: noOpenIngress(port),
    },
    {
      id,
      type: "aws_vpc_security_group_ingress_rule",
      title: `No ingress from the internet to ${port === -1 ? "every port" : `port ${port}`}`,
      pass: ingressRule(port),
    },
  ]),
  {
    id: "CKV_AWS_382",
    type: "aws_security_group",
    title: "No egress to the internet on every port",
    pass: (b) => !sgRules(b, "egress").some((r) => opensToWorld(r, -1)),
  },
  {
    id: "CKV_AWS_382",
    type: "aws_vpc_security_group_egress_rule",
    title: "No egress to the internet on every port",
    pass: (b) => !opensToWorld(b, -1),
  },
  {
    id: "CKV2_AWS_5",
    type: "aws_security_group",
    title: "Security group is attached to a resource",
    pass: (_b, ctx) =>
      ctx.all.some((s) =>
        Object.entries(s.resources).some(
          ([t, byId]) =>
            !t.startsWith("aws_vpc_security_group_") &&
            t !== "aws_security_group" &&
            Object.values(byId).some((r) => {
              const text = JSON.stringify(r);
              return (
                text.includes(`aws_security_group.${ctx.id}.`) || text.includes(`output-aws_security_group${ctx.id}id`)
              );
            }),
        ),
      ),
  },
  // SSM
  {
    id: "CKV2_AWS_34",
    type: "aws_ssm_parameter",
    title: "SSM parameter is a SecureString",
    pass: (b) => b.type === "SecureString",
  },
  // VPC
  {
    id: "CKV2_AWS_11",
    type: "aws_vpc",
    companions: ["aws_flow_log"],
    title: "VPC has flow logs",
    pass: (_b, ctx) => referrers(ctx, "aws_vpc", "aws_flow_log").length > 0,
  },
  {
    id: "CKV2_AWS_12",
    type: "aws_vpc",
    companions: ["aws_default_security_group"],
    title: "The VPC's default security group allows no traffic",
    pass: (_b, ctx) => {
      const d = referrers(ctx, "aws_vpc", "aws_default_security_group");
      return d.length > 0 && d.every((g) => sgRules(g, "ingress").length === 0 && sgRules(g, "egress").length === 0);
    },
  },
];

/**
 * checkov rules that apply to a type the project synthesizes but that this rule set does not evaluate, each
 * with the reason. Key: the rule id (every type it lists) or `<id> <type>` (one type).
 * __tests__/unit/policy.test.ts fails when a synthesized type has a checkov rule that is in neither table.
 */
export const NOT_APPLICABLE: Record<string, string> = {
  CKV2_AWS_1:
    "reported on aws_network_acl (every NACL attached to a subnet); the project creates no network ACL, its subnets appear only as the NACL's connections, and each subnet uses its VPC's default NACL",
  CKV2_AWS_7: "reported on aws_emr_cluster (its security groups closed to the world); the project runs no EMR",
  CKV2_AWS_36:
    'follows an aws_ssm_parameter value into a `data "http"` request over plain HTTP; the project synthesizes no http data source',
  CKV2_AWS_68: "reported on aws_sagemaker_notebook_instance (its role's policy); the project runs no SageMaker",
};

/** The whole rule set: the rules that once failed here, then the rest of checkov's for the synthesized types. */
export const RULES: Rule[] = [...OWN_RULES, ...CHECKOV_RULES];

/**
 * Rules this set evaluates on a type that checkov's rule of the same id does not list, with the reason.
 * Key: `<id> <type>`.
 */
export const EXTENSIONS: Record<string, string> = {
  "CKV_AWS_63 aws_iam_role":
    'checkov lists CKV_AWS_63 for policy resources only; an aws_iam_role\'s inline_policy blocks would otherwise escape the no-"*"-action rule',
};

/** One checkov rule as vendored in scripts/tools/policy/data/checkov/aws-rules.json. */
export interface CheckovRule {
  id: string;
  name: string;
  resources: string[];
  file: string;
  kind: "resource" | "graph";
}

export function checkovRules(): CheckovRule[] {
  return JSON.parse(readFileSync(join(__dirname, "data", "checkov", "aws-rules.json"), "utf8")) as CheckovRule[];
}

/**
 * `<id> <type> (<checkov's title>)` for every checkov rule that lists one of `types` while the rule set has no
 * rule of that id for that type (as its type or a companion) and NOT_APPLICABLE names neither the id nor
 * `<id> <type>`.
 */
export function uncovered(
  types: Iterable<string>,
  rules: Rule[] = RULES,
  notApplicable: Record<string, string> = NOT_APPLICABLE,
  checkov = checkovRules(),
): string[] {
  const have = new Set(rules.flatMap((r) => [r.type, ...(r.companions ?? [])].map((t) => `${r.id} ${t}`)));
  const out: string[] = [];
  for (const type of [...new Set(types)].sort()) {
    for (const c of checkov.filter((x) => x.resources.includes(type))) {
      const key = `${c.id} ${type}`;
      if (!have.has(key) && !notApplicable[c.id] && !notApplicable[key]) out.push(`${key} (${c.name})`);
    }
  }
  return out;
}

/** Every finding of the rule set over the given stacks. */
export function findings(stacks: StackJson[], rules: Rule[] = RULES): Finding[] {
  const out: Finding[] = [];
  for (const s of stacks) {
    for (const rule of rules) {
      for (const [id, body] of Object.entries(s.resources[rule.type] ?? {})) {
        if (!rule.pass(body, { all: stacks, id }))
          out.push({ id: rule.id, type: rule.type, address: `${s.stack}/${rule.type}.${id}` });
      }
    }
  }
  return out;
}

/** One line of the register: `- CKV_AWS_<n> (<type or address>): <reason>`. */
export interface RegisterEntry {
  id: string;
  /** A resource type (every resource of it) or an address `<stack>/<type>.<id>`. */
  scope: string;
  reason: string;
  line: number;
}

const ENTRY = /^- (CKV2?_AWS_\d+) \(([^)]+)\): (.+)$/;

/** Parses the register; throws naming the line when a list item does not have the entry's shape. */
export function parseRegister(text: string): RegisterEntry[] {
  const entries: RegisterEntry[] = [];
  text.split("\n").forEach((raw, i) => {
    if (!raw.startsWith("- ")) return;
    const m = ENTRY.exec(raw);
    if (!m)
      throw new Error(
        `accepted-risks.md line ${i + 1}: "${raw}" is not "- CKV_AWS_<n> (<resource type or address>): <reason>"`,
      );
    entries.push({ id: m[1], scope: m[2], reason: m[3], line: i + 1 });
  });
  return entries;
}

export function covers(entry: RegisterEntry, f: Finding): boolean {
  if (entry.id !== f.id) return false;
  return entry.scope === f.type || entry.scope === f.address || f.address.endsWith(`/${entry.scope}`);
}

/** Findings no entry covers, and entries that cover no finding. */
export function reconcile(all: Finding[], register: RegisterEntry[]): { unlisted: Finding[]; stale: RegisterEntry[] } {
  return {
    unlisted: all.filter((f) => !register.some((e) => covers(e, f))),
    stale: register.filter((e) => !all.some((f) => covers(e, f))),
  };
}
