/**
 * A model of the synthesized CloudFront distribution, for tests that send requests through it: it picks the
 * cache behaviour by CloudFront's path-pattern rules (ordered behaviours first, first match wins, then the
 * default), runs the behaviour's viewer-request and viewer-response functions from the SYNTHESIZED function
 * code, and hands the request to an origin the test provides.
 *
 * Only the AWS side is modelled here (behaviour choice, the CloudFront Functions runtime surface, the
 * `cloudfront` module's KeyValueStore handle, and the edge cache: see `edgeTtl` and `invalidate`). The function code, the distribution and the origins' content
 * are the project's own.
 */
import { runInNewContext } from "vm";
import { TfJson } from "./synth";

type Body = Record<string, unknown>;

export type CfHeaders = Record<string, { value: string }>;
export type QueryString = Record<string, { value: string; multiValue?: { value: string }[] }>;
export interface CfRequest {
  method: string;
  uri: string;
  querystring: QueryString;
  headers: CfHeaders;
  cookies: Record<string, { value: string }>;
}
export interface CfResponse {
  statusCode: number;
  statusDescription?: string;
  headers: CfHeaders;
  body?: { encoding: "text" | "base64"; data: string } | string;
}
type Handler = (event: unknown) => CfRequest | CfResponse | Promise<CfRequest | CfResponse>;

/** A response from an origin (or from a function), as the viewer would see it. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Origins {
  /** The static bucket: `key` is the object key without the leading slash, decoded as S3 decodes it. */
  s3(key: string): HttpResponse;
  /** The HTTP API, reached with the viewer's method, path and query string. */
  api(method: string, pathAndQuery: string, headers: Record<string, string>): HttpResponse;
}

/**
 * TEST DOUBLE of the `cloudfront` module's KeyValueStore handle (cloudfront-js-2.0): `exists` and `get` as
 * documented in "Helper methods for key value stores"; `get` rejects for a missing key.
 */
export function kvsHandle(data: ReadonlyMap<string, string>) {
  return {
    exists: async (key: string) => data.has(key),
    get: async (key: string) => {
      if (!data.has(key)) throw new Error(`KeyValueStore: key not found: ${key}`);
      return data.get(key);
    },
    meta: async () => ({ keyCount: data.size }),
  };
}

/**
 * Loads a function's code as CloudFront does, in a scope without host globals. A module-style function
 * (`import cf from 'cloudfront'`) gets `cf` with a `kvs()` over `kvs`, or a `kvs()` that throws when the
 * function has no store associated.
 */
export function loadFunction(code: string, kvs?: ReadonlyMap<string, string>): Handler {
  const cf = {
    kvs: () => {
      if (!kvs) throw new Error("cf.kvs(): no key value store is associated with this function");
      return kvsHandle(kvs);
    },
  };
  const importLine = /^import cf from ['"]cloudfront['"];?$/m;
  const source = code.replace(importLine, "var cf = __cloudfront;");
  if (/^\s*(import|export)\s/m.test(source))
    throw new Error("function code uses an import other than `import cf from 'cloudfront'`");
  const scope = Object.create(null) as Record<string, unknown>;
  scope.__cloudfront = cf;
  return runInNewContext(`${source}\n;handler`, scope, { filename: "cloudfront-function.js" }) as Handler;
}

/** CloudFront path patterns: `*` any run of characters (slashes included), `?` one character, case-sensitive. */
export function pathPatternMatches(pattern: string, path: string): boolean {
  const p = pattern.startsWith("/") ? pattern : `/${pattern}`;
  const re = new RegExp(
    `^${p
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return re.test(path);
}

/** Parses `a=1&a=2&b` into the CloudFront Functions querystring shape (values as received). */
export function parseQuery(raw: string): QueryString {
  const qs: QueryString = {};
  if (!raw) return qs;
  for (const part of raw.split("&")) {
    const eq = part.indexOf("=");
    const key = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? "" : part.slice(eq + 1);
    const cur = qs[key];
    if (!cur) qs[key] = { value };
    else {
      cur.multiValue = cur.multiValue ?? [{ value: cur.value }];
      cur.multiValue.push({ value });
    }
  }
  return qs;
}

function isResponse(r: CfRequest | CfResponse): r is CfResponse {
  return (r as CfResponse).statusCode !== undefined;
}

const flat = (h: CfHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.value]));
const nested = (h: Record<string, string>): CfHeaders =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), { value: v }]));

/** What happened to one request at the edge. */
export interface EdgeResult extends HttpResponse {
  /** The matched behaviour's path pattern, or "default". */
  behaviour: string;
  /** The origin id the request reached, or null when a function answered. */
  origin: string | null;
  /** The URI the origin was asked for (after the viewer-request function). */
  originUri?: string;
  /** Functions that ran, as "<function id>@<event type>". */
  functions: string[];
  /** CloudFront's x-cache: "Hit from cloudfront", "Miss from cloudfront" or "FunctionGeneratedResponse from cloudfront". */
  xCache: string;
}

export interface Edge {
  aliases: string[];
  request(host: string, method: string, target: string, headers?: Record<string, string>): Promise<EdgeResult>;
  /** A CreateInvalidation: removes every cached object whose path matches one of `paths` (a trailing `*` is a prefix). */
  invalidate(paths: string[]): void;
  /** Moves the edge's clock on, so cached objects age. */
  advance(seconds: number): void;
}

/** A cache policy's TTLs, as synthesized. */
export interface CacheTtls {
  min_ttl: number;
  default_ttl: number;
  max_ttl: number;
}

/**
 * Seconds CloudFront keeps an origin response, per "Manage how long content stays in the cache (expiration)"
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html): s-maxage, else max-age,
 * clamped to [min TTL, max TTL]; no-cache, no-store or private keep it only for a min TTL above 0; without a
 * Cache-Control (or Expires) header, the default TTL. Browsers get the header as the origin sent it.
 */
export function edgeTtl(cacheControl: string | undefined, ttls: CacheTtls): number {
  const clamp = (n: number) => Math.min(Math.max(n, ttls.min_ttl), ttls.max_ttl);
  if (cacheControl === undefined) return ttls.default_ttl;
  const directives = new Map(
    cacheControl.split(",").map((d) => {
      const [k, v] = d.trim().toLowerCase().split("=");
      return [k, v] as [string, string | undefined];
    }),
  );
  if (["no-cache", "no-store", "private"].some((d) => directives.has(d))) return ttls.min_ttl;
  const shared = directives.get("s-maxage") ?? directives.get("max-age");
  return shared === undefined ? ttls.default_ttl : clamp(Number(shared));
}

/** CloudFront invalidation paths: exact, or a prefix when the path ends in `*`; case-sensitive. */
export function invalidationMatches(path: string, key: string): boolean {
  return path.endsWith("*") ? key.startsWith(path.slice(0, -1)) : key === path;
}

/**
 * The one distribution of a synthesized cdn stack, with its functions, in front of `origins`. With
 * `{ cache: true }`, one edge cache in front of the origins, keyed and aged by the behaviours' own cache
 * policies (managed policies are not modelled: never cached); responses then carry x-cache.
 */
export function edgeOf(
  cdn: TfJson,
  origins: Origins,
  kvs?: ReadonlyMap<string, string>,
  options: { cache?: boolean } = {},
): Edge {
  const res = cdn.resource as Record<string, Record<string, Body>>;
  const [dist] = Object.values(res.aws_cloudfront_distribution);
  const functions = res.aws_cloudfront_function ?? {};
  const ordered = (dist.ordered_cache_behavior as Body[] | undefined) ?? [];
  const fallback = dist.default_cache_behavior as Body;
  const handlers = new Map<string, Handler>();
  const policies = (res.aws_cloudfront_cache_policy ?? {}) as Record<string, Body>;
  /** The behaviour's own cache policy, or undefined for a managed one (not modelled: never cached here). */
  const policyOf = (b: Body) => {
    const m = /^\$\{aws_cloudfront_cache_policy\.([A-Za-z0-9_-]+)\.id\}$/.exec(String(b.cache_policy_id));
    return m ? policies[m[1]] : undefined;
  };
  const cache = new Map<string, { path: string; expires: number; response: HttpResponse }>();
  let now = 0;
  const functionId = (arnRef: string) => {
    const m = /^\$\{aws_cloudfront_function\.([A-Za-z0-9_-]+)\.arn\}$/.exec(arnRef);
    if (!m || !functions[m[1]]) throw new Error(`function association ${arnRef} names no function of this stack`);
    return m[1];
  };
  const handlerOf = (id: string) => {
    let h = handlers.get(id);
    if (!h) {
      const f = functions[id];
      const associated = ((f.key_value_store_associations as string[] | undefined) ?? []).length > 0;
      h = loadFunction(f.code as string, associated ? (kvs ?? new Map()) : undefined);
      handlers.set(id, h);
    }
    return h;
  };

  return {
    aliases: dist.aliases as string[],
    async request(host, method, target, headers = {}) {
      if (!(dist.aliases as string[]).includes(host)) throw new Error(`${host} is not an alias of the distribution`);
      const q = target.indexOf("?");
      const uri = q === -1 ? target : target.slice(0, q);
      const b = ordered.find((x) => pathPatternMatches(x.path_pattern as string, uri)) ?? fallback;
      const behaviour = (b.path_pattern as string | undefined) ?? "default";
      if (!(b.allowed_methods as string[]).includes(method))
        return {
          behaviour,
          origin: null,
          functions: [],
          status: 403,
          headers: {},
          body: "method not allowed",
          xCache: "Error from cloudfront",
        };
      const assoc = (b.function_association as Body[] | undefined) ?? [];
      const fn = (type: string) =>
        assoc.filter((a) => a.event_type === type).map((a) => functionId(a.function_arn as string));
      const ran: string[] = [];
      const request: CfRequest = {
        method,
        uri,
        querystring: parseQuery(q === -1 ? "" : target.slice(q + 1)),
        headers: nested({ ...headers, host }),
        cookies: {},
      };
      const event = (extra: Body) => ({
        version: "1.0",
        context: { eventType: "viewer-request" },
        viewer: { ip: "192.0.2.1" },
        request,
        ...extra,
      });
      let current: CfRequest = request;
      for (const id of fn("viewer-request")) {
        ran.push(`${id}@viewer-request`);
        const out = await handlerOf(id)(event({}));
        if (isResponse(out)) {
          const bodyOf =
            out.body === undefined
              ? ""
              : typeof out.body === "string"
                ? out.body
                : out.body.encoding === "base64"
                  ? Buffer.from(out.body.data, "base64").toString()
                  : out.body.data;
          return {
            behaviour,
            origin: null,
            functions: ran,
            status: out.statusCode,
            headers: flat(out.headers ?? {}),
            body: bodyOf,
            xCache: "FunctionGeneratedResponse from cloudfront",
          };
        }
        current = out;
      }
      const origin = b.target_origin_id as string;
      const qs = Object.entries(current.querystring)
        .flatMap(([k, v]) => (v.multiValue ?? [v]).map((x) => (x.value === "" ? k : `${k}=${x.value}`)))
        .join("&");
      // The cache key: the URI after the viewer-request function, and what the policy puts in the key.
      const policy = policyOf(b);
      const inKey = (policy?.parameters_in_cache_key_and_forwarded_to_origin ?? {}) as Record<
        string,
        Record<string, unknown>
      >;
      const keyHeaders = ((inKey.headers_config?.headers as { items?: string[] } | undefined)?.items ?? []).map(
        (h) => current.headers[h.toLowerCase()]?.value ?? "",
      );
      const keyQuery = inKey.query_strings_config?.query_string_behavior === "none" ? "" : qs;
      const cacheKey = [current.uri, keyQuery, ...keyHeaders].join("|");
      const cacheable = options.cache === true && policy !== undefined && (method === "GET" || method === "HEAD");
      const hit = cacheable ? cache.get(cacheKey) : undefined;
      let fromOrigin: HttpResponse;
      let xCache: string;
      if (hit && hit.expires > now) {
        fromOrigin = hit.response;
        xCache = "Hit from cloudfront";
      } else {
        fromOrigin =
          origin === "static-s3"
            ? origins.s3(safeDecode(current.uri).slice(1))
            : origins.api(method, current.uri + (qs ? `?${qs}` : ""), flat(current.headers));
        xCache = "Miss from cloudfront";
        // Only successful responses are kept here (error caching is not modelled).
        const cc = Object.entries(fromOrigin.headers).find(([k]) => k.toLowerCase() === "cache-control")?.[1];
        const ttl = cacheable && fromOrigin.status === 200 ? edgeTtl(cc, policy as unknown as CacheTtls) : 0;
        if (ttl > 0) cache.set(cacheKey, { path: current.uri, expires: now + ttl, response: fromOrigin });
        else cache.delete(cacheKey);
      }
      let response: CfResponse = { statusCode: fromOrigin.status, headers: nested(fromOrigin.headers) };
      for (const id of fn("viewer-response")) {
        ran.push(`${id}@viewer-response`);
        const out = await handlerOf(id)({
          ...event({}),
          context: { eventType: "viewer-response" },
          request: current,
          response,
        });
        response = out as CfResponse;
      }
      return {
        behaviour,
        origin,
        originUri: current.uri,
        functions: ran,
        status: response.statusCode,
        headers: options.cache ? { ...flat(response.headers), "x-cache": xCache } : flat(response.headers),
        body: fromOrigin.body,
        xCache,
      };
    },
    invalidate(paths) {
      for (const [k, v] of cache) if (paths.some((p) => invalidationMatches(p, v.path))) cache.delete(k);
    },
    advance(seconds) {
      now += seconds;
    },
  };
}

/** S3 decodes a request path once; a malformed escape names no object. */
function safeDecode(uri: string): string {
  try {
    return decodeURIComponent(uri);
  } catch {
    return "\u0000malformed";
  }
}
