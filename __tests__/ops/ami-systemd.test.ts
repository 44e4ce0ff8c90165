/**
 * The AMI's systemd units (packer/files/systemd), checked with the real systemd tools in a temporary root:
 * `systemd-analyze verify --root` (with Debian's own unit files for PostgreSQL and Redis, stub executables for
 * the ExecStart paths that only exist on the box, and the real on-box scripts where the repo has them) and
 * `systemctl --root enable`, which is what catches `WantedBy=multi-user.default` (D6).
 */
import { spawnSync } from "child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "fs";
import { tmpdir } from "os";
import { dirname, join, resolve } from "path";

const repo = resolve(__dirname, "../..");
const unitsDir = join(repo, "packer/files/systemd");
const systemLib = existsSync("/usr/lib/systemd/system/multi-user.target")
  ? "/usr/lib/systemd/system"
  : "/lib/systemd/system";

/** On-box executables whose source is in the repository (copied for real); everything else gets a stub. */
const realExecutables: Record<string, string> = {
  "/opt/zmanim/bin/update-binary.sh": "packer/files/bin/update-binary.sh",
  "/opt/zmanim/bin/backup.sh": "scripts/box/backup.sh",
  "/opt/zmanim/bin/restore-drill.sh": "scripts/box/restore-drill.sh",
  "/opt/zmanim/bin/notify-failure.sh": "scripts/box/notify-failure.sh",
};

const ourUnits = readdirSync(unitsDir)
  .filter((f) => /\.(service|timer)$/.test(f))
  .sort();
const dropInDirs = readdirSync(unitsDir)
  .filter((f) => f.endsWith(".d"))
  .sort();
/** Units to verify by name: ours (templates instantiated) and the Debian units that carry our drop-ins. */
const verifyNames = [
  ...ourUnits.map((u) => u.replace("@.service", "@zmanim-backup.service.service")),
  "postgresql@16-main.service",
  "redis-server.service",
];

function execPaths(unitText: string): string[] {
  return [...unitText.matchAll(/^Exec[A-Za-z]*=([-+@!:]*)(\S+)/gm)].map((m) => m[2]);
}

function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "zmanim-systemd-"));
  mkdirSync(join(root, "lib/systemd"), { recursive: true });
  cpSync(systemLib, join(root, "lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
  const etc = join(root, "etc/systemd/system");
  mkdirSync(etc, { recursive: true });
  for (const u of ourUnits) copyFileSync(join(unitsDir, u), join(etc, u));
  for (const d of dropInDirs) cpSync(join(unitsDir, d), join(etc, d), { recursive: true });
  const texts = [
    ...ourUnits.map((u) => readFileSync(join(unitsDir, u), "utf8")),
    readFileSync(join(systemLib, "postgresql@.service"), "utf8"),
    readFileSync(join(systemLib, "redis-server.service"), "utf8"),
  ];
  for (const p of new Set(texts.flatMap(execPaths))) {
    const target = join(root, p);
    mkdirSync(dirname(target), { recursive: true });
    if (realExecutables[p]) copyFileSync(join(repo, realExecutables[p]), target);
    else writeFileSync(target, "#!/bin/sh\nexit 0\n");
    chmodSync(target, 0o755);
  }
  return root;
}

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: "utf8" });

describe("AMI systemd units", () => {
  let root: string;
  beforeAll(() => {
    root = makeRoot();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("ships the units of the on-box contract", () => {
    expect(ourUnits).toEqual([
      "zmanim-api.service",
      "zmanim-backup.service",
      "zmanim-backup.timer",
      "zmanim-notify-failure@.service",
      "zmanim-restore-drill.service",
      "zmanim-restore-drill.timer",
    ]);
    expect(dropInDirs).toEqual(["postgresql@16-main.service.d", "redis-server.service.d"]);
  });

  it.each(verifyNames)("%s passes systemd-analyze verify with no warning at all", (name) => {
    const r = run("systemd-analyze", ["verify", `--root=${root}`, name]);
    expect({ status: r.status, output: (r.stdout + r.stderr).trim() }).toEqual({ status: 0, output: "" });
  });

  it("enables every installable unit under systemctl --root, each wanted by a real target", () => {
    const names = [
      "zmanim-api.service",
      "zmanim-backup.timer",
      "zmanim-restore-drill.timer",
      "postgresql@16-main.service",
      "redis-server.service",
    ];
    const r = run("systemctl", ["--quiet", `--root=${root}`, "enable", ...names]);
    expect({ status: r.status, stderr: r.stderr.trim() }).toEqual({ status: 0, stderr: "" });
    const wants = (target: string, unit: string) =>
      readlinkSync(join(root, "etc/systemd/system", `${target}.wants`, unit));
    expect(wants("multi-user.target", "zmanim-api.service")).toBe("/etc/systemd/system/zmanim-api.service");
    expect(wants("timers.target", "zmanim-backup.timer")).toBe("/etc/systemd/system/zmanim-backup.timer");
    expect(wants("timers.target", "zmanim-restore-drill.timer")).toBe("/etc/systemd/system/zmanim-restore-drill.timer");
    expect(wants("multi-user.target", "postgresql@16-main.service")).toMatch(/postgresql@\.service$/);
    expect(wants("multi-user.target", "redis-server.service")).toMatch(/redis-server\.service$/);
  });

  it("runs the daily backup at 03:00 UTC and the drill weekly (systemd-analyze calendar)", () => {
    const cal = (unit: string) => /^OnCalendar=(.+)$/m.exec(readFileSync(join(unitsDir, unit), "utf8"))![1];
    const norm = (spec: string) => {
      const r = run("systemd-analyze", ["calendar", spec]);
      expect(r.status).toBe(0);
      return /Normalized form: (.+)/.exec(r.stdout)![1].trim();
    };
    expect(norm(cal("zmanim-backup.timer"))).toBe("*-*-* 03:00:00 UTC");
    expect(norm(cal("zmanim-restore-drill.timer"))).toMatch(/^Sun \*-\*-\* \d\d:\d\d:00 UTC$/);
  });
});

describe("unit contents (the on-box contract and D5/D6)", () => {
  const unit = (name: string) => readFileSync(join(unitsDir, name), "utf8");
  const values = (text: string, key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]);

  it("zmanim-api.service: ordered after and requiring PostgreSQL and Redis, hardened, restarted on failure", () => {
    const api = unit("zmanim-api.service");
    for (const k of ["After", "Requires"]) {
      const deps = values(api, k).join(" ").split(/\s+/);
      expect(deps).toEqual(expect.arrayContaining(["postgresql@16-main.service", "redis-server.service"]));
    }
    expect(values(api, "WantedBy")).toEqual(["multi-user.target"]);
    expect(values(api, "ConditionPathIsMountPoint")).toEqual(["/data"]);
    expect(values(api, "User")).toEqual(["zmanim"]);
    expect(values(api, "EnvironmentFile")).toEqual(["/etc/zmanim/api.env"]);
    expect(values(api, "ExecStartPre")).toEqual(["+/opt/zmanim/bin/update-binary.sh"]);
    expect(values(api, "ExecStart")).toEqual(["/opt/zmanim/zmanim-api"]);
    expect(values(api, "NoNewPrivileges")).toEqual(["yes"]);
    expect(values(api, "ProtectSystem")).toEqual(["strict"]);
    expect(values(api, "PrivateTmp")).toEqual(["yes"]);
    expect(values(api, "ProtectHome")).toEqual(["yes"]);
    expect(values(api, "ReadWritePaths")).toEqual(["/var/log/zmanim"]);
    expect(values(api, "Restart")).toEqual(["on-failure"]);
    expect(values(api, "RestartSec")).toHaveLength(1);
    // The CloudWatch agent tails this file (constructs/builders/cloudwatch-agent.ts).
    expect(values(api, "StandardOutput")).toEqual(["append:/var/log/zmanim/api.log"]);
  });

  it("backup and drill services: oneshot, restic env, failure email, background priority", () => {
    for (const [name, script] of [
      ["zmanim-backup.service", "backup.sh"],
      ["zmanim-restore-drill.service", "restore-drill.sh"],
    ]) {
      const u = unit(name);
      expect(values(u, "Type")).toEqual(["oneshot"]);
      expect(values(u, "EnvironmentFile")).toEqual(["/etc/restic/env"]);
      expect(values(u, "ExecStart")).toEqual([`/opt/zmanim/bin/${script}`]);
      expect(values(u, "OnFailure")).toEqual(["zmanim-notify-failure@%n.service"]);
      expect(values(u, "StandardOutput")).toEqual(["journal"]);
      expect(Number(values(u, "Nice")[0])).toBeGreaterThan(0);
      expect(values(u, "IOSchedulingClass")).toHaveLength(1);
      expect(values(u, "NoNewPrivileges")).toEqual(["yes"]);
    }
    const timer = unit("zmanim-backup.timer");
    expect(values(timer, "Persistent")).toEqual(["true"]);
    expect(values(timer, "RandomizedDelaySec")).toHaveLength(1);
    expect(values(unit("zmanim-notify-failure@.service"), "ExecStart")).toEqual([
      "/opt/zmanim/bin/notify-failure.sh %i",
    ]);
  });

  it("PostgreSQL and Redis require the /data mount (D5); Redis may write /data/redis despite ProtectSystem=strict", () => {
    for (const d of dropInDirs) {
      const confs = readdirSync(join(unitsDir, d)).filter((f) => f.endsWith(".conf"));
      const text = confs.map((f) => readFileSync(join(unitsDir, d, f), "utf8")).join("\n");
      expect({ d, mounts: values(text, "RequiresMountsFor") }).toEqual({ d, mounts: ["/data"] });
      expect({ d, after: values(text, "After") }).toEqual({ d, after: ["data.mount"] });
      expect({ d, condition: values(text, "ConditionPathIsMountPoint") }).toEqual({ d, condition: ["/data"] });
    }
    const debianRedis = readFileSync(join(systemLib, "redis-server.service"), "utf8");
    if (/^ProtectSystem=strict$/m.test(debianRedis)) {
      const dropIn = readFileSync(join(unitsDir, "redis-server.service.d/10-data-mount.conf"), "utf8");
      expect(values(dropIn, "ReadWritePaths")).toEqual(["/data/redis"]);
    }
  });
});
