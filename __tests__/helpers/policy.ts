/**
 * Policy documents of synthesized Terraform JSON in tests: the parser (JSON strings and `${jsonencode(...)}`
 * expressions) lives in scripts/tools/iam/parse-policy.ts, which the IAM simulation uses too.
 */

import type { Statement } from "../../constructs/builders/iam/policy-types";
import { parsePolicy } from "../../scripts/tools/iam/parse-policy";
export type { PolicyDocument, Statement } from "../../constructs/builders/iam/policy-types";
export { parsePolicy } from "../../scripts/tools/iam/parse-policy";

export function statements(value: unknown): Statement[] {
  const doc = parsePolicy(value);
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

export const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];
