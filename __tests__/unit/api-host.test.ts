/**
 * `api.<site>`: the frontend is built with NEXT_PUBLIC_API_URL=https://api.<site> and calls the Go API's own
 * paths under it (`/api/health`, `/api/v1/...`). These tests send requests through a model of the
 * synthesized distribution (behaviour choice, the synthesized function code) and of the synthesized HTTP
 * API (routes, JWT authorizer, CORS), for every endpoint of the API checklist, and check the certificate,
 * the DNS records and the health check for every name the distribution answers to.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { prod, staging } from "../../constructs/config/environments";
import { apiHostName, siteOrigins } from "../../constructs/config/naming";
import { edgeOf, Edge, HttpResponse } from "../helpers/edge";
import { httpApiOf, HttpApiModel } from "../helpers/http-api";
import { synthAll, Synthesized, TfJson } from "../helpers/synth";

type Body = Record<string, unknown>;

/** The Go API's paths, from the cutover checklist (scripts/box/migrate/endpoints.txt). */
const ENDPOINTS = readFileSync(join(__dirname, "../../scripts/box/migrate/endpoints.txt"), "utf8")
  .split("\n")
  .filter((l) => l.trim() && !l.startsWith("#"))
  .map((l) => l.trim().split(/\s+/))
  .map((t) => (t[0] === "AUTH" ? { auth: true, tokens: t.slice(1) } : { auth: false, tokens: t }))
  .map(({ auth, tokens }) => ({ auth, method: tokens[0], path: tokens[1], expected: Number(tokens[2]) }));

/** Stands in for the Go API behind the VPC link: echoes what reached it, with a CORS header of its own. */
const goApi = (method: string, path: string): HttpResponse => ({
  status: 200,
  headers: { "content-type": "application/json", "access-control-allow-origin": "*" },
  body: JSON.stringify({ method, path }),
});

const noS3 = () => {
  throw new Error("the static bucket must not be asked");
};

function through(s: Synthesized, api: HttpApiModel): Edge {
  return edgeOf(s.stacks.cdn, {
    s3: (key) => ({ status: 200, headers: { "content-type": "text/html" }, body: `s3:${key}` }),
    api: (method, pathAndQuery, headers) => api.handle(method, pathAndQuery, headers, goApi),
  });
}

describe.each([
  ["prod", prod],
  ["staging", staging],
])("api.<site> (%s)", (_name, env) => {
  let s: Synthesized;
  let edge: Edge;
  let api: HttpApiModel;
  const site = env.domain.siteName;
  const apiHost = apiHostName(env);
  beforeAll(() => {
    s = synthAll(env);
    api = httpApiOf(s.stacks.api);
    edge = through(s, api);
  });
  const res = (stack: string) => s.stacks[stack].resource as Record<string, Record<string, Body>>;

  it("is api.<siteName>, an alias of the one distribution next to the site", () => {
    expect(apiHost).toBe(`api.${site}`);
    expect(edge.aliases).toEqual([site, apiHost]);
  });

  it("the us-east-1 certificate covers every name the distribution answers to, and nothing else", () => {
    // The certificate lives beside the distribution (cdn stack) and is what the distribution presents.
    const cert = res("cdn").aws_acm_certificate.certificate;
    const d = res("cdn").aws_cloudfront_distribution.distribution;
    expect((d.viewer_certificate as Body).acm_certificate_arn).toBe(
      "${aws_acm_certificate_validation.certificate-validation.certificate_arn}",
    );
    expect(cert.provider).toBe("aws.us-east-1");
    const names = [cert.domain_name as string, ...((cert.subject_alternative_names as string[] | undefined) ?? [])];
    expect(names.sort()).toEqual([...edge.aliases].sort());
  });

  it("every alias has exactly one A and one AAAA alias record pointing at the distribution", () => {
    const records = Object.values(res("cdn").aws_route53_record);
    for (const name of edge.aliases) {
      for (const type of ["A", "AAAA"]) {
        const found = records.filter((r) => r.name === name && r.type === type);
        expect([name, type, found.map((r) => (r.alias as Body).name)]).toEqual([
          name,
          type,
          ["${aws_cloudfront_distribution.distribution.domain_name}"],
        ]);
      }
    }
  });

  it("the health check probes a name the distribution serves, on a path that reaches the API uncached", async () => {
    const [hc] = Object.values(res("cdn").aws_route53_health_check);
    expect(hc.fqdn).toBe(apiHost);
    const out = await edge.request(hc.fqdn as string, "GET", hc.resource_path as string);
    expect([out.behaviour, out.origin, out.originUri]).toEqual([env.api.healthPath, "http-api", env.api.healthPath]);
  });

  it.each(ENDPOINTS.map((e) => [e.method, e.path, e.auth ? "with a token" : "anonymous", e] as const))(
    "%s %s (%s) reaches the API at the same path under api.<site> and under <site>/",
    async (method, path, _label, e) => {
      const headers: Record<string, string> = {
        origin: siteOrigins(env)[0],
        ...(e.auth ? { authorization: "Bearer t" } : {}),
      };
      for (const host of [apiHost, site]) {
        const out = await edge.request(host, method, path, headers);
        expect([host, out.behaviour, out.origin, out.functions]).toEqual([
          host,
          path.startsWith(env.api.healthPath) ? env.api.healthPath : "/api/*",
          "http-api",
          [],
        ]);
        if (e.expected === 401) {
          // The checklist's anonymous calls to protected routes: the authorizer answers, the Go API is not asked.
          expect([host, out.status, out.body]).toEqual([host, 401, '{"message":"Unauthorized"}']);
        } else {
          expect([host, out.status, JSON.parse(out.body)]).toEqual([host, 200, { method, path }]);
        }
      }
    },
  );

  it("answers every other path of api.<site> with the API's JSON 404, never a page of the site", async () => {
    for (const path of [
      "/",
      "/about/",
      "/about",
      "/index.html",
      "/404.html",
      "/v1/zmanim",
      "/favicon.ico",
      "/app/settings/",
    ]) {
      const out = await edge.request(apiHost, "GET", path);
      expect([path, out.status, out.origin, out.headers["content-type"], out.body]).toEqual([
        path,
        404,
        null,
        "application/json",
        '{"message":"Not Found"}',
      ]);
    }
    // The site itself is unchanged.
    const page = await edge.request(site, "GET", "/about/");
    expect([page.origin, page.originUri, page.status]).toEqual(["static-s3", "/about/index.html", 200]);
  });

  it("unknown API paths stay the API's own answer under both names", async () => {
    const unrouted = edgeOf(s.stacks.cdn, {
      s3: noS3,
      api: (m, p, h) =>
        api.handle(m, p, h, () => ({
          status: 404,
          headers: { "content-type": "application/json" },
          body: '{"error":"not found"}',
        })),
    });
    for (const host of [apiHost, site]) {
      const out = await unrouted.request(host, "GET", "/api/v1/no-such-thing");
      expect([host, out.status, out.body, out.functions]).toEqual([host, 404, '{"error":"not found"}', []]);
    }
  });

  describe("CORS", () => {
    const origin = () => siteOrigins(env)[0];
    const preflight = (path: string, o: string, method = "GET") =>
      edge.request(apiHost, "OPTIONS", path, {
        origin: o,
        "access-control-request-method": method,
        "access-control-request-headers": "authorization,content-type",
      });

    it("allows exactly the environment's site origin, the app's methods and headers, with a two-hour preflight cache", () => {
      const cors = res("api").aws_apigatewayv2_api.http_api.cors_configuration as Body;
      expect(cors).toEqual({
        allow_origins: [`https://${site}`],
        allow_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers: ["authorization", "content-type"],
        max_age: 7200,
        allow_credentials: false,
      });
      // Every method a route serves is allowed cross-origin (HEAD is a CORS-safelisted method).
      for (const m of ["GET", "POST", "PUT", "PATCH", "DELETE"]) expect(cors.allow_methods).toContain(m);
    });

    it("no route matches OPTIONS, so API Gateway answers every preflight itself (no OPTIONS, ANY or $default route)", () => {
      for (const r of Object.values(res("api").aws_apigatewayv2_route))
        expect(r.route_key).toMatch(/^(GET|HEAD|POST|PUT|PATCH|DELETE) \/api\//);
      for (const p of ["/api/v1/me", "/api/v1/me/locations", "/api/v1/zmanim", "/api/health"])
        expect([p, api.routeFor("OPTIONS", p)]).toEqual([p, null]);
    });

    it("a protected route's preflight, without a token, gets 204 with the CORS grant through api.<site>", async () => {
      for (const prefix of env.clerk.protectedRoutePrefixes) {
        for (const path of [prefix, `${prefix}/x`]) {
          expect(api.routeFor("GET", path)?.jwt).toBe(true);
          for (const method of ["GET", "POST", "DELETE"]) {
            const out = await preflight(path, origin(), method);
            expect([path, method, out.behaviour, out.origin, out.status]).toEqual([
              path,
              method,
              "/api/*",
              "http-api",
              204,
            ]);
            expect(out.headers).toEqual({
              "access-control-allow-origin": origin(),
              "access-control-allow-methods": "GET,POST,PUT,PATCH,DELETE",
              "access-control-allow-headers": "authorization,content-type",
              "access-control-max-age": "7200",
            });
          }
        }
      }
    });

    it("grants nothing to a foreign origin, nor to the API's own host as an origin", async () => {
      for (const o of ["https://evil.example", `https://${apiHost}`, `http://${site}`]) {
        const out = await preflight("/api/v1/me", o);
        expect([o, out.headers["access-control-allow-origin"]]).toEqual([o, undefined]);
      }
    });

    it("the protected call itself: 401 without a token (readable by the app), the Go API with one; API Gateway's CORS headers replace the Go API's", async () => {
      const [prefix] = env.clerk.protectedRoutePrefixes;
      const anon = await edge.request(apiHost, "GET", prefix, { origin: origin() });
      expect([anon.status, anon.headers["access-control-allow-origin"]]).toEqual([401, origin()]);
      const authed = await edge.request(apiHost, "GET", prefix, { origin: origin(), authorization: "Bearer t" });
      expect([authed.status, authed.headers["access-control-allow-origin"]]).toEqual([200, origin()]);
    });

    it("CloudFront passes preflights through uncached: OPTIONS allowed, never a cached method, Origin and the request headers forwarded", () => {
      const d = res("cdn").aws_cloudfront_distribution.distribution;
      // The health path takes GET and HEAD only (simple requests, no preflight): its plain-HTTP exception carries nothing else.
      const all = (d.ordered_cache_behavior as Body[]).filter((b) => b.target_origin_id === "http-api");
      expect(all.filter((b) => b.path_pattern === env.api.healthPath).map((b) => b.allowed_methods)).toEqual([
        ["GET", "HEAD"],
      ]);
      const apiBehaviours = all.filter((b) => b.path_pattern !== env.api.healthPath);
      expect(apiBehaviours.length).toBeGreaterThan(0);
      for (const b of apiBehaviours) {
        expect([
          b.path_pattern,
          (b.allowed_methods as string[]).includes("OPTIONS"),
          (b.cached_methods as string[]).includes("OPTIONS"),
        ]).toEqual([b.path_pattern, true, false]);
        const id = /^\$\{aws_cloudfront_origin_request_policy\.([A-Za-z0-9_-]+)\.id\}$/.exec(
          b.origin_request_policy_id as string,
        )![1];
        const hc = res("cdn").aws_cloudfront_origin_request_policy[id].headers_config as Body;
        expect(hc.header_behavior).toBe("allExcept");
        const excluded = ((hc.headers as Body).items as string[]).map((h) => h.toLowerCase());
        for (const h of ["origin", "access-control-request-method", "access-control-request-headers"])
          expect(excluded).not.toContain(h);
      }
    });

    it("fails when a route captures OPTIONS: an ANY route with the authorizer answers the preflight 401", async () => {
      const broken: TfJson = JSON.parse(JSON.stringify(s.stacks.api));
      const routes = (broken.resource as Record<string, Record<string, Body>>).aws_apigatewayv2_route;
      routes["any-me"] = { route_key: `ANY ${env.clerk.protectedRoutePrefixes[0]}`, authorization_type: "JWT" };
      const b = httpApiOf(broken);
      const out = b.handle(
        "OPTIONS",
        env.clerk.protectedRoutePrefixes[0],
        { origin: origin(), "access-control-request-method": "GET" },
        goApi,
      );
      expect(out.status).toBe(401);
    });
  });
});
