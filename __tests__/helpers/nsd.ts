/**
 * A real authoritative DNS server (NSD) on 127.0.0.1 and a free port, serving one zone from text. Used where a
 * test needs real `dig` answers, such as a parent zone's delegation of the site zone.
 */
import { spawn, ChildProcess, spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { freePort, waitFor } from "./ports";

export interface Nsd {
  /** `127.0.0.1#<port>`, the form scripts/tools/preflight/preflight's --parent-dns takes. */
  server: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts NSD serving `origin` from `zoneText` (a zone file body; $ORIGIN and the SOA are added). */
export async function startNsd(origin: string, zoneText: string): Promise<Nsd> {
  const dir = mkdtempSync(join(tmpdir(), "zmanim-nsd-"));
  const port = await freePort();
  writeFileSync(
    join(dir, "zone"),
    [
      `$ORIGIN ${origin}.`,
      "$TTL 300",
      `@ IN SOA ns1.${origin}. hostmaster.${origin}. 1 3600 600 86400 300`,
      `@ IN NS ns1.${origin}.`,
      `ns1 IN A 127.0.0.1`,
      zoneText,
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "nsd.conf"),
    [
      "server:",
      `  ip-address: 127.0.0.1@${port}`,
      `  port: ${port}`,
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${dir}"`,
      '  database: ""',
      `  pidfile: "${dir}/nsd.pid"`,
      `  xfrdfile: "${dir}/xfrd.state"`,
      `  zonelistfile: "${dir}/zone.list"`,
      `  logfile: "${dir}/nsd.log"`,
      "  server-count: 1",
      "remote-control:",
      "  control-enable: no",
      "zone:",
      `  name: ${origin}`,
      `  zonefile: "${dir}/zone"`,
      "",
    ].join("\n"),
  );
  const check = spawnSync("nsd-checkconf", [join(dir, "nsd.conf")], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nsd-checkconf: ${check.stderr}`);
  const proc: ChildProcess = spawn("nsd", ["-d", "-c", join(dir, "nsd.conf")], { stdio: "ignore" });
  await waitFor(
    () =>
      spawnSync("dig", ["+short", "+time=1", "+tries=1", "@127.0.0.1", "-p", String(port), "SOA", origin], {
        encoding: "utf8",
      }).stdout.trim() !== "",
    10000,
    `nsd on port ${port}`,
  );
  return {
    server: `127.0.0.1#${port}`,
    port,
    stop: () =>
      new Promise((resolve) => {
        proc.once("exit", () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        proc.kill("SIGTERM");
      }),
  };
}
