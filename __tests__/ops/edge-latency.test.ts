/**
 * scripts/tools/edge-latency.sh against a local HTTPS server on 127.0.0.1 that answers like CloudFront: a
 * self-signed certificate for the site's names, x-cache "Miss from cloudfront" on the first request of a
 * cacheable path (after a 120 ms "origin" delay) and "Hit from cloudfront" after it, the health path never
 * cached, and x-amz-cf-pop naming the edge location.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { createServer, Server } from "https";
import { AddressInfo } from "net";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { runCommand } from "../helpers/spawn";

const root = resolve(__dirname, "../..");
const SCRIPT = join(root, "scripts/tools/edge-latency.sh");
const SITE = "zmanim.test";
const ORIGIN_DELAY_MS = 120;

describe("scripts/tools/edge-latency.sh", () => {
  let dir: string;
  let server: Server;
  let port: number;
  const seen = new Set<string>();
  const requests: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "edge-latency-"));
    const gen = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        `/CN=${SITE}`,
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-addext",
        `subjectAltName=DNS:${SITE},DNS:api.${SITE},IP:127.0.0.1`,
      ],
      { encoding: "utf8" },
    );
    if (gen.status !== 0) throw new Error(gen.stderr);
    server = createServer(
      { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
      (req, res) => {
        const key = `${req.headers.host?.split(":")[0]}${req.url}`;
        requests.push(key);
        const cacheable = !req.url!.startsWith("/api/health");
        const hit = cacheable && seen.has(key);
        seen.add(key);
        const send = () => {
          const body =
            req.url === "/"
              ? '<html><script src="/_next/static/chunks/main-3f2a1b9c.js"></script></html>'
              : '{"ok":true}';
          res.writeHead(200, {
            "content-type": "text/html",
            "x-cache": hit ? "Hit from cloudfront" : "Miss from cloudfront",
            "x-amz-cf-pop": "TLV50-C1",
            via: "1.1 abc.cloudfront.net (CloudFront)",
          });
          res.end(body);
        };
        if (hit) send();
        else setTimeout(send, ORIGIN_DELAY_MS);
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[]) =>
    runCommand("bash", [SCRIPT, "--cacert", join(dir, "cert.pem"), ...args], { cwd: root, env: process.env });
  const row = (out: string, label: string) =>
    out
      .split("\n")
      .find((l) => l.startsWith(`${label}\t`))!
      .split("\t");

  it("--site measures the page, the asset it references, a cached and an uncached API route: x-cache, pop, medians and p95", async () => {
    const resolveArgs = [SITE, `api.${SITE}`].flatMap((h) => ["--resolve", `${h}:${port}:127.0.0.1`]);
    const r = await run(["--site", `${SITE}:${port}`, "-n", "5", "--tsv", ...resolveArgs]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const labels = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t")[0]);
    expect(labels).toEqual(["page", "asset", "api-cached", "api-uncached"]);
    // label, n, hits, misses, other, pop: the first request of a cacheable path misses, the next four hit (the
    // page was fetched once already, to find its asset: all five hit).
    expect(row(r.stdout, "page").slice(0, 6)).toEqual(["page", "5", "5", "0", "0", "TLV50-C1"]);
    expect(row(r.stdout, "asset").slice(0, 5)).toEqual(["asset", "5", "4", "1", "0"]);
    expect(row(r.stdout, "api-uncached").slice(0, 5)).toEqual(["api-uncached", "5", "0", "5", "0"]);
    expect(requests).toContain(`${SITE}/_next/static/chunks/main-3f2a1b9c.js`);
    expect(requests.some((x) => x.startsWith(`api.${SITE}/api/v1/zmanim?lat=31.7683&lng=35.2137&date=`))).toBe(true);
    // Timings: the uncached route waits for the origin every time; the asset's median is a hit, its p95 the miss.
    const [ttfb50, ttfb95, total50, total95] = row(r.stdout, "api-uncached").slice(6).map(Number);
    expect(ttfb50).toBeGreaterThanOrEqual(ORIGIN_DELAY_MS);
    expect(total50).toBeGreaterThanOrEqual(ttfb50);
    expect([ttfb95 >= ttfb50, total95 >= total50]).toEqual([true, true]);
    const asset = row(r.stdout, "asset").slice(6).map(Number);
    expect(asset[0]).toBeLessThan(ORIGIN_DELAY_MS);
    expect(asset[1]).toBeGreaterThanOrEqual(ORIGIN_DELAY_MS);
  }, 60000);

  it("the table form, --cold, and a URL that never answers (exit 1, named)", async () => {
    const r = await run(["--url", `health=https://127.0.0.1:${port}/api/health`, "-n", "3", "--cold"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^url\s+n\s+x-cache \(hit\/miss\/other\)\s+pop\s+ttfb p50/);
    expect(r.stdout).toMatch(/\nhealth\s+3\s+0\/3\/0\s+TLV50-C1\s+\d+ ms\s+\d+ ms\s+\d+ ms\s+\d+ ms\n/);
    const down = await run(["--url", "gone=https://127.0.0.1:9/", "-n", "2"]);
    expect([down.code, down.stderr]).toEqual([
      1,
      expect.stringContaining("edge-latency: gone (https://127.0.0.1:9/) did not answer successfully in 2 request(s)"),
    ]);
  }, 60000);

  it("rejects bad arguments, naming them", async () => {
    const a = await run(["--url", "nolabel"]);
    expect([a.code, a.stderr]).toEqual([2, expect.stringContaining('--url "nolabel" must be LABEL=https://...')]);
    const b = await run(["--site", SITE, "-n", "0"]);
    expect([b.code, b.stderr]).toEqual([2, expect.stringContaining('-n "0" must be a whole number from 1 to 1000')]);
  });
});
