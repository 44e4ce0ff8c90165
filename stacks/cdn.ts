import { Construct } from "constructs";
import { Fn } from "cdktf/lib/terraform-functions";
import { TerraformOutput } from "cdktf/lib/terraform-output";
import { CloudfrontCachePolicy } from "@cdktf/provider-aws/lib/cloudfront-cache-policy";
import { CloudfrontDistribution } from "@cdktf/provider-aws/lib/cloudfront-distribution";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { Wafv2WebAcl } from "@cdktf/provider-aws/lib/wafv2-web-acl";
import { EdgeHealthCheck } from "../constructs/edge-health-check";
import { SiteCertificate } from "../constructs/site-certificate";
import { SiteDistribution } from "../constructs/site-distribution";
import { assertUniqueSids, hardenedBucketBaseStatements, PolicyStatement } from "../constructs/hardened-bucket";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { addAlarmTopic } from "../constructs/alarm-topic";
import { ApiStack } from "./api";
import { DnsStack } from "./dns";
import { EnvironmentConfig } from "../constructs/config/environments";
import {
  apiHostName,
  bucketArn,
  bucketName,
  edgeHostNames,
  resourcePrefix,
  webAclName,
  sitePathsStoreName,
} from "../constructs/config/naming";

import { CLOUDFRONT_LOG_PREFIX, ciWriterStatements, StorageStack } from "./storage";

export { HEALTH_CHECK_REGIONS } from "../constructs/edge-health-check";
export {
  HASHED_ASSETS_PATH,
  HEALTH_VIEWER_PROTOCOL_POLICY,
  MANAGED_CACHE_POLICY,
  NOT_FOUND_STATUS_PATH,
  ONE_YEAR,
  ORIGIN,
  PRICE_CLASS,
  SPA_ROUTER_PATH,
} from "../constructs/site-distribution";

export interface CdnStackProps extends ZmanimStackProps {
  readonly storage: StorageStack;
  readonly api: ApiStack;
  readonly dns: DnsStack;
}

/**
 * The minimal web ACL (`env.waf`): AWS managed common rules (OWASP-style request checks) on everything, and a
 * per-IP rate limit on `/api/*`. CloudFront web ACLs live in us-east-1 with scope CLOUDFRONT.
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html
 */
function webAcl(
  scope: Construct,
  env: EnvironmentConfig,
  provider: ReturnType<ZmanimStack["regionalProvider"]>,
  limit: number,
): Wafv2WebAcl {
  const visibility = (metricName: string) => ({
    cloudwatchMetricsEnabled: true,
    metricName,
    sampledRequestsEnabled: true,
  });
  const prefix = webAclName(env);
  return new Wafv2WebAcl(scope, "web-acl", {
    provider,
    name: prefix,
    description: "AWS managed common rules; per-IP rate limit on /api/*",
    scope: "CLOUDFRONT",
    defaultAction: { allow: {} },
    visibilityConfig: visibility(prefix),
    rule: [
      {
        name: "aws-common",
        priority: 0,
        overrideAction: { none: {} },
        statement: { managed_rule_group_statement: { vendor_name: "AWS", name: "AWSManagedRulesCommonRuleSet" } },
        visibilityConfig: visibility(`${prefix}-common`),
      },
      {
        name: "api-rate-limit",
        priority: 1,
        action: { block: {} },
        statement: {
          rate_based_statement: {
            limit,
            aggregate_key_type: "IP",
            scope_down_statement: {
              byte_match_statement: {
                search_string: "/api/",
                positional_constraint: "STARTS_WITH",
                field_to_match: { uri_path: {} },
                text_transformation: [{ priority: 0, type: "NONE" }],
              },
            },
          },
        },
        visibilityConfig: visibility(`${prefix}-api-rate`),
      },
    ],
  });
}

/** The names on the distribution's certificate (and its aliases): the site name first, then api.<site>. */
export function certificateNames(env: EnvironmentConfig): string[] {
  return edgeHostNames(env);
}

/**
 * The static bucket's policy: TLS only (as every hardened bucket), read by this distribution alone through
 * OAC, published by the CI deploy and release roles.
 */
export function staticBucketPolicyStatements(env: EnvironmentConfig, distributionArn: string): PolicyStatement[] {
  const arn = bucketArn(env, "static");
  const statements: PolicyStatement[] = [
    ...hardenedBucketBaseStatements(arn),
    {
      Sid: "CloudFrontOacRead",
      Effect: "Allow",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: "s3:GetObject",
      Resource: `${arn}/*`,
      Condition: { StringEquals: { "AWS:SourceArn": distributionArn } },
    },
    {
      // With ListBucket, S3 answers a missing key 404 instead of 403 (e.g. a stale /_next/static/ asset,
      // which no function sees). CloudFront only ever asks for a key, never for a listing.
      Sid: "CloudFrontOacMissingIs404",
      Effect: "Allow",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: "s3:ListBucket",
      Resource: arn,
      Condition: { StringEquals: { "AWS:SourceArn": distributionArn } },
    },
    ...ciWriterStatements(env, arn),
  ];
  assertUniqueSids("static bucket policy", statements);
  return statements;
}

/**
 * The edge: one CloudFront distribution for the site and its API (`SiteDistribution`: origins, behaviours,
 * policies, OAC, edge functions, standard logging v2 to the logs bucket), on the site name with its us-east-1
 * certificate (owned here: `SiteCertificate`) and, with `env.waf`, a web ACL.
 * - DNS: A/AAAA aliases for the site name and api.<site>; a Route 53 health check on the API health path
 *   with an alarm (`EdgeHealthCheck`). Route 53 metrics exist only in us-east-1, so that alarm and its SNS
 *   topic live there.
 * - The static bucket's policy, which needs the distribution ARN (see StorageStack).
 */
export class CdnStack extends ZmanimStack {
  readonly distribution: CloudfrontDistribution;
  readonly apiCachePolicy: CloudfrontCachePolicy;
  readonly certificate: SiteCertificate;
  /** The Route 53 health check of the API through the edge (its metrics live in us-east-1). */
  readonly apiHealth: EdgeHealthCheck;

  constructor(scope: Construct, props: CdnStackProps) {
    super(scope, "cdn", props);
    const env = props.env;
    const prefix = resourcePrefix(env);
    const useast1 = this.regionalProvider("us-east-1", "us-east-1");

    // The certificate lives beside its one consumer, so a change of names never deadlocks (SiteCertificate).
    this.certificate = new SiteCertificate(this, "site-certificate", {
      provider: useast1,
      zoneId: props.dns.zoneId,
      domainNames: certificateNames(env),
    });
    const acl = env.waf?.enabled ? webAcl(this, env, useast1, env.waf.apiRateLimitPer5Min) : undefined;
    const edge = new SiteDistribution(this, "site-distribution", {
      namePrefix: prefix,
      comment: `Shtetl Zmanim (${env.name}): ${env.domain.siteName} and ${apiHostName(env)}`,
      aliases: edgeHostNames(env),
      certificateArn: this.certificate.arn,
      webAclId: acl?.arn,
      staticBucketDomain: `${bucketName(env, "static")}.s3.${env.region}.amazonaws.com`,
      apiDomain: props.api.executeApiDomain,
      apiHealthPath: env.api.healthPath,
      sitePathsStoreName: sitePathsStoreName(env),
      originShieldRegion: env.originShieldRegion,
      accessLogs: { provider: useast1, destinationArn: `${bucketArn(env, "logs")}/${CLOUDFRONT_LOG_PREFIX}` },
    });
    this.distribution = edge.distribution;
    this.apiCachePolicy = edge.apiCachePolicy;

    // Only this distribution may read the static bucket.
    const staticPolicy = new S3BucketPolicy(this, "static-bucket-policy", {
      bucket: bucketName(env, "static"),
      policy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: staticBucketPolicyStatements(env, this.distribution.arn),
      }),
    });
    staticPolicy.overrideLogicalId("static_bucket_policy");

    // A and AAAA for both aliases; the site's records keep their original ids.
    for (const [id, name] of [
      ["alias", env.domain.siteName],
      ["api-alias", apiHostName(env)],
    ]) {
      for (const type of ["A", "AAAA"]) {
        new Route53Record(this, `${id}-${type.toLowerCase()}`, {
          zoneId: props.dns.zoneId,
          name,
          type,
          alias: {
            name: this.distribution.domainName,
            zoneId: this.distribution.hostedZoneId,
            evaluateTargetHealth: false,
          },
        });
      }
    }

    // Plain HTTP through CloudFront, API Gateway and the VPC link to the API: the whole public path answers,
    // without the HTTPS option's price. The health behaviour does not redirect, so a 2xx must come from the
    // API itself. It probes api.<site>, the name the frontend calls, so that name's DNS records are covered
    // too (the certificate is covered by every HTTPS visitor, not by this probe). Route 53 metrics exist
    // only in us-east-1, so the alarm and its topic live there.
    const topic = addAlarmTopic(this, env, { provider: useast1, idSuffix: "-us-east-1" });
    this.apiHealth = new EdgeHealthCheck(this, "api-health", {
      provider: useast1,
      topicArn: topic.arn,
      fqdn: apiHostName(env),
      resourcePath: env.api.healthPath,
      name: `${prefix}-api-health`,
      checkId: "api-health-check",
      alarmId: "api-health-alarm",
    });

    new TerraformOutput(this, "distribution-id", { value: this.distribution.id });
    // The CNAMEs ACM checks; docs/runbooks/cutover.md adds them at the current DNS before the site zone is delegated.
    new TerraformOutput(this, "certificate-validation-records", {
      value: this.certificate.certificate.domainValidationOptions,
    });
    new TerraformOutput(this, "distribution-domain", { value: this.distribution.domainName });
    new TerraformOutput(this, "site-paths-store-arn", { value: edge.sitePaths.arn });
  }
}
