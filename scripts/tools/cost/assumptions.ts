/**
 * Usage assumptions: everything the rate table cannot read from the synthesized JSON. Each number says where
 * it comes from. Override any subset with `npm run cost -- --assumptions FILE` (a JSON file with the same
 * shape, deep-merged over these defaults; unknown keys are rejected).
 *
 * Traffic is sized so that the API Gateway line matches the epic's own ~$2 (about 1.6 million requests
 * reaching the origin per month), so that the comparison with the epic isolates the line items it left out
 * rather than a different traffic guess; CloudFront then follows from the cache hit ratios below. Replace
 * these numbers with the first month of CloudFront / API Gateway metrics once production runs.
 */

import { COMMITMENT_DISCOUNTS, CommitmentPlan, CommitmentTerm, CommitmentUpfront } from "./rates";

export interface BucketUsage {
  /** Average stored GB over the month (all versions, noncurrent included). */
  storageGb: number;
  /** PUT/COPY/POST/LIST requests per month. */
  tier1Requests: number;
  /** GET/SELECT requests per month. */
  tier2Requests: number;
}

export interface LogGroupUsage {
  /** GB ingested per month. Stored volume is derived from the group's retention. */
  ingestGbPerMonth: number;
}

export interface UsageAssumptions {
  /** Hours in a billing month, as AWS's calculator uses. */
  hoursPerMonth: number;
  /**
   * Apply the always-free allowances (CloudFront 1 TB / 10M requests, 10 CloudWatch metrics and alarms, ...).
   * false by default: in an AWS Organization the allowance is shared by every account, so it may be used up
   * elsewhere. The report always shows the credits either way.
   */
  alwaysFreeTier: boolean;
  edge: {
    /** Viewer requests per month at CloudFront (all behaviours). */
    requestsPerMonth: number;
    /** GB served to viewers per month. */
    gbServedPerMonth: number;
    /** Share of viewers billed in the United States group; the rest in "Europe, Israel". Users are in the US and Israel. */
    shareUnitedStates: number;
    /** Share of viewer requests that go to the API behaviour (the rest go to the static site). */
    apiShareOfRequests: number;
    /** Cache hit ratio of the static behaviour's assets (everything but pages: long TTLs, immutable files). */
    staticCacheHitRatio: number;
    /** Share of the static behaviour's requests that are page views (HTML, 404.html included). */
    pageShareOfStaticRequests: number;
    /** Cache hit ratio of page views at the edge (pages carry s-maxage; see the default's comment). */
    pageCacheHitRatio: number;
    /** Cache hit ratio of the API behaviour (1 hour TTL on zmanim, Authorization in the key). */
    apiCacheHitRatio: number;
    /** Share of edge misses that Origin Shield answers from its own cache. */
    originShieldHitRatio: number;
    /** Paths invalidated per month (one `/*` per static deploy counts as one path). */
    invalidationPathsPerMonth: number;
    /** Bytes of CloudFront access log (JSON, standard logging v2) per viewer request. */
    accessLogBytesPerRequest: number;
    /**
     * Bytes one access-log record takes in the edge-metrics log group (monitoring stack: time-taken, result type
     * and status, space-delimited, ~15 bytes, plus CloudWatch Logs' 26 bytes of per-event overhead).
     */
    edgeMetricsLogBytesPerRequest: number;
    /** GB of request bodies CloudFront sends to the origins (POST/PUT/PATCH), billed as transfer to origin. */
    originUploadGbPerMonth: number;
  };
  /** S3 usage by bucket purpose; a bucket uses the first entry whose key occurs in its name, else `default`. */
  buckets: Record<string, BucketUsage>;
  /** CloudWatch Logs ingestion by log group; a group uses the first entry whose key occurs in its name, else `default`. */
  logGroups: Record<string, LogGroupUsage>;
  cloudwatch: {
    /** Custom metrics published from each instance (CloudWatch agent + backup script). */
    customMetricsPerInstance: number;
    /** PutMetricData calls per instance per month. */
    putMetricDataPerInstance: number;
  };
  ec2: {
    /** Root volume size when the instance does not set one (the AMI's snapshot size). */
    defaultRootVolumeGb: number;
    /** GB per month the instance sends to the internet (not via the S3 gateway endpoint). */
    internetEgressGbPerMonth: number;
  };
  dns: {
    /** Non-alias queries per month per public hosted zone (alias queries to CloudFront are free). */
    queriesPerZonePerMonth: number;
    /**
     * How Route 53 bills an endpoint health check. "aws" needs the endpoint to be an AWS resource in the same
     * account; a CloudFront hostname checked by domain name is billed as non-AWS to be safe.
     */
    healthCheckEndpoint: "aws" | "non-aws";
    /**
     * Requests one HTTP(S) endpoint health check sends per month. They pass through CloudFront, Origin
     * Shield and API Gateway like any uncached API request.
     */
    healthCheckRequestsPerMonth: number;
  };
  messaging: {
    /** SES emails per month (backup-failure notices only). */
    sesEmailsPerMonth: number;
    /** SNS publishes per topic per month (alarm state changes). */
    snsPublishesPerTopic: number;
    /** SNS email deliveries per topic per month. */
    snsEmailsPerTopic: number;
  };
  cloudMap: {
    /**
     * DiscoverInstances calls per month. Upper bound: one per API request reaching the origin; API Gateway
     * caches the result, so the real number is lower. Check it against the first bill.
     */
    discoverCallsPerMonth: number | "per-origin-request";
  };
  /** EBS snapshot GB-month kept by lifecycle policies, if any. */
  snapshotGbMonth: number;
  /**
   * How the EC2 instance hours are bought. "on-demand", or a Savings Plan with a term and a payment option
   * (rates.ts COMMITMENT_DISCOUNTS). The report shows on-demand and this side by side; the budget gate uses
   * this one.
   */
  commitment: { plan: CommitmentPlan; term: CommitmentTerm; upfront: CommitmentUpfront };
  /** Usage of the `scaled` topology's managed services (priced only where those resources exist). */
  scaled: {
    /** Origin requests per second one fleet instance serves at its target CPU. */
    originRequestsPerSecondPerInstance: number;
    /** Peak over average origin request rate; the fleet is sized for the peak. */
    peakToAverage: number;
    /** Custom CloudWatch metrics per fleet instance (memory, root disk). */
    customMetricsPerFleetInstance: number;
    /** Average bytes through the ALB per origin request (request plus response). */
    albBytesPerRequest: number;
    /** New connections to the ALB per origin request (the VPC link reuses connections). */
    albNewConnectionsPerRequest: number;
    /** Average data stored in a serverless cache, GB (billed at least 0.1 GB for Valkey). */
    cacheDataGb: number;
    /** ElastiCache Processing Units per origin request (about one per small GET or SET). */
    cacheEcpuPerOriginRequest: number;
    /** RDS backup storage beyond the free 100% of provisioned storage, GB-month. */
    databaseBackupGbMonthBeyondFree: number;
    /** GB per month each NAT gateway processes (OS updates, SSM, CloudWatch, the API's outbound calls). */
    natGbProcessedPerMonth: number;
  };
}

export const DEFAULT_ASSUMPTIONS: UsageAssumptions = {
  hoursPerMonth: 730,
  alwaysFreeTier: false,
  edge: {
    // 5M viewer requests: a static page view fetches a handful of assets, an app session ~10 API calls.
    requestsPerMonth: 5_000_000,
    // ~8 KB average response: static assets are cached in browsers, API responses are small JSON.
    gbServedPerMonth: 40,
    // Users are in the US and Israel; the US is the larger market.
    shareUnitedStates: 0.6,
    // 80% of edge requests are API calls (zmanim lookups); pages and assets are cached by browsers.
    apiShareOfRequests: 0.8,
    staticCacheHitRatio: 0.95,
    // A page view is the HTML plus a handful of assets, so about one static request in five is a page.
    pageShareOfStaticRequests: 0.2,
    // Pages carry `s-maxage=86400` (static-site-sync.sh) under the html-cache policy's 1-day max TTL, and
    // deploys invalidate only the pages they change. ~200k page views a month (~6,700 a day) over a few dozen
    // PriceClass_100 edge locations, concentrated on the home page and the popular cities: the first view of a
    // page at an edge location each day (or after its invalidation) misses, the rest hit. Before pages had an
    // edge TTL (max-age=0 with min TTL 0), every page view was a miss: 0.
    pageCacheHitRatio: 0.8,
    // Zmanim vary by location and date; a 1-hour TTL with a coarse key catches about half.
    apiCacheHitRatio: 0.5,
    // One shield region (eu-west-1) in front of both origins collapses the regional misses a little more.
    originShieldHitRatio: 0.2,
    // One `/*` per static deploy, a few deploys a week.
    invalidationPathsPerMonth: 20,
    // One JSON record per request with the default field set is ~400-600 bytes.
    accessLogBytesPerRequest: 500,
    edgeMetricsLogBytesPerRequest: 41,
    // Writes are rare (user settings, admin); ~1% of API requests with ~1 KB bodies.
    originUploadGbPerMonth: 0.04,
  },
  buckets: {
    // restic repository: PostgreSQL dump of a ~2 GB database, compressed ~3x, 7 daily + 4 weekly + 3 monthly
    // snapshots that deduplicate to ~2x one snapshot, plus 30 days of noncurrent versions of pack files.
    backups: { storageGb: 3, tier1Requests: 30_000, tier2Requests: 20_000 },
    // API binaries (~20 MB each), 30 days of noncurrent versions.
    releases: { storageGb: 1, tier1Requests: 500, tier2Requests: 2_000 },
    // Next.js export (~50 MB) plus noncurrent versions from deploys.
    static: { storageGb: 0.5, tier1Requests: 10_000, tier2Requests: 250_000 },
    // S3 server access logs and CloudFront standard logs, expired after 90 days.
    logs: { storageGb: 5, tier1Requests: 150_000, tier2Requests: 1_000 },
    default: { storageGb: 1, tier1Requests: 1_000, tier2Requests: 10_000 },
  },
  logGroups: {
    // ~10-minute aggregated flow records of one ENI plus internet background scanning of the public IP.
    "vpc-flow-logs": { ingestGbPerMonth: 0.5 },
    // ~400 bytes per API Gateway access log line x the requests reaching API Gateway (~1.6M).
    "apigw-access": { ingestGbPerMonth: 0.7 },
    // Go API request log on the box, ~300 bytes per origin request.
    api: { ingestGbPerMonth: 0.5 },
    postgresql: { ingestGbPerMonth: 0.1 },
    redis: { ingestGbPerMonth: 0.02 },
    backup: { ingestGbPerMonth: 0.01 },
    default: { ingestGbPerMonth: 0.05 },
  },
  cloudwatch: {
    // mem_used_percent, disk_used_percent for / and /data, BackupSuccess, RestoreDrillSuccess and
    // RestoreDrillAgeSeconds (docs/on-box-layout.md, "Metrics").
    customMetricsPerInstance: 6,
    // The agent flushes once a minute (43,800 calls/month) plus one call per backup run.
    putMetricDataPerInstance: 44_000,
  },
  ec2: {
    defaultRootVolumeGb: 8,
    // OS security updates are baked into the AMI; the box talks to AWS APIs and, during migration, to Xata.
    internetEgressGbPerMonth: 2,
  },
  dns: {
    queriesPerZonePerMonth: 200_000,
    healthCheckEndpoint: "non-aws",
    // Route 53 runs several checkers in each configured region (3 here) at a 30 s interval; the endpoint sees
    // about one request every 5 s. Check against the /api/health lines of the API Gateway access log.
    healthCheckRequestsPerMonth: 520_000,
  },
  messaging: {
    sesEmailsPerMonth: 10,
    snsPublishesPerTopic: 200,
    snsEmailsPerTopic: 50,
  },
  cloudMap: { discoverCallsPerMonth: "per-origin-request" },
  snapshotGbMonth: 0,
  // A 1-year Compute Savings Plan, no upfront: it follows the instance hours wherever they go (the m7g box
  // today, the t4g fleet of the scaled topology after a scale-out), costs nothing up front, and commits for
  // one year only, while traffic is still a guess. An EC2 Instance Savings Plan saves more but is tied to
  // one instance family in one region.
  commitment: { plan: "compute-savings-plan", term: "1yr", upfront: "none" },
  scaled: {
    // A t4g.small serving small JSON from Valkey and PostgreSQL at 60% CPU.
    originRequestsPerSecondPerInstance: 100,
    peakToAverage: 3,
    customMetricsPerFleetInstance: 2,
    albBytesPerRequest: 4_000,
    albNewConnectionsPerRequest: 0.05,
    // Cached zmanim for the popular locations and sessions.
    cacheDataGb: 0.5,
    cacheEcpuPerOriginRequest: 2,
    databaseBackupGbMonthBeyondFree: 0,
    natGbProcessedPerMonth: 5,
  },
};

/**
 * Per-environment overrides, deep-merged over DEFAULT_ASSUMPTIONS before any --assumptions file. Staging
 * serves the team and CI smoke tests only, not users.
 */
export const ENVIRONMENT_OVERRIDES: Readonly<Record<string, unknown>> = {
  staging: {
    // Smoke tests and a handful of testers: ~100k edge requests, ~2 GB out.
    edge: { requestsPerMonth: 100_000, gbServedPerMonth: 2 },
    buckets: {
      // A copy of prod data is not kept in staging; the test database is small.
      backups: { storageGb: 0.5, tier1Requests: 10_000, tier2Requests: 5_000 },
      logs: { storageGb: 0.5, tier1Requests: 20_000, tier2Requests: 100 },
    },
    logGroups: {
      "apigw-access": { ingestGbPerMonth: 0.02 },
      api: { ingestGbPerMonth: 0.02 },
      postgresql: { ingestGbPerMonth: 0.02 },
    },
    dns: { queriesPerZonePerMonth: 10_000 },
    // Staging runs only while the team works on it: no commitment.
    commitment: { plan: "on-demand" },
  },
};

/** DEFAULT_ASSUMPTIONS with the environment's overrides applied. */
export function assumptionsFor(environment: string): UsageAssumptions {
  const o = ENVIRONMENT_OVERRIDES[environment];
  return o === undefined
    ? DEFAULT_ASSUMPTIONS
    : mergeAssumptions(DEFAULT_ASSUMPTIONS, o, `ENVIRONMENT_OVERRIDES.${environment}`);
}

/** Deep-merges a partial override into `base`, rejecting keys `base` does not have (except in open maps). */
export function mergeAssumptions(base: UsageAssumptions, override: unknown, source: string): UsageAssumptions {
  const openMaps = new Set(["buckets", "logGroups"]);
  const problems: string[] = [];
  const merge = (b: unknown, o: unknown, path: string, open: boolean): unknown => {
    if (o === undefined) return b;
    const bIsObj = b !== null && typeof b === "object" && !Array.isArray(b);
    const oIsObj = o !== null && typeof o === "object" && !Array.isArray(o);
    if (bIsObj && oIsObj) {
      const out: Record<string, unknown> = { ...(b as Record<string, unknown>) };
      for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
        const p = path ? `${path}.${k}` : k;
        if (!(k in out) && !open) {
          problems.push(`${p}: unknown key; known keys are ${Object.keys(b as object).join(", ")}`);
          continue;
        }
        const childBase = k in out ? out[k] : (b as Record<string, unknown>).default;
        out[k] = merge(childBase, v, p, openMaps.has(k));
      }
      return out;
    }
    if (b !== undefined && typeof b !== typeof o && !path.endsWith("discoverCallsPerMonth")) {
      problems.push(`${path} = ${JSON.stringify(o)}: expected a ${typeof b}`);
      return b;
    }
    if (typeof o === "number" && !(Number.isFinite(o) && o >= 0)) {
      problems.push(`${path} = ${JSON.stringify(o)}: use a finite number >= 0`);
      return b;
    }
    return o;
  };
  const merged = merge(base, override, "", false) as UsageAssumptions;
  const ratio = (p: string, v: number) => {
    if (!(v >= 0 && v <= 1)) problems.push(`${p} = ${v}: a share or ratio must lie between 0 and 1`);
  };
  ratio("edge.shareUnitedStates", merged.edge.shareUnitedStates);
  ratio("edge.apiShareOfRequests", merged.edge.apiShareOfRequests);
  ratio("edge.staticCacheHitRatio", merged.edge.staticCacheHitRatio);
  ratio("edge.pageShareOfStaticRequests", merged.edge.pageShareOfStaticRequests);
  ratio("edge.pageCacheHitRatio", merged.edge.pageCacheHitRatio);
  ratio("edge.apiCacheHitRatio", merged.edge.apiCacheHitRatio);
  ratio("edge.originShieldHitRatio", merged.edge.originShieldHitRatio);
  if (merged.dns.healthCheckEndpoint !== "aws" && merged.dns.healthCheckEndpoint !== "non-aws")
    problems.push(
      `dns.healthCheckEndpoint = ${JSON.stringify(merged.dns.healthCheckEndpoint)}: use "aws" or "non-aws"`,
    );
  const c = merged.commitment;
  const plans = ["on-demand", ...Object.keys(COMMITMENT_DISCOUNTS)];
  if (!plans.includes(c.plan))
    problems.push(
      `commitment.plan = ${JSON.stringify(c.plan)}: use one of ${plans.map((x) => JSON.stringify(x)).join(", ")}`,
    );
  if (c.term !== "1yr" && c.term !== "3yr")
    problems.push(`commitment.term = ${JSON.stringify(c.term)}: use "1yr" or "3yr"`);
  if (!["none", "partial", "all"].includes(c.upfront))
    problems.push(`commitment.upfront = ${JSON.stringify(c.upfront)}: use "none", "partial" or "all"`);
  if (!(merged.scaled.peakToAverage >= 1))
    problems.push(`scaled.peakToAverage = ${merged.scaled.peakToAverage}: use a number >= 1`);
  if (!(merged.scaled.originRequestsPerSecondPerInstance > 0))
    problems.push(
      `scaled.originRequestsPerSecondPerInstance = ${merged.scaled.originRequestsPerSecondPerInstance}: use a number > 0`,
    );
  const d = merged.cloudMap.discoverCallsPerMonth;
  if (d !== "per-origin-request" && !(typeof d === "number" && d >= 0))
    problems.push(`cloudMap.discoverCallsPerMonth = ${JSON.stringify(d)}: use a number >= 0 or "per-origin-request"`);
  if (problems.length) {
    throw new AssumptionsError(
      `${source}: invalid assumptions; nothing was computed:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return merged;
}

export class AssumptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssumptionsError";
  }
}

/**
 * The assumptions at another monthly traffic: viewer requests become `requestsPerMonth`, and every number
 * that follows the requests (GB served, request bodies, per-request logs, log-bucket objects, static-bucket
 * GETs) scales by the same factor. Everything else (instances, volumes, metrics, alarms, zones, backups)
 * stays. `npm run cost -- --requests N` and the curve both use this, so a point on the curve is the
 * estimate at that traffic.
 */
export function atTraffic(a: UsageAssumptions, requestsPerMonth: number): UsageAssumptions {
  if (!(Number.isFinite(requestsPerMonth) && requestsPerMonth >= 0))
    throw new AssumptionsError(`requests per month = ${requestsPerMonth}: use a finite number >= 0`);
  const f = a.edge.requestsPerMonth > 0 ? requestsPerMonth / a.edge.requestsPerMonth : 0;
  const scaleLogs = (key: string) =>
    a.logGroups[key] ? { [key]: { ingestGbPerMonth: a.logGroups[key].ingestGbPerMonth * f } } : {};
  const out: UsageAssumptions = {
    ...a,
    edge: {
      ...a.edge,
      requestsPerMonth,
      gbServedPerMonth: a.edge.gbServedPerMonth * f,
      originUploadGbPerMonth: a.edge.originUploadGbPerMonth * f,
    },
    logGroups: { ...a.logGroups, ...scaleLogs("apigw-access"), ...scaleLogs("api") },
    buckets: { ...a.buckets },
  };
  if (a.buckets.logs)
    out.buckets.logs = {
      ...a.buckets.logs,
      storageGb: a.buckets.logs.storageGb * f,
      tier1Requests: a.buckets.logs.tier1Requests * f,
    };
  if (a.buckets.static) out.buckets.static = { ...a.buckets.static, tier2Requests: a.buckets.static.tier2Requests * f };
  return out;
}
