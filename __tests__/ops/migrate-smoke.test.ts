/**
 * scripts/box/smoke-test-api.sh (the cutover's endpoint checklist) against a small HTTP server on 127.0.0.1
 * that answers like the zmanim API: the shipped checklist passes against a healthy API, and every kind
 * of regression (status, JSON shape, non-JSON, hang, auth) is reported with the endpoint's name.
 */
import { spawn } from "child_process";
import { createServer, Server } from "http";
import { AddressInfo } from "net";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

const SCRIPT = join(__dirname, "..", "..", "scripts", "box", "smoke-test-api.sh");
const TOKEN = "test-session-jwt";

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Async: the HTTP server lives in this process, so the script must not block the event loop. */
function smoke(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Behaviour switches for the fake API. */
const state = { healthStatus: 200, zmanimShape: "good" as "good" | "empty" | "html" };

function json(res: import("http").ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

describe("smoke-test-api.sh", () => {
  let server: Server;
  let base: string;
  let dir: string;
  const pending = new Set<NodeJS.Timeout>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "zmanim-smoke-"));
    server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const authed = req.headers.authorization === `Bearer ${TOKEN}`;
      switch (url.pathname) {
        case "/api/health":
          return json(
            res,
            state.healthStatus,
            state.healthStatus === 200 ? { status: "ok", db: "ok" } : { status: "error", db: "down" },
          );
        case "/api/v1/zmanim": {
          const lat = Number(url.searchParams.get("lat"));
          if (!(lat >= -90 && lat <= 90)) return json(res, 400, { error: "lat out of range" });
          if (state.zmanimShape === "html") {
            res.writeHead(200, { "content-type": "text/html" });
            return res.end("<html>maintenance</html>");
          }
          return json(res, 200, {
            date: url.searchParams.get("date"),
            zmanim: state.zmanimShape === "good" ? { sunrise: "06:21", sunset: "16:35" } : {},
          });
        }
        case "/api/v1/locations/search":
        case "/api/v1/locations/nearby":
          return json(res, 200, { results: [{ id: 1, name: "Jerusalem" }] });
        case "/api/v1/publishers":
          return json(res, 200, { publishers: [{ id: 1, name: "Beis Din" }] });
        case "/api/v1/me":
          return authed ? json(res, 200, { id: "user_1" }) : json(res, 401, { error: "unauthorized" });
        case "/api/v1/me/locations":
          return authed ? json(res, 200, []) : json(res, 401, { error: "unauthorized" });
        case "/slow": {
          const t = setTimeout(() => json(res, 200, {}), 5000);
          pending.add(t);
          return;
        }
        default:
          return json(res, 404, { error: "not found" });
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const t of pending) clearTimeout(t);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    state.healthStatus = 200;
    state.zmanimShape = "good";
  });

  it("passes the shipped checklist against a healthy API, with and without a token", async () => {
    const anon = await smoke(["--base-url", base]);
    expect(anon.stderr).toBe("");
    expect(anon.status).toBe(0);
    expect(anon.stdout).toMatch(/PASS +GET \/api\/health +200/);
    expect(anon.stdout).toMatch(/PASS +GET \/api\/v1\/me +401/);
    expect(anon.stdout).toMatch(/SKIP +GET \/api\/v1\/me \(auth\) +needs --token-env/);
    expect(anon.stdout).toMatch(/smoke test: 9 passed, 0 failed, 2 skipped/);

    const authed = await smoke(["--base-url", base + "/", "--token-env", "ZMANIM_TOKEN"], { ZMANIM_TOKEN: TOKEN });
    expect(authed.status).toBe(0);
    expect(authed.stdout).toMatch(/PASS +GET \/api\/v1\/me \(auth\) +200/);
    expect(authed.stdout).toMatch(/11 passed, 0 failed, 0 skipped/);
  });

  it("fails on a wrong status and names the endpoint", async () => {
    state.healthStatus = 503;
    const r = await smoke(["--base-url", base]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL +GET \/api\/health +expected 200, got 503/);
    expect(r.stdout).toMatch(/8 passed, 1 failed/);
  });

  it("fails when the JSON shape is wrong or the body is not JSON", async () => {
    state.zmanimShape = "empty";
    const r = await smoke(["--base-url", base]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL +GET \/api\/v1\/zmanim\?lat=31\.7683&lng=35\.2137&date=2026-12-01 +200 but the JSON check is not true/,
    );

    state.zmanimShape = "html";
    const r2 = await smoke(["--base-url", base]);
    expect(r2.status).toBe(1);
    expect(r2.stdout).toMatch(/FAIL +GET \/api\/v1\/zmanim.* 200 but the body is not JSON: <html>maintenance/);
  });

  it("bounds every request by --timeout", async () => {
    const list = join(dir, "slow.txt");
    writeFileSync(list, "GET /api/health 200\nGET /slow 200\n");
    const r = await smoke(["--base-url", base, "--endpoints", list, "--timeout", "1"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL +GET \/slow +request failed: .*(timed out|Timeout)/i);
    expect(r.stdout).toMatch(/PASS +GET \/api\/health/);
  });

  it("reports an unreachable API as failed requests", async () => {
    const list = join(dir, "one.txt");
    writeFileSync(list, "GET /api/health 200\n");
    const r = await smoke(["--base-url", "http://127.0.0.1:9", "--endpoints", list, "--timeout", "2"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL +GET \/api\/health +request failed: .*(refused|connect)/i);
  });

  it("rejects bad usage and bad checklist lines before calling anything", async () => {
    const noBase = await smoke([]);
    expect(noBase.status).toBe(2);
    expect(noBase.stderr).toContain("--base-url is required");

    const badUrl = await smoke(["--base-url", "api.zmanim.shtetl.io"]);
    expect(badUrl.status).toBe(2);
    expect(badUrl.stderr).toContain("--base-url 'api.zmanim.shtetl.io' is not an http(s) URL");

    const list = join(dir, "bad.txt");
    writeFileSync(list, "GET /api/health 200\nFETCH /api/health 200\n");
    const badLine = await smoke(["--base-url", base, "--endpoints", list]);
    expect(badLine.status).toBe(2);
    expect(badLine.stderr).toContain("bad.txt:2: method 'FETCH' is not an HTTP method");
    expect(badLine.stdout).toBe("");

    writeFileSync(list, "GET /api/health 200 .status ==\n");
    const badJq = await smoke(["--base-url", base, "--endpoints", list]);
    expect(badJq.status).toBe(2);
    expect(badJq.stderr).toContain("bad.txt:1: '.status ==' is not a valid jq expression");

    const help = await smoke(["--help"]);
    expect(help.status).toBe(0);
    for (const opt of ["--base-url", "--endpoints", "--timeout", "--token-env", "--resolve", "--insecure"])
      expect(help.stdout).toContain(opt);
  });
});
