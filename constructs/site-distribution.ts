import { readFileSync } from "fs";
import { Construct } from "constructs";
import { TerraformProvider } from "cdktf/lib/terraform-provider";
import { TerraformResource } from "cdktf/lib/terraform-resource";
import { CloudfrontCachePolicy } from "@cdktf/provider-aws/lib/cloudfront-cache-policy";
import {
  CloudfrontDistribution,
  CloudfrontDistributionOrderedCacheBehavior,
  CloudfrontDistributionOrigin,
} from "@cdktf/provider-aws/lib/cloudfront-distribution";
import { CloudfrontFunction } from "@cdktf/provider-aws/lib/cloudfront-function";
import { CloudfrontKeyValueStore } from "@cdktf/provider-aws/lib/cloudfront-key-value-store";
import { CloudfrontOriginAccessControl } from "@cdktf/provider-aws/lib/cloudfront-origin-access-control";
import { CloudfrontOriginRequestPolicy } from "@cdktf/provider-aws/lib/cloudfront-origin-request-policy";
import {
  CloudfrontResponseHeadersPolicy,
  CloudfrontResponseHeadersPolicySecurityHeadersConfig,
} from "@cdktf/provider-aws/lib/cloudfront-response-headers-policy";
import { CloudwatchLogDelivery } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery";
import { CloudwatchLogDeliveryDestination } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-destination";
import { CloudwatchLogDeliverySource } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-source";
import { repoPath } from "./config/repo-root";

/** AWS managed CloudFront policy ids (the same in every account). */
export const MANAGED_CACHE_POLICY = {
  CachingDisabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
} as const;

/** The SPA router's source, shipped as-is to CloudFront (runtime cloudfront-js-2.0). */
export const SPA_ROUTER_PATH = repoPath("constructs", "cloudfront", "spa-router.js");

/** The viewer-response function that gives the export's 404 page its 404 status. */
export const NOT_FOUND_STATUS_PATH = repoPath("constructs", "cloudfront", "not-found-status.js");

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

/** The health path's viewer protocol policy: the one behaviour that answers plain HTTP (the Route 53 check). */
export const HEALTH_VIEWER_PROTOCOL_POLICY = "allow-all";
/**
 * The health path's methods: the checks need GET and HEAD only, so the behaviour that answers plain HTTP
 * forwards nothing else. CloudFront accepts three sets of allowed methods (GET+HEAD, +OPTIONS, all seven)
 * and cached methods must be GET+HEAD or GET+HEAD+OPTIONS (CloudFront API Reference, AllowedMethods and
 * CachedMethods); other methods on this path get CloudFront's 403.
 */
export const HEALTH_METHODS = ["GET", "HEAD"];

/** CloudFront standard logging v2: a CloudWatch Logs vended delivery, which CloudFront offers in us-east-1 only. */
export interface SiteDistributionAccessLogs {
  /** The us-east-1 provider. */
  readonly provider: TerraformProvider;
  /** Where the logs go, e.g. `arn:aws:s3:::<logs bucket>/<prefix>` (an ACL-free, BucketOwnerEnforced bucket). */
  readonly destinationArn: string;
}

export interface SiteDistributionProps {
  /** Prepended to every name (policies, functions, OAC, log delivery), e.g. `zmanim-prod`. */
  readonly namePrefix: string;
  /** The distribution's comment. */
  readonly comment: string;
  /** The viewer-facing names; all must be on the certificate. */
  readonly aliases: string[];
  /** ARN of a validated us-east-1 ACM certificate for `aliases`. */
  readonly certificateArn: string;
  /** Regional REST endpoint of the static bucket, `<bucket>.s3.<region>.amazonaws.com`; read through OAC. */
  readonly staticBucketDomain: string;
  /** The HTTP API's execute-api domain; `/api/*` goes there over HTTPS (TLS 1.2). */
  readonly apiDomain: string;
  /** The API's health path: uncached and, alone, answering plain HTTP (for the Route 53 check). */
  readonly apiHealthPath: string;
  /** Name of the key value store of the export's object keys, which spa-router.js consults. */
  readonly sitePathsStoreName: string;
  /** Origin Shield region of both origins. */
  readonly originShieldRegion: string;
  /** ARN of a CLOUDFRONT-scope WAF web ACL. @default no web ACL */
  readonly webAclId?: string;
  /** @default PRICE_CLASS (North America, Europe, Israel) */
  readonly priceClass?: string;
  /** @default no access logs */
  readonly accessLogs?: SiteDistributionAccessLogs;
}

/**
 * Every resource keeps the logical id it had as a direct child of the cdn stack (the key value store its
 * historical `site_paths`): a rename is destroy-and-recreate.
 */
function pin<T extends TerraformResource>(resource: T, id: string): T {
  // Before any reference to the resource: a reference locks the logical id.
  resource.overrideLogicalId(id);
  return resource;
}

/**
 * One CloudFront distribution for a static site and its API.
 * - Origins: the static bucket through OAC (sigv4, always) and the HTTP API's execute-api endpoint (HTTPS,
 *   TLS 1.2), both behind Origin Shield.
 * - Behaviours: `/_next/static/*` cached a year (immutable); the health path uncached; `/api/*` cached an
 *   hour by default with the query string, `Authorization` and `Origin` in the cache key (D13); everything
 *   else is the static site with a short HTML TTL and the SPA router function with its key value store (D14).
 * - Viewer side: HTTPS only (redirect), TLS 1.2 (2021 policy), HTTP/2 and HTTP/3, IPv6, security headers
 *   with HSTS.
 * - Optionally, standard logging v2 (`accessLogs`).
 * Every resource's logical id is pinned to its construct id.
 */
export class SiteDistribution extends Construct {
  readonly distribution: CloudfrontDistribution;
  readonly apiCachePolicy: CloudfrontCachePolicy;
  /** The key value store of the export's object keys; its content lives outside Terraform. */
  readonly sitePaths: CloudfrontKeyValueStore;

  constructor(scope: Construct, id: string, props: SiteDistributionProps) {
    super(scope, id);
    const prefix = props.namePrefix;

    const oac = pin(
      new CloudfrontOriginAccessControl(this, "static-oac", {
        name: `${prefix}-static`,
        description: "CloudFront reads the static bucket with SigV4-signed requests",
        originAccessControlOriginType: "s3",
        signingBehavior: "always",
        signingProtocol: "sigv4",
      }),
      "static-oac",
    );

    // The export's object keys, written by the static-site deploy; spa-router.js sends a path whose object
    // is not listed to the export's 404 page. Its content lives outside Terraform, so the id is pinned.
    this.sitePaths = pin(
      new CloudfrontKeyValueStore(this, "site-paths", {
        name: props.sitePathsStoreName,
        comment: "Object keys of the static export (written by scripts/ci/static-site-sync.sh)",
      }),
      "site_paths",
    );
    const { spaRouter, notFoundStatus } = this.edgeFunctions(prefix);

    const { htmlCache, assetsCache, apiCache, apiOriginRequest, headers, immutableHeaders } = this.policies(prefix);
    this.apiCachePolicy = apiCache;

    const api = {
      targetOriginId: ORIGIN.api,
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
      cachedMethods: ["GET", "HEAD"],
      originRequestPolicyId: apiOriginRequest.id,
      responseHeadersPolicyId: headers.id,
      compress: true,
    };
    const staticSite = {
      targetOriginId: ORIGIN.static,
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["GET", "HEAD"],
      cachedMethods: ["GET", "HEAD"],
      compress: true,
    };
    const ordered: CloudfrontDistributionOrderedCacheBehavior[] = [
      {
        ...staticSite,
        pathPattern: HASHED_ASSETS_PATH,
        cachePolicyId: assetsCache.id,
        responseHeadersPolicyId: immutableHeaders.id,
      },
      // Health probes (Route 53, deploy workflows) must see the origin, never a cached answer. This path
      // alone also answers plain HTTP instead of redirecting: Route 53 counts any 2xx or 3xx as healthy, so
      // an HTTP check against a redirect would always pass, and HTTP saves the check's HTTPS option
      // ($2/month for a non-AWS endpoint, docs/cost.md). The health JSON is public and carries no secret.
      // Only GET and HEAD (HEALTH_METHODS): the plain-HTTP exception must not carry writes.
      {
        ...api,
        pathPattern: props.apiHealthPath,
        viewerProtocolPolicy: HEALTH_VIEWER_PROTOCOL_POLICY,
        allowedMethods: HEALTH_METHODS,
        cachedMethods: HEALTH_METHODS,
        cachePolicyId: MANAGED_CACHE_POLICY.CachingDisabled,
      },
      { ...api, pathPattern: "/api/*", cachePolicyId: this.apiCachePolicy.id },
    ];

    this.distribution = pin(
      new CloudfrontDistribution(this, "distribution", {
        enabled: true,
        comment: props.comment,
        aliases: props.aliases,
        // "/" is mapped by spa-router.js already; the default root object covers a request the function lets
        // through unchanged (checkov CKV_AWS_305).
        defaultRootObject: "index.html",
        ...(props.webAclId ? { webAclId: props.webAclId } : {}),
        priceClass: props.priceClass ?? PRICE_CLASS,
        httpVersion: "http2and3",
        isIpv6Enabled: true,
        origin: this.origins(props, oac.id),
        defaultCacheBehavior: {
          ...staticSite,
          cachePolicyId: htmlCache.id,
          responseHeadersPolicyId: headers.id,
          functionAssociation: [
            { eventType: "viewer-request", functionArn: spaRouter.arn },
            { eventType: "viewer-response", functionArn: notFoundStatus.arn },
          ],
        },
        orderedCacheBehavior: ordered,
        viewerCertificate: {
          acmCertificateArn: props.certificateArn,
          sslSupportMethod: "sni-only",
          minimumProtocolVersion: "TLSv1.2_2021",
        },
        restrictions: { geoRestriction: { restrictionType: "none" } },
      }),
      "distribution",
    );

    if (props.accessLogs) this.addAccessLogs(prefix, props.accessLogs);
  }
  /** The S3 origin (through OAC) and the API origin (HTTPS only), both behind Origin Shield. */
  private origins(props: SiteDistributionProps, oacId: string): CloudfrontDistributionOrigin[] {
    const shield = { enabled: true, originShieldRegion: props.originShieldRegion };
    return [
      {
        originId: ORIGIN.static,
        domainName: props.staticBucketDomain,
        originAccessControlId: oacId,
        originShield: shield,
      },
      {
        originId: ORIGIN.api,
        domainName: props.apiDomain,
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
    ];
  }

  /** The viewer-request router (spa-router.js, with the site-paths store) and the 404 status function. */
  private edgeFunctions(prefix: string) {
    const spaRouter = pin(
      new CloudfrontFunction(this, "spa-router", {
        name: `${prefix}-spa-router`,
        comment: "Maps site URLs onto the Next.js static export (trailingSlash: true); unknown paths to /404.html",
        runtime: "cloudfront-js-2.0",
        publish: true,
        code: readFileSync(SPA_ROUTER_PATH, "utf8"),
        keyValueStoreAssociations: [this.sitePaths.arn],
      }),
      "spa-router",
    );
    const notFoundStatus = pin(
      new CloudfrontFunction(this, "not-found-status", {
        name: `${prefix}-not-found-status`,
        comment: "Answers the export's 404 page with status 404",
        runtime: "cloudfront-js-2.0",
        publish: true,
        code: readFileSync(NOT_FOUND_STATUS_PATH, "utf8"),
      }),
      "not-found-status",
    );
    return { spaRouter, notFoundStatus };
  }

  /** The cache, origin-request and response-headers policies of the behaviours, each pinned by id. */
  private policies(prefix: string) {
    const compression = { enableAcceptEncodingGzip: true, enableAcceptEncodingBrotli: true };
    const nothingInKey = {
      cookiesConfig: { cookieBehavior: "none" },
      headersConfig: { headerBehavior: "none" },
      queryStringsConfig: { queryStringBehavior: "none" },
      ...compression,
    };

    const htmlCache = pin(
      new CloudfrontCachePolicy(this, "html-cache", {
        name: `${prefix}-html`,
        comment: "Static pages: the object's s-maxage (1 day) at the edge; browsers revalidate; deploys invalidate",
        // static-site-sync.sh uploads pages with max-age=0 (browsers revalidate) and s-maxage=86400: CloudFront
        // keeps them for s-maxage clamped to [minTtl, maxTtl] (Expiration.html), so maxTtl must reach a day.
        // Without a Cache-Control header (an object uploaded by hand), the 5-minute default applies.
        minTtl: 0,
        defaultTtl: 300,
        maxTtl: 86400,
        parametersInCacheKeyAndForwardedToOrigin: nothingInKey,
      }),
      "html-cache",
    );
    const assetsCache = pin(
      new CloudfrontCachePolicy(this, "assets-cache", {
        name: `${prefix}-hashed-assets`,
        comment: "Content-hashed /_next/static files: one year",
        minTtl: ONE_YEAR,
        defaultTtl: ONE_YEAR,
        maxTtl: ONE_YEAR,
        parametersInCacheKeyAndForwardedToOrigin: nothingInKey,
      }),
      "assets-cache",
    );
    // D13: an hour by default, the origin's Cache-Control wins within [0, 1 day]; every query string,
    // Authorization and Origin are in the key, so a response for one token (or none) is never served for
    // another. (AWS rejects Authorization in a key whose TTLs are all 0; this one has a default of 1 h.)
    const apiCache = pin(
      new CloudfrontCachePolicy(this, "api-cache", {
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
      }),
      "api-cache",
    );
    // Everything the viewer sent except Host (API Gateway answers 403 to a foreign Host). Authorization
    // cannot be listed in an origin request policy; it reaches the API because it is in the cache key.
    // Cookies are not forwarded: they are not in the key, so a cookie-dependent response could leak.
    const apiOriginRequest = pin(
      new CloudfrontOriginRequestPolicy(this, "api-origin-request", {
        name: `${prefix}-api-all-but-host`,
        comment: "All viewer headers except Host, all query strings, no cookies",
        headersConfig: { headerBehavior: "allExcept", headers: { items: ["host"] } },
        queryStringsConfig: { queryStringBehavior: "all" },
        cookiesConfig: { cookieBehavior: "none" },
      }),
      "api-origin-request",
    );

    const security: CloudfrontResponseHeadersPolicySecurityHeadersConfig = {
      strictTransportSecurity: {
        accessControlMaxAgeSec: 63072000,
        includeSubdomains: true,
        preload: false,
        override: true,
      },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: "DENY", override: true },
      referrerPolicy: { referrerPolicy: "strict-origin-when-cross-origin", override: true },
    };
    const headers = pin(
      new CloudfrontResponseHeadersPolicy(this, "security-headers", {
        name: `${prefix}-security-headers`,
        comment: "HSTS (2 years), nosniff, DENY framing, strict-origin-when-cross-origin",
        securityHeadersConfig: security,
      }),
      "security-headers",
    );
    const immutableHeaders = pin(
      new CloudfrontResponseHeadersPolicy(this, "immutable-headers", {
        name: `${prefix}-immutable-assets`,
        comment: "Security headers plus a one-year immutable Cache-Control for hashed assets",
        securityHeadersConfig: security,
        customHeadersConfig: {
          items: [{ header: "Cache-Control", value: `public, max-age=${ONE_YEAR}, immutable`, override: true }],
        },
      }),
      "immutable-headers",
    );
    return { htmlCache, assetsCache, apiCache, apiOriginRequest, headers, immutableHeaders };
  }

  /** Standard logging v2 (CloudWatch Logs vended delivery, us-east-1). */
  private addAccessLogs(prefix: string, logs: SiteDistributionAccessLogs): void {
    const logSource = pin(
      new CloudwatchLogDeliverySource(this, "access-log-source", {
        provider: logs.provider,
        name: `${prefix}-cloudfront`,
        logType: "ACCESS_LOGS",
        resourceArn: this.distribution.arn,
      }),
      "access-log-source",
    );
    const logDestination = pin(
      new CloudwatchLogDeliveryDestination(this, "access-log-destination", {
        provider: logs.provider,
        name: `${prefix}-cloudfront-s3`,
        outputFormat: "json",
        deliveryDestinationConfiguration: [{ destinationResourceArn: logs.destinationArn }],
      }),
      "access-log-destination",
    );
    pin(
      new CloudwatchLogDelivery(this, "access-log-delivery", {
        provider: logs.provider,
        deliverySourceName: logSource.name,
        deliveryDestinationArn: logDestination.arn,
        // Default key layout under the destination: AWSLogs/<account>/CloudFront/...
      }),
      "access-log-delivery",
    );
  }
}
