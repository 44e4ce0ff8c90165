/**
 * The project's own policy rule set: checkov rules (same ids, same intent) evaluated over the synthesized
 * Terraform JSON of every stack. Checkov itself is a Python tool this project does not install; each rule
 * here restates one checkov check for the resource types the project synthesizes. A finding is a rule that
 * fails on one resource; docs/security/accepted-risks.md lists the findings accepted as decisions, and
 * __tests__/unit/accepted-risks.test.ts fails on any finding it does not list and on any entry no finding
 * matches any more.
 */
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

const first = (v: unknown): Body | undefined => (Array.isArray(v) ? (v[0] as Body | undefined) : (v as Body | undefined));
const set = (v: unknown) => v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0);

/** Allow statements of an IAM policy document given as a JSON string (unresolved tokens make it unreadable). */
function allowStatements(doc: unknown): Body[] {
  if (typeof doc !== "string") return [];
  try {
    const parsed = JSON.parse(doc) as { Statement?: Body | Body[] };
    const sts = Array.isArray(parsed.Statement) ? parsed.Statement : parsed.Statement ? [parsed.Statement] : [];
    return sts.filter((s) => s.Effect === "Allow");
  } catch {
    return [];
  }
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
const inlineStatements = (b: Body) => (Array.isArray(b.inline_policy) ? (b.inline_policy as Body[]) : []).flatMap((p) => allowStatements(p.policy));
const allowsStar = (sts: Body[]) => sts.some((s) => list(s.Action).includes("*"));

export const RULES: Rule[] = [
  // S3
  { id: "CKV_AWS_145", type: "aws_s3_bucket", title: "S3 bucket encrypted with a KMS key by default",
    pass: (b, ctx) => bucketCompanions(b, ctx, "aws_s3_bucket_server_side_encryption_configuration").some((c) => JSON.stringify(c).includes("aws:kms")) },
  { id: "CKV_AWS_21", type: "aws_s3_bucket", title: "S3 bucket has versioning enabled",
    pass: (b, ctx) => bucketCompanions(b, ctx, "aws_s3_bucket_versioning").some((c) => first(c.versioning_configuration)?.status === "Enabled") },
  { id: "CKV_AWS_18", type: "aws_s3_bucket", title: "S3 bucket has access logging enabled",
    pass: (b, ctx) => bucketCompanions(b, ctx, "aws_s3_bucket_logging").length > 0 },
  { id: "CKV_AWS_144", type: "aws_s3_bucket", title: "S3 bucket has cross-region replication enabled",
    pass: (b, ctx) => bucketCompanions(b, ctx, "aws_s3_bucket_replication_configuration").length > 0 },
  // CloudFront
  { id: "CKV_AWS_68", type: "aws_cloudfront_distribution", title: "CloudFront distribution has WAF enabled", pass: (b) => set(b.web_acl_id) },
  { id: "CKV_AWS_86", type: "aws_cloudfront_distribution", title: "CloudFront distribution has access logging (logging_config) enabled", pass: (b) => set(b.logging_config) },
  { id: "CKV_AWS_174", type: "aws_cloudfront_distribution", title: "CloudFront viewers use TLS 1.2 or later",
    pass: (b) => /^TLSv1\.2_/.test(String(first(b.viewer_certificate)?.minimum_protocol_version ?? "")) },
  { id: "CKV_AWS_305", type: "aws_cloudfront_distribution", title: "CloudFront distribution has a default root object", pass: (b) => set(b.default_root_object) },
  { id: "CKV_AWS_310", type: "aws_cloudfront_distribution", title: "CloudFront distribution has origin failover (an origin group)", pass: (b) => set(b.origin_group) },
  // API Gateway v2
  { id: "CKV_AWS_309", type: "aws_apigatewayv2_route", title: "API Gateway v2 route names an authorization type other than NONE",
    pass: (b) => set(b.authorization_type) && b.authorization_type !== "NONE" },
  { id: "CKV_AWS_95", type: "aws_apigatewayv2_stage", title: "API Gateway v2 stage has access logging", pass: (b) => set(first(b.access_log_settings)?.destination_arn) },
  // CloudWatch Logs
  { id: "CKV_AWS_158", type: "aws_cloudwatch_log_group", title: "CloudWatch log group is encrypted with a KMS key", pass: (b) => set(b.kms_key_id) },
  { id: "CKV_AWS_338", type: "aws_cloudwatch_log_group", title: "CloudWatch log group keeps logs at least a year",
    pass: (b) => Number(b.retention_in_days ?? 0) === 0 || Number(b.retention_in_days) >= 365 },
  // SNS, SSM
  { id: "CKV_AWS_26", type: "aws_sns_topic", title: "SNS topic is encrypted (kms_master_key_id)", pass: (b) => set(b.kms_master_key_id) },
  { id: "CKV_AWS_337", type: "aws_ssm_parameter", title: "SecureString SSM parameter uses a customer managed KMS key",
    pass: (b) => b.type !== "SecureString" || (set(b.key_id) && !String(b.key_id).includes("alias/aws/ssm")) },
  // EC2 and EBS
  { id: "CKV_AWS_79", type: "aws_instance", title: "EC2 instance requires IMDSv2", pass: (b) => first(b.metadata_options)?.http_tokens === "required" },
  { id: "CKV_AWS_126", type: "aws_instance", title: "EC2 instance has detailed monitoring", pass: (b) => b.monitoring === true },
  { id: "CKV_AWS_135", type: "aws_instance", title: "EC2 instance is EBS-optimized", pass: (b) => b.ebs_optimized === true },
  { id: "CKV_AWS_8", type: "aws_instance", title: "EC2 instance's root volume is encrypted", pass: (b) => first(b.root_block_device)?.encrypted === true },
  { id: "CKV_AWS_79", type: "aws_launch_template", title: "Launch template requires IMDSv2", pass: (b) => first(b.metadata_options)?.http_tokens === "required" },
  { id: "CKV_AWS_3", type: "aws_ebs_volume", title: "EBS volume is encrypted", pass: (b) => b.encrypted === true },
  { id: "CKV_AWS_189", type: "aws_ebs_volume", title: "EBS volume is encrypted with a customer managed KMS key", pass: (b) => set(b.kms_key_id) },
  // VPC
  { id: "CKV_AWS_130", type: "aws_subnet", title: "Subnet does not assign public IPs on launch", pass: (b) => b.map_public_ip_on_launch !== true },
  // IAM: the actions of every Allow statement of every inline and managed policy document.
  { id: "CKV_AWS_63", type: "aws_iam_role_policy", title: "No IAM policy allows the action \"*\"", pass: (b) => !allowsStar(allowStatements(b.policy)) },
  { id: "CKV_AWS_63", type: "aws_iam_policy", title: "No IAM policy allows the action \"*\"", pass: (b) => !allowsStar(allowStatements(b.policy)) },
  { id: "CKV_AWS_63", type: "aws_iam_role", title: "No IAM policy allows the action \"*\"", pass: (b) => !allowsStar(inlineStatements(b)) },
  // RDS (scaled topology; its ElastiCache is serverless, always encrypted)
  { id: "CKV_AWS_16", type: "aws_db_instance", title: "RDS instance is encrypted at rest", pass: (b) => b.storage_encrypted === true },
  { id: "CKV_AWS_157", type: "aws_db_instance", title: "RDS instance is Multi-AZ", pass: (b) => b.multi_az === true },
  { id: "CKV_AWS_293", type: "aws_db_instance", title: "RDS instance has deletion protection", pass: (b) => b.deletion_protection === true },
  { id: "CKV_AWS_118", type: "aws_db_instance", title: "RDS instance has enhanced monitoring", pass: (b) => Number(b.monitoring_interval ?? 0) > 0 },
  // Load balancers (scaled topology)
  { id: "CKV_AWS_91", type: "aws_lb", title: "Load balancer has access logging", pass: (b) => first(b.access_logs)?.enabled === true },
  { id: "CKV_AWS_131", type: "aws_lb", title: "Application load balancer drops invalid header fields", pass: (b) => b.drop_invalid_header_fields === true },
];

/** Every finding of the rule set over the given stacks. */
export function findings(stacks: StackJson[], rules: Rule[] = RULES): Finding[] {
  const out: Finding[] = [];
  for (const s of stacks) {
    for (const rule of rules) {
      for (const [id, body] of Object.entries(s.resources[rule.type] ?? {})) {
        if (!rule.pass(body, { all: stacks, id })) out.push({ id: rule.id, type: rule.type, address: `${s.stack}/${rule.type}.${id}` });
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
    if (!m) throw new Error(`accepted-risks.md line ${i + 1}: "${raw}" is not "- CKV_AWS_<n> (<resource type or address>): <reason>"`);
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
