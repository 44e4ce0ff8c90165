/**
 * The CloudFront Function (constructs/cloudfront/spa-router.js) executed in node against a fixture tree
 * shaped like a Next.js `output: 'export'` build with `trailingSlash: true`, with its key value store
 * holding what the static-site deploy writes for that tree (every key outside /_next/static/). Every
 * request is run through the handler; a redirect is followed (like a browser would), and the final URI
 * must name an object of the tree, decoded the way S3 decodes a key: the page asked for, or /404.html.
 */
import { readFileSync, readdirSync, statSync } from "fs";
import { join } from "path";
import { SPA_ROUTER_PATH } from "../../stacks/cdn";
import { loadFunction, parseQuery, QueryString } from "../helpers/edge";

const FIXTURE = join(__dirname, "..", "fixtures", "next-export");
const SOURCE = readFileSync(SPA_ROUTER_PATH, "utf8");

interface CfRequest {
  method: string;
  uri: string;
  querystring: QueryString;
  headers: Record<string, { value: string }>;
  cookies: Record<string, { value: string }>;
}
interface CfResponse {
  statusCode: number;
  statusDescription?: string;
  headers: Record<string, { value: string }>;
}
type Handler = (event: unknown) => CfRequest | CfResponse | Promise<CfRequest | CfResponse>;

/** Every object key of the fixture tree, as S3 would hold it after `aws s3 sync out/ s3://bucket/`. */
function keysOf(dir: string, prefix = ""): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? keysOf(p, `${prefix}/${name}`) : [`${prefix}/${name}`];
  });
}
const KEYS = new Set(keysOf(FIXTURE));
/** The store as the deploy fills it: every object key outside /_next/static/. */
const STORE = new Map([...KEYS].filter((k) => !k.startsWith("/_next/static/")).map((k) => [k, "1"]));

/** A fresh copy of the function in an empty global scope (no require, no module, no process). */
function loadHandler(source = SOURCE, store: ReadonlyMap<string, string> = STORE): Handler {
  return loadFunction(source, store);
}

function event(method: string, target: string) {
  const q = target.indexOf("?");
  const uri = q === -1 ? target : target.slice(0, q);
  const request: CfRequest = {
    method,
    uri,
    querystring: parseQuery(q === -1 ? "" : target.slice(q + 1)),
    headers: { host: { value: "zmanim.shtetl.io" } },
    cookies: {},
  };
  return { version: "1.0", context: { eventType: "viewer-request" }, viewer: { ip: "192.0.2.1" }, request };
}

interface Outcome {
  /** Locations of every redirect followed, in order. */
  redirects: string[];
  /** The URI CloudFront asks S3 for. */
  uri: string;
  /** The querystring object passed on to the origin request. */
  querystring: QueryString;
  /** The S3 key the URI decodes to, and whether the export holds it. */
  key: string;
  found: boolean;
}

function isResponse(r: CfRequest | CfResponse): r is CfResponse {
  return (r as CfResponse).statusCode !== undefined;
}

/** Runs the function for a request like a browser: follows at most 3 redirects. */
async function serve(target: string, method = "GET", handler = loadHandler()): Promise<Outcome> {
  const redirects: string[] = [];
  let current = target;
  for (let hop = 0; hop < 4; hop++) {
    const result = await handler(event(method, current));
    if (isResponse(result)) {
      expect(result.statusCode).toBe(308);
      const location = result.headers.location.value;
      // Never a protocol-relative or absolute URL: the Location stays on this site.
      expect(location).toMatch(/^\/(?![/\\])/);
      redirects.push(location);
      current = location;
      continue;
    }
    const key = decodeURIComponent(result.uri);
    return { redirects, uri: result.uri, querystring: result.querystring, key, found: KEYS.has(key) };
  }
  throw new Error(`redirect loop for ${target}: ${redirects.join(" -> ")}`);
}

describe("spa-router.js: the fixture is a Next.js trailingSlash export", () => {
  it("holds pages as <path>/index.html, hashed assets, a 404 page and a client-rendered shell", () => {
    expect(KEYS).toEqual(
      new Set([
        "/index.html",
        "/404.html",
        "/about/index.html",
        "/zmanim/index.html",
        "/zmanim/jerusalem/index.html",
        "/zmanim/new-york/index.html",
        "/שבת/index.html",
        "/app/index.html",
        "/_next/static/chunks/main-3f2a1b9c.js",
        "/_next/static/chunks/pages/about-7c1e2f.js",
        "/_next/static/css/8e1f0c2d.css",
        "/_next/static/Xk3d9a2PqR/_buildManifest.js",
        "/_next/data/Xk3d9a2PqR/about.json",
        "/images/logo.svg",
        "/favicon.ico",
        "/robots.txt",
        "/.well-known/apple-app-site-association",
      ]),
    );
  });
});

describe("spa-router.js: request -> S3 object", () => {
  it.each([
    // [request, S3 key served, redirects followed]
    ["/", "/index.html", []],
    ["/index.html", "/index.html", []],
    ["/about/", "/about/index.html", []],
    ["/about", "/about/index.html", ["/about/"]],
    ["/about/index.html", "/about/index.html", []],
    ["/zmanim/jerusalem/", "/zmanim/jerusalem/index.html", []],
    ["/zmanim/jerusalem", "/zmanim/jerusalem/index.html", ["/zmanim/jerusalem/"]],
    ["/404.html", "/404.html", []],
    ["/favicon.ico", "/favicon.ico", []],
    ["/robots.txt", "/robots.txt", []],
    ["/images/logo.svg", "/images/logo.svg", []],
    ["/_next/static/chunks/main-3f2a1b9c.js", "/_next/static/chunks/main-3f2a1b9c.js", []],
    ["/_next/static/Xk3d9a2PqR/_buildManifest.js", "/_next/static/Xk3d9a2PqR/_buildManifest.js", []],
    ["/_next/data/Xk3d9a2PqR/about.json", "/_next/data/Xk3d9a2PqR/about.json", []],
    ["/.well-known/apple-app-site-association", "/.well-known/apple-app-site-association", []],
    // Percent-encoded (Hebrew) path segments: passed on encoded, S3 decodes them.
    ["/%D7%A9%D7%91%D7%AA/", "/שבת/index.html", []],
    ["/%D7%A9%D7%91%D7%AA", "/שבת/index.html", ["/%D7%A9%D7%91%D7%AA/"]],
    // Repeated slashes collapse (by redirect), also at the start where "//x" would leave the site.
    ["//about/", "/about/index.html", ["/about/"]],
    ["/zmanim//jerusalem", "/zmanim/jerusalem/index.html", ["/zmanim/jerusalem/"]],
    ["///about", "/about/index.html", ["/about/"]],
    // Client-rendered section: every path below /app/ gets the shell.
    ["/app/", "/app/index.html", []],
    ["/app/settings/", "/app/index.html", []],
    ["/app/settings/profile", "/app/index.html", ["/app/settings/profile/"]],
  ])("GET %s -> %s (redirects %j)", async (request, key, redirects) => {
    const out = await serve(request as string);
    expect(out.redirects).toEqual(redirects);
    expect(out.key).toBe(key);
    expect(out.found).toBe(true);
  });

  it("treats HEAD exactly like GET", async () => {
    for (const target of ["/", "/about", "/about/", "/_next/static/css/8e1f0c2d.css", "/app/x/", "/no-such-page/"]) {
      expect(await serve(target, "HEAD")).toEqual(await serve(target, "GET"));
    }
  });

  it("keeps the query string on redirects, including repeated keys and bare flags", async () => {
    expect((await serve("/about?lang=he")).redirects).toEqual(["/about/?lang=he"]);
    expect((await serve("/zmanim/jerusalem?date=2026-03-20&tz=Asia%2FJerusalem")).redirects).toEqual([
      "/zmanim/jerusalem/?date=2026-03-20&tz=Asia%2FJerusalem",
    ]);
    expect((await serve("/about?a=1&a=2&debug")).redirects).toEqual(["/about/?a=1&a=2&debug"]);
    expect((await serve("//about?x=1")).redirects).toEqual(["/about/?x=1"]);
    const out = await serve("/about?lang=he");
    expect(out.found).toBe(true);
    expect(out.querystring).toEqual({ lang: { value: "he" } });
  });

  it("leaves the query string of a rewritten request untouched", async () => {
    const out = await serve("/about/?utm_source=x&utm_source=y");
    expect(out.key).toBe("/about/index.html");
    expect(out.querystring).toEqual(parseQuery("utm_source=x&utm_source=y"));
  });

  it("answers redirects with 308, a Location on this site and a bounded cache lifetime", async () => {
    const r = (await loadHandler()(event("GET", "/about"))) as CfResponse;
    expect(r).toEqual({
      statusCode: 308,
      statusDescription: "Permanent Redirect",
      headers: { location: { value: "/about/" }, "cache-control": { value: "public, max-age=3600" } },
    });
  });

  it("never turns a request into an off-site redirect", async () => {
    for (const target of [
      "//evil.example",
      "//evil.example/",
      "///evil.example.com",
      "/\\evil.example",
      "/%5Cevil",
      "//\\evil",
    ]) {
      const r = await loadHandler()(event("GET", target));
      if (isResponse(r))
        expect([target, r.headers.location.value]).toEqual([target, expect.stringMatching(/^\/(?![/\\])/)]);
    }
    // A backslash is never echoed into a Location at all; the path gets the 404 page.
    const r = await loadHandler()(event("GET", "/\\evil"));
    expect(isResponse(r)).toBe(false);
    expect((r as CfRequest).uri).toBe("/404.html");
  });

  it("sends unknown pages and files to the export's 404 page, without a redirect first", async () => {
    for (const target of [
      "/no-such-page/",
      "/no-such-page",
      "/zmanim/atlantis/",
      "/zmanim/atlantis",
      "/about.html",
      "/gone.png",
      "/_next/data/old-build/about.json",
      "/.well-known/nothing",
      // An encoded slash stays part of one segment; S3 has no "about//index.html".
      "/about%2F",
      // Malformed percent-encoding names no object.
      "/%E0%A4%A/",
      // A dot in the last segment reads as a file extension: documented limitation of the rule.
      "/docs/v1.2",
    ]) {
      const out = await serve(target);
      expect([target, out.redirects, out.key, out.found]).toEqual([target, [], "/404.html", true]);
    }
  });

  it("leaves /_next/static/ to its own behaviour: passed through, never looked up", async () => {
    const out = await serve("/_next/static/chunks/gone-000000.js");
    expect([out.key, out.found]).toEqual(["/_next/static/chunks/gone-000000.js", false]);
  });

  it("serves misses from S3 as before while the store is empty (before the first deploy fills it)", async () => {
    const empty = loadHandler(SOURCE, new Map());
    for (const [target, key] of [
      ["/about/", "/about/index.html"],
      ["/no-such-page/", "/no-such-page/index.html"],
      ["/favicon.ico", "/favicon.ico"],
    ]) {
      const out = await serve(target, "GET", empty);
      expect([target, out.key]).toEqual([target, key]);
    }
    // A store that lost a page but is filled still sends that page to the 404 page.
    const partial = new Map(STORE);
    partial.delete("/about/index.html");
    expect((await serve("/about/", "GET", loadHandler(SOURCE, partial))).key).toBe("/404.html");
  });

  it("serves every page of the export at /<path>/ and at /<path> (by redirect), and every file at its key", async () => {
    for (const key of KEYS) {
      if (key.endsWith("/index.html")) {
        const dir = key.slice(0, -"index.html".length);
        const encoded = dir.split("/").map(encodeURIComponent).join("/");
        expect([encoded, (await serve(encoded)).key]).toEqual([encoded, key]);
        if (dir !== "/") {
          const bare = encoded.slice(0, -1);
          const out = await serve(bare);
          expect([bare, out.redirects, out.key]).toEqual([bare, [encoded], key]);
        }
      } else {
        const encoded = key.split("/").map(encodeURIComponent).join("/");
        const out = await serve(encoded);
        expect([encoded, out.redirects, out.key, out.found]).toEqual([encoded, [], key, true]);
      }
    }
  });

  it("fails the tree check when the function maps pages the way the epic's sketch did", async () => {
    // The epic's "no dot -> /index.html" sends every pre-rendered page to the home page (D14).
    const naive = loadHandler(
      "function handler(event) { var r = event.request; if (r.uri.indexOf('.') === -1) r.uri = '/index.html'; return r; }",
    );
    expect((await serve("/about/", "GET", naive)).key).toBe("/index.html");
    expect((await serve("/about/", "GET", naive)).key).not.toBe((await serve("/about/")).key);
  });
});

describe("spa-router.js: fits the cloudfront-js-2.0 runtime", () => {
  it("is a module whose only import is the cloudfront helper, with no require or node globals, well under the 10 KB limit", () => {
    expect(SOURCE).toMatch(/^async function handler\(event\) \{$/m);
    expect(SOURCE.match(/^\s*(import|export)\s.*$/gm)).toEqual(["import cf from 'cloudfront';"]);
    expect(SOURCE).toMatch(/^const kvs = cf\.kvs\(\);$/m);
    expect(SOURCE).not.toMatch(/\brequire\s*\(|\bmodule\.exports\b|\bprocess\.|\bBuffer\b|\bconsole\./);
    expect(Buffer.byteLength(SOURCE, "utf8")).toBeLessThan(10240);
  });

  it("cannot load without an associated key value store", () => {
    expect(() => loadFunction(SOURCE)).toThrow(/no key value store is associated/);
  });

  it("runs in a scope without any host globals and does not keep state between requests", async () => {
    const handler = loadHandler();
    const first = (await handler(event("GET", "/about/"))) as CfRequest;
    const second = (await handler(event("GET", "/about/"))) as CfRequest;
    expect(first.uri).toBe("/about/index.html");
    expect(second.uri).toBe("/about/index.html");
  });
});
