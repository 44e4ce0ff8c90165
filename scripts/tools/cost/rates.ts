/**
 * The rate table: public on-demand AWS list prices in USD, without tax, for eu-west-1 (the primary region)
 * and us-east-1 / global for the services billed there (CloudFront, Route 53, ACM for CloudFront, WAF for
 * CloudFront, and the CloudWatch alarms on Route 53 health checks, which live in us-east-1).
 *
 * Every rate names its unit, its region and its source. `checked` says how the number was confirmed on
 * RATES_VERSION: "page" = read on a stored copy of the AWS pricing page or price-list offer named in
 * `source`; "list" = the AWS list price as published on that page, not re-read this time (re-check these
 * first when AWS announces a price change); "third-party" = the AWS page could not be read, and the number
 * agrees with a third-party transcription or price-list consumer named in `note`; "unverified" = the last
 * known AWS list price, read from no page for this table (the scaled topology's managed services): check
 * these against `source` before relying on them. Bump RATES_VERSION whenever a number here changes.
 */

export const RATES_VERSION = "2026-11-27";

export interface Rate {
  /** Price of one `unit`, in USD. */
  usd: number;
  unit: string;
  /** AWS region code, or "global" for services priced independently of a region. */
  region: string;
  /** AWS pricing page or price-list API offer the number comes from. */
  source: string;
  checked: "page" | "list" | "third-party" | "unverified";
  note?: string;
}

const EC2 = "https://aws.amazon.com/ec2/pricing/on-demand/ (offer AmazonEC2, EU (Ireland), Linux, Shared)";
const EBS = "https://aws.amazon.com/ebs/pricing/ (offer AmazonEC2, EU (Ireland), productFamily Storage)";
const VPC = "https://aws.amazon.com/vpc/pricing/ (Public IPv4 address tab, since 2024-02-01)";
const S3 = "https://aws.amazon.com/s3/pricing/ (offer AmazonS3, EU (Ireland))";
const CF = "https://aws.amazon.com/cloudfront/pricing/ (pay-as-you-go)";
const APIGW = "https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs, EU (Ireland))";
const CW = "https://aws.amazon.com/cloudwatch/pricing/ (offer AmazonCloudWatch, EU (Ireland))";
const CW_US = "https://aws.amazon.com/cloudwatch/pricing/ (offer AmazonCloudWatch, US East (N. Virginia))";
const R53 = "https://aws.amazon.com/route53/pricing/";
const SES = "https://aws.amazon.com/ses/pricing/";
const SNS = "https://aws.amazon.com/sns/pricing/";
const SSM = "https://aws.amazon.com/systems-manager/pricing/ (Parameter Store)";
const KMS = "https://aws.amazon.com/kms/pricing/";
const MAP = "https://aws.amazon.com/cloud-map/pricing/ (offer AWSCloudMap: Resource-Month, DIR-API-Calls)";
const WAF = "https://aws.amazon.com/waf/pricing/";
const DT = "https://aws.amazon.com/ec2/pricing/on-demand/ (Data Transfer OUT from Amazon EC2 to Internet)";
const RDS = "https://aws.amazon.com/rds/postgresql/pricing/ (EU (Ireland), PostgreSQL)";
const CACHE = "https://aws.amazon.com/elasticache/pricing/ (EU (Ireland), Valkey)";
const ELB = "https://aws.amazon.com/elasticloadbalancing/pricing/ (Application Load Balancer, EU (Ireland))";
const NAT = "https://aws.amazon.com/vpc/pricing/ (NAT Gateway, EU (Ireland))";
/** A rate read from no AWS page for this table (the scaled topology's managed services). */
const UNVERIFIED = "unverified" as const;

function r(usd: number, unit: string, region: string, source: string, checked: Rate["checked"], note?: string): Rate {
  return note === undefined ? { usd, unit, region, source, checked } : { usd, unit, region, source, checked, note };
}

/** Keyed `<region>:<item>`; pricers look a rate up with `rate(region, item)`. */
export const RATES: Readonly<Record<string, Rate>> = {
  // EC2 on-demand, Linux, shared tenancy, eu-west-1. Graviton only: the AMI is arm64.
  "eu-west-1:ec2.t4g.nano": r(0.0046, "instance-hour", "eu-west-1", EC2, "list"),
  "eu-west-1:ec2.t4g.micro": r(0.0092, "instance-hour", "eu-west-1", EC2, "list"),
  "eu-west-1:ec2.t4g.small": r(0.0184, "instance-hour", "eu-west-1", EC2, "list"),
  "eu-west-1:ec2.t4g.medium": r(0.0368, "instance-hour", "eu-west-1", EC2, "list"),
  "eu-west-1:ec2.t4g.large": r(0.0736, "instance-hour", "eu-west-1", EC2, "list"),
  "eu-west-1:ec2.m7g.medium": r(0.0448, "instance-hour", "eu-west-1", EC2, "list", "us-east-1 is $0.0408"),
  "eu-west-1:ec2.m7g.large": r(0.0896, "instance-hour", "eu-west-1", EC2, "list"),
  "eu-west-1:ec2.m7g.xlarge": r(0.1792, "instance-hour", "eu-west-1", EC2, "list"),
  "eu-west-1:ec2.m6g.medium": r(0.043, "instance-hour", "eu-west-1", EC2, "list"),
  "eu-west-1:ec2.m6g.large": r(0.086, "instance-hour", "eu-west-1", EC2, "list"),
  // Data transfer out of EC2 to the internet (first 10 TB tier); 100 GB/month is always free account-wide.
  "eu-west-1:ec2.data-transfer-out": r(0.09, "GB", "eu-west-1", DT, "list"),

  // EBS, eu-west-1.
  "eu-west-1:ebs.gp3.storage": r(0.088, "GB-month", "eu-west-1", EBS, "list", "us-east-1 is $0.08"),
  "eu-west-1:ebs.gp3.iops": r(0.0055, "IOPS-month above 3,000", "eu-west-1", EBS, "list"),
  "eu-west-1:ebs.gp3.throughput": r(0.044, "MiB/s-month above 125", "eu-west-1", EBS, "list"),
  "eu-west-1:ebs.gp2.storage": r(0.11, "GB-month", "eu-west-1", EBS, "list"),
  "eu-west-1:ebs.st1.storage": r(0.05, "GB-month", "eu-west-1", EBS, "list"),
  "eu-west-1:ebs.sc1.storage": r(0.0168, "GB-month", "eu-west-1", EBS, "list"),
  "eu-west-1:ebs.snapshot": r(0.05, "GB-month", "eu-west-1", EBS, "list"),

  // Public IPv4: every address, in use or idle, Elastic IP or auto-assigned, since 2024-02-01.
  "eu-west-1:vpc.public-ipv4": r(0.005, "IP-hour", "eu-west-1", VPC, "page", "$3.65 per address per 730-hour month"),
  "eu-west-1:vpc.interface-endpoint": r(
    0.011,
    "endpoint-AZ-hour",
    "eu-west-1",
    "https://aws.amazon.com/privatelink/pricing/",
    "list",
  ),
  "eu-west-1:vpc.nat-gateway": r(0.048, "gateway-hour", "eu-west-1", NAT, "list"),
  "eu-west-1:vpc.nat-gateway.data": r(0.048, "GB processed by a NAT gateway", "eu-west-1", NAT, UNVERIFIED),

  // RDS for PostgreSQL, eu-west-1, on-demand. A Multi-AZ instance (one standby) costs twice the Single-AZ
  // rate for instance hours and storage; the model doubles these rates when multi_az is set.
  "eu-west-1:rds.postgres.db.t4g.micro": r(0.018, "Single-AZ instance-hour", "eu-west-1", RDS, UNVERIFIED),
  "eu-west-1:rds.postgres.db.t4g.small": r(0.036, "Single-AZ instance-hour", "eu-west-1", RDS, UNVERIFIED),
  "eu-west-1:rds.postgres.db.t4g.medium": r(0.072, "Single-AZ instance-hour", "eu-west-1", RDS, UNVERIFIED),
  "eu-west-1:rds.postgres.db.t4g.large": r(0.144, "Single-AZ instance-hour", "eu-west-1", RDS, UNVERIFIED),
  "eu-west-1:rds.postgres.db.m7g.large": r(
    0.181,
    "Single-AZ instance-hour",
    "eu-west-1",
    RDS,
    UNVERIFIED,
    "us-east-1 is $0.168",
  ),
  "eu-west-1:rds.postgres.db.m7g.xlarge": r(0.362, "Single-AZ instance-hour", "eu-west-1", RDS, UNVERIFIED),
  "eu-west-1:rds.gp3.storage": r(
    0.127,
    "Single-AZ GB-month (gp3)",
    "eu-west-1",
    RDS,
    UNVERIFIED,
    "us-east-1 is $0.115",
  ),
  "eu-west-1:rds.gp3.iops": r(
    0.022,
    "Single-AZ IOPS-month above 3,000 (gp3, 400 GB and more)",
    "eu-west-1",
    RDS,
    UNVERIFIED,
  ),
  "eu-west-1:rds.backup-storage": r(
    0.095,
    "GB-month of backup storage beyond 100% of provisioned storage",
    "eu-west-1",
    RDS,
    UNVERIFIED,
  ),

  // ElastiCache for Valkey, eu-west-1. Serverless bills stored data per GB-hour (100 MB minimum for Valkey)
  // and ElastiCache Processing Units; node-based Valkey is priced per node-hour.
  "eu-west-1:elasticache.serverless.valkey.storage": r(
    0.0939,
    "GB-hour of data stored (Valkey, 0.1 GB minimum)",
    "eu-west-1",
    CACHE,
    UNVERIFIED,
    "us-east-1 is $0.084",
  ),
  "eu-west-1:elasticache.serverless.valkey.ecpu": r(
    0.0025 / 1e6,
    "ElastiCache Processing Unit (Valkey)",
    "eu-west-1",
    CACHE,
    UNVERIFIED,
    "$0.0025 per million; us-east-1 is $0.00227",
  ),
  "eu-west-1:elasticache.snapshot": r(0.085, "GB-month of backup (snapshot) storage", "eu-west-1", CACHE, UNVERIFIED),
  "eu-west-1:elasticache.valkey.cache.t4g.micro": r(
    0.0144,
    "node-hour (Valkey)",
    "eu-west-1",
    CACHE,
    UNVERIFIED,
    "Valkey nodes are 20% below Redis OSS",
  ),
  "eu-west-1:elasticache.valkey.cache.t4g.small": r(0.0288, "node-hour (Valkey)", "eu-west-1", CACHE, UNVERIFIED),
  "eu-west-1:elasticache.valkey.cache.t4g.medium": r(0.0576, "node-hour (Valkey)", "eu-west-1", CACHE, UNVERIFIED),
  "eu-west-1:elasticache.valkey.cache.m7g.large": r(0.1408, "node-hour (Valkey)", "eu-west-1", CACHE, UNVERIFIED),

  // Application Load Balancer, eu-west-1.
  "eu-west-1:elb.alb.hour": r(
    0.0252,
    "ALB-hour",
    "eu-west-1",
    ELB,
    UNVERIFIED,
    "us-east-1 is $0.0225 (third-party transcription of the page)",
  ),
  "eu-west-1:elb.alb.lcu": r(
    0.008,
    "LCU-hour",
    "eu-west-1",
    ELB,
    UNVERIFIED,
    "us-east-1 is $0.008 (third-party transcription of the page)",
  ),

  // S3 Standard, eu-west-1.
  "eu-west-1:s3.standard.storage": r(0.023, "GB-month (first 50 TB)", "eu-west-1", S3, "list"),
  "eu-west-1:s3.requests.tier1": r(
    0.005 / 1000,
    "PUT/COPY/POST/LIST request",
    "eu-west-1",
    S3,
    "list",
    "$0.005 per 1,000",
  ),
  "eu-west-1:s3.requests.tier2": r(0.0004 / 1000, "GET/SELECT request", "eu-west-1", S3, "list", "$0.0004 per 1,000"),

  // CloudFront, pay-as-you-go. Israel is billed in the "Europe, Israel, and Türkiye" group.
  "global:cloudfront.dto.us": r(0.085, "GB out (first 10 TB, United States, Mexico, Canada)", "global", CF, "page"),
  "global:cloudfront.dto.europe-israel": r(
    0.085,
    "GB out (first 10 TB, Europe, Israel, Türkiye)",
    "global",
    CF,
    "page",
  ),
  "global:cloudfront.https.us": r(
    0.01 / 10000,
    "HTTPS request (United States)",
    "global",
    CF,
    "list",
    "$0.0100 per 10,000",
  ),
  "global:cloudfront.https.europe-israel": r(
    0.012 / 10000,
    "HTTPS request (Europe, Israel)",
    "global",
    CF,
    "list",
    "$0.0120 per 10,000",
  ),
  "global:cloudfront.http.us": r(
    0.0075 / 10000,
    "HTTP request (United States)",
    "global",
    CF,
    "list",
    "$0.0075 per 10,000",
  ),
  "global:cloudfront.http.europe-israel": r(
    0.009 / 10000,
    "HTTP request (Europe, Israel)",
    "global",
    CF,
    "list",
    "$0.0090 per 10,000",
  ),
  "global:cloudfront.dto-origin": r(
    0.02,
    "GB from CloudFront to the origin (request bodies: POST, PUT, PATCH)",
    "global",
    CF,
    "list",
  ),
  "global:cloudfront.origin-shield.europe": r(
    0.009 / 10000,
    "request through Origin Shield in a European region",
    "global",
    CF,
    "list",
    "$0.0090 per 10,000",
  ),
  "global:cloudfront.origin-shield.us": r(
    0.0075 / 10000,
    "request through Origin Shield in a US region",
    "global",
    CF,
    "list",
    "$0.0075 per 10,000",
  ),
  "global:cloudfront.function": r(
    0.1 / 1e6,
    "CloudFront Functions invocation",
    "global",
    CF,
    "page",
    "$0.10 per million",
  ),
  "global:cloudfront.kvs-read": r(
    0.03 / 1e6,
    "CloudFront KeyValueStore read from a function",
    "global",
    CF,
    "page",
    "$0.03 per million",
  ),
  "global:cloudfront.invalidation-path": r(0.005, "path beyond 1,000 per month", "global", CF, "page"),

  // API Gateway HTTP APIs, eu-west-1 (first 300 million requests per month).
  "eu-west-1:apigw.http.request": r(
    1.11 / 1e6,
    "HTTP API request (512 KB metering)",
    "eu-west-1",
    APIGW,
    "list",
    "$1.11 per million; us-east-1 is $1.00",
  ),

  // CloudWatch, eu-west-1 (metrics, alarms, logs) and us-east-1 (alarms on Route 53 / CloudFront metrics).
  "eu-west-1:cloudwatch.metric": r(
    0.3,
    "custom or detailed-monitoring metric-month (first 10,000)",
    "eu-west-1",
    CW,
    "list",
  ),
  "eu-west-1:cloudwatch.api-request": r(
    0.01 / 1000,
    "PutMetricData and other API request",
    "eu-west-1",
    CW,
    "list",
    "$0.01 per 1,000",
  ),
  "eu-west-1:cloudwatch.alarm.standard": r(0.1, "standard-resolution alarm metric-month", "eu-west-1", CW, "list"),
  "eu-west-1:cloudwatch.alarm.high-resolution": r(0.3, "high-resolution alarm metric-month", "eu-west-1", CW, "list"),
  "eu-west-1:cloudwatch.alarm.composite": r(0.5, "composite alarm-month", "eu-west-1", CW, "list"),
  "eu-west-1:cloudwatch.dashboard": r(3, "dashboard-month", "eu-west-1", CW, "list"),
  "eu-west-1:logs.ingest.standard": r(
    0.57,
    "GB ingested (Standard class)",
    "eu-west-1",
    CW,
    "list",
    "us-east-1 is $0.50",
  ),
  "eu-west-1:logs.ingest.vended": r(
    0.57,
    "GB ingested, vended logs to CloudWatch Logs (first 10 TB)",
    "eu-west-1",
    CW,
    "list",
    "VPC flow logs are vended; API Gateway access logs and agent logs are Standard ingestion",
  ),
  "eu-west-1:logs.storage": r(0.03, "GB-month archived", "eu-west-1", CW, "list"),
  "us-east-1:logs.vended.s3": r(
    0.25,
    "GB of vended logs delivered to S3 (first 10 TB)",
    "us-east-1",
    CW_US,
    "list",
    "CloudFront standard logging v2 to S3",
  ),
  "eu-west-1:logs.vended.s3": r(0.25, "GB of vended logs delivered to S3 (first 10 TB)", "eu-west-1", CW, "list"),
  "us-east-1:cloudwatch.alarm.standard": r(0.1, "standard-resolution alarm metric-month", "us-east-1", CW_US, "list"),
  "us-east-1:cloudwatch.alarm.high-resolution": r(
    0.3,
    "high-resolution alarm metric-month",
    "us-east-1",
    CW_US,
    "list",
  ),
  "us-east-1:cloudwatch.metric": r(0.3, "custom metric-month", "us-east-1", CW_US, "list"),
  "us-east-1:logs.ingest.vended": r(
    0.5,
    "GB ingested, vended logs to CloudWatch Logs (first 10 TB)",
    "us-east-1",
    CW_US,
    "list",
    "CloudFront standard logging v2 to a log group",
  ),
  "us-east-1:logs.storage": r(0.03, "GB-month archived", "us-east-1", CW_US, "list"),

  // Route 53 (global service, billed in us-east-1).
  "global:route53.hosted-zone": r(0.5, "hosted zone-month (first 25)", "global", R53, "page"),
  "global:route53.query.standard": r(
    0.4 / 1e6,
    "standard query (alias queries to AWS resources are free)",
    "global",
    R53,
    "page",
    "$0.40 per million",
  ),
  "global:route53.health-check.aws": r(
    0.5,
    "health check-month, AWS endpoint (beyond the first 50)",
    "global",
    R53,
    "page",
  ),
  "global:route53.health-check.non-aws": r(0.75, "health check-month, non-AWS endpoint", "global", R53, "page"),
  "global:route53.health-check.feature.aws": r(
    1,
    "optional feature-month (HTTPS, string matching, fast interval, latency), AWS endpoint",
    "global",
    R53,
    "page",
  ),
  "global:route53.health-check.feature.non-aws": r(
    2,
    "optional feature-month (HTTPS, string matching, fast interval, latency), non-AWS endpoint",
    "global",
    R53,
    "page",
  ),

  // Messaging and secrets.
  "eu-west-1:ses.email": r(0.1 / 1000, "outbound email", "eu-west-1", SES, "list", "$0.10 per 1,000"),
  "eu-west-1:sns.publish": r(0.5 / 1e6, "publish (64 KB chunk)", "eu-west-1", SNS, "list", "first 1 million free"),
  "eu-west-1:sns.email": r(
    2 / 100000,
    "email notification",
    "eu-west-1",
    SNS,
    "list",
    "$2.00 per 100,000; first 1,000 free",
  ),
  "us-east-1:sns.publish": r(0.5 / 1e6, "publish (64 KB chunk)", "us-east-1", SNS, "list"),
  "us-east-1:sns.email": r(2 / 100000, "email notification", "us-east-1", SNS, "list"),
  "eu-west-1:ssm.parameter.advanced": r(
    0.05,
    "advanced parameter-month",
    "eu-west-1",
    SSM,
    "list",
    "standard parameters are free",
  ),
  "eu-west-1:kms.key": r(1, "customer managed key-month", "eu-west-1", KMS, "list"),
  "eu-west-1:secretsmanager.secret": r(
    0.4,
    "secret-month",
    "eu-west-1",
    "https://aws.amazon.com/secrets-manager/pricing/",
    "list",
    "API calls $0.05 per 10,000 (not modelled)",
  ),

  // Cloud Map (service discovery behind the API Gateway VPC link).
  "eu-west-1:cloudmap.resource": r(0.1, "registered resource-month", "eu-west-1", MAP, "page"),
  "eu-west-1:cloudmap.discover-api": r(
    1 / 1e6,
    "DiscoverInstances API call",
    "eu-west-1",
    MAP,
    "page",
    "$1.00 per million",
  ),

  // WAF for CloudFront (us-east-1). Not used today; priced so that adding one shows up.
  "us-east-1:waf.web-acl": r(5, "web ACL-month", "us-east-1", WAF, "list"),
  "us-east-1:waf.rule": r(1, "rule-month", "us-east-1", WAF, "list"),
  "us-east-1:waf.request": r(0.6 / 1e6, "request inspected", "us-east-1", WAF, "list"),
};

/**
 * Always-free allowances that stay after the 12-month free tier ends. Each pool is shared account-wide by
 * the rate keys it names; `npm run cost` reports them as credits and applies them only when the assumptions
 * say the account actually has them (an AWS Organization shares one allowance across all its accounts).
 */
export interface FreeTierPool {
  id: string;
  description: string;
  /** In the unit of the rates it covers. */
  quantity: number;
  rateKeys: string[];
  source: string;
  /**
   * Part of the service's price, not of the AWS Free Tier: applied whatever `alwaysFreeTier` says (Route 53
   * bills an account's first 50 AWS-endpoint health checks at $0).
   */
  standing?: true;
  /** How the allowance was confirmed, when not on the AWS page in `source`. */
  note?: string;
}

export const ALWAYS_FREE: readonly FreeTierPool[] = [
  {
    id: "cloudfront-dto",
    description: "CloudFront: 1 TB data transfer out",
    quantity: 1000,
    rateKeys: ["global:cloudfront.dto.us", "global:cloudfront.dto.europe-israel"],
    source: CF,
  },
  {
    id: "route53-aws-health-checks",
    description: "Route 53: 50 health checks of AWS endpoints",
    quantity: 50,
    rateKeys: ["global:route53.health-check.aws"],
    source: R53,
    standing: true,
    note: 'third-party: the AWS page could not be read; a transcription of it (api-evangelist/amazon-route53-resolver, read 2026-09-20) says "up to 50 health checks for AWS endpoints free", and infracost prices AWS-endpoint checks from the price list\'s tier that starts at 50',
  },
  {
    id: "cloudfront-requests",
    description: "CloudFront: 10 million HTTP(S) requests",
    quantity: 10e6,
    rateKeys: [
      "global:cloudfront.https.us",
      "global:cloudfront.https.europe-israel",
      "global:cloudfront.http.us",
      "global:cloudfront.http.europe-israel",
    ],
    source: CF,
  },
  {
    id: "cloudfront-functions",
    description: "CloudFront: 2 million function invocations",
    quantity: 2e6,
    rateKeys: ["global:cloudfront.function"],
    source: CF,
  },
  {
    id: "cloudwatch-metrics",
    description: "CloudWatch: 10 custom/detailed metrics",
    quantity: 10,
    rateKeys: ["eu-west-1:cloudwatch.metric", "us-east-1:cloudwatch.metric"],
    source: CW,
  },
  {
    id: "cloudwatch-alarms",
    description: "CloudWatch: 10 standard-resolution alarm metrics",
    quantity: 10,
    rateKeys: ["eu-west-1:cloudwatch.alarm.standard", "us-east-1:cloudwatch.alarm.standard"],
    source: CW,
  },
  {
    id: "cloudwatch-api",
    description: "CloudWatch: 1 million API requests",
    quantity: 1e6,
    rateKeys: ["eu-west-1:cloudwatch.api-request"],
    source: CW,
  },
  {
    id: "cloudwatch-logs",
    description: "CloudWatch Logs: 5 GB ingestion + storage",
    quantity: 5,
    rateKeys: ["eu-west-1:logs.ingest.standard", "eu-west-1:logs.ingest.vended", "eu-west-1:logs.storage"],
    source: CW,
  },
  {
    id: "cloudwatch-dashboards",
    description: "CloudWatch: 3 dashboards",
    quantity: 3,
    rateKeys: ["eu-west-1:cloudwatch.dashboard"],
    source: CW,
  },
  {
    id: "sns",
    description: "SNS: 1 million publishes",
    quantity: 1e6,
    rateKeys: ["eu-west-1:sns.publish", "us-east-1:sns.publish"],
    source: SNS,
  },
  {
    id: "sns-email",
    description: "SNS: 1,000 email notifications",
    quantity: 1000,
    rateKeys: ["eu-west-1:sns.email", "us-east-1:sns.email"],
    source: SNS,
  },
  {
    id: "ec2-dto",
    description: "Data transfer out to the internet: 100 GB",
    quantity: 100,
    rateKeys: ["eu-west-1:ec2.data-transfer-out"],
    source: DT,
  },
];

/**
 * Savings Plans for the EC2 instance hours (the box, the fleet). AWS publishes a rate per instance type,
 * region, term and payment option on the Savings Plans pricing page, and states the ceilings: up to 72% off
 * on-demand for EC2 Instance Savings Plans and up to 66% for Compute Savings Plans. The per-type pages could
 * not be read for this table, so each option carries a discount RANGE for Graviton general-purpose and
 * burstable instances in eu-west-1; estimates use the midpoint and reports show both ends. Replace a range
 * with the exact rate (`low === high`) once read from the page or from the Cost Explorer recommendation.
 *
 * A Savings Plan does not cover RDS or ElastiCache (reserved instances / reserved nodes would, not modelled).
 */
export type CommitmentPlan = "on-demand" | "ec2-instance-savings-plan" | "compute-savings-plan";
export type CommitmentTerm = "1yr" | "3yr";
export type CommitmentUpfront = "none" | "partial" | "all";

export interface CommitmentDiscount {
  /** Fraction off the on-demand rate, lower and upper end of the range. */
  low: number;
  high: number;
}

export const SAVINGS_PLANS_SOURCE = "https://aws.amazon.com/savingsplans/compute-pricing/";

export const COMMITMENT_DISCOUNTS: Readonly<
  Record<Exclude<CommitmentPlan, "on-demand">, Record<CommitmentTerm, Record<CommitmentUpfront, CommitmentDiscount>>>
> = {
  // Locked to one instance family in one region (m7g for the box, t4g for the fleet are different families).
  "ec2-instance-savings-plan": {
    "1yr": { none: { low: 0.34, high: 0.4 }, partial: { low: 0.37, high: 0.42 }, all: { low: 0.39, high: 0.44 } },
    "3yr": { none: { low: 0.52, high: 0.58 }, partial: { low: 0.56, high: 0.62 }, all: { low: 0.58, high: 0.64 } },
  },
  // Any family, size, region and OS; also Fargate and Lambda.
  "compute-savings-plan": {
    "1yr": { none: { low: 0.24, high: 0.3 }, partial: { low: 0.27, high: 0.33 }, all: { low: 0.29, high: 0.35 } },
    "3yr": { none: { low: 0.45, high: 0.52 }, partial: { low: 0.48, high: 0.55 }, all: { low: 0.5, high: 0.57 } },
  },
};
