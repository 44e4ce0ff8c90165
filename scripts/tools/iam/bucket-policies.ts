/**
 * Bucket policies in the simulation. For a request on a bucket of the same account, IAM evaluates the
 * bucket policy together with the caller's identity policies: an Allow in either suffices, an explicit Deny
 * in either denies ("Policy evaluation logic", same-account requests). The policies come from the
 * synthesized stacks (`aws_s3_bucket_policy`) and from `backend.tf.json` (the state bucket); references
 * inside them are filled: the bucket's own ARN, and the S3 gateway endpoint id (a placeholder, the same
 * one the instance role's requests carry as `aws:SourceVpce`).
 */
import { readFileSync } from "fs";
import { join } from "path";
import { parsePolicy } from "./parse-policy";
import type { PolicyDocument } from "../../../constructs/builders/iam/policy-types";
import { resolve } from "../../../constructs/builders/iam/resources";
import { SimRequest } from "./simulate";
import { TfDocument } from "../../../constructs/builders/iam/tf-document";

/** The S3 gateway endpoint of the VPC (network stack), known only after apply. */
export const S3_ENDPOINT_ID = "vpce-0123456789abcdef0";

export const BACKEND_FILE = join(__dirname, "..", "..", "..", "backend.tf.json");

/** Replaces every `${...}` reference inside a parsed policy: bucket ARNs and names, the S3 endpoint id. */
function fill(doc: PolicyDocument, stack: TfDocument, where: string): PolicyDocument {
  const text = JSON.stringify(doc).replace(/\$\{([^}]+)\}/g, (ref: string, inner: string) => {
    const bucket = /^aws_s3_bucket\.([\w-]+)\.(arn|id|bucket)$/.exec(inner);
    if (bucket) {
      const name = resolve(stack, `\${aws_s3_bucket.${bucket[1]}.id}`);
      if (!name) throw new Error(`${where}: bucket ${bucket[1]} has no literal name`);
      return bucket[2] === "arn" ? `arn:aws:s3:::${name}` : name;
    }
    if (/endpoint/i.test(inner) && /s3/i.test(inner)) return S3_ENDPOINT_ID;
    // Service-principal statements (CloudFront's distribution ARN, ...) keep the reference: no role matches them.
    return ref;
  });
  return JSON.parse(text) as PolicyDocument;
}

/** Bucket name -> its bucket policy, across the stacks and `backend.tf.json`. */
export function bucketPolicies(
  stacks: Record<string, TfDocument>,
  backend: TfDocument = JSON.parse(readFileSync(BACKEND_FILE, "utf8")),
): Record<string, PolicyDocument> {
  const out: Record<string, PolicyDocument> = {};
  for (const [name, stack] of [...Object.entries(stacks), ["backend.tf.json", backend] as [string, TfDocument]]) {
    for (const [id, body] of Object.entries(stack.resource?.aws_s3_bucket_policy ?? {})) {
      const where = `${name}/aws_s3_bucket_policy.${id}`;
      const bucket = resolve(stack, body.bucket);
      if (!bucket) throw new Error(`${where}: bucket ${String(body.bucket)} is not known before apply`);
      out[bucket] = fill(parsePolicy(body.policy), stack, where);
    }
  }
  return out;
}

/** The request context every S3 call over the AWS CLI, restic or Terraform carries: HTTPS with TLS 1.2+. */
export const HTTPS_CONTEXT = { "aws:SecureTransport": "true", "s3:TlsVersion": "1.3" };

/**
 * Attaches the target bucket's policy to every S3 request on a bucket that has one, and adds `context`
 * (HTTPS by default; the caller's `aws:SourceVpce` where it goes through the endpoint).
 */
export function withBucketPolicies(
  requests: SimRequest[],
  policies: Record<string, PolicyDocument>,
  context: Record<string, string> = HTTPS_CONTEXT,
): SimRequest[] {
  return requests.map((r) => {
    const m = /^arn:aws:s3:::([^/]+)/.exec(r.resource);
    if (!r.action.toLowerCase().startsWith("s3:") || !m || !policies[m[1]]) return r;
    return { ...r, context: { ...r.context, ...context }, resourcePolicy: policies[m[1]] };
  });
}
