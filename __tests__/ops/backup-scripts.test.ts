/**
 * The backup scripts as programs: shellcheck-clean, a --help that documents every option the script
 * parses, clear usage errors, and the failure email (through the AWS CLI TEST DOUBLE).
 */
import { spawnSync } from "child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { awsDouble } from "../helpers/aws-double";
import { runScript, scriptEnv, scriptsDir } from "../helpers/backup-env";

const scripts = ["backup.sh", "restore.sh", "restore-drill.sh", "notify-failure.sh"];

describe("backup scripts", () => {
  it("are shellcheck-clean, strict-mode bash", () => {
    const files = [...scripts.map((s) => join(scriptsDir, s)), join(scriptsDir, "lib", "common.sh")];
    const r = spawnSync("shellcheck", ["-x", ...files], { encoding: "utf8", cwd: resolve(scriptsDir, "..", "..") });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const s of scripts) {
      const text = readFileSync(join(scriptsDir, s), "utf8");
      expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
      expect(text).toContain("set -euo pipefail");
    }
  });

  it.each(scripts)("%s --help documents every option it parses", (script) => {
    const text = readFileSync(join(scriptsDir, script), "utf8");
    const parsed = [...text.matchAll(/^\s+(?:-h \| )?(--[a-z][a-z-]*)\)/gm)].map((m) => m[1]);
    expect(parsed.length).toBeGreaterThan(0);
    const r = runScript(script, ["--help"], scriptEnv({}));
    expect(r.status).toBe(0);
    for (const opt of parsed) expect(r.stdout).toContain(opt);
    expect(r.stdout).toContain("ZMANIM_RESTIC_ENV_FILE");
  });

  it.each(scripts)("%s rejects an unknown option with exit 2 and names it", (script) => {
    const r = runScript(script, ["--frobnicate"], scriptEnv({}));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown option '--frobnicate'");
  });

  it("fills in only the variables the environment does not set, from the env file", () => {
    const dir = mkdtempSync(join(tmpdir(), "zmanim-envfile-"));
    try {
      const file = join(dir, "env");
      writeFileSync(
        file,
        '# /etc/restic/env\nRESTIC_REPOSITORY=s3:from-file/bucket\nPGDATABASE=from_file\nZMANIM_MAIL_FROM=file@example.org\nZMANIM_METRICS_NAMESPACE="Zmanim/prod"\n',
      );
      const probe = join(dir, "probe.sh");
      writeFileSync(
        probe,
        `source "${join(scriptsDir, "lib", "common.sh")}"\nload_env\necho "[$RESTIC_REPOSITORY] [$PGDATABASE] [$ZMANIM_MAIL_FROM] [$ZMANIM_METRICS_NAMESPACE]"\n`,
      );
      const r = spawnSync("bash", [probe], {
        encoding: "utf8",
        env: { ...scriptEnv({ ZMANIM_RESTIC_ENV_FILE: file, PGDATABASE: "from_env" }), ZMANIM_MAIL_FROM: "" },
      });
      expect(r.stdout.trim()).toBe("[s3:from-file/bucket] [from_env] [] [Zmanim/prod]");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("notify-failure.sh", () => {
  let dir: string;
  let journal: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "zmanim-notify-"));
    journal = join(dir, "journal");
    // Stands in for journalctl (journald does not run here): prints N numbered lines of the unit's log.
    writeFileSync(
      journal,
      `#!/usr/bin/env bash\nfor i in $(seq 1 80); do echo "$1 log line $i"; done | tail -n "$2"\n`,
    );
    chmodSync(journal, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("emails unit, host, time and the last 50 log lines through SES", () => {
    const aws = awsDouble([{ match: ["sesv2", "send-email"], stdout: '{"MessageId":"m-1"}' }]);
    try {
      const env = scriptEnv({
        ...aws.env,
        ZMANIM_MAIL_FROM: "alerts@zmanim.example",
        ZMANIM_ALARM_EMAIL: "admin@zmanim.example",
        ZMANIM_LOG_COMMAND: journal,
      });
      const r = runScript("notify-failure.sh", ["zmanim-backup.service"], env);
      expect(r.stderr).toContain("failure email for zmanim-backup.service sent");
      expect(r.status).toBe(0);
      const calls = aws.calls();
      expect(calls).toHaveLength(1);
      const argv = calls[0];
      expect(argv.slice(0, 2)).toEqual(["sesv2", "send-email"]);
      expect(argv[argv.indexOf("--from-email-address") + 1]).toBe("alerts@zmanim.example");
      expect(argv[argv.indexOf("--destination") + 1]).toBe("ToAddresses=admin@zmanim.example");
      const content = JSON.parse(argv[argv.indexOf("--content") + 1]);
      const host = spawnSync("bash", ["-c", "hostname -f 2>/dev/null || hostname"], { encoding: "utf8" }).stdout.trim();
      expect(content.Simple.Subject.Data).toBe(`[zmanim] zmanim-backup.service failed on ${host}`);
      const body: string = content.Simple.Body.Text.Data;
      expect(body).toMatch(/zmanim-backup\.service failed on .* at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
      expect(body).toContain("zmanim-backup.service log line 80");
      expect(body).toContain("zmanim-backup.service log line 31");
      expect(body).not.toContain("log line 30\n");
    } finally {
      aws.cleanup();
    }
  });

  it("exits 1 with a clear message when SES refuses", () => {
    const aws = awsDouble([
      {
        match: ["sesv2", "send-email"],
        stderr: "An error occurred (MessageRejected): Email address is not verified.",
        exit: 254,
      },
    ]);
    try {
      const env = scriptEnv({
        ...aws.env,
        ZMANIM_MAIL_FROM: "alerts@zmanim.example",
        ZMANIM_ALARM_EMAIL: "admin@zmanim.example",
        ZMANIM_LOG_COMMAND: journal,
      });
      const r = runScript("notify-failure.sh", ["zmanim-backup.service"], env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("MessageRejected");
      expect(r.stderr).toContain("SES did not accept the failure email for zmanim-backup.service");
    } finally {
      aws.cleanup();
    }
  });

  it("names a missing recipient and sends nothing", () => {
    const aws = awsDouble([]);
    try {
      const r = runScript(
        "notify-failure.sh",
        ["zmanim-backup.service"],
        scriptEnv({ ...aws.env, ZMANIM_MAIL_FROM: "alerts@zmanim.example", ZMANIM_LOG_COMMAND: journal }),
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("ZMANIM_ALARM_EMAIL is not set");
      expect(aws.calls()).toHaveLength(0);
    } finally {
      aws.cleanup();
    }
  });
});
