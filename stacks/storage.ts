import { Construct } from "constructs";
import { HardenedBucket } from "../constructs/hardened-bucket";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { bucketName } from "./naming";
import { NetworkStack } from "./network";

export interface StorageStackProps extends ZmanimStackProps {
  readonly network: NetworkStack;
}

/**
 * The buckets: backups (restic repository), releases (API binaries + latest.txt), static (the Next.js
 * export, CloudFront-only) and logs (server access logs of the others, CloudFront logs).
 */
export class StorageStack extends ZmanimStack {
  readonly backups: HardenedBucket;
  readonly releases: HardenedBucket;
  readonly static: HardenedBucket;
  readonly logs: HardenedBucket;

  constructor(scope: Construct, props: StorageStackProps) {
    super(scope, "storage", props);
    const env = props.env;

    this.logs = new HardenedBucket(this, "logs", {
      bucketName: bucketName(env, "logs"),
      versioned: false,
      expireCurrentObjectsAfterDays: 90,
    });
    const accessLogs = { targetBucket: this.logs.name };

    this.backups = new HardenedBucket(this, "backups", {
      bucketName: bucketName(env, "backups"),
      noncurrentVersionDays: env.noncurrentVersionDays,
      accessLogs,
    });

    this.releases = new HardenedBucket(this, "releases", {
      bucketName: bucketName(env, "releases"),
      noncurrentVersionDays: env.noncurrentVersionDays,
      accessLogs,
    });

    this.static = new HardenedBucket(this, "static", {
      bucketName: bucketName(env, "static"),
      noncurrentVersionDays: env.noncurrentVersionDays,
      accessLogs,
    });
  }
}
