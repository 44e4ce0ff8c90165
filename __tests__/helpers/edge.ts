/**
 * A model of the synthesized CloudFront distribution, for tests that send requests through it: it picks the
 * cache behaviour by CloudFront's path-pattern rules (ordered behaviours first, first match wins, then the
 * default), runs the behaviour's viewer-request and viewer-response functions from the SYNTHESIZED function
 * code, and hands the request to an origin the test provides.
 *
 * Only the AWS side is modelled here (behaviour choice, the CloudFront Functions runtime surface, the
 * `cloudfront` module's KeyValueStore handle). The function code, the distribution and the origins' content
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
  if (/^\s*(import|export)\s/m.test(source)) throw new Error("function code uses an import other than `import cf from 'cloudfront'`");
  const scope = Object.create(null) as Record<string, unknown>;
  scope.__cloudfront = cf;
  return runInNewContext(`${source}\n;handler`, scope, { filename: "cloudfront-function.js" }) as Handler;
}

/** CloudFront path patterns: `*` any run of characters (slashes included), `?` one character, case-sensitive. */
export function pathPatternMatches(pattern: string, path: string): boolean {
  const p = pattern.startsWith("/") ? pattern : `/${pattern}`;
  const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
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

const flat = (h: CfHeaders): Record<string, string> => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.value]));
const nested = (h: Record<string, string>): CfHeaders => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), { value: v }]));

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
}

export interface Edge {
  aliases: string[];
  request(host: string, method: string, target: string, headers?: Record<string, string>): Promise<EdgeResult>;
}

/** The one distribution of a synthesized cdn stack, with its functions, in front of `origins`. */
export function edgeOf(cdn: TfJson, origins: Origins, kvs?: ReadonlyMap<string, string>): Edge {
  const res = cdn.resource as Record<string, Record<string, Body>>;
  const [dist] = Object.values(res.aws_cloudfront_distribution);
  const functions = res.aws_cloudfront_function ?? {};
  const ordered = (dist.ordered_cache_behavior as Body[] | undefined) ?? [];
  const fallback = dist.default_cache_behavior as Body;
  const handlers = new Map<string, Handler>();
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
      if (!(b.allowed_methods as string[]).includes(method)) return { behaviour, origin: null, functions: [], status: 403, headers: {}, body: "method not allowed" };
      const assoc = (b.function_association as Body[] | undefined) ?? [];
      const fn = (type: string) => assoc.filter((a) => a.event_type === type).map((a) => functionId(a.function_arn as string));
      const ran: string[] = [];
      const request: CfRequest = {
        method,
        uri,
        querystring: parseQuery(q === -1 ? "" : target.slice(q + 1)),
        headers: nested({ ...headers, host }),
        cookies: {},
      };
      const event = (extra: Body) => ({ version: "1.0", context: { eventType: "viewer-request" }, viewer: { ip: "192.0.2.1" }, request, ...extra });
      let current: CfRequest = request;
      for (const id of fn("viewer-request")) {
        ran.push(`${id}@viewer-request`);
        const out = await handlerOf(id)(event({}));
        if (isResponse(out)) {
          const bodyOf = out.body === undefined ? "" : typeof out.body === "string" ? out.body : out.body.encoding === "base64" ? Buffer.from(out.body.data, "base64").toString() : out.body.data;
          return { behaviour, origin: null, functions: ran, status: out.statusCode, headers: flat(out.headers ?? {}), body: bodyOf };
        }
        current = out;
      }
      const origin = b.target_origin_id as string;
      const qs = Object.entries(current.querystring)
        .flatMap(([k, v]) => (v.multiValue ?? [v]).map((x) => (x.value === "" ? k : `${k}=${x.value}`)))
        .join("&");
      const fromOrigin =
        origin === "static-s3"
          ? origins.s3(safeDecode(current.uri).slice(1))
          : origins.api(method, current.uri + (qs ? `?${qs}` : ""), flat(current.headers));
      let response: CfResponse = { statusCode: fromOrigin.status, headers: nested(fromOrigin.headers) };
      for (const id of fn("viewer-response")) {
        ran.push(`${id}@viewer-response`);
        const out = await handlerOf(id)({ ...event({}), context: { eventType: "viewer-response" }, request: current, response });
        response = out as CfResponse;
      }
      return { behaviour, origin, originUri: current.uri, functions: ran, status: response.statusCode, headers: flat(response.headers), body: fromOrigin.body };
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
