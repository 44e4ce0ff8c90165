/**
 * Edge policy tests over EVERY CloudFront distribution, behaviour, origin, cache policy and origin request
 * policy of both environments, plus the D13 cache-safety rule: a behaviour that forwards Authorization (or
 * cookies) to its origin either keys the cache on it or does not cache at all.
 */
import { prod, staging } from "../../constructs/config/environments";
import { resourcesOfType, synthAll, Synthesized, TfJson } from "../helpers/synth";

type Body = Record<string, unknown>;

/** AWS managed policies a behaviour may reference by id, described in the synthesized shape. */
const MANAGED_CACHE_POLICIES: Record<string, Body> = {
  // CachingDisabled
  "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": {
    min_ttl: 0,
    default_ttl: 0,
    max_ttl: 0,
    parameters_in_cache_key_and_forwarded_to_origin: {
      headers_config: { header_behavior: "none" },
      cookies_config: { cookie_behavior: "none" },
      query_strings_config: { query_string_behavior: "none" },
    },
  },
  // CachingOptimized
  "658327ea-f89d-4fab-a63d-7e88639e58f6": {
    min_ttl: 1,
    default_ttl: 86400,
    max_ttl: 31536000,
    parameters_in_cache_key_and_forwarded_to_origin: {
      headers_config: { header_behavior: "none" },
      cookies_config: { cookie_behavior: "none" },
      query_strings_config: { query_string_behavior: "none" },
    },
  },
};
const MANAGED_ORIGIN_REQUEST_POLICIES: Record<string, Body> = {
  // AllViewer
  "216adef6-5c7f-47e4-b989-5492eafa07d3": {
    headers_config: { header_behavior: "allViewer" },
    cookies_config: { cookie_behavior: "all" },
    query_strings_config: { query_string_behavior: "all" },
  },
  // AllViewerExceptHostHeader
  "b689b0a8-53d0-40ab-baf2-68738e2966ac": {
    headers_config: { header_behavior: "allExcept", headers: { items: ["host"] } },
    cookies_config: { cookie_behavior: "all" },
    query_strings_config: { query_string_behavior: "all" },
  },
};

interface Behaviour {
  stack: string;
  distribution: string;
  path: string;
  body: Body;
}

/** Looks up `${aws_<type>.<id>.id}` in the same stack, or a managed policy id. */
function lookup(stack: TfJson, type: string, ref: unknown, managed: Record<string, Body>): Body | undefined {
  if (typeof ref !== "string") return undefined;
  if (managed[ref]) return managed[ref];
  const m = new RegExp(`^\\$\\{${type}\\.([A-Za-z0-9_-]+)\\.id\\}$`).exec(ref);
  return m ? (stack.resource?.[type]?.[m[1]] as Body | undefined) : undefined;
}

function behaviours(s: Synthesized): Behaviour[] {
  const out: Behaviour[] = [];
  for (const [stack, id, d] of resourcesOfType(s, "aws_cloudfront_distribution")) {
    out.push({ stack, distribution: id, path: "(default)", body: d.default_cache_behavior as Body });
    for (const o of (d.ordered_cache_behavior as Body[] | undefined) ?? []) {
      out.push({ stack, distribution: id, path: o.path_pattern as string, body: o });
    }
  }
  return out;
}

const lower = (xs: unknown): string[] => ((xs as string[] | undefined) ?? []).map((x) => x.toLowerCase());

/** Header names a headers_config sends to the origin; "*" means every viewer header. */
function headersSent(cfg: Body | undefined): { all: boolean; except: string[]; names: string[] } {
  const behaviour = (cfg?.header_behavior as string | undefined) ?? "none";
  const items = lower((cfg?.headers as Body | undefined)?.items);
  if (behaviour === "allViewer" || behaviour === "allViewerAndWhitelistCloudFront")
    return { all: true, except: [], names: items };
  if (behaviour === "allExcept") return { all: true, except: items, names: [] };
  if (behaviour === "whitelist") return { all: false, except: [], names: items };
  return { all: false, except: [], names: [] };
}

const sends = (h: ReturnType<typeof headersSent>, name: string) =>
  h.all ? !h.except.includes(name) : h.names.includes(name);

/**
 * Why a behaviour could serve one viewer's personalised response to another, or [] when it cannot. Exported
 * through the test so that it can be run against a deliberately broken copy as well.
 */
function unsafeBehaviours(s: Synthesized): string[] {
  const problems: string[] = [];
  for (const b of behaviours(s)) {
    const stack = s.stacks[b.stack];
    const where = `${b.stack}/${b.distribution} ${b.path}`;
    const legacy = b.body.forwarded_values as Body | undefined;
    const cache = lookup(stack, "aws_cloudfront_cache_policy", b.body.cache_policy_id, MANAGED_CACHE_POLICIES);
    const orp = lookup(
      stack,
      "aws_cloudfront_origin_request_policy",
      b.body.origin_request_policy_id,
      MANAGED_ORIGIN_REQUEST_POLICIES,
    );
    if (legacy) {
      problems.push(`${where}: uses legacy forwarded_values; use a cache policy`);
      continue;
    }
    if (!cache) {
      problems.push(`${where}: cache policy ${String(b.body.cache_policy_id)} cannot be resolved`);
      continue;
    }
    if (b.body.origin_request_policy_id !== undefined && !orp) {
      problems.push(`${where}: origin request policy ${String(b.body.origin_request_policy_id)} cannot be resolved`);
      continue;
    }
    const key = cache.parameters_in_cache_key_and_forwarded_to_origin as Body;
    const keyHeaders = headersSent(key.headers_config as Body);
    const caches = [cache.min_ttl, cache.default_ttl, cache.max_ttl].some((t) => Number(t ?? 0) > 0);
    const forwardsAuth =
      sends(keyHeaders, "authorization") ||
      (orp !== undefined && sends(headersSent(orp.headers_config as Body), "authorization"));
    if (forwardsAuth && caches && !keyHeaders.names.includes("authorization"))
      problems.push(`${where}: forwards Authorization and caches, but Authorization is not in the cache key`);
    const keyCookies = ((key.cookies_config as Body | undefined)?.cookie_behavior as string | undefined) ?? "none";
    const orpCookies = ((orp?.cookies_config as Body | undefined)?.cookie_behavior as string | undefined) ?? "none";
    if (orpCookies !== "none" && caches && keyCookies !== "all" && keyCookies !== orpCookies)
      problems.push(`${where}: forwards cookies (${orpCookies}) that are not all in the cache key (${keyCookies})`);
  }
  return problems;
}

describe.each([
  ["prod", prod],
  ["staging", staging],
])("edge policy (%s)", (_name, env) => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthAll(env);
  });

  it("has one distribution with the static, hashed-asset, health and API behaviours", () => {
    expect(resourcesOfType(s, "aws_cloudfront_distribution").map(([st, id]) => `${st}/${id}`)).toEqual([
      "cdn/distribution",
    ]);
    expect(behaviours(s).map((b) => b.path)).toEqual(["(default)", "/_next/static/*", env.api.healthPath, "/api/*"]);
  });

  it("cache safety (D13): every behaviour that forwards Authorization keys on it or does not cache", () => {
    expect(unsafeBehaviours(s)).toEqual([]);
  });

  it("the cache-safety check catches an API cache policy without Authorization in its key", () => {
    const broken: Synthesized = JSON.parse(JSON.stringify(s));
    const api = broken.stacks.cdn.resource!.aws_cloudfront_cache_policy["api-cache"] as Body;
    const headers = (api.parameters_in_cache_key_and_forwarded_to_origin as Body).headers_config as Body;
    (headers.headers as Body).items = ["Origin"];
    expect(unsafeBehaviours(broken)).toEqual([
      `cdn/distribution /api/*: forwards Authorization and caches, but Authorization is not in the cache key`,
    ]);
  });

  it("the cache-safety check catches the managed AllViewer policy (cookies and Authorization) on a cached behaviour", () => {
    const broken: Synthesized = JSON.parse(JSON.stringify(s));
    const d = broken.stacks.cdn.resource!.aws_cloudfront_distribution.distribution as Body;
    const html = d.default_cache_behavior as Body;
    html.origin_request_policy_id = "216adef6-5c7f-47e4-b989-5492eafa07d3";
    expect(unsafeBehaviours(broken)).toEqual([
      "cdn/distribution (default): forwards Authorization and caches, but Authorization is not in the cache key",
      "cdn/distribution (default): forwards cookies (all) that are not all in the cache key (none)",
    ]);
  });

  it("no cache policy has Authorization in its key with all TTLs zero (AWS rejects it)", () => {
    for (const [, id, p] of resourcesOfType(s, "aws_cloudfront_cache_policy")) {
      const h = headersSent((p.parameters_in_cache_key_and_forwarded_to_origin as Body).headers_config as Body);
      const zero = [p.min_ttl, p.default_ttl, p.max_ttl].every((t) => Number(t ?? 0) === 0);
      expect([id, h.names.includes("authorization") && zero]).toEqual([id, false]);
    }
  });

  it("no origin request policy lists Authorization (CloudFront forbids it) or forwards Host to the API", () => {
    for (const [, id, p] of resourcesOfType(s, "aws_cloudfront_origin_request_policy")) {
      const h = headersSent(p.headers_config as Body);
      expect([id, h.names.includes("authorization")]).toEqual([id, false]);
      expect([id, sends(h, "host")]).toEqual([id, false]);
    }
  });

  it("every origin is behind Origin Shield in the configured region", () => {
    for (const [, id, d] of resourcesOfType(s, "aws_cloudfront_distribution")) {
      const origins = d.origin as Body[];
      expect(origins.length).toBe(2);
      for (const o of origins) {
        expect([id, o.origin_id, o.origin_shield]).toEqual([
          id,
          o.origin_id,
          { enabled: true, origin_shield_region: env.originShieldRegion },
        ]);
      }
    }
  });

  it("every S3 origin uses an origin access control that signs every request with SigV4; custom origins are HTTPS + TLS 1.2 only", () => {
    const oacs = Object.fromEntries(
      resourcesOfType(s, "aws_cloudfront_origin_access_control").map(([, id, b]) => [id, b]),
    );
    expect(Object.keys(oacs).length).toBeGreaterThan(0);
    for (const [id, oac] of Object.entries(oacs)) {
      expect([id, oac.signing_behavior, oac.signing_protocol, oac.origin_access_control_origin_type]).toEqual([
        id,
        "always",
        "sigv4",
        "s3",
      ]);
    }
    for (const [, id, d] of resourcesOfType(s, "aws_cloudfront_distribution")) {
      for (const o of d.origin as Body[]) {
        const custom = o.custom_origin_config as Body | undefined;
        if (/\.s3\.[a-z0-9-]+\.amazonaws\.com$/.test(o.domain_name as string)) {
          expect(custom).toBeUndefined();
          expect(o.s3_origin_config).toBeUndefined();
          const m = /^\$\{aws_cloudfront_origin_access_control\.([A-Za-z0-9_-]+)\.id\}$/.exec(
            o.origin_access_control_id as string,
          );
          expect([id, o.origin_id, m && oacs[m[1]] !== undefined]).toEqual([id, o.origin_id, true]);
        } else {
          expect([id, o.origin_id, custom?.origin_protocol_policy, custom?.origin_ssl_protocols]).toEqual([
            id,
            o.origin_id,
            "https-only",
            ["TLSv1.2"],
          ]);
        }
      }
    }
  });

  it("every behaviour but the uncached health path redirects plain HTTP to HTTPS; all carry HSTS", () => {
    const rhp = Object.fromEntries(
      resourcesOfType(s, "aws_cloudfront_response_headers_policy").map(([, id, b]) => [id, b]),
    );
    for (const b of behaviours(s)) {
      // The Route 53 HTTP check's path answers plain HTTP (a redirect would always count as healthy); it
      // caches nothing (Managed-CachingDisabled) and returns only the public health status.
      const plainHttpAllowed =
        b.path === env.api.healthPath && b.body.cache_policy_id === "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
      const allowed = plainHttpAllowed
        ? /^(redirect-to-https|https-only|allow-all)$/
        : /^(redirect-to-https|https-only)$/;
      expect([b.path, b.body.viewer_protocol_policy]).toEqual([b.path, expect.stringMatching(allowed)]);
      const m = /^\$\{aws_cloudfront_response_headers_policy\.([A-Za-z0-9_-]+)\.id\}$/.exec(
        b.body.response_headers_policy_id as string,
      );
      const policy = m ? rhp[m[1]] : undefined;
      const hsts =
        ((policy?.security_headers_config as Body | undefined)?.strict_transport_security as Body | undefined) ?? {};
      expect([b.path, Number(hsts.access_control_max_age_sec) >= 31536000, hsts.override]).toEqual([
        b.path,
        true,
        true,
      ]);
    }
  });

  it("every distribution requires TLS 1.2 (2021 policy), SNI, HTTP/2 and HTTP/3, and the site and API names", () => {
    for (const [, id, d] of resourcesOfType(s, "aws_cloudfront_distribution")) {
      const vc = d.viewer_certificate as Body;
      expect([id, vc.minimum_protocol_version, vc.ssl_support_method, vc.cloudfront_default_certificate]).toEqual([
        id,
        "TLSv1.2_2021",
        "sni-only",
        undefined,
      ]);
      expect([id, d.http_version, d.aliases]).toEqual([
        id,
        "http2and3",
        [env.domain.siteName, `api.${env.domain.siteName}`],
      ]);
    }
  });

  it("functions run only on the static behaviour (router at viewer request, 404 status at viewer response), on cloudfront-js-2.0", () => {
    const fns = resourcesOfType(s, "aws_cloudfront_function");
    expect(fns.map(([, id]) => id).sort()).toEqual(["not-found-status", "spa-router"]);
    for (const [, id, f] of fns) expect([id, f.runtime, f.publish]).toEqual([id, "cloudfront-js-2.0", true]);
    for (const b of behaviours(s)) {
      const fa = (b.body.function_association as Body[] | undefined) ?? [];
      const lambda = (b.body.lambda_function_association as Body[] | undefined) ?? [];
      expect([b.path, lambda]).toEqual([b.path, []]);
      if (b.path === "(default)") {
        expect(fa).toEqual([
          { event_type: "viewer-request", function_arn: "${aws_cloudfront_function.spa-router.arn}" },
          { event_type: "viewer-response", function_arn: "${aws_cloudfront_function.not-found-status.arn}" },
        ]);
      } else {
        expect([b.path, fa]).toEqual([b.path, []]);
      }
    }
  });
});
