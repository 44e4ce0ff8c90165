/**
 * Reads IAM/bucket policy documents out of synthesized Terraform JSON, whichever way they were written:
 * - a plain JSON string (possibly with `${...}` interpolations inside string values), or
 * - a `${jsonencode({...})}` expression, as `Fn.jsonencode` emits it. Its HCL object syntax is converted
 *   back to JSON; bare references (e.g. `aws_s3_bucket.x.arn`) become strings `"${aws_s3_bucket.x.arn}"`.
 */
import type { PolicyDocument } from "../../../constructs/builders/iam/policy-types";

function hclObjectToJson(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '"') {
      // A string literal; may contain ${...} with nested quotes (e.g. index expressions).
      let j = i + 1;
      let depth = 0;
      while (j < src.length) {
        if (src[j] === "\\") {
          j += 2;
          continue;
        }
        if (src[j] === "$" && src[j + 1] === "{") {
          depth++;
          j += 2;
          continue;
        }
        if (depth > 0 && src[j] === "}") depth--;
        else if (depth === 0 && src[j] === '"') break;
        j++;
      }
      const body = src.slice(i + 1, j);
      out += JSON.stringify(body.replace(/\\"/g, '"').replace(/\\\\/g, "\\"));
      i = j + 1;
    } else if (c === "=") {
      out += ":";
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      let bracket = 0;
      while (
        j < src.length &&
        (/[\w.\-*]/.test(src[j]) || src[j] === "[" || (bracket > 0 && src[j] !== "]") || src[j] === "]")
      ) {
        if (src[j] === "[") bracket++;
        if (src[j] === "]") {
          if (bracket === 0) break;
          bracket--;
        }
        j++;
      }
      const word = src.slice(i, j);
      if (word === "true" || word === "false" || word === "null") out += word;
      else out += JSON.stringify("${" + word + "}");
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Parses a synthesized `policy` / `assume_role_policy` attribute into a policy document. */
export function parsePolicy(value: unknown): PolicyDocument {
  if (typeof value !== "string") throw new Error(`policy is not a string: ${JSON.stringify(value)}`);
  const m = /^\$\{jsonencode\(([\s\S]*)\)\}$/.exec(value.trim());
  const json = m ? hclObjectToJson(m[1]) : value;
  try {
    return JSON.parse(json) as PolicyDocument;
  } catch (e) {
    throw new Error(`cannot parse policy ${value.slice(0, 200)}...: ${(e as Error).message}`);
  }
}
