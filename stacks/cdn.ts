import { readFileSync } from "fs";
import { Construct } from "constructs";
import { Fn } from "cdktf/lib/terraform-functions";
import { TerraformOutput } from "cdktf/lib/terraform-output";
import { CloudfrontCachePolicy } from "@cdktf/provider-aws/lib/cloudfront-cache-policy";
import { CloudfrontDistribution, CloudfrontDistributionOrderedCacheBehavior } from "@cdktf/provider-aws/lib/cloudfront-distribution";
import { CloudfrontFunction } from "@cdktf/provider-aws/lib/cloudfront-function";
import { CloudfrontKeyValueStore } from "@cdktf/provider-aws/lib/cloudfront-key-value-store";
import { CloudfrontOriginAccessControl } from "@cdktf/provider-aws/lib/cloudfront-origin-access-control";
import { CloudfrontOriginRequestPolicy } from "@cdktf/provider-aws/lib/cloudfront-origin-request-policy";
import { CloudfrontResponseHeadersPolicy, CloudfrontResponseHeadersPolicySecurityHeadersConfig } from "@cdktf/provider-aws/lib/cloudfront-response-headers-policy";
import { CloudwatchLogDelivery } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery";
import { CloudwatchLogDeliveryDestination } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-destination";
import { CloudwatchLogDeliverySource } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-source";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { Route53HealthCheck } from "@cdktf/provider-aws/lib/route53-health-check";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { Wafv2WebAcl } from "@cdktf/provider-aws/lib/wafv2-web-acl";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { SiteCertificate } from "../constructs/site-certificate";
import { assertUniqueSids, hardenedBucketBaseStatements, PolicyStatement } from "../constructs/hardened-bucket";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { ApiStack } from "./api";
import { DnsStack } from "./dns";
import { EnvironmentConfig } from "./environments";
import { alarmTopicName, apiHostName, bucketArn, bucketName, edgeHostNames } from "./naming";
import { repoPath } from "./repo-root";
import { CLOUDFRONT_LOG_PREFIX, ciWriterStatements, StorageStack } from "./storage";

export interface CdnStackProps extends ZmanimStackProps {
  readonly storage: StorageStack;
  readonly api: ApiStack;
  readonly dns: DnsStack;
}

/** AWS managed CloudFront policy ids (the same in every account). */
export const MANAGED_CACHE_POLICY = {
  CachingDisabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
} as const;

/** The SPA router's source, shipped as-is to CloudFront (runtime cloudfront-js-2.0). */
export const SPA_ROUTER_PATH = repoPath("constructs", "cloudfront", "spa-router.js");

/** The viewer-response function that gives the export's 404 page its 404 status. */
export const NOT_FOUND_STATUS_PATH = repoPath("constructs", "cloudfront", "not-found-status.js");

/**
 * The key value store of the export's object keys (spa-router.js asks it whether a path exists); the
 * static-site deploy finds it by this name and fills it (scripts/ci/static-site-sync.sh).
 */
export function webAclName(env: EnvironmentConfig): string {
  return `zmanim-${env.name}-edge`;
}

/**
 * The minimal web ACL (`env.waf`): AWS managed common rules (OWASP-style request checks) on everything, and a
 * per-IP rate limit on `/api/*`. CloudFront web ACLs live in us-east-1 with scope CLOUDFRONT.
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html
 */
function webAcl(scope: Construct, env: EnvironmentConfig, provider: ReturnType<ZmanimStack["regionalProvider"]>, limit: number): Wafv2WebAcl {
  const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
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

export function sitePathsStoreName(env: EnvironmentConfig): string {
  return `zmanim-${env.name}-site-paths`;
}

/**
 * PriceClass_100 serves from edge locations in North America, Europe and Israel, which covers the app's
 * users (US and Israel); the other classes add Asia, South America and so on at a higher price.
 */
export const PRICE_CLASS = "PriceClass_100";

/** Origin ids, used by the behaviours' `target_origin_id`. */
export const ORIGIN = { static: "static-s3", api: "http-api" } as const;

/** Hashed Next.js build output; the file name changes with the content. */
export const HASHED_ASSETS_PATH = "/_next/static/*";

export const ONE_YEAR = 31536000;

/** The names on the distribution's certificate (and its aliases): the site name first, then api.<site>. */
export function certificateNames(env: EnvironmentConfig): string[] {
  return edgeHostNames(env);
}

/** Route 53 health checker regions (the minimum of three keeps the probe traffic small). */
export const HEALTH_CHECK_REGIONS = ["us-east-1", "us-west-2", "eu-west-1"];

/** The health path's viewer protocol policy: the one behaviour that answers plain HTTP (the Route 53 check). */
export const HEALTH_VIEWER_PROTOCOL_POLICY = "allow-all";

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
 * The edge: one CloudFront distribution for the site and its API.
 * - Origins: the static bucket through OAC (sigv4, always) and the HTTP API's execute-api endpoint (HTTPS,
 *   TLS 1.2), both behind Origin Shield in `env.originShieldRegion`.
 * - Behaviours: `/_next/static/*` cached a year (immutable); the health path uncached; `/api/*` cached an
 *   hour by default with the query string, `Authorization` and `Origin` in the cache key (D13); everything
 *   else is the static site with a short HTML TTL and the SPA router function (D14).
 * - Viewer side: HTTPS only (redirect), TLS 1.2 (2021 policy), HTTP/2 and HTTP/3, IPv6, the site name with
 *   its us-east-1 certificate (owned here: `SiteCertificate`), security headers with HSTS.
 * - Access logs: CloudFront standard logging v2 to the logs bucket (ACL-free, BucketOwnerEnforced).
 * - DNS: A/AAAA aliases for the site name; a Route 53 health check on the API health path with an alarm.
 *   Route 53 metrics exist only in us-east-1, so that alarm and its SNS topic live there.
 * - The static bucket's policy, which needs the distribution ARN (see StorageStack).
 */
export class CdnStack extends ZmanimStack {
  readonly distribution: CloudfrontDistribution;
  readonly apiCachePolicy: CloudfrontCachePolicy;
  readonly certificate: SiteCertificate;

  constructor(scope: Construct, props: CdnStackProps) {
    super(scope, "cdn", props);
    const env = props.env;
    const prefix = `zmanim-${env.name}`;
    const site = env.domain.siteName;
    const useast1 = this.regionalProvider("us-east-1", "us-east-1");
    const shield = { enabled: true, originShieldRegion: env.originShieldRegion };

    // The certificate lives beside its one consumer, so a change of names never deadlocks (SiteCertificate).
    this.certificate = new SiteCertificate(this, "site-certificate", {
      provider: useast1,
      zoneId: props.dns.zoneId,
      domainNames: certificateNames(env),
    });

    const oac = new CloudfrontOriginAccessControl(this, "static-oac", {
      name: `${prefix}-static`,
      description: "CloudFront reads the static bucket with SigV4-signed requests",
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4",
    });

    // The export's object keys, written by the static-site deploy; spa-router.js sends a path whose object
    // is not listed to the export's 404 page. Its content lives outside Terraform, so the id is pinned.
    const sitePaths = new CloudfrontKeyValueStore(this, "site-paths", {
      name: sitePathsStoreName(env),
      comment: "Object keys of the static export (written by scripts/ci/static-site-sync.sh)",
    });
    sitePaths.overrideLogicalId("site_paths");
    const spaRouter = new CloudfrontFunction(this, "spa-router", {
      name: `${prefix}-spa-router`,
      comment: "Maps site URLs onto the Next.js static export (trailingSlash: true); unknown paths to /404.html",
      runtime: "cloudfront-js-2.0",
      publish: true,
      code: readFileSync(SPA_ROUTER_PATH, "utf8"),
      keyValueStoreAssociations: [sitePaths.arn],
    });
    const notFoundStatus = new CloudfrontFunction(this, "not-found-status", {
      name: `${prefix}-not-found-status`,
      comment: "Answers the export's 404 page with status 404",
      runtime: "cloudfront-js-2.0",
      publish: true,
      code: readFileSync(NOT_FOUND_STATUS_PATH, "utf8"),
    });

    const compression = { enableAcceptEncodingGzip: true, enableAcceptEncodingBrotli: true };
    const nothingInKey = {
      cookiesConfig: { cookieBehavior: "none" },
      headersConfig: { headerBehavior: "none" },
      queryStringsConfig: { queryStringBehavior: "none" },
      ...compression,
    };

    const htmlCache = new CloudfrontCachePolicy(this, "html-cache", {
      name: `${prefix}-html`,
      comment: "Static pages: short TTL; deploys invalidate",
      minTtl: 0,
      defaultTtl: 300,
      maxTtl: 3600,
      parametersInCacheKeyAndForwardedToOrigin: nothingInKey,
    });
    const assetsCache = new CloudfrontCachePolicy(this, "assets-cache", {
      name: `${prefix}-hashed-assets`,
      comment: "Content-hashed /_next/static files: one year",
      minTtl: ONE_YEAR,
      defaultTtl: ONE_YEAR,
      maxTtl: ONE_YEAR,
      parametersInCacheKeyAndForwardedToOrigin: nothingInKey,
    });
    // D13: an hour by default, the origin's Cache-Control wins within [0, 1 day]; every query string,
    // Authorization and Origin are in the key, so a response for one token (or none) is never served for
    // another. (AWS rejects Authorization in a key whose TTLs are all 0; this one has a default of 1 h.)
    this.apiCachePolicy = new CloudfrontCachePolicy(this, "api-cache", {
      name: `${prefix}-api`,
      comment: "API: 1 h default, honours origin Cache-Control; keyed on query, Authorization, Origin",
      minTtl: 0,
      defaultTtl: 3600,
      maxTtl: 86400,
      parametersInCacheKeyAndForwardedToOrigin: {
        cookiesConfig: { cookieBehavior: "none" },
        headersConfig: { headerBehavior: "whitelist", headers: { items: ["Authorization", "Origin"] } },
        queryStringsConfig: { queryStringBehavior: "all" },
        ...compression,
      },
    });
    // Everything the viewer sent except Host (API Gateway answers 403 to a foreign Host). Authorization
    // cannot be listed in an origin request policy; it reaches the API because it is in the cache key.
    // Cookies are not forwarded: they are not in the key, so a cookie-dependent response could leak.
    const apiOriginRequest = new CloudfrontOriginRequestPolicy(this, "api-origin-request", {
      name: `${prefix}-api-all-but-host`,
      comment: "All viewer headers except Host, all query strings, no cookies",
      headersConfig: { headerBehavior: "allExcept", headers: { items: ["host"] } },
      queryStringsConfig: { queryStringBehavior: "all" },
      cookiesConfig: { cookieBehavior: "none" },
    });

    const security: CloudfrontResponseHeadersPolicySecurityHeadersConfig = {
      strictTransportSecurity: { accessControlMaxAgeSec: 63072000, includeSubdomains: true, preload: false, override: true },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: "DENY", override: true },
      referrerPolicy: { referrerPolicy: "strict-origin-when-cross-origin", override: true },
    };
    const headers = new CloudfrontResponseHeadersPolicy(this, "security-headers", {
      name: `${prefix}-security-headers`,
      comment: "HSTS (2 years), nosniff, DENY framing, strict-origin-when-cross-origin",
      securityHeadersConfig: security,
    });
    const immutableHeaders = new CloudfrontResponseHeadersPolicy(this, "immutable-headers", {
      name: `${prefix}-immutable-assets`,
      comment: "Security headers plus a one-year immutable Cache-Control for hashed assets",
      securityHeadersConfig: security,
      customHeadersConfig: {
        items: [{ header: "Cache-Control", value: `public, max-age=${ONE_YEAR}, immutable`, override: true }],
      },
    });

    const api = {
      targetOriginId: ORIGIN.api,
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
      cachedMethods: ["GET", "HEAD"],
      originRequestPolicyId: apiOriginRequest.id,
      responseHeadersPolicyId: headers.id,
      compress: true,
    };
    const ordered: CloudfrontDistributionOrderedCacheBehavior[] = [
      {
        pathPattern: HASHED_ASSETS_PATH,
        targetOriginId: ORIGIN.static,
        viewerProtocolPolicy: "redirect-to-https",
        allowedMethods: ["GET", "HEAD"],
        cachedMethods: ["GET", "HEAD"],
        cachePolicyId: assetsCache.id,
        responseHeadersPolicyId: immutableHeaders.id,
        compress: true,
      },
      // Health probes (Route 53, deploy workflows) must see the origin, never a cached answer. This path
      // alone also answers plain HTTP instead of redirecting: Route 53 counts any 2xx or 3xx as healthy, so
      // an HTTP check against a redirect would always pass, and HTTP saves the check's HTTPS option
      // ($2/month for a non-AWS endpoint, docs/cost.md). The health JSON is public and carries no secret.
      { ...api, pathPattern: env.api.healthPath, viewerProtocolPolicy: HEALTH_VIEWER_PROTOCOL_POLICY, cachePolicyId: MANAGED_CACHE_POLICY.CachingDisabled },
      { ...api, pathPattern: "/api/*", cachePolicyId: this.apiCachePolicy.id },
    ];

    const acl = env.waf?.enabled ? webAcl(this, env, useast1, env.waf.apiRateLimitPer5Min) : undefined;

    this.distribution = new CloudfrontDistribution(this, "distribution", {
      enabled: true,
      comment: `Shtetl Zmanim (${env.name}): ${site} and ${apiHostName(env)}`,
      aliases: edgeHostNames(env),
      // "/" is mapped by spa-router.js already; the default root object covers a request the function lets
      // through unchanged (checkov CKV_AWS_305).
      defaultRootObject: "index.html",
      ...(acl ? { webAclId: acl.arn } : {}),
      priceClass: PRICE_CLASS,
      httpVersion: "http2and3",
      isIpv6Enabled: true,
      origin: [
        {
          originId: ORIGIN.static,
          domainName: `${bucketName(env, "static")}.s3.${env.region}.amazonaws.com`,
          originAccessControlId: oac.id,
          originShield: shield,
        },
        {
          originId: ORIGIN.api,
          domainName: props.api.executeApiDomain,
          customOriginConfig: {
            httpPort: 80,
            httpsPort: 443,
            originProtocolPolicy: "https-only",
            originSslProtocols: ["TLSv1.2"],
            originReadTimeout: 30,
            originKeepaliveTimeout: 5,
          },
          originShield: shield,
        },
      ],
      defaultCacheBehavior: {
        targetOriginId: ORIGIN.static,
        viewerProtocolPolicy: "redirect-to-https",
        allowedMethods: ["GET", "HEAD"],
        cachedMethods: ["GET", "HEAD"],
        cachePolicyId: htmlCache.id,
        responseHeadersPolicyId: headers.id,
        compress: true,
        functionAssociation: [
          { eventType: "viewer-request", functionArn: spaRouter.arn },
          { eventType: "viewer-response", functionArn: notFoundStatus.arn },
        ],
      },
      orderedCacheBehavior: ordered,
      viewerCertificate: {
        acmCertificateArn: this.certificate.arn,
        sslSupportMethod: "sni-only",
        minimumProtocolVersion: "TLSv1.2_2021",
      },
      restrictions: { geoRestriction: { restrictionType: "none" } },
    });
    this.distribution.overrideLogicalId("distribution");

    // Only this distribution may read the static bucket.
    const staticPolicy = new S3BucketPolicy(this, "static-bucket-policy", {
      bucket: bucketName(env, "static"),
      policy: Fn.jsonencode({ Version: "2012-10-17", Statement: staticBucketPolicyStatements(env, this.distribution.arn) }),
    });
    staticPolicy.overrideLogicalId("static_bucket_policy");

    // Standard logging v2 (CloudWatch Logs vended delivery, us-east-1) into the logs bucket.
    const logSource = new CloudwatchLogDeliverySource(this, "access-log-source", {
      provider: useast1,
      name: `${prefix}-cloudfront`,
      logType: "ACCESS_LOGS",
      resourceArn: this.distribution.arn,
    });
    const logDestination = new CloudwatchLogDeliveryDestination(this, "access-log-destination", {
      provider: useast1,
      name: `${prefix}-cloudfront-s3`,
      outputFormat: "json",
      deliveryDestinationConfiguration: [{ destinationResourceArn: `${bucketArn(env, "logs")}/${CLOUDFRONT_LOG_PREFIX}` }],
    });
    new CloudwatchLogDelivery(this, "access-log-delivery", {
      provider: useast1,
      deliverySourceName: logSource.name,
      deliveryDestinationArn: logDestination.arn,
      // Default key layout under the destination: AWSLogs/<account>/CloudFront/...
    });

    // A and AAAA for both aliases; the site's records keep their original ids.
    for (const [id, name] of [["alias", site], ["api-alias", apiHostName(env)]]) {
      for (const type of ["A", "AAAA"]) {
        new Route53Record(this, `${id}-${type.toLowerCase()}`, {
          zoneId: props.dns.zoneId,
          name,
          type,
          alias: { name: this.distribution.domainName, zoneId: this.distribution.hostedZoneId, evaluateTargetHealth: false },
        });
      }
    }

    // Plain HTTP through CloudFront, API Gateway and the VPC link to the API: the whole public path answers,
    // without the HTTPS option's price. The health behaviour above does not redirect, so a 2xx must come
    // from the API itself. It probes api.<site>, the name the frontend calls, so that name's DNS records
    // are covered too (the certificate is covered by every HTTPS visitor, not by this probe).
    const health = new Route53HealthCheck(this, "api-health-check", {
      type: "HTTP",
      fqdn: apiHostName(env),
      port: 80,
      resourcePath: env.api.healthPath,
      requestInterval: 30,
      failureThreshold: 3,
      regions: HEALTH_CHECK_REGIONS,
      tags: { Name: `${prefix}-api-health` },
    });

    const topic = new SnsTopic(this, "alarm-topic-us-east-1", { provider: useast1, name: alarmTopicName(env) });
    new SnsTopicSubscription(this, "alarm-email-us-east-1", {
      provider: useast1,
      topicArn: topic.arn,
      protocol: "email",
      endpoint: env.alarmEmail,
    });
    new CloudwatchMetricAlarm(this, "api-health-alarm", {
      provider: useast1,
      alarmName: `${prefix}-api-health`,
      alarmDescription: `http://${apiHostName(env)}${env.api.healthPath} failing from Route 53 health checkers`,
      namespace: "AWS/Route53",
      metricName: "HealthCheckStatus",
      dimensions: { HealthCheckId: health.id },
      statistic: "Minimum",
      period: 60,
      evaluationPeriods: 3,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
      alarmActions: [topic.arn],
      okActions: [topic.arn],
    });

    new TerraformOutput(this, "distribution-id", { value: this.distribution.id });
    // The CNAMEs ACM checks; docs/runbooks/cutover.md adds them at the current DNS before the site zone is delegated.
    new TerraformOutput(this, "certificate-validation-records", { value: this.certificate.certificate.domainValidationOptions });
    new TerraformOutput(this, "distribution-domain", { value: this.distribution.domainName });
    new TerraformOutput(this, "site-paths-store-arn", { value: sitePaths.arn });
  }
}
