import { startPostgres, PgCluster } from "../helpers/postgres";
import { startRedis } from "../helpers/redis";

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
