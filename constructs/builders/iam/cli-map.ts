/**
 * Maps AWS CLI invocations, as the AWS CLI test double records them (argv without `aws`), to the IAM requests
 * they make, per the service authorization reference:
 * - `s3 cp s3://B/K -` reads: s3:GetObject on the object, and s3:ListBucket on the bucket (without it a
 *   missing key answers 403, not the 404 the scripts test for); `s3 cp X s3://B/K` writes: s3:PutObject.
 * - `s3 sync DIR s3://B[/P]` lists (s3:ListBucket) and puts every file of DIR; with `--delete` it deletes.
 * - `ssm send-command` is authorized against the document and every targeted instance, whose tags SSM passes
 *   as ssm:resourceTag/<key>.
 * - `sesv2 send-email` is ses:SendEmail on the sender's and (SES sandbox) the recipient's identities.
 * - `cloudwatch put-metric-data` is authorized against "*" with cloudwatch:namespace (the --namespace value).
 * - `cloudfront-keyvaluestore <command>` is cloudfront-keyvaluestore:<Command> on the store named by --kvs-arn.
 * - `autoscaling describe-instance-refreshes` (wait-instance-refresh.sh, deploy role) is on `*`.
 * - `cloudwatch get-dashboard` names the dashboard; `get-metric-data`, `put-metric-data` (namespace condition) and
 *   Cost Explorer's `get-cost-and-usage` and `get-cost-forecast` have no resource type.
 * A command without a mapping throws, naming it: a new CLI call must be mapped before it is simulated.
 */
import { readdirSync, statSync } from "fs";
import { join, relative } from "path";
import { EnvironmentConfig } from "../../config/environments";
import { PLACEHOLDERS } from "./arns";
import { SimRequest, baseContext } from "./requests";

const s3Object = (url: string) => `arn:aws:s3:::${url.replace(/^s3:\/\//, "")}`;
const s3Bucket = (url: string) => `arn:aws:s3:::${url.replace(/^s3:\/\//, "").split("/")[0]}`;
const opt = (argv: string[], name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
/** Positional arguments after `service command`, options and their values skipped. */
function positional(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 2; i < argv.length; i++) {
    if (argv[i].startsWith("--")) {
      if (i + 1 < argv.length && !argv[i + 1].startsWith("--") && !FLAGS.has(argv[i])) i++;
      continue;
    }
    out.push(argv[i]);
  }
  return out;
}
/** Options that take no value. */
const FLAGS = new Set([
  "--delete",
  "--no-progress",
  "--only-show-errors",
  "--quiet",
  "--dryrun",
  "--exact-timestamps",
  "--size-only",
]);

/** Every file under `dir`, as paths relative to `base`. */
function filesUnder(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, base));
    else out.push(relative(base, p));
  }
  return out;
}

/** The IAM requests of one recorded call. */
export function cliRequests(argv: string[], env: EnvironmentConfig): SimRequest[] {
  // Global options may precede the service (`--region R`).
  while (argv[0]?.startsWith("--")) argv = argv.slice(2);
  const [service, command] = argv;
  const why = `aws ${argv.slice(0, 2).join(" ")}`;
  const req = (
    action: string,
    resource: string,
    context: Record<string, string | string[]> = {},
    awsOwned = false,
  ): SimRequest => ({
    action,
    resource,
    context: { ...baseContext(action.split(":")[0], env.region, {}), ...context },
    why,
    awsOwned,
  });
  const key = `${service} ${command}`;
  switch (key) {
    case "s3 cp": {
      const [src, dst] = positional(argv);
      const out: SimRequest[] = [];
      if (src.startsWith("s3://")) out.push(req("s3:GetObject", s3Object(src)), req("s3:ListBucket", s3Bucket(src)));
      if (dst.startsWith("s3://")) out.push(req("s3:PutObject", s3Object(dst)));
      return out;
    }
    case "s3 sync": {
      const [src, dst] = positional(argv);
      const prefix = dst.replace(/^s3:\/\//, "").replace(/\/$/, "");
      const files = filesUnder(src);
      const out = [
        req("s3:ListBucket", s3Bucket(dst)),
        ...files.map((f) => req("s3:PutObject", `arn:aws:s3:::${prefix}/${f}`)),
      ];
      if (argv.includes("--delete"))
        out.push(...files.map((f) => req("s3:DeleteObject", `arn:aws:s3:::${prefix}/${f}`)));
      return out;
    }
    case "ssm send-command": {
      const doc = opt(argv, "--document-name") ?? "";
      const tags: Record<string, string> = {};
      const targets = argv.slice(argv.indexOf("--targets") + 1).filter((a) => a.startsWith("Key=tag:"));
      for (const t of targets) {
        const m = /^Key=tag:([^,]+),Values=(.*)$/.exec(t);
        if (m) tags[`ssm:resourceTag/${m[1]}`] = m[2];
      }
      const owned = doc.startsWith("AWS-");
      const docArn = `arn:aws:ssm:${env.region}:${owned ? "" : env.accountId}:document/${doc}`;
      return [
        req("ssm:SendCommand", docArn, {}, owned),
        req("ssm:SendCommand", `arn:aws:ec2:${env.region}:${env.accountId}:instance/${PLACEHOLDERS.InstanceId}`, tags),
      ];
    }
    case "sesv2 send-email": {
      // Authorized against the sender's identity (its domain, the verified one here) and, in the SES sandbox,
      // the recipient's identity: the address or its domain.
      const from = opt(argv, "--from-email-address") ?? "";
      const to = (opt(argv, "--destination") ?? "")
        .replace(/^ToAddresses=/, "")
        .split(",")
        .filter(Boolean);
      const identity = (name: string) => `arn:aws:ses:${env.region}:${env.accountId}:identity/${name}`;
      const domain = (a: string) => a.slice(a.indexOf("@") + 1);
      const ctx = { "ses:FromAddress": from, "ses:Recipients": to, "ses:ApiVersion": "2" };
      const names = [domain(from), ...to.flatMap((r) => [r, domain(r)])];
      return [...new Set(names)].map((n) => req("ses:SendEmail", identity(n), ctx));
    }
    // A parameter's ARN is its name after `parameter` (the name's leading slash included).
    case "ssm get-parameter":
      return [req("ssm:GetParameter", `arn:aws:ssm:${env.region}:${env.accountId}:parameter${opt(argv, "--name")}`)];
    case "ssm put-parameter":
      return [req("ssm:PutParameter", `arn:aws:ssm:${env.region}:${env.accountId}:parameter${opt(argv, "--name")}`)];
    // wait-instance-refresh.sh. DescribeInstanceRefreshes supports no resource-level permissions (service
    // authorization reference, Amazon EC2 Auto Scaling): `*`.
    case "autoscaling describe-instance-refreshes":
      return [req("autoscaling:DescribeInstanceRefreshes", "*")];
    case "ssm list-command-invocations":
      return [req("ssm:ListCommandInvocations", "*")];
    // No resource type: scoped by the namespace (service authorization reference, Amazon CloudWatch).
    case "cloudwatch put-metric-data":
      return [req("cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": opt(argv, "--namespace") ?? "" })];
    case "cloudfront list-distributions":
      return [req("cloudfront:ListDistributions", "*")];
    case "cloudfront create-invalidation":
      return [
        req(
          "cloudfront:CreateInvalidation",
          `arn:aws:cloudfront::${env.accountId}:distribution/${opt(argv, "--distribution-id")}`,
        ),
      ];
    // Found by name: the store's id is generated, so the request names a store of this account.
    case "cloudfront describe-key-value-store":
      return [
        req(
          "cloudfront:DescribeKeyValueStore",
          `arn:aws:cloudfront::${env.accountId}:key-value-store/${PLACEHOLDERS.KeyValueStoreId}`,
        ),
      ];
    case "cloudfront-keyvaluestore describe-key-value-store":
      return [req("cloudfront-keyvaluestore:DescribeKeyValueStore", opt(argv, "--kvs-arn") ?? "")];
    case "cloudfront-keyvaluestore list-keys":
      return [req("cloudfront-keyvaluestore:ListKeys", opt(argv, "--kvs-arn") ?? "")];
    case "cloudfront-keyvaluestore update-keys":
      return [req("cloudfront-keyvaluestore:UpdateKeys", opt(argv, "--kvs-arn") ?? "")];
    // npm run slo (scripts/tools/slo): CloudWatch reads and Cost Explorer. GetMetricData and Cost Explorer's
    // reads have no resource type; a dashboard is arn:aws:cloudwatch::<account>:dashboard/<name>.
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
    case "cloudwatch get-dashboard":
      return [
        req(
          "cloudwatch:GetDashboard",
          `arn:aws:cloudwatch::${env.accountId}:dashboard/${opt(argv, "--dashboard-name")}`,
        ),
      ];
    case "cloudwatch get-metric-data":
      return [req("cloudwatch:GetMetricData", "*")];
    case "ce get-cost-and-usage":
      return [req("ce:GetCostAndUsage", "*")];
    case "ce get-cost-forecast":
      return [req("ce:GetCostForecast", "*")];
    default:
      throw new Error(`no IAM mapping for \`aws ${key}\`: add it to constructs/builders/iam/cli-map.ts`);
  }
}

/** One S3 REST request as an S3-compatible server records it (path-style: /bucket[/key]). */
export interface S3RestRequest {
  method: string;
  path: string;
  query: string;
}

/**
 * The IAM request of one S3 REST call, against `bucket` (the recorded bucket name is replaced, so calls made
 * to a test server are simulated against the real bucket). Per the service authorization reference: HEAD and
 * GET of an object are s3:GetObject, a bucket listing (and HEAD of the bucket) s3:ListBucket, `?location`
 * s3:GetBucketLocation, PUT and multipart parts s3:PutObject, DELETE s3:DeleteObject.
 */
export function s3RestRequest(r: S3RestRequest, bucket: string, env: EnvironmentConfig, why: string): SimRequest {
  const [, , ...keyParts] = r.path.split("/");
  const key = decodeURIComponent(keyParts.join("/"));
  const q = new URLSearchParams(r.query);
  const object = `arn:aws:s3:::${bucket}/${key}`;
  let action: string | undefined;
  let resource = object;
  if (!key) {
    resource = `arn:aws:s3:::${bucket}`;
    if (r.method === "GET" && q.has("location")) action = "s3:GetBucketLocation";
    else if (r.method === "GET" || r.method === "HEAD") action = "s3:ListBucket";
    else if (r.method === "POST" && q.has("delete"))
      [action, resource] = ["s3:DeleteObject", `arn:aws:s3:::${bucket}/${PLACEHOLDERS.ObjectName}`];
  } else if (r.method === "GET" || r.method === "HEAD") action = "s3:GetObject";
  else if (r.method === "PUT" || (r.method === "POST" && (q.has("uploads") || q.has("uploadId"))))
    action = "s3:PutObject";
  else if (r.method === "DELETE") action = q.has("uploadId") ? "s3:AbortMultipartUpload" : "s3:DeleteObject";
  if (!action)
    throw new Error(
      `no IAM mapping for S3 ${r.method} ${r.path}?${r.query}: add it to constructs/builders/iam/cli-map.ts`,
    );
  return { action, resource, context: baseContext("s3", env.region, {}), why };
}
