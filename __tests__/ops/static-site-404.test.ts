/**
 * The real 404, end to end: scripts/ci/static-site-sync.sh runs for real (bash, jq) against the fixture
 * export (__tests__/fixtures/next-export) with the TEST DOUBLE of the AWS CLI, whose key value store keeps
 * state like the CloudFront KeyValueStore API (ETag / If-Match). Then requests go through a model of the
 * synthesized distribution with the synthesized function code, that store, a static bucket holding what
 * the sync uploaded (404.html with its metadata), and the synthesized HTTP API in front of a Go API
 * stand-in: known page, unknown page, assets, API paths and unknown API paths.
 */
import { spawnSync } from "child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { prod } from "../../constructs/config/environments";
import { awsDouble, AwsDouble, AwsRule } from "../helpers/aws-double";
import { Edge, edgeOf, edgeTtl, HttpResponse } from "../helpers/edge";
import { httpApiOf } from "../helpers/http-api";
import { synthAll } from "../helpers/synth";
import { sitePathsStoreName } from "../../constructs/config/naming";

const root = resolve(__dirname, "../..");
const SCRIPT = join(root, "scripts/ci/static-site-sync.sh");
const FIXTURE = join(root, "__tests__/fixtures/next-export");
const BUCKET = "zmanim-prod-static-111111111111";
const STORE = sitePathsStoreName(prod);
const ARN = "arn:aws:cloudfront::111111111111:key-value-store/0a1b2c3d-site-paths";

function filesOf(dir: string, prefix = ""): string[] {
  return readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? filesOf(join(dir, n), `${prefix}/${n}`) : [`${prefix}/${n}`],
  );
}

/** Every s3/cloudfront call the sync makes outside the store answers with an empty success. */
const S3_RULES: AwsRule[] = [
  { match: ["s3", "sync"], stdout: "" },
  { match: ["s3", "cp"], stdout: "upload: 404.html" },
  { match: ["cloudfront", "create-invalidation"], stdout: "I1" },
];

function sync(aws: AwsDouble, source: string) {
  return spawnSync(
    "bash",
    [SCRIPT, "--source", source, "--bucket", BUCKET, "--key-value-store", STORE, "--distribution-id", "E1"],
    {
      cwd: root,
      env: { ...process.env, ...aws.env },
      encoding: "utf8",
    },
  );
}

const flagOf = (argv: string[], name: string) => argv[argv.indexOf(name) + 1];

describe("static-site-sync.sh: the 404 page and the site-paths store, against the fixture export", () => {
  let aws: AwsDouble;
  beforeEach(() => {
    aws = awsDouble(S3_RULES);
    // A store left by an earlier deploy: one page that is gone, one that stays.
    aws.setKeyValueStore({
      name: STORE,
      arn: ARN,
      etag: "ETAG7",
      items: { "/old/index.html": "1", "/about/index.html": "1" },
    });
  });
  afterEach(() => aws.cleanup());

  it("leaves the store holding exactly the export's keys outside /_next/static/, writing with the current ETag each time", () => {
    const r = sync(aws, FIXTURE);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    const expected = filesOf(FIXTURE)
      .filter((k) => !k.startsWith("/_next/static/"))
      .sort();
    expect(Object.keys(aws.keyValueStore().items).sort()).toEqual(expected);
    expect(expected).toEqual(
      expect.arrayContaining([
        "/404.html",
        "/index.html",
        "/about/index.html",
        "/שבת/index.html",
        "/_next/data/Xk3d9a2PqR/about.json",
      ]),
    );
    const updates = aws.calls().filter((c) => c[0] === "cloudfront-keyvaluestore" && c[1] === "update-keys");
    // One call of puts, one of deletes; the first names the ETag described, the second the one the first returned.
    expect(updates.map((c) => [flagOf(c, "--if-match"), c.includes("--puts"), c.includes("--deletes")])).toEqual([
      ["ETAG7", true, false],
      ["ETAG8", false, true],
    ]);
    expect(JSON.parse(flagOf(updates[1], "--deletes"))).toEqual([{ Key: "/old/index.html" }]);
    expect(r.stdout).toContain(`key value store ${STORE}: ${expected.length - 1} key(s) added, 1 removed`);
  });

  it("uploads the 404 page with the metadata that makes it a 404, and keeps it out of the sync passes", () => {
    expect(sync(aws, FIXTURE).status).toBe(0);
    const calls = aws.calls();
    const cp = calls.filter((c) => c[0] === "s3" && c[1] === "cp");
    expect(cp).toHaveLength(1);
    expect(cp[0].slice(2, 4)).toEqual([join(FIXTURE, "404.html"), `s3://${BUCKET}/404.html`]);
    expect([flagOf(cp[0], "--metadata"), flagOf(cp[0], "--content-type")]).toEqual([
      "http-status=404",
      "text/html; charset=utf-8",
    ]);
    const syncs = calls.filter((c) => c[0] === "s3" && c[1] === "sync");
    for (const s of syncs.slice(1)) expect(s).toEqual(expect.arrayContaining(["--exclude", "404.html"]));
    // The store is written after the uploads and before the deleting pass.
    const order = calls.map((c) =>
      c[1] === "update-keys" ? "kvs" : c[1] === "sync" && c.includes("--delete") ? "delete" : c[1],
    );
    expect(order.lastIndexOf("cp")).toBeLessThan(order.indexOf("kvs"));
    expect(order.lastIndexOf("kvs")).toBeLessThan(order.indexOf("delete"));
  });

  it("writes at most 50 changes per call, chaining ETags, for a large export", () => {
    const big = mkdtempSync(join(tmpdir(), "export-"));
    try {
      writeFileSync(join(big, "index.html"), "<html></html>");
      writeFileSync(join(big, "404.html"), "<html>404</html>");
      for (let i = 0; i < 118; i++) {
        mkdirSync(join(big, `p${i}`));
        writeFileSync(join(big, `p${i}`, "index.html"), `<html>${i}</html>`);
      }
      aws.setKeyValueStore({ name: STORE, arn: ARN, etag: "ETAG1", items: {} });
      const r = sync(aws, big);
      expect([r.status, r.stderr]).toEqual([0, ""]);
      const updates = aws.calls().filter((c) => c[1] === "update-keys");
      expect(updates.map((c) => JSON.parse(flagOf(c, "--puts")).length)).toEqual([50, 50, 20]);
      expect(updates.map((c) => flagOf(c, "--if-match"))).toEqual(["ETAG1", "ETAG2", "ETAG3"]);
      expect(Object.keys(aws.keyValueStore().items)).toHaveLength(120);
    } finally {
      rmSync(big, { recursive: true, force: true });
    }
  });

  it("stops with exit 1 and says why when another writer moved the ETag, before deleting anything", () => {
    aws.setKeyValueStore({ name: STORE, arn: ARN, etag: "ETAG7", items: {}, writerAfterDescribe: true });
    const r = sync(aws, FIXTURE);
    expect([r.status, r.stderr]).toEqual([
      1,
      expect.stringContaining("another deploy wrote the store: rerun this one"),
    ]);
    expect(r.stderr).toContain("ConflictException");
    expect(aws.calls().some((c) => c[1] === "sync" && c.includes("--delete"))).toBe(false);
    expect(aws.keyValueStore().items).toEqual({ "/written-by-another-deploy": "1" });
  });

  it("refuses an export without a 404 page, or a bad store name, before touching AWS", () => {
    const bare = mkdtempSync(join(tmpdir(), "export-"));
    try {
      writeFileSync(join(bare, "index.html"), "<html></html>");
      const r = sync(aws, bare);
      expect([r.status, r.stderr]).toEqual([2, expect.stringContaining("has no 404.html")]);
      const r2 = spawnSync(
        "bash",
        [SCRIPT, "--source", FIXTURE, "--bucket", BUCKET, "--key-value-store", "bad name", "--distribution-id", "E1"],
        {
          env: { ...process.env, ...aws.env },
          encoding: "utf8",
        },
      );
      expect([r2.status, r2.stderr]).toEqual([
        2,
        expect.stringContaining('--key-value-store "bad name" must name the site-paths key value store'),
      ]);
      expect(aws.calls()).toEqual([]);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});

describe("the edge after that sync: 404 page for unknown site paths, API errors untouched", () => {
  let edge: Edge;
  let aws: AwsDouble;
  const site = prod.domain.siteName;
  const page = (key: string) => readFileSync(join(FIXTURE, key), "utf8");

  beforeAll(() => {
    aws = awsDouble(S3_RULES);
    aws.setKeyValueStore({ name: STORE, arn: ARN, etag: "ETAG1", items: {} });
    const r = sync(aws, FIXTURE);
    if (r.status !== 0) throw new Error(`sync failed: ${r.stderr}`);
    // The bucket as the sync left it: every file of the export; object metadata from the cp call.
    const meta: Record<string, Record<string, string>> = {};
    for (const c of aws.calls().filter((x) => x[1] === "cp")) {
      const [k, v] = flagOf(c, "--metadata").split("=");
      meta[c[3].replace(`s3://${BUCKET}/`, "")] = { [`x-amz-meta-${k}`]: v };
    }
    const objects = new Set(filesOf(FIXTURE).map((k) => k.slice(1)));
    const s3 = (key: string): HttpResponse =>
      objects.has(key)
        ? { status: 200, headers: { "content-type": "text/html", ...(meta[key] ?? {}) }, body: page(key) }
        : // The bucket policy grants ListBucket to the distribution, so a missing key is NoSuchKey (404).
          {
            status: 404,
            headers: { "content-type": "application/xml" },
            body: "<Error><Code>NoSuchKey</Code></Error>",
          };
    const s = synthAll(prod);
    const api = httpApiOf(s.stacks.api);
    const goApi = (_method: string, path: string): HttpResponse =>
      path.startsWith("/api/v1/zmanim")
        ? { status: 200, headers: { "content-type": "application/json" }, body: '{"zmanim":{"sunrise":"06:31"}}' }
        : { status: 404, headers: { "content-type": "application/json" }, body: '{"error":"no such endpoint"}' };
    edge = edgeOf(
      s.stacks.cdn,
      { s3, api: (m, p, h) => api.handle(m, p, h, goApi) },
      new Map(Object.entries(aws.keyValueStore().items)),
    );
  });
  afterAll(() => aws.cleanup());

  it("known page: the page, 200", async () => {
    const out = await edge.request(site, "GET", "/zmanim/jerusalem/");
    expect([out.status, out.originUri, out.body]).toEqual([
      200,
      "/zmanim/jerusalem/index.html",
      page("zmanim/jerusalem/index.html"),
    ]);
    const hebrew = await edge.request(site, "GET", "/%D7%A9%D7%91%D7%AA/");
    expect([hebrew.status, hebrew.body]).toEqual([200, page("שבת/index.html")]);
  });

  it("unknown page: the export's 404 page with status 404, with or without the trailing slash", async () => {
    for (const path of ["/no-such-page/", "/no-such-page", "/zmanim/atlantis/", "/gone.png", "/404.html"]) {
      const out = await edge.request(site, "GET", path);
      expect([path, out.status, out.body, out.headers["x-amz-meta-http-status"]]).toEqual([
        path,
        404,
        page("404.html"),
        undefined,
      ]);
      expect(out.functions).toEqual(["spa-router@viewer-request", "not-found-status@viewer-response"]);
    }
  });

  it("assets: served as they are; a missing hashed asset is S3's 404, not 403", async () => {
    const js = await edge.request(site, "GET", "/_next/static/chunks/main-3f2a1b9c.js");
    expect([js.status, js.behaviour, js.functions]).toEqual([200, "/_next/static/*", []]);
    const ico = await edge.request(site, "GET", "/favicon.ico");
    expect([ico.status, ico.body]).toEqual([200, page("favicon.ico")]);
    const gone = await edge.request(site, "GET", "/_next/static/chunks/gone-000000.js");
    expect([gone.status, gone.functions]).toEqual([404, []]);
  });

  it("API path: the API's answer, no function involved", async () => {
    for (const host of [site, `api.${site}`]) {
      const out = await edge.request(host, "GET", "/api/v1/zmanim?lat=31.7683&lng=35.2137&date=2026-12-01");
      expect([host, out.status, out.body, out.functions]).toEqual([host, 200, '{"zmanim":{"sunrise":"06:31"}}', []]);
    }
  });

  it("unknown API path and API auth errors: the API's JSON, status and body untouched", async () => {
    for (const host of [site, `api.${site}`]) {
      const nope = await edge.request(host, "GET", "/api/v1/no-such-endpoint");
      expect([host, nope.status, nope.headers["content-type"], nope.body, nope.functions]).toEqual([
        host,
        404,
        "application/json",
        '{"error":"no such endpoint"}',
        [],
      ]);
      const anon = await edge.request(host, "GET", "/api/v1/me");
      expect([host, anon.status, anon.body]).toEqual([host, 401, '{"message":"Unauthorized"}']);
    }
    // The distribution has no custom error responses that could turn these into HTML.
    const d = (synthAll(prod).stacks.cdn.resource as Record<string, Record<string, Record<string, unknown>>>)
      .aws_cloudfront_distribution.distribution;
    expect(d.custom_error_response).toBeUndefined();
  });
});

/**
 * Pages at the edge: the sync's Cache-Control under the synthesized html-cache policy, through the edge model's
 * cache (CloudFront's TTL rules: s-maxage clamped to the policy's min and max TTL). A page is a miss, then a
 * hit; browsers still revalidate (max-age=0); a redeploy's invalidation makes the changed page a miss again.
 */
describe("pages at the edge: cached a day, revalidated by browsers, fresh after a redeploy", () => {
  const site = prod.domain.siteName;
  const PAGE_CC = "public,max-age=0,s-maxage=86400,must-revalidate";
  let aws: AwsDouble;
  let dir: string;
  let edge: Edge;
  const bucket = new Map<string, { body: string; headers: Record<string, string> }>();
  const store = new Map<string, string>();
  let htmlPolicy: { min_ttl: number; default_ttl: number; max_ttl: number };

  /** One static deploy of `source`: the sync for real, its uploads into the bucket, its invalidation at the edge. */
  function deploy(source: string, changed: string[]): string[] {
    aws.setRules([
      {
        match: ["s3", "sync", "--include", "*.html"],
        stdout: changed.map((k) => `upload: ${source}/${k} to s3://${BUCKET}/${k}`).join("\n"),
      },
      ...S3_RULES,
    ]);
    const before = aws.calls().length;
    const r = sync(aws, source);
    if (r.status !== 0) throw new Error(`sync failed: ${r.stderr}`);
    const calls = aws.calls().slice(before);
    const syncs = calls.filter((c) => c[1] === "sync");
    const cp = calls.find((c) => c[1] === "cp")!;
    const hashed = /(^_next\/static\/)|([.-][0-9a-f]{8,}[^/]*\.[^/.]+$)/;
    bucket.clear();
    for (const f of filesOf(source)) {
      const key = f.slice(1);
      const cc =
        key === "404.html"
          ? flagOf(cp, "--cache-control")
          : hashed.test(key) && !key.endsWith(".html")
            ? flagOf(syncs[0], "--cache-control")
            : flagOf(syncs[1], "--cache-control");
      const meta: Record<string, string> = key === "404.html" ? { "x-amz-meta-http-status": "404" } : {};
      bucket.set(key, {
        body: readFileSync(join(source, key), "utf8"),
        headers: { "content-type": "text/html", "cache-control": cc, ...meta },
      });
    }
    store.clear();
    for (const [k, v] of Object.entries(aws.keyValueStore().items)) store.set(k, v);
    const inv = calls.find((c) => c[1] === "create-invalidation");
    const paths = inv ? inv.slice(inv.indexOf("--paths") + 1, inv.indexOf("--query")) : [];
    edge?.invalidate(paths);
    return paths;
  }

  beforeAll(() => {
    aws = awsDouble(S3_RULES);
    aws.setKeyValueStore({ name: STORE, arn: ARN, etag: "ETAG1", items: {} });
    dir = mkdtempSync(join(tmpdir(), "export-a-"));
    cpSync(FIXTURE, dir, { recursive: true });
    deploy(dir, ["index.html", "about/index.html"]);
    const s = synthAll(prod);
    htmlPolicy = (s.stacks.cdn.resource as Record<string, Record<string, typeof htmlPolicy>>)
      .aws_cloudfront_cache_policy["html-cache"];
    const s3 = (key: string): HttpResponse => {
      const o = bucket.get(key);
      return o
        ? { status: 200, headers: o.headers, body: o.body }
        : {
            status: 404,
            headers: { "content-type": "application/xml" },
            body: "<Error><Code>NoSuchKey</Code></Error>",
          };
    };
    const api = (): HttpResponse => ({ status: 404, headers: {}, body: "{}" });
    edge = edgeOf(s.stacks.cdn, { s3, api }, store, { cache: true });
  });
  afterAll(() => {
    aws.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("uploads pages and the 404 page with an edge TTL and browser revalidation; the policy lets CloudFront keep them a day", () => {
    expect(bucket.get("about/index.html")!.headers["cache-control"]).toBe(PAGE_CC);
    expect(bucket.get("404.html")!.headers["cache-control"]).toBe(PAGE_CC);
    expect(bucket.get("_next/static/chunks/main-3f2a1b9c.js")!.headers["cache-control"]).toBe(
      "public,max-age=31536000,immutable",
    );
    expect(edgeTtl(PAGE_CC, htmlPolicy)).toBe(86400);
    // What pages had before: max-age=0 under min TTL 0 kept nothing at the edge.
    expect(edgeTtl("public,max-age=0,must-revalidate", htmlPolicy)).toBe(0);
  });

  it("a page fetched twice is a hit the second time, in both URL forms, and browsers are told to revalidate", async () => {
    const first = await edge.request(site, "GET", "/about/");
    expect([first.status, first.xCache, first.headers["cache-control"]]).toEqual([
      200,
      "Miss from cloudfront",
      PAGE_CC,
    ]);
    const second = await edge.request(site, "GET", "/about/");
    expect([second.status, second.xCache, second.body]).toEqual([200, "Hit from cloudfront", first.body]);
    const longForm = await edge.request(site, "GET", "/about/index.html");
    expect([longForm.xCache, longForm.body]).toEqual(["Hit from cloudfront", first.body]);
  });

  it("the 404 page is cached too and keeps its 404 status on a hit", async () => {
    const a = await edge.request(site, "GET", "/no-such-page/");
    const b = await edge.request(site, "GET", "/another-missing-page/");
    expect([a.status, a.xCache, b.status, b.xCache]).toEqual([404, "Miss from cloudfront", 404, "Hit from cloudfront"]);
  });

  it("a redeploy of a page invalidates both its URL forms: the next fetch is a miss with the new page; unchanged pages stay hits", async () => {
    await edge.request(site, "GET", "/");
    expect((await edge.request(site, "GET", "/")).xCache).toBe("Hit from cloudfront");
    writeFileSync(join(dir, "about/index.html"), "<html><body>About, version B</body></html>");
    const paths = deploy(dir, ["about/index.html"]);
    expect(paths.sort()).toEqual(["/about/", "/about/index.html"]);
    const after = await edge.request(site, "GET", "/about/");
    expect([after.xCache, after.body]).toEqual(["Miss from cloudfront", "<html><body>About, version B</body></html>"]);
    expect((await edge.request(site, "GET", "/about/index.html")).xCache).toBe("Hit from cloudfront");
    expect((await edge.request(site, "GET", "/")).xCache).toBe("Hit from cloudfront");
  });

  it("without a deploy, a page expires after a day at the edge", async () => {
    await edge.request(site, "GET", "/zmanim/jerusalem/");
    edge.advance(86399);
    expect((await edge.request(site, "GET", "/zmanim/jerusalem/")).xCache).toBe("Hit from cloudfront");
    edge.advance(2);
    expect((await edge.request(site, "GET", "/zmanim/jerusalem/")).xCache).toBe("Miss from cloudfront");
  });
});

/**
 * Static-site rollback (scripts/ci/static-site-rollback.sh) against the fixture export, with the AWS CLI
 * double's stateful S3 (AWS_DOUBLE_S3) holding the static and the releases buckets: deploy A, deploy B,
 * roll back, and the edge serves A again: pages, the 404 behaviour (the site-paths store) and the cache.
 */
describe("static-site-rollback.sh: deploy A, deploy B, roll back, A is served again", () => {
  const site = prod.domain.siteName;
  const ROLLBACK = join(root, "scripts/ci/static-site-rollback.sh");
  const RELEASES = "zmanim-prod-releases-111111111111";
  let aws: AwsDouble;
  let s3dir: string;
  let work: string;
  let edge: Edge;
  const store = new Map<string, string>();
  let invalidated = 0;

  const run = (args: string[]) => {
    const r = spawnSync("bash", args, {
      cwd: root,
      env: { ...process.env, ...aws.env, AWS_DOUBLE_S3: s3dir },
      encoding: "utf8",
    });
    // After every run: the store as the edge sees it, and the run's invalidations applied to the edge cache.
    store.clear();
    for (const [k, v] of Object.entries(aws.keyValueStore().items)) store.set(k, v);
    const invs = aws.calls().filter((c) => c[1] === "create-invalidation");
    for (const c of invs.slice(invalidated)) edge?.invalidate(c.slice(c.indexOf("--paths") + 1, c.indexOf("--query")));
    invalidated = invs.length;
    return r;
  };
  const syncArgs = ["--bucket", BUCKET, "--key-value-store", STORE, "--distribution-id", "E1"];
  /** What static-site.yml runs: keep the export, then sync it. */
  const deploy = (source: string) => {
    const kept = run([ROLLBACK, "--keep", "--source", source, "--releases-bucket", RELEASES]);
    expect([kept.status, kept.stderr]).toEqual([0, ""]);
    const synced = run([SCRIPT, "--source", source, ...syncArgs]);
    expect([synced.status, synced.stderr]).toEqual([0, ""]);
    return kept.stdout;
  };
  const history = () =>
    readFileSync(join(s3dir, RELEASES, "site-exports/history.txt"), "utf8")
      .trim()
      .split("\n");

  beforeAll(() => {
    aws = awsDouble([{ match: ["cloudfront", "create-invalidation"], stdout: "I1" }]);
    aws.setKeyValueStore({ name: STORE, arn: ARN, etag: "ETAG1", items: {} });
    s3dir = mkdtempSync(join(tmpdir(), "s3-"));
    work = mkdtempSync(join(tmpdir(), "exports-"));
    cpSync(FIXTURE, join(work, "a"), { recursive: true });
    cpSync(FIXTURE, join(work, "b"), { recursive: true });
    writeFileSync(join(work, "b/about/index.html"), "<html><body>About, export B</body></html>");
    mkdirSync(join(work, "b/new"));
    writeFileSync(join(work, "b/new/index.html"), "<html><body>New in B</body></html>");
    rmSync(join(work, "b/zmanim/jerusalem"), { recursive: true });
    const s3 = (key: string): HttpResponse => {
      const f = join(s3dir, BUCKET, key);
      let body: string;
      try {
        body = readFileSync(f, "utf8");
      } catch {
        return {
          status: 404,
          headers: { "content-type": "application/xml" },
          body: "<Error><Code>NoSuchKey</Code></Error>",
        };
      }
      const meta = JSON.parse(readFileSync(join(s3dir, `${BUCKET}.meta.json`), "utf8"))[key] ?? {};
      const amz = meta.metadata ? { [`x-amz-meta-${meta.metadata.split("=")[0]}`]: meta.metadata.split("=")[1] } : {};
      return {
        status: 200,
        headers: {
          "content-type": "text/html",
          ...(meta.cacheControl ? { "cache-control": meta.cacheControl } : {}),
          ...amz,
        },
        body,
      };
    };
    edge = edgeOf(synthAll(prod).stacks.cdn, { s3, api: () => ({ status: 404, headers: {}, body: "{}" }) }, store, {
      cache: true,
    });
  });
  afterAll(() => {
    aws.cleanup();
    rmSync(s3dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("keeps each export once, by content, and rolls back to the one before the live one", async () => {
    deploy(join(work, "a"));
    expect((await edge.request(site, "GET", "/about/")).body).toBe(page("a", "about/index.html"));
    expect(deploy(join(work, "a"))).toMatch(/\(1 in history\)/); // the same export again: one entry
    deploy(join(work, "b"));
    const [idA, idB] = history();
    expect([idA, idB].every((id) => /^[0-9a-f]{12}$/.test(id)) && idA !== idB).toBe(true);
    // B is live and cached at the edge; its new page is known, the removed one is the 404 page.
    expect((await edge.request(site, "GET", "/about/")).body).toBe("<html><body>About, export B</body></html>");
    expect((await edge.request(site, "GET", "/about/")).xCache).toBe("Hit from cloudfront");
    expect((await edge.request(site, "GET", "/new/")).status).toBe(200);
    expect((await edge.request(site, "GET", "/zmanim/jerusalem/")).status).toBe(404);

    const r = run([ROLLBACK, "--releases-bucket", RELEASES, ...syncArgs]);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain(`rolling back from ${idB} to ${idA}`);
    expect(history()).toEqual([idA]);

    // A again, through the edge: the changed page is a miss with A's content, B's page is gone (404 page with
    // status 404, the store no longer lists it), A's page that B removed is back, and the 404 page keeps its status.
    const about = await edge.request(site, "GET", "/about/");
    expect([about.status, about.xCache, about.body]).toEqual([
      200,
      "Miss from cloudfront",
      page("a", "about/index.html"),
    ]);
    const gone = await edge.request(site, "GET", "/new/");
    expect([gone.status, gone.body, store.has("/new/index.html")]).toEqual([404, page("a", "404.html"), false]);
    const back = await edge.request(site, "GET", "/zmanim/jerusalem/");
    expect([back.status, back.body]).toEqual([200, page("a", "zmanim/jerusalem/index.html")]);
    expect(Object.keys(aws.keyValueStore().items).sort()).toEqual(
      filesOf(join(work, "a"))
        .filter((k) => !k.startsWith("/_next/static/"))
        .sort(),
    );
  });

  it("refuses to roll back with nothing before the live export, and an unknown --to, changing nothing", () => {
    const before = history();
    const none = run([ROLLBACK, "--releases-bucket", RELEASES, ...syncArgs]);
    expect([none.status, none.stderr]).toEqual([
      1,
      expect.stringContaining("holds 1 export(s); nothing before the live one to roll back to"),
    ]);
    const unknown = run([ROLLBACK, "--to", "0123456789ab", "--releases-bucket", RELEASES, ...syncArgs]);
    expect([unknown.status, unknown.stderr]).toEqual([1, expect.stringContaining("export 0123456789ab is not in")]);
    expect(history()).toEqual(before);
  });

  function page(which: "a" | "b", key: string): string {
    return readFileSync(join(work, which, key), "utf8");
  }
});
