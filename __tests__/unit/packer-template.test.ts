/**
 * Structure of the Packer template (packer/zmanim-ami.pkr.hcl), parsed with @cdktf/hcl2json since no packer
 * binary is available: pinned plugins, the Canonical arm64 base image, an arm64 build instance with IMDSv2,
 * encryption, version tags, provisioning order, the publish step after the manifest, and every file the
 * provisioners reference existing in the repository.
 */
import { existsSync, readFileSync, readdirSync } from "fs";
import { join, resolve } from "path";
const { parse } = require("@cdktf/hcl2json") as { parse: (name: string, text: string) => Promise<any> };

const repo = resolve(__dirname, "../..");
const packerDir = join(repo, "packer");
const read = (p: string) => readFileSync(join(packerDir, p), "utf8");

let tpl: any;
let vars: Record<string, any>;
let prodVars: Record<string, any>;
let rawTemplate: string;

beforeAll(async () => {
  rawTemplate = read("zmanim-ami.pkr.hcl");
  tpl = await parse("zmanim-ami.pkr.hcl", rawTemplate);
  const v = await parse("variables.pkr.hcl", read("variables.pkr.hcl"));
  vars = Object.fromEntries(Object.entries(v.variable).map(([k, blocks]: [string, any]) => [k, blocks[0]]));
  prodVars = await parse("prod.pkrvars.hcl", read("prod.pkrvars.hcl"));
});

const source = () => tpl.source["amazon-ebs"].zmanim[0];
const build = () => tpl.build[0];
/** Resolves `${path.root}` (the packer directory) in a template path. */
const repoFile = (p: string) => resolve(packerDir, p.replace("${path.root}/", ""));

describe("plugins and base image", () => {
  it("pins every required plugin with ~> and the packer core version too", () => {
    const plugins = tpl.packer[0].required_plugins[0];
    expect(Object.keys(plugins)).toContain("amazon");
    for (const [name, p] of Object.entries<any>(plugins)) {
      expect({ name, version: p.version }).toEqual({ name, version: expect.stringMatching(/^~> \d+\.\d+/) });
      expect(p.source).toMatch(/^github\.com\/hashicorp\//);
    }
    expect(tpl.packer[0].required_version).toMatch(/^~> /);
  });

  it("finds Ubuntu 24.04 arm64 through data amazon-ami, owned by Canonical, most recent", () => {
    const ami = tpl.data["amazon-ami"].ubuntu_noble_arm64[0];
    expect(ami.owners).toEqual(["099720109477"]);
    expect(ami.most_recent).toBe(true);
    expect(ami.filters.name).toBe("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*");
    expect(ami.filters.architecture).toBe("arm64");
    expect(source().source_ami).toBe("${data.amazon-ami.ubuntu_noble_arm64.id}");
  });
});

describe("build instance and AMI", () => {
  it("builds on an arm64 (Graviton) instance type", () => {
    expect(source().instance_type).toBe("${var.build_instance_type}");
    expect(vars.build_instance_type.default).toMatch(/^(m7g|m6g|t4g|c7g|c6g|r7g|m8g)\.[a-z0-9]+$/);
  });

  it("requires IMDSv2 with a hop limit of 1 on the build instance and marks the AMI v2-only", () => {
    const md = source().metadata_options[0];
    expect(md.http_tokens).toBe("required");
    expect(md.http_put_response_hop_limit).toBe(1);
    expect(md.http_endpoint).toBe("enabled");
    expect(source().imds_support).toBe("v2.0");
  });

  it("opens SSH on the temporary security group only to the address Packer runs on", () => {
    expect(source().temporary_security_group_source_public_ip).toBe(true);
    expect(source().temporary_security_group_source_cidrs).toBeUndefined();
  });

  it("encrypts the AMI and every launch volume", () => {
    expect(source().encrypt_boot).toBe(true);
    const devices = source().launch_block_device_mappings;
    expect(devices.length).toBeGreaterThan(0);
    for (const d of devices) expect(d.encrypted).toBe(true);
  });

  it("tags the AMI and its snapshots with the version and the git sha", () => {
    for (const tags of [source().tags, source().snapshot_tags]) {
      expect(tags.Version).toBe("${var.ami_version}");
      expect(tags.GitSha).toBe("${var.git_sha}");
    }
    expect(source().tags.ApiVersion).toBe("${var.api_version}");
    expect(vars.git_sha.validation[0].condition).toContain("[0-9a-f]{40}");
  });
});

describe("variables", () => {
  const referenced = () => new Set([...rawTemplate.matchAll(/var\.([a-z_0-9]+)/g)].map((m) => m[1]));

  it("declares every variable the template uses, and uses every declared variable", () => {
    expect([...referenced()].sort()).toEqual(Object.keys(vars).sort());
  });

  it("gives every variable without a default a value in prod.pkrvars.hcl or the documented command line", () => {
    const commandLine = ["api_binary", "api_version", "ami_version", "git_sha"];
    for (const [name, v] of Object.entries(vars)) {
      if (v.default !== undefined) continue;
      expect({ name, provided: name in prodVars || commandLine.includes(name) }).toEqual({ name, provided: true });
    }
    expect(rawTemplate).toContain("-var api_binary=");
    for (const name of Object.keys(prodVars)) expect(Object.keys(vars)).toContain(name);
    expect(prodVars.environment).toBe("prod");
  });

  it("brings the API binary in through a variable; the template never builds Go", () => {
    const file = build().provisioner.file.find((f: any) => f.source === "${var.api_binary}");
    expect(file.destination).toMatch(/zmanim-api$/);
    expect(rawTemplate).not.toMatch(/go build|go install|golang/);
  });

  it("pins every apt package to a version, including the ones the box depends on", () => {
    const pkgs: string[] = vars.apt_packages.default;
    for (const p of pkgs) expect(p).toMatch(/^[a-z0-9][a-z0-9.+-]*=[0-9A-Za-z.+:~-]+$/);
    const names = pkgs.map((p) => p.split("=")[0]);
    for (const n of [
      "postgresql-16",
      "postgresql-16-postgis-3",
      "postgresql-16-cron",
      "redis-server",
      "jq",
      "xfsprogs",
      "gnupg",
      "unzip",
      "bzip2",
    ]) {
      expect(names).toContain(n);
    }
    expect(vars.apt_snapshot.default).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it("pins restic to an upstream release >= 0.17 with a sha256, and the AWS tools to exact versions and key fingerprints", () => {
    const [maj, min] = vars.restic_version.default.split(".").map(Number);
    expect(maj > 0 || min >= 17).toBe(true);
    expect(vars.restic_sha256.default).toMatch(/^[0-9a-f]{64}$/);
    expect(vars.awscli_version.default).toMatch(/^2\.\d+\.\d+$/);
    expect(vars.cwagent_version.default).toMatch(/^1\.\d+\.[0-9a-z]+$/);
    expect(vars.awscli_key_fingerprint.default).toBe("FB5DB77FD5C118B80511ADA8A6310ACC4672475C");
    expect(vars.cwagent_key_fingerprint.default).toBe("937616F3450B7D806CBD9725D58167303B789C72");
  });
});

describe("provisioners", () => {
  it("references only files that exist in the repository", () => {
    const paths: string[] = [];
    for (const f of build().provisioner.file) {
      if (f.source && !f.source.startsWith("${var.")) paths.push(f.source);
      for (const s of f.sources ?? []) paths.push(s);
    }
    for (const s of build().provisioner.shell) for (const p of s.scripts ?? []) paths.push(p);
    for (const pp of build()["post-processors"])
      for (const sl of pp["post-processor"]["shell-local"] ?? []) paths.push(sl.script);
    expect(paths.length).toBeGreaterThanOrEqual(8);
    const missing = paths.map(repoFile).filter((p) => !existsSync(p));
    expect(missing).toEqual([]);
  });

  it("uploads, provisions, smoke-tests and cleans up in that order (raw text order; hcl2json groups by type)", () => {
    const at = (s: string) => {
      const i = rawTemplate.indexOf(s);
      expect({ s, found: i >= 0 }).toEqual({ s, found: true });
      return i;
    };
    const order = [
      at('"mkdir -p ${local.staging}/scripts/lib"'),
      at('source      = "${path.root}/files"'),
      at("${path.root}/../scripts/box/backup.sh"),
      at("${path.root}/../scripts/box/lib/common.sh"),
      at("source      = var.api_binary"),
      at("${path.root}/scripts/provision.sh"),
      at("${path.root}/scripts/smoke-test.sh"),
      at('"cloud-init clean --logs --machine-id"'),
      at('post-processor "manifest"'),
      at('post-processor "shell-local"'),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const provisioning = build().provisioner.shell.find((s: any) => s.scripts);
    expect(provisioning.scripts).toEqual(["${path.root}/scripts/provision.sh", "${path.root}/scripts/smoke-test.sh"]);
  });

  it("hands environment_vars to the scripts it runs as root ({{ .Vars }} in every custom execute_command)", () => {
    for (const s of build().provisioner.shell) {
      if (s.execute_command === undefined) continue;
      expect(s.execute_command).toMatch(/^sudo env \{\{ \.Vars \}\} bash '\{\{ \.Path \}\}'$/);
    }
  });

  it("passes provision.sh every setting it requires, from variables", () => {
    const script = read("scripts/provision.sh");
    const loop = /for v in ([A-Z0-9_ \\\n]+?); do/.exec(script);
    expect(loop).not.toBeNull();
    const required = loop![1].replace(/\\\n/g, " ").split(/\s+/).filter(Boolean);
    const provisioning = build().provisioner.shell.find((s: any) => s.scripts);
    const passed = (provisioning.environment_vars as string[]).map((e) => e.split("=")[0]);
    expect(passed.sort()).toEqual([...required].sort());
  });

  it("uploads exactly the backup scripts that provision.sh installs", () => {
    const uploaded = build()
      .provisioner.file.flatMap((f: any) => f.sources ?? [])
      .map((s: string) => s.split("/").pop());
    const script = read("scripts/provision.sh");
    const installed = /for s in ([a-z. -]+); do\n {2}install -o root -g root -m 0755 "[$]scripts[/][$]s"/.exec(script);
    expect(installed).not.toBeNull();
    expect(uploaded.sort()).toEqual(installed![1].trim().split(/\s+/).sort());
  });

  it("enables every installable unit in provision.sh and checks it in the smoke test", () => {
    const unitsDir = join(packerDir, "files/systemd");
    const installable = readdirSync(unitsDir).filter(
      (f) =>
        /\.(service|timer)$/.test(f) &&
        !f.includes("@") &&
        readFileSync(join(unitsDir, f), "utf8").includes("[Install]"),
    );
    expect(installable.sort()).toEqual(["zmanim-api.service", "zmanim-backup.timer", "zmanim-restore-drill.timer"]);
    const enableLine = /systemctl enable ([^\n]+\\\n[^\n]+)/.exec(read("scripts/provision.sh"))![1];
    const smoke = read("scripts/smoke-test.sh");
    for (const u of [
      ...installable,
      "postgresql@16-main.service",
      "redis-server.service",
      "amazon-cloudwatch-agent.service",
    ]) {
      expect({ u, enabled: enableLine.includes(u), smoke: smoke.includes(u) }).toEqual({
        u,
        enabled: true,
        smoke: true,
      });
    }
  });
});

describe("log files the CloudWatch agent ships", () => {
  it("are written by the units and configs the AMI installs", () => {
    const { BOX_LOGS } = require("../../constructs/builders/cloudwatch-agent") as {
      BOX_LOGS: { group: string; file: string }[];
    };
    const files = Object.fromEntries(BOX_LOGS.map((l) => [l.group, l.file]));
    const unit = (n: string) => read(`files/systemd/${n}`);
    expect(unit("zmanim-api.service")).toContain(`StandardOutput=append:${files.api}`);
    expect(unit("zmanim-backup.service")).toContain(`>>${files.backup}'`);
    expect(read("files/redis/redis.conf")).toMatch(new RegExp(`^logfile ${files.redis.replace(/[.]/g, "\\.")}$`, "m"));
    // pg_ctlcluster writes the server's stderr to /var/log/postgresql/postgresql-<version>-<cluster>.log.
    expect(files.postgresql).toBe("/var/log/postgresql/postgresql-*-main.log");
    expect(read("files/postgresql/postgresql.conf")).toMatch(/^logging_collector = off$/m);
    expect(read("files/logrotate/zmanim")).toContain("/var/log/zmanim/*.log");
  });
});

describe("publish step", () => {
  it("publishes from the manifest post-processor's output, in the same post-processor chain, after it", () => {
    const chains = build()["post-processors"];
    expect(chains).toHaveLength(1);
    const pp = chains[0]["post-processor"];
    expect(Object.keys(pp).sort()).toEqual(["manifest", "shell-local"]);
    const manifest = pp.manifest[0];
    const publish = pp["shell-local"][0];
    expect(publish.script).toBe("${path.root}/scripts/publish-ami-id.sh");
    expect(publish.environment_vars).toContain(`MANIFEST_PATH=${manifest.output}`);
    expect(publish.environment_vars).toContain("ZMANIM_ENV=${var.environment}");
    expect(manifest.custom_data.git_sha).toBe("${var.git_sha}");
    // A lone post-processor block would not be part of the chain (it would run on the raw AMI artifact).
    expect(build()["post-processor"]).toBeUndefined();
  });

  it("names the SSM parameter /zmanim/<env>/ami-id in the publish script", () => {
    expect(read("scripts/publish-ami-id.sh")).toContain('name="/zmanim/$ZMANIM_ENV/ami-id"');
  });
});

describe("migrate-db on the box", () => {
  const box = join(repo, "scripts", "box");
  const libFiles = () =>
    readdirSync(join(box, "migrate", "lib"))
      .filter((f) => f.endsWith(".sh"))
      .sort();

  it("the dispatcher sources every phase file under migrate/lib, and every one exists", () => {
    const dispatcher = readFileSync(join(box, "migrate-db"), "utf8");
    expect(dispatcher).toContain('readonly LIB_DIR="$script_dir/migrate/lib"');
    expect(dispatcher).toContain('readonly SQL_DIR="$script_dir/migrate/sql"');
    const sourced = [...dispatcher.matchAll(/^source "\$LIB_DIR\/([a-z-]+\.sh)"$/gm)].map((m) => m[1]).sort();
    expect(sourced).toEqual([
      "args.sh",
      "connect.sh",
      "dump.sh",
      "preflight.sh",
      "replicate.sh",
      "report.sh",
      "restore.sh",
      "verify.sh",
    ]);
    expect(sourced).toEqual(libFiles());
    expect(dispatcher.split("\n").length).toBeLessThanOrEqual(100);
  });

  it("every query the phases run (qs SIDE NAME) has its file in migrate/sql, and every file there is used", () => {
    const text =
      libFiles()
        .map((f) => readFileSync(join(box, "migrate", "lib", f), "utf8"))
        .join("\n") + readFileSync(join(box, "migrate-db"), "utf8");
    const used = new Set([...text.matchAll(/\bqs (?:source|target|"\$priv_side") ([a-z-]+)/g)].map((m) => m[1]));
    used.add("verify"); // run with psql -f by verify() on both sides at once
    const files = readdirSync(join(box, "migrate", "sql"))
      .filter((f) => f.endsWith(".sql"))
      .map((f) => f.replace(/\.sql$/, ""));
    expect(used.size).toBeGreaterThanOrEqual(38);
    expect([...used].sort()).toEqual(files.sort());
  });
});
