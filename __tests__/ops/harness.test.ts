import { spawnSync } from "child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { startPostgres, PgCluster } from "../helpers/postgres";
import { startRedis } from "../helpers/redis";
import { LOW_COST_KDF, poly1305, useLowCostKey } from "../helpers/restic-key";

describe("ops test harness", () => {
  let pg: PgCluster;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60000);
  afterAll(() => pg?.stop());

  it("runs a real PostgreSQL with PostGIS and pg_cron available", () => {
    expect(pg.psql("SHOW server_version_num")).toMatch(/^1[5-9]\d{4}$/);
    const available = pg.psql(
      "SELECT string_agg(name, ',' ORDER BY name) FROM pg_available_extensions WHERE name IN ('postgis','pg_cron')",
    );
    expect(available).toBe("pg_cron,postgis");
    pg.psql("CREATE EXTENSION postgis");
    expect(pg.psql("SELECT ST_AsText(ST_SetSRID(ST_MakePoint(35.2137, 31.7683), 4326))")).toBe(
      "POINT(35.2137 31.7683)",
    );
  });

  it("runs a real Redis that requires its password", async () => {
    const r = await startRedis({ password: "s3cret" });
    try {
      expect(r.cli("SET", "k", "v")).toBe("OK");
      expect(r.cli("GET", "k")).toBe("v");
    } finally {
      await r.stop();
    }
  }, 30000);
});

describe("the low-cost restic key of test repositories", () => {
  it("computes Poly1305 as RFC 8439 section 2.5.2 does", () => {
    const hex = (h: string) => Buffer.from(h.replace(/[: ]/g, ""), "hex");
    const tag = poly1305(
      Buffer.from("Cryptographic Forum Research Group"),
      hex("85:d6:be:78:57:55:6d:33:7f:44:52:fe:42:d5:06:a8"),
      hex("01:03:80:8a:fb:0d:b2:fd:4a:bf:f6:af:41:49:f5:1b"),
    );
    expect(tag.toString("hex")).toBe("a8061dc1305136c6c22b8baf0c0127a9");
  });

  it("opens the same repository with the same password, real restic, and still refuses a wrong one", () => {
    const repo = mkdtempSync(join(tmpdir(), "zmanim-restic-key-"));
    const restic = (password: string, ...args: string[]) =>
      spawnSync("restic", ["--repo", repo, "--json", ...args], {
        encoding: "utf8",
        env: { ...process.env, RESTIC_PASSWORD: password },
        input: "payload",
      });
    try {
      expect(restic("pw", "init").status).toBe(0);
      expect(restic("pw", "backup", "--stdin", "--stdin-filename", "x").status).toBe(0);
      const before = readdirSync(join(repo, "keys"));
      useLowCostKey(join(repo, "keys"), "pw");
      const after = readdirSync(join(repo, "keys"));
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before[0]);
      expect(JSON.parse(readFileSync(join(repo, "keys", after[0]), "utf8"))).toMatchObject(LOW_COST_KDF);
      const listed = restic("pw", "snapshots");
      expect(listed.status).toBe(0);
      expect(JSON.parse(listed.stdout).map((x: { paths: string[] }) => x.paths)).toEqual([["/x"]]);
      expect(restic("pw", "dump", "latest", "x").stdout).toBe("payload");
      const wrong = restic("not-pw", "snapshots");
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toContain("wrong password");
      expect(() => useLowCostKey(join(repo, "keys"), "not-pw")).toThrow(/MAC does not match/);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
