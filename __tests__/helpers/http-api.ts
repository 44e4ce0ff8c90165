/**
 * A model of API Gateway's HTTP API request handling for the synthesized api stack: route selection, the
 * JWT authorizer's place, and the CORS answer. Only AWS's side is modelled; routes, authorizers and the
 * CORS configuration are read from the synthesized JSON.
 *
 * What it encodes, from AWS's documentation (developerguide/http-api-develop-routes.html and
 * http-api-cors.html):
 * - Route keys are `<METHOD> <path>`, `ANY <path>` or `$default`; `{name}` matches one segment and
 *   `{proxy+}` the rest of the path. The most specific match wins (more literal segments, a method over ANY);
 *   `$default` catches what nothing else matches, OPTIONS included.
 * - With a CORS configuration, API Gateway answers a preflight (OPTIONS with `Origin` and
 *   `Access-Control-Request-Method`) itself when no route matches it. A matching route (an explicit
 *   OPTIONS route, an ANY route, or `$default`) takes the request instead, with its authorizer; an ANY route
 *   with a JWT authorizer then answers a token-less preflight with 401 (reported in anomalyco/sst#5493).
 * - A JWT route without a bearer token answers 401 `{"message":"Unauthorized"}`; no matching route answers
 *   404 `{"message":"Not Found"}`.
 * - CORS headers go on responses to requests whose `Origin` is allowed; headers from the integration's
 *   CORS handling are replaced.
 */
import { TfJson } from "./synth";
import { HttpResponse } from "./edge";

type Body = Record<string, unknown>;

interface Route {
  key: string;
  method: string;
  segments: string[];
  jwt: boolean;
}

function parseRoute(key: string, body: Body): Route {
  const jwt = body.authorization_type === "JWT";
  if (key === "$default") return { key, method: "ANY", segments: [], jwt };
  const [method, path] = key.split(" ");
  return { key, method, segments: path.split("/").slice(1), jwt };
}

/** How specific a match is (higher wins), or -1 when the route does not match. */
function score(route: Route, method: string, segments: string[]): number {
  if (route.key === "$default") return 0;
  if (route.method !== "ANY" && route.method !== method) return -1;
  let literal = 0;
  for (let i = 0; i < route.segments.length; i++) {
    const s = route.segments[i];
    if (s.endsWith("+}")) {
      if (i >= segments.length) return -1;
      return 1 + literal * 10 + (route.method === "ANY" ? 0 : 1);
    }
    if (i >= segments.length) return -1;
    if (s.startsWith("{")) continue;
    if (s !== segments[i]) return -1;
    literal++;
  }
  if (route.segments.length !== segments.length) return -1;
  return 1000 + literal * 10 + (route.method === "ANY" ? 0 : 1);
}

export interface HttpApiModel {
  /** The route that takes `method path`, or null. */
  routeFor(method: string, path: string): { key: string; jwt: boolean } | null;
  /** The answer to one request; `integration` stands for the Go API behind the VPC link. */
  handle(
    method: string,
    pathAndQuery: string,
    headers: Record<string, string>,
    integration: (method: string, path: string) => HttpResponse,
  ): HttpResponse;
}

export function httpApiOf(api: TfJson): HttpApiModel {
  const res = api.resource as Record<string, Record<string, Body>>;
  const [apiBody] = Object.values(res.aws_apigatewayv2_api);
  const cors = apiBody.cors_configuration as Body | undefined;
  const routes = Object.values(res.aws_apigatewayv2_route ?? {}).map((b) => parseRoute(b.route_key as string, b));
  const routeFor = (method: string, path: string) => {
    const segs = path.split("/").slice(1);
    let best: Route | null = null;
    let bestScore = -1;
    for (const r of routes) {
      const sc = score(r, method, segs);
      if (sc > bestScore) [best, bestScore] = [r, sc];
    }
    return best ? { key: best.key, jwt: best.jwt } : null;
  };
  const lower = (h: Record<string, string>) =>
    Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  const corsHeaders = (origin: string | undefined): Record<string, string> => {
    if (!cors || !origin) return {};
    const origins = (cors.allow_origins as string[]) ?? [];
    if (!origins.includes("*") && !origins.includes(origin)) return {};
    return { "access-control-allow-origin": origin };
  };
  return {
    routeFor,
    handle(method, pathAndQuery, rawHeaders, integration) {
      const headers = lower(rawHeaders);
      const path = pathAndQuery.split("?")[0];
      const route = routeFor(method, path);
      const preflight =
        method === "OPTIONS" && headers.origin !== undefined && headers["access-control-request-method"] !== undefined;
      if (preflight && cors && !route) {
        const allowed = corsHeaders(headers.origin);
        const reqMethod = headers["access-control-request-method"].toUpperCase();
        const methods = ((cors.allow_methods as string[]) ?? []).map((m) => m.toUpperCase());
        const wanted = (headers["access-control-request-headers"] ?? "")
          .split(",")
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean);
        const allowHeaders = ((cors.allow_headers as string[]) ?? []).map((h) => h.toLowerCase());
        const ok =
          allowed["access-control-allow-origin"] !== undefined &&
          (methods.includes("*") || methods.includes(reqMethod)) &&
          wanted.every((h) => allowHeaders.includes("*") || allowHeaders.includes(h));
        return {
          status: 204,
          headers: ok
            ? {
                ...allowed,
                "access-control-allow-methods": methods.join(","),
                "access-control-allow-headers": allowHeaders.join(","),
                "access-control-max-age": String(cors.max_age),
              }
            : {},
          body: "",
        };
      }
      if (!route)
        return {
          status: 404,
          headers: { "content-type": "application/json", ...corsHeaders(headers.origin) },
          body: '{"message":"Not Found"}',
        };
      if (route.jwt && !/^Bearer \S+$/.test(headers.authorization ?? "")) {
        return {
          status: 401,
          headers: { "content-type": "application/json", ...corsHeaders(headers.origin) },
          body: '{"message":"Unauthorized"}',
        };
      }
      const out = integration(method, pathAndQuery);
      const kept = Object.fromEntries(
        Object.entries(out.headers).filter(([k]) => !k.toLowerCase().startsWith("access-control-")),
      );
      return { ...out, headers: { ...kept, ...corsHeaders(headers.origin) } };
    },
  };
}
