/**
 * Plan-mode `terraform test` files for the synthesized stacks (scripts/dev/tf-test.sh runs them).
 *
 * For each stack this writes a private copy of its Terraform JSON (no backend: `terraform test` keeps state in
 * memory) and one `plan.tftest.hcl` with
 * - `mock_provider` blocks for every AWS provider configuration of the stack (default and aliases), so
 *   nothing reaches AWS; the real provider binary still supplies the schema and its validators;
 * - `override_data` for every `terraform_remote_state` read, whose `outputs` are exactly the outputs the
 *   producing stack declares (found by its backend key): a reference to an output that does not exist fails
 *   the plan with "Unsupported attribute", as it would against real state;
 * - `override_data` for SSM parameter reads (an AMI id for the AMI parameter) and `mock_data` defaults for
 *   other data sources;
 * - `override_resource` (during plan) for every resource, with ids and ARNs shaped like AWS's, because the
 *   mock provider's random strings fail the provider's ARN and id validators, plus the few computed values the
 *   real provider knows at plan time (a certificate's validation options, a SES identity's DKIM tokens);
 * - `assert`s derived from the JSON and the environment: values that come from the SSM and remote-state reads,
 *   volume and subnet availability zones, distribution aliases within the site name.
 *
 * `terraform test` docs: https://developer.hashicorp.com/terraform/language/tests/mocking (override_during,
 * mock_provider, override_data) and https://developer.hashicorp.com/terraform/cli/commands/test.
 */
import { createHash } from "crypto";
import { JsonObject, LoadedStack, regionOf, shortStackName } from "../cost/tfjson";

/** The slice of `terraform providers schema -json` this generator reads. */
export interface ProviderSchemas {
  provider_schemas: Record<
    string,
    { resource_schemas?: Record<string, BlockSchema>; data_source_schemas?: Record<string, BlockSchema> }
  >;
}
interface BlockSchema {
  block: {
    attributes?: Record<string, { type?: unknown; computed?: boolean; optional?: boolean; required?: boolean }>;
  };
}

/** Facts from the environment that asserts check against. */
export interface EnvironmentFacts {
  name: string;
  siteName: string;
  /** monthlyBudgetUsd: the monitoring stack's budget limit. */
  monthlyBudgetUsd?: number;
}

export interface PlanTestOptions {
  /** Every synthesized stack (remote-state producers are looked up here). */
  stacks: LoadedStack[];
  schemas: ProviderSchemas;
  /** Whether Terraform can install a provider here (`namespace/name`, e.g. `hashicorp/aws`). */
  installable: (provider: string) => boolean;
  environment?: EnvironmentFacts;
}

export interface PlanTest {
  stack: string;
  /** The copy of the stack's JSON to test, or undefined when the stack cannot be planned here. */
  json?: JsonObject;
  /** The `.tftest.hcl` text. */
  testFile?: string;
  /** Why the stack cannot be planned here (a provider Terraform cannot install). */
  skip?: string;
  /** Substitutions made in the copy, each said in the output (e.g. a stand-in for an unmirrored provider). */
  notes: string[];
  /** Number of assert blocks. */
  asserts: number;
  /** The same test in pieces, for moduleTestFile. */
  parts?: PlanTestParts;
}

/** Raised when a stack's wiring cannot be resolved (e.g. a remote-state read whose producer is not synthesized). */
export class PlanTestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanTestError";
  }
}

const ACCOUNT_FALLBACK = "111111111111";

/** Stable hex of a given length from a seed, so ids are distinct per resource and the same on every run. */
function hex(seed: string, length: number): string {
  let out = "";
  for (let i = 0; out.length < length; i++) out += createHash("sha256").update(`${seed}#${i}`).digest("hex");
  return out.slice(0, length);
}

/** EC2-style ids: `<prefix>-<17 hex>` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/resource-ids.html). */
const EC2_ID_PREFIX: Record<string, string> = {
  aws_vpc: "vpc",
  aws_subnet: "subnet",
  aws_security_group: "sg",
  aws_default_security_group: "sg",
  aws_internet_gateway: "igw",
  aws_route_table: "rtb",
  aws_route_table_association: "rtbassoc",
  aws_vpc_endpoint: "vpce",
  aws_instance: "i",
  aws_ebs_volume: "vol",
  aws_eip: "eipalloc",
  aws_eip_association: "eipassoc",
  aws_flow_log: "fl",
  aws_vpc_security_group_ingress_rule: "sgr",
  aws_vpc_security_group_egress_rule: "sgr",
  aws_network_interface: "eni",
  aws_nat_gateway: "nat",
  aws_launch_template: "lt",
  aws_network_acl: "acl",
  aws_default_network_acl: "acl",
  aws_default_route_table: "rtb",
};

/** Types whose `id` is their ARN (provider docs, "Attribute Reference"). */
const ID_IS_ARN = new Set([
  "aws_sns_topic",
  "aws_sns_topic_subscription",
  "aws_iam_policy",
  "aws_iam_openid_connect_provider",
  "aws_acm_certificate",
  "aws_lb",
  "aws_lb_target_group",
  "aws_lb_listener",
  "aws_lb_listener_rule",
]);

/** ARN service name per resource-type prefix; the default is the word after `aws_`. */
const ARN_SERVICE: Array<[RegExp, string]> = [
  [
    /^aws_(vpc|subnet|security_group|default_security_group|internet_gateway|route_table|instance|ebs_volume|eip|flow_log|network_|nat_gateway|launch_template|volume_attachment)/,
    "ec2",
  ],
  [/^aws_cloudwatch_log_/, "logs"],
  [/^aws_cloudwatch_metric_alarm/, "cloudwatch"],
  [/^aws_apigatewayv2_/, "apigateway"],
  [/^aws_service_discovery_/, "servicediscovery"],
  [/^aws_sesv2_/, "ses"],
  [/^aws_lb/, "elasticloadbalancing"],
  [/^aws_db_/, "rds"],
  [/^aws_autoscaling_/, "autoscaling"],
];
/** Services whose ARNs carry no region (IAM, Route 53, CloudFront) or neither region nor account (S3). */
const GLOBAL_SERVICES = new Set(["iam", "route53", "cloudfront"]);

function arnService(type: string): string {
  for (const [re, svc] of ARN_SERVICE) if (re.test(type)) return svc;
  return type.replace(/^aws_/, "").split("_")[0];
}

/** A well-formed ARN for one resource; the resource part names the resource (its literal name when it has one). */
export function mockArn(type: string, label: string, region: string, account: string): string {
  const svc = arnService(type);
  if (svc === "s3") return `arn:aws:s3:::${label}`;
  // The resource kind without its service word: aws_acm_certificate -> certificate, aws_cloudwatch_log_group -> log_group.
  const kind = type.replace(/^aws_/, "").replace(/^(service_discovery|[a-z0-9]+)_(?=.)/, "");
  const r = GLOBAL_SERVICES.has(svc) ? "" : region;
  return `arn:aws:${svc}:${r}:${account}:${kind}/${label}`;
}

/** The id of one resource: EC2-shaped, its ARN, or a readable token. */
export function mockId(type: string, seed: string, arn: string): string {
  const prefix = EC2_ID_PREFIX[type];
  if (prefix) return `${prefix}-${hex(seed, 17)}`;
  if (ID_IS_ARN.has(type)) return arn;
  if (type === "aws_route53_zone") return `Z${hex(seed, 20).toUpperCase()}`;
  if (type === "aws_cloudfront_distribution") return `E${hex(seed, 13).toUpperCase()}`;
  return hex(seed, 10);
}

const isRef = (v: unknown): v is string => typeof v === "string" && v.includes("${");
const literal = (v: unknown): string | undefined => (typeof v === "string" && !isRef(v) ? v : undefined);

/** Computed string attributes a resource's ids and ARNs live in, from the provider schema. */
function computedIdAttributes(schema: BlockSchema | undefined): string[] {
  const attrs = schema?.block.attributes ?? {};
  return Object.entries(attrs)
    .filter(
      ([k, a]) =>
        a.computed && !a.optional && !a.required && a.type === "string" && (k === "arn" || k.endsWith("_arn")),
    )
    .map(([k]) => k);
}

/**
 * A value of a provider type (`terraform providers schema -json` notation) whose collections hold one element.
 * The mock provider makes computed collections empty, so `endpoint[0].address` fails to plan where the real
 * provider leaves it unknown; one element keeps such expressions evaluable. Strings name their attribute,
 * and ARN attributes are well-formed ARNs.
 */
function mockOfType(type: unknown, attr: string, arnOf: (attr: string) => string): unknown {
  if (type === "string")
    return attr === "arn" || attr.endsWith("_arn") ? arnOf(attr) : `${attr.replace(/_/g, "-")}-mock`;
  if (type === "number") return 1;
  if (type === "bool") return false;
  if (Array.isArray(type)) {
    const [kind, inner] = type as [string, unknown];
    if (kind === "list" || kind === "set") return [mockOfType(inner, attr, arnOf)];
    if (kind === "map") return {};
    if (kind === "object") {
      return Object.fromEntries(
        Object.entries(inner as Record<string, unknown>).map(([k, t]) => [k, mockOfType(t, k, arnOf)]),
      );
    }
  }
  return null;
}

/** Computed-only collection attributes (the mock would make them empty), from the provider schema. */
function computedCollections(schema: BlockSchema | undefined): Array<[string, unknown]> {
  return Object.entries(schema?.block.attributes ?? {})
    .filter(
      ([, a]) =>
        a.computed &&
        !a.optional &&
        !a.required &&
        Array.isArray(a.type) &&
        (a.type[0] === "list" || a.type[0] === "set"),
    )
    .map(([k, a]) => [k, a.type]);
}

/**
 * The values the real provider knows at plan time and later expressions index into; the mock provider would
 * leave them unknown (a `for_each` over them then fails) or empty (an index then fails).
 */
function planTimeValues(type: string, body: JsonObject, seed: string): JsonObject {
  if (type === "aws_acm_certificate") {
    // The provider computes domain_validation_options at plan for every literal name (resource_acm_certificate.go
    // CustomizeDiff); record names and values are AWS's shape: _<hash>.<domain>. and _<hash>.<id>.acm-validations.aws.
    const names = [
      literal(body.domain_name),
      ...((body.subject_alternative_names as unknown[]) ?? []).map(literal),
    ].filter((n): n is string => n !== undefined);
    return {
      domain_validation_options: [...new Set(names)].map((d) => ({
        domain_name: d,
        resource_record_name: `_${hex(seed + d, 32)}.${d}.`,
        resource_record_type: "CNAME",
        resource_record_value: `_${hex(seed + d + "v", 32)}.${hex(seed, 10)}.acm-validations.aws.`,
      })),
    };
  }
  if (type === "aws_route53_zone") return { zone_id: mockId(type, seed, "") };
  if (type === "aws_sesv2_email_identity") {
    // Easy DKIM: three tokens (https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-easy.html).
    // A configured block is overridden element by element, so the value is the element's object.
    return {
      dkim_signing_attributes: {
        tokens: [0, 1, 2].map((i) => hex(`${seed}dkim${i}`, 32)),
        status: "PENDING",
        signing_attributes_origin: "AWS_SES",
      },
    };
  }
  return {};
}

/** HCL text for a JSON value; `${` and `%{` are escaped so strings stay literal. */
export function hcl(value: unknown, indent = ""): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return JSON.stringify(value).replace(/([$%])\{/g, (_, c: string) => `${c}${c}{`);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((v) => inner + hcl(v, inner)).join(",\n")},\n${indent}]`;
  }
  const entries = Object.entries(value as JsonObject);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)} = ${hcl(v, inner)}`).join("\n")}\n${indent}}`;
}

/** `namespace/name` of a required provider entry (`aws` -> `hashicorp/aws`). */
function providerAddress(key: string, source: unknown): string {
  const parts = String(source ?? key)
    .toLowerCase()
    .split("/");
  return parts.length === 1 ? `hashicorp/${parts[0]}` : parts.slice(-2).join("/");
}

function backendKey(stack: LoadedStack): string | undefined {
  const s3 = stack.json.terraform?.backend?.s3 as JsonObject | undefined;
  return literal(s3?.key);
}

/** The stack whose state a `terraform_remote_state` read points at: same backend key, else cdktf's naming. */
function producerOf(stack: LoadedStack, name: string, body: JsonObject, all: LoadedStack[]): LoadedStack {
  const key = literal((body.config as JsonObject | undefined)?.key);
  const byKey = key ? all.find((s) => backendKey(s) === key) : undefined;
  const byName = all.find((s) => name === `cross-stack-reference-input-${s.name}`);
  const producer = byKey ?? byName;
  if (!producer) {
    throw new PlanTestError(
      `${stack.name}: data.terraform_remote_state.${name} reads state key ${JSON.stringify(key)}, which no synthesized stack ` +
        `writes (stacks: ${all.map((s) => s.name).join(", ")}); synthesize the producing stack or fix the reference`,
    );
  }
  return producer;
}

/** `${aws_x.name.attr}` -> [type, name, attr]. */
function parseSimpleRef(v: unknown): [string, string, string] | undefined {
  const m = typeof v === "string" ? /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$/.exec(v) : undefined;
  return m ? [m[1], m[2], m[3]] : undefined;
}

/** Mock values for one stack's resources: `type.name` -> attribute -> value. */
function resourceValues(stack: LoadedStack, schemas: ProviderSchemas): Map<string, JsonObject> {
  const aws = schemas.provider_schemas["registry.terraform.io/hashicorp/aws"]?.resource_schemas ?? {};
  const account = String(
    (stack.json.provider?.aws?.[0]?.allowed_account_ids as unknown[] | undefined)?.[0] ?? ACCOUNT_FALLBACK,
  );
  const out = new Map<string, JsonObject>();
  for (const [type, byName] of Object.entries(stack.json.resource ?? {})) {
    if (!type.startsWith("aws_")) continue;
    for (const [name, body] of Object.entries(byName)) {
      const seed = `${stack.name}/${type}.${name}`;
      const region = regionOf(stack, body) ?? "us-east-1";
      const label = literal(body.bucket) ?? literal(body.name) ?? name;
      const arn = mockArn(type, label, region, account);
      const values: JsonObject = { id: mockId(type, seed, arn) };
      const arnOf = (attr: string) => (attr === "arn" ? arn : mockArn(type, `${label}-${attr}`, region, account));
      for (const attr of computedIdAttributes(aws[type])) values[attr] = arnOf(attr);
      for (const [attr, t] of computedCollections(aws[type])) values[attr] = mockOfType(t, attr, arnOf);
      Object.assign(values, planTimeValues(type, body, seed));
      out.set(`${type}.${name}`, values);
    }
  }
  return out;
}

/**
 * What a producer's output evaluates to under its own mocks: a literal, a mocked id/ARN, or an attribute that
 * is itself a reference, followed (a certificate validation's certificate_arn is the certificate's arn).
 */
function outputValue(producer: LoadedStack, v: unknown, values: Map<string, JsonObject>, depth = 0): unknown {
  if (!isRef(v)) return v;
  const ref = parseSimpleRef(v);
  if (ref && depth < 8) {
    const [type, name, attr] = ref;
    const mocked = values.get(`${type}.${name}`)?.[attr];
    if (mocked !== undefined) return mocked;
    const body = producer.json.resource?.[type]?.[name];
    if (body && body[attr] !== undefined) return outputValue(producer, body[attr], values, depth + 1);
  }
  return `${producer.name}-${hex(String(v), 8)}`;
}

/** The value an SSM parameter read returns: an AMI id for an AMI parameter, otherwise a placeholder. */
function ssmValue(paramName: string): string {
  return /ami/i.test(paramName) ? `ami-${hex(paramName, 17)}` : `value-of-${paramName}`;
}

interface Assert {
  condition: string;
  message: string;
}

/** `aws_x.name.attr` -> a traversal safe for names with dashes (HCL identifiers allow them). */
const addr = (type: string, name: string, attr: string) => `${type}.${name}.${attr}`;

/**
 * Checks of evaluated values, derived from the JSON:
 * - every top-level attribute set from an SSM read or a remote-state output holds exactly the value read;
 * - an attached volume is in its instance's availability zone, and an instance is in the zone of the subnet
 *   the network stack gives it;
 * - every distribution's aliases are the site name or names under it (the certificate covers those), and the
 *   site name is one of them.
 */
/**
 * Terraform Cloud mode (a `cloud` block, docs/runbooks/terraform-cloud.md). A `cloud` block cannot be
 * initialized offline, so the plan runs on the copy without it (as for S3) and what it would do is checked
 * here instead: the stack's own block names one workspace, and every remote-state read goes through the
 * `remote` backend to the producer's workspace in the same organization and host. Generation fails on a
 * mismatch (naming it); the returned asserts make `terraform test` evaluate the same on the planned data
 * sources' configuration.
 */
function cloudReadAsserts(stack: LoadedStack, remoteOutputs: Map<string, { producer: LoadedStack }>): Assert[] {
  const cloud = stack.json.terraform?.cloud as JsonObject | undefined;
  if (!cloud) return [];
  const ws = (c: JsonObject | undefined) => literal((c?.workspaces as JsonObject | undefined)?.name);
  if (!literal(cloud.organization) || !ws(cloud))
    throw new PlanTestError(
      `${stack.name}: its cloud block names no organization or workspace (${JSON.stringify(cloud)}); synthesize with state.kind "cloud"`,
    );
  const asserts: Assert[] = [];
  for (const [name, { producer }] of remoteOutputs) {
    const body = (stack.json.data?.terraform_remote_state ?? {})[name] as JsonObject;
    const config = (body.config ?? {}) as JsonObject;
    const pcloud = producer.json.terraform?.cloud as JsonObject | undefined;
    const want = {
      backend: "remote",
      organization: literal(cloud.organization),
      hostname: literal(cloud.hostname),
      workspace: ws(pcloud),
    };
    const got = {
      backend: literal(body.backend),
      organization: literal(config.organization),
      hostname: literal(config.hostname),
      workspace: ws(config),
    };
    if (!pcloud || JSON.stringify(want) !== JSON.stringify(got))
      throw new PlanTestError(
        `${stack.name}: data.terraform_remote_state.${name} reads ${JSON.stringify(got)}, but ${producer.name}'s state is in ${JSON.stringify(want)}; ` +
          "every stack of an environment must use the same Terraform Cloud organization and host (stacks/base.ts configureState)",
      );
    const ref = `data.terraform_remote_state.${name}`;
    asserts.push(
      {
        condition: `${ref}.backend == "remote"`,
        message: `${ref} must read through the remote backend (Terraform Cloud)`,
      },
      {
        condition: `${ref}.config.organization == ${hcl(want.organization)}`,
        message: `${ref} must read organization ${want.organization}`,
      },
      {
        condition: `${ref}.config.workspaces.name == ${hcl(want.workspace)}`,
        message: `${ref} must read workspace ${want.workspace}, where ${producer.name} keeps its state`,
      },
    );
  }
  return asserts;
}

function assertsFor(
  stack: LoadedStack,
  remoteOutputs: Map<string, { producer: LoadedStack; outputs: JsonObject }>,
  ssmValues: Map<string, string>,
  env: EnvironmentFacts | undefined,
): Assert[] {
  const asserts: Assert[] = [];
  const resources = stack.json.resource ?? {};
  for (const [type, byName] of Object.entries(resources)) {
    for (const [name, body] of Object.entries(byName)) {
      if (body.for_each !== undefined || body.count !== undefined) continue;
      for (const [attr, v] of Object.entries(body)) {
        const expected = expectedFromRead(v, remoteOutputs, ssmValues);
        if (expected !== undefined) {
          asserts.push({
            condition: `${addr(type, name, attr)} == ${hcl(expected.value)}`,
            message: `${type}.${name}.${attr} must be ${expected.source}`,
          });
        } else if (Array.isArray(v)) {
          v.forEach((item) => {
            const e = expectedFromRead(item, remoteOutputs, ssmValues);
            if (e)
              asserts.push({
                condition: `contains(${addr(type, name, attr)}, ${hcl(e.value)})`,
                message: `${type}.${name}.${attr} must contain ${e.source}`,
              });
          });
        }
      }
    }
  }
  for (const [name, body] of Object.entries(resources.aws_volume_attachment ?? {})) {
    const vol = parseSimpleRef(body.volume_id);
    const inst = parseSimpleRef(body.instance_id);
    if (vol?.[0] === "aws_ebs_volume" && inst?.[0] === "aws_instance") {
      asserts.push({
        condition: `${addr("aws_ebs_volume", vol[1], "availability_zone")} == ${addr("aws_instance", inst[1], "availability_zone")}`,
        message: `aws_volume_attachment.${name}: volume ${vol[1]} must be in the availability zone of instance ${inst[1]}`,
      });
    }
  }
  for (const [name, body] of Object.entries(resources.aws_instance ?? {})) {
    const subnetAz = producerSubnetZone(body.subnet_id, remoteOutputs);
    if (subnetAz) {
      asserts.push({
        condition: `${addr("aws_instance", name, "availability_zone")} == ${hcl(subnetAz.zone)}`,
        message: `aws_instance.${name} must be in ${subnetAz.zone}, the zone of ${subnetAz.subnet} in ${subnetAz.stack}`,
      });
    }
  }
  for (const [name, body] of Object.entries(resources.aws_route53_record ?? {})) {
    const zone = zoneNameOf(stack, body.zone_id, remoteOutputs);
    if (!zone) continue;
    // Route 53 accepts only names at or under the zone's own name (InvalidChangeBatch otherwise).
    const inZone = (n: string) =>
      `(trimsuffix(lower(${n}), ".") == ${hcl(zone)} || endswith(trimsuffix(lower(${n}), "."), ${hcl("." + zone)}))`;
    const each = body.for_each !== undefined || body.count !== undefined;
    asserts.push({
      condition: each
        ? `alltrue([for r in aws_route53_record.${name} : ${inZone("r.name")}])`
        : inZone(`aws_route53_record.${name}.name`),
      message: `aws_route53_record.${name}: the record's name must be ${zone} or a name under it, the zone it is created in`,
    });
  }
  const distributions = Object.keys(resources.aws_cloudfront_distribution ?? {});
  if (env && distributions.length > 0) {
    const site = hcl(env.siteName);
    for (const d of distributions) {
      asserts.push({
        condition: `alltrue([for a in aws_cloudfront_distribution.${d}.aliases : a == ${site} || endswith(a, ".${env.siteName}")])`,
        message: `aws_cloudfront_distribution.${d}: every alias must be ${env.siteName} or a name under it`,
      });
    }
    asserts.push({
      condition: `anytrue([${distributions.map((d) => `contains(aws_cloudfront_distribution.${d}.aliases, ${site})`).join(", ")}])`,
      message: `a distribution must serve the site name ${env.siteName}`,
    });
  }
  // The monitoring stack's budget: its limit is the environment's monthly budget, with three notifications.
  if (env?.monthlyBudgetUsd !== undefined) {
    for (const b of Object.keys(resources.aws_budgets_budget ?? {})) {
      asserts.push({
        condition: `tonumber(aws_budgets_budget.${b}.limit_amount) == ${env.monthlyBudgetUsd} && aws_budgets_budget.${b}.limit_unit == "USD" && aws_budgets_budget.${b}.time_unit == "MONTHLY"`,
        message: `aws_budgets_budget.${b}: the limit must be monthlyBudgetUsd (${env.monthlyBudgetUsd} USD a month)`,
      });
      asserts.push({
        condition: `length(aws_budgets_budget.${b}.notification) == 3`,
        message: `aws_budgets_budget.${b}: ACTUAL 80%, ACTUAL 100% and FORECASTED 100% notifications`,
      });
    }
  }
  return asserts;
}

function expectedFromRead(
  v: unknown,
  remoteOutputs: Map<string, { producer: LoadedStack; outputs: JsonObject }>,
  ssmValues: Map<string, string>,
): { value: unknown; source: string } | undefined {
  if (typeof v !== "string") return undefined;
  let m = /^\$\{data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\}$/.exec(v);
  if (m) {
    const r = remoteOutputs.get(m[1]);
    if (r && m[2] in r.outputs) return { value: r.outputs[m[2]], source: `output ${m[2]} of ${r.producer.name}` };
    return undefined;
  }
  m = /^\$\{data\.aws_ssm_parameter\.([A-Za-z0-9_-]+)\.(value|insecure_value)\}$/.exec(v);
  if (m && ssmValues.has(m[1])) return { value: ssmValues.get(m[1]), source: `the value of SSM parameter ${m[1]}` };
  return undefined;
}

/** The literal name of the hosted zone a `zone_id` value points at, in this stack or through remote state. */
function zoneNameOf(
  stack: LoadedStack,
  zoneId: unknown,
  remoteOutputs: Map<string, { producer: LoadedStack; outputs: JsonObject }>,
): string | undefined {
  let owner = stack;
  let expr = zoneId;
  const remote =
    typeof expr === "string"
      ? /^\$\{data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\}$/.exec(expr)
      : null;
  if (remote) {
    const r = remoteOutputs.get(remote[1]);
    if (!r) return undefined;
    owner = r.producer;
    expr = r.producer.json.output?.[remote[2]]?.value;
  }
  const m = typeof expr === "string" ? /^\$\{(data\.)?aws_route53_zone\.([A-Za-z0-9_-]+)\.zone_id\}$/.exec(expr) : null;
  if (!m) return undefined;
  const zone = (m[1] ? owner.json.data : owner.json.resource)?.aws_route53_zone?.[m[2]];
  return literal(zone?.name)?.replace(/\.$/, "").toLowerCase();
}

function producerSubnetZone(
  subnetRef: unknown,
  remoteOutputs: Map<string, { producer: LoadedStack; outputs: JsonObject }>,
): { zone: string; subnet: string; stack: string } | undefined {
  const m =
    typeof subnetRef === "string"
      ? /^\$\{data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\}$/.exec(subnetRef)
      : null;
  const r = m ? remoteOutputs.get(m[1]) : undefined;
  if (!m || !r) return undefined;
  const ref = parseSimpleRef(r.producer.json.output?.[m[2]]?.value);
  if (!ref || ref[0] !== "aws_subnet") return undefined;
  const zone = literal(r.producer.json.resource?.aws_subnet?.[ref[1]]?.availability_zone);
  return zone ? { zone, subnet: `aws_subnet.${ref[1]}`, stack: r.producer.name } : undefined;
}

/**
 * Stand-ins for `hashicorp/random` when Terraform cannot install it: `mock_provider` still needs the provider's
 * schema, so each `random_password`/`random_string` becomes a `terraform_data` whose output is a string of the
 * configured length and character classes, and references to `.result` follow it. The AWS side (the SSM
 * parameters that store the secrets) is then planned for real. The substitution is named in the test output.
 */
function standInRandom(json: JsonObject, notes: string[]): JsonObject {
  const RANDOM_TYPES = ["random_password", "random_string"];
  const sampleFor = (body: JsonObject): string => {
    const length = Number(body.length ?? 16);
    const special = body.special !== false;
    return Array.from({ length }, (_, i) => (special && i === length - 1 ? "_" : "aZ0"[i % 3])).join("");
  };
  const standIns: Record<string, JsonObject> = {};
  let text = JSON.stringify(json);
  const resources = (json.resource ?? {}) as Record<string, Record<string, JsonObject>>;
  for (const type of RANDOM_TYPES) {
    for (const [name, body] of Object.entries(resources[type] ?? {})) {
      const standIn = `${type}_${name}`;
      standIns[standIn] = { input: sampleFor(body), ...(body.lifecycle ? { lifecycle: body.lifecycle } : {}) };
      text = text.split(`${type}.${name}.result`).join(`terraform_data.${standIn}.output`);
      notes.push(`${type}.${name} planned as terraform_data.${standIn} (hashicorp/random is not installable here)`);
    }
  }
  const out = JSON.parse(text) as JsonObject;
  const res = out.resource as Record<string, Record<string, JsonObject>>;
  for (const type of RANDOM_TYPES) delete res[type];
  res.terraform_data = { ...(res.terraform_data ?? {}), ...standIns };
  delete ((out.terraform as JsonObject).required_providers as JsonObject).random;
  delete (out.provider as JsonObject).random;
  return out;
}

/** The test of one stack. */
export function planTestFor(stack: LoadedStack, opts: PlanTestOptions): PlanTest {
  const notes: string[] = [];
  let json = JSON.parse(JSON.stringify(stack.json)) as JsonObject;
  const tf = (json.terraform ?? {}) as JsonObject;
  delete tf.backend;
  delete tf.cloud;
  const required = (tf.required_providers ?? {}) as Record<string, JsonObject>;
  const missing = Object.entries(required)
    .map(([k, v]) => providerAddress(k, v.source))
    .filter((p) => !opts.installable(p));
  const replaceable = new Set(["hashicorp/random"]);
  const unreplaceable = missing.filter((p) => !replaceable.has(p));
  if (unreplaceable.length > 0) {
    return {
      stack: stack.name,
      skip: `needs provider(s) Terraform cannot install here: ${unreplaceable.join(", ")}`,
      notes,
      asserts: 0,
    };
  }
  if (missing.includes("hashicorp/random")) json = standInRandom(json, notes);

  const values = resourceValues(stack, opts.schemas);

  // One mock_provider per AWS provider configuration; data sources other than the overridden reads get
  // well-formed ARNs by default.
  const dataTypes = Object.keys(stack.json.data ?? {}).filter((t) => t.startsWith("aws_"));
  const dataSchemas = opts.schemas.provider_schemas["registry.terraform.io/hashicorp/aws"]?.data_source_schemas ?? {};
  const account = String(
    (stack.json.provider?.aws?.[0]?.allowed_account_ids as unknown[] | undefined)?.[0] ?? ACCOUNT_FALLBACK,
  );
  const mockProviders: MockProvider[] = [];
  for (const p of stack.json.provider?.aws ?? []) {
    const region = literal(p.region) ?? "us-east-1";
    const mockData: Record<string, JsonObject> = {};
    for (const t of dataTypes) {
      const defaults: JsonObject = {};
      for (const attr of computedIdAttributes(dataSchemas[t]))
        defaults[attr] = mockArn(t, `data-${attr}`, region, account);
      if (t === "aws_route53_zone") defaults.zone_id = mockId(t, `${stack.name}/data.${t}`, "");
      if (Object.keys(defaults).length > 0) mockData[t] = defaults;
    }
    mockProviders.push({ alias: literal(p.alias), mockData });
  }

  const overrides: string[] = [];
  // Remote-state reads: exactly the producer's outputs.
  const remoteOutputs = new Map<string, { producer: LoadedStack; outputs: JsonObject }>();
  for (const [name, body] of Object.entries(stack.json.data?.terraform_remote_state ?? {})) {
    const producer = producerOf(stack, name, body, opts.stacks);
    const producerValues = resourceValues(producer, opts.schemas);
    const outputs: JsonObject = {};
    for (const [oname, o] of Object.entries(producer.json.output ?? {}))
      outputs[oname] = outputValue(producer, o.value, producerValues);
    remoteOutputs.set(name, { producer, outputs });
    overrides.push(
      `# ${name}: the outputs ${producer.name} declares`,
      "override_data {",
      `  target = data.terraform_remote_state.${name}`,
      `  values = ${hcl({ outputs }, "  ")}`,
      "}",
      "",
    );
  }

  // SSM parameter reads.
  const ssmValues = new Map<string, string>();
  for (const [name, body] of Object.entries(stack.json.data?.aws_ssm_parameter ?? {})) {
    const paramName = literal(body.name) ?? name;
    const value = ssmValue(paramName);
    ssmValues.set(name, value);
    const region = regionOf(stack, body) ?? "us-east-1";
    overrides.push(
      "override_data {",
      `  target = data.aws_ssm_parameter.${name}`,
      `  values = ${hcl({ value, insecure_value: value, type: "String", version: 1, arn: `arn:aws:ssm:${region}:${account}:parameter${paramName}` }, "  ")}`,
      "}",
      "",
    );
  }

  // Every resource: ids and ARNs shaped like AWS's, known during plan.
  for (const [key, v] of values) {
    overrides.push(
      "override_resource {",
      `  target          = ${key}`,
      "  override_during = plan",
      `  values          = ${hcl(v, "  ")}`,
      "}",
      "",
    );
  }

  const asserts = assertsFor(
    { name: stack.name, json: json as LoadedStack["json"] },
    remoteOutputs,
    ssmValues,
    opts.environment,
  );
  asserts.push(...cloudReadAsserts(stack, remoteOutputs));
  const runName = `plan_${shortStackName(stack.name).replace(/[^A-Za-z0-9_]/g, "_")}`;
  const parts: PlanTestParts = { runName, mockProviders, overrides, asserts };
  const testFile = [
    `# Plan-mode test of ${stack.name}, generated by scripts/tools/terraform/plan-tests.ts from its synthesized JSON.`,
    "# Regenerated on every run of scripts/dev/tf-test.sh; do not edit.",
    ...notes.map((n) => `# Stand-in: ${n}.`),
    "",
    ...mockProviderBlocks(mockProviders),
    ...overrides,
    ...runBlock(parts, []),
  ].join("\n");
  return { stack: stack.name, json, testFile, parts, notes, asserts: asserts.length };
}

interface MockProvider {
  alias?: string;
  /** Data source type -> default values. */
  mockData: Record<string, JsonObject>;
}

/** The pieces of one stack's test, to write alone or as a module run (moduleTestFile). */
export interface PlanTestParts {
  runName: string;
  mockProviders: MockProvider[];
  /** override_data / override_resource blocks, at file level. */
  overrides: string[];
  asserts: Assert[];
}

function mockProviderBlocks(providers: MockProvider[]): string[] {
  const lines: string[] = [];
  for (const p of providers) {
    lines.push(`mock_provider "aws" {`);
    if (p.alias) lines.push(`  alias = ${hcl(p.alias)}`);
    for (const [t, defaults] of Object.entries(p.mockData)) {
      lines.push(`  mock_data ${JSON.stringify(t)} {`, `    defaults = ${hcl(defaults, "    ")}`, "  }");
    }
    lines.push("}", "");
  }
  return lines;
}

/** A `run` block; `inner` (a module block and overrides) goes inside it, indented. */
function runBlock(parts: PlanTestParts, inner: string[]): string[] {
  const lines = [`run "${parts.runName}" {`, "  command = plan"];
  for (const l of inner) lines.push(l ? `  ${l}` : "");
  for (const a of parts.asserts) {
    lines.push("", "  assert {", `    condition     = ${a.condition}`, `    error_message = ${hcl(a.message)}`, "  }");
  }
  lines.push("}", "");
  return lines;
}

/**
 * The test of one stack as a file in a shared test root: its run plans the stack's copy as an alternate
 * `module`, with the overrides inside the run. Terraform loads the AWS provider's schema once per process
 * (about 2.5 s of CPU), so one `terraform test` over every stack's file costs a fraction of one process per
 * stack. One file per stack, not one run each in a single file: an error in a run skips the file's later runs.
 */
export function moduleTestFile(test: PlanTest, source: string): string {
  if (!test.parts) throw new PlanTestError(`${test.stack}: no test to write (${test.skip ?? "skipped"})`);
  return [
    `# Plan-mode test of ${test.stack}, generated by scripts/tools/terraform/plan-tests.ts from its synthesized JSON.`,
    "# Regenerated on every run of scripts/dev/tf-test.sh; do not edit.",
    ...test.notes.map((n) => `# Stand-in: ${n}.`),
    "",
    ...mockProviderBlocks(test.parts.mockProviders),
    ...runBlock(test.parts, ["module {", `  source = ${hcl(source)}`, "}", "", ...test.parts.overrides]),
  ].join("\n");
}
