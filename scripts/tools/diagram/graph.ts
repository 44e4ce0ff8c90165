/**
 * The architecture graph of the synthesized stacks: one node per resource (and per data source other than
 * remote state), grouped by stack; an edge wherever a resource body references another resource
 * (`${type.name.attr}` anywhere in any string, nested or inside a function call), wherever `depends_on`
 * names one, and across stacks wherever a consumer reads `data.terraform_remote_state.<x>.outputs.<y>`: that
 * edge goes to the resources the producer's output `<y>` references.
 *
 * Optional collapsing folds configuration-only resources into the resource they configure (bucket settings
 * into the bucket, rules into their security group, policy attachments into their role, ...), so the README
 * picture stays readable. With `collapse: false` every resource and every edge is kept.
 */
import { JsonObject, LoadedStack, shortStackName } from "../cost/tfjson";

export type EdgeKind = "ref" | "depends_on" | "remote_state";

export interface GraphNode {
  id: string;
  stack: string;
  /** `type.name` for resources, `data.type.name` for data sources. */
  address: string;
  type: string;
  kind: "resource" | "data";
  /** Addresses folded into this node by collapsing. */
  absorbed: string[];
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
}

export interface Graph {
  stacks: Array<{ name: string; short: string; nodes: GraphNode[] }>;
  edges: GraphEdge[];
}

export interface GraphOptions {
  /** Fold configuration-only resources into their parent. @default true */
  collapse?: boolean;
}

/** Child types folded into the resource named by one of these attributes (same stack, exactly one target). */
export const PARENT_ATTRIBUTE: Readonly<Record<string, readonly string[]>> = {
  aws_s3_bucket_public_access_block: ["bucket"],
  aws_s3_bucket_ownership_controls: ["bucket"],
  aws_s3_bucket_server_side_encryption_configuration: ["bucket"],
  aws_s3_bucket_versioning: ["bucket"],
  aws_s3_bucket_lifecycle_configuration: ["bucket"],
  aws_s3_bucket_logging: ["bucket"],
  aws_s3_bucket_policy: ["bucket"],
  aws_s3_bucket_cors_configuration: ["bucket"],
  aws_s3_bucket_website_configuration: ["bucket"],
  aws_s3_bucket_notification: ["bucket"],
  aws_s3_bucket_acl: ["bucket"],
  aws_iam_role_policy: ["role"],
  aws_iam_role_policy_attachment: ["role"],
  aws_iam_instance_profile: ["role"],
  aws_vpc_security_group_ingress_rule: ["security_group_id"],
  aws_vpc_security_group_egress_rule: ["security_group_id"],
  aws_security_group_rule: ["security_group_id"],
  aws_default_security_group: ["vpc_id"],
  aws_route: ["route_table_id"],
  aws_route_table_association: ["route_table_id"],
  aws_sns_topic_subscription: ["topic_arn"],
  aws_sns_topic_policy: ["arn"],
  aws_acm_certificate_validation: ["certificate_arn"],
  aws_ses_domain_dkim: ["domain"],
  aws_ses_domain_mail_from: ["domain"],
  aws_sesv2_email_identity_mail_from_attributes: ["email_identity"],
  aws_apigatewayv2_route: ["api_id"],
  aws_apigatewayv2_stage: ["api_id"],
  aws_apigatewayv2_integration: ["api_id"],
  aws_apigatewayv2_authorizer: ["api_id"],
  aws_apigatewayv2_deployment: ["api_id"],
  aws_kms_alias: ["target_key_id"],
  aws_eip_association: ["allocation_id"],
  aws_volume_attachment: ["volume_id"],
  aws_route53_record: ["zone_id"],
  aws_cloudwatch_log_delivery_source: ["resource_arn"],
  aws_cloudwatch_log_delivery: ["delivery_source_name"],
};

/** Types folded into the one resource that references them (policies a single distribution uses, ...). */
export const ABSORB_INTO_SOLE_CONSUMER: ReadonlySet<string> = new Set([
  "aws_cloudfront_cache_policy",
  "aws_cloudfront_origin_request_policy",
  "aws_cloudfront_response_headers_policy",
  "aws_cloudfront_origin_access_control",
  "aws_cloudfront_function",
  "aws_iam_policy",
  "aws_cloudwatch_log_delivery_destination",
  "data.aws_iam_policy_document",
  "data.aws_caller_identity",
  "data.aws_region",
  "data.aws_partition",
]);

/** The `${...}` expressions of an HCL template string (nested templates stay inside their outer expression). */
export function interpolations(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while ((i = s.indexOf("${", i)) >= 0) {
    if (i > 0 && s[i - 1] === "$") {
      i += 2; // `$${` is an escaped literal
      continue;
    }
    let depth = 0;
    let j = i + 1;
    for (; j < s.length; j++) {
      if (s[j] === "{") depth++;
      else if (s[j] === "}" && --depth === 0) break;
    }
    out.push(s.slice(i + 2, j));
    i = j + 1;
  }
  return out;
}

const TRAVERSAL = /(?<![A-Za-z0-9_.\-"])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)/g;
const REMOTE = /data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g;

export interface References {
  /** `type.name` / `data.type.name` candidates (not yet checked against the stack). */
  addresses: Set<string>;
  remote: Array<{ state: string; output: string }>;
}

/** Every reference in a JSON value: all strings at any depth, except cdktf metadata (`//`) and `depends_on`. */
export function referencesIn(value: unknown, acc: References = { addresses: new Set(), remote: [] }): References {
  if (typeof value === "string") {
    for (const expr of interpolations(value)) {
      for (const m of expr.matchAll(REMOTE)) acc.remote.push({ state: m[1], output: m[2] });
      for (const m of expr.matchAll(TRAVERSAL)) {
        if (m[2] === "terraform_remote_state") continue;
        acc.addresses.add(`${m[1] ?? ""}${m[2]}.${m[3]}`);
      }
    }
  } else if (Array.isArray(value)) {
    for (const v of value) referencesIn(v, acc);
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "//" || k === "depends_on") continue;
      referencesIn(v, acc);
    }
  }
  return acc;
}

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "_");
}

interface Block {
  stack: LoadedStack;
  address: string;
  type: string;
  kind: "resource" | "data";
  body: JsonObject;
}

/** Which producer stack a `terraform_remote_state` data source reads. */
function producerOf(body: JsonObject, id: string, stacks: LoadedStack[]): LoadedStack | undefined {
  const config = (body.config ?? {}) as JsonObject;
  for (const s of stacks) {
    const backend = s.json.terraform?.backend ?? {};
    for (const [kind, cfg] of Object.entries(backend)) {
      if (
        kind === "s3" &&
        config.key !== undefined &&
        cfg.key === config.key &&
        (config.bucket === undefined || cfg.bucket === config.bucket)
      )
        return s;
      if (kind === "local" && config.path !== undefined && cfg.path === config.path) return s;
    }
    const cloudWs = (s.json.terraform?.cloud?.workspaces as JsonObject | undefined)?.name;
    const wanted = (config.workspaces as JsonObject | undefined)?.name;
    if (cloudWs !== undefined && cloudWs === wanted) return s;
  }
  // cdktf names the data source `cross-stack-reference-input-<producer stack>`.
  const m = /^cross-stack-reference-input-(.+)$/.exec(id);
  return m ? stacks.find((s) => s.name === m[1]) : undefined;
}

/** Builds the graph; deterministic for a given input. */
export function buildGraph(stacks: LoadedStack[], opts: GraphOptions = {}): Graph {
  const collapse = opts.collapse ?? true;
  const blocks = new Map<string, Block>(); // key: `${stack}|${address}`
  const key = (stack: string, address: string) => `${stack}|${address}`;
  for (const stack of stacks) {
    for (const [type, byName] of Object.entries(stack.json.resource ?? {}))
      for (const [name, body] of Object.entries(byName))
        blocks.set(key(stack.name, `${type}.${name}`), {
          stack,
          address: `${type}.${name}`,
          type,
          kind: "resource",
          body,
        });
    for (const [type, byName] of Object.entries(stack.json.data ?? {})) {
      if (type === "terraform_remote_state") continue;
      for (const [name, body] of Object.entries(byName))
        blocks.set(key(stack.name, `data.${type}.${name}`), {
          stack,
          address: `data.${type}.${name}`,
          type: `data.${type}`,
          kind: "data",
          body,
        });
    }
  }

  // Raw edges between block keys.
  const raw: Array<{ from: string; to: string; kind: EdgeKind }> = [];
  const attrRefs = new Map<string, Map<string, string[]>>(); // block -> attribute -> same-stack targets
  for (const [k, b] of blocks) {
    const refs = referencesIn(b.body);
    for (const a of refs.addresses) {
      const t = key(b.stack.name, a);
      if (blocks.has(t) && t !== k) raw.push({ from: k, to: t, kind: "ref" });
    }
    for (const r of refs.remote) {
      const rs = (b.stack.json.data?.terraform_remote_state ?? {})[r.state];
      const producer = rs ? producerOf(rs, r.state, stacks) : undefined;
      const out = producer?.json.output?.[r.output];
      if (!producer || !out) continue;
      for (const a of referencesIn(out.value).addresses) {
        const t = key(producer.name, a);
        if (blocks.has(t)) raw.push({ from: k, to: t, kind: "remote_state" });
      }
    }
    for (const d of Array.isArray(b.body.depends_on) ? (b.body.depends_on as unknown[]) : []) {
      const t = key(b.stack.name, String(d));
      if (blocks.has(t) && t !== k) raw.push({ from: k, to: t, kind: "depends_on" });
    }
    const perAttr = new Map<string, string[]>();
    for (const attr of PARENT_ATTRIBUTE[b.type] ?? []) {
      const targets = [...referencesIn(b.body[attr]).addresses]
        .map((a) => key(b.stack.name, a))
        .filter((t) => blocks.has(t));
      perAttr.set(attr, targets);
    }
    attrRefs.set(k, perAttr);
  }

  // Representative of each block after collapsing.
  const parent = new Map<string, string>();
  if (collapse) {
    for (const [k, b] of blocks) {
      for (const attr of PARENT_ATTRIBUTE[b.type] ?? []) {
        const targets = [...new Set(attrRefs.get(k)?.get(attr) ?? [])];
        if (targets.length === 1) {
          parent.set(k, targets[0]);
          break;
        }
      }
    }
    for (const [k, b] of blocks) {
      if (parent.has(k) || !ABSORB_INTO_SOLE_CONSUMER.has(b.type)) continue;
      const consumers = [
        ...new Set(
          raw
            .filter((e) => e.to === k && e.kind !== "depends_on" && blocks.get(e.from)!.stack === b.stack)
            .map((e) => e.from),
        ),
      ];
      if (consumers.length === 1) parent.set(k, consumers[0]);
    }
  }
  const rep = (k: string): string => {
    const seen = new Set<string>();
    let cur = k;
    while (parent.has(cur) && !seen.has(cur)) {
      seen.add(cur);
      cur = parent.get(cur)!;
    }
    return cur;
  };

  // Nodes with stable, unique ids.
  const ids = new Map<string, string>();
  const used = new Set<string>();
  const nodesByStack = new Map<string, GraphNode[]>(stacks.map((s) => [s.name, []]));
  const sortedKeys = [...blocks.keys()].sort();
  for (const k of sortedKeys) {
    if (rep(k) !== k) continue;
    const b = blocks.get(k)!;
    let id = sanitize(`${shortStackName(b.stack.name)}__${b.address}`);
    for (let n = 2; used.has(id); n++) id = sanitize(`${shortStackName(b.stack.name)}__${b.address}`) + `_${n}`;
    used.add(id);
    ids.set(k, id);
    nodesByStack
      .get(b.stack.name)!
      .push({ id, stack: b.stack.name, address: b.address, type: b.type, kind: b.kind, absorbed: [] });
  }
  const nodeOf = new Map<string, GraphNode>();
  for (const list of nodesByStack.values()) for (const n of list) nodeOf.set(n.id, n);
  for (const k of sortedKeys) {
    const r = rep(k);
    if (r !== k) nodeOf.get(ids.get(r)!)!.absorbed.push(blocks.get(k)!.address);
  }

  // Edges between representatives.
  const strength: Record<EdgeKind, number> = { remote_state: 3, ref: 2, depends_on: 1 };
  const edges = new Map<string, GraphEdge>();
  for (const e of raw) {
    const from = ids.get(rep(e.from))!;
    const to = ids.get(rep(e.to))!;
    if (from === to) continue;
    const k = collapse ? `${from}>${to}` : `${from}>${to}>${e.kind}`;
    const prev = edges.get(k);
    if (!prev || strength[e.kind] > strength[prev.kind]) edges.set(k, { from, to, kind: e.kind });
  }

  // Stacks ordered producers first (remote-state edges), ties by name.
  const deps = new Map<string, Set<string>>(stacks.map((s) => [s.name, new Set<string>()]));
  for (const e of edges.values()) {
    const a = nodeOf.get(e.from)!.stack;
    const b = nodeOf.get(e.to)!.stack;
    if (a !== b) deps.get(a)!.add(b);
  }
  const order: string[] = [];
  const remaining = new Set(stacks.map((s) => s.name));
  while (remaining.size) {
    const ready = [...remaining].filter((s) => [...deps.get(s)!].every((d) => !remaining.has(d))).sort();
    const next = ready.length ? ready[0] : [...remaining].sort()[0];
    order.push(next);
    remaining.delete(next);
  }

  return {
    stacks: order
      .map((name) => ({ name, short: shortStackName(name), nodes: nodesByStack.get(name)! }))
      .filter((s) => s.nodes.length > 0),
    edges: [...edges.values()].sort((x, y) => {
      // Code-unit order, not locale order: the README block must be the same on every machine.
      const a = `${x.from}>${x.to}>${x.kind}`;
      const b = `${y.from}>${y.to}>${y.kind}`;
      return a < b ? -1 : a > b ? 1 : 0;
    }),
  };
}
