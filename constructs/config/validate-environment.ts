import { DEFAULT_ENVIRONMENT, EnvironmentConfig, environments } from "./environments";
import { githubOidcProblems, githubOidcSetProblems } from "./github-oidc";
import { applyBackendOverrides, backendProblems } from "./validate-backend";
import { AWS_REGIONS, ConfigError } from "./errors";
import { databaseStorageProblems, fleetSizeProblems } from "./limits";
import { costAllocationTagProblems } from "./validate-monitoring";

/**
 * Graviton (arm64) instance families. The AMI is arm64-only, so any other family would fail to boot.
 */
const ARM64_INSTANCE_TYPE =
  /^(a1|t4g|(m|c|r)(6g|6gd|6gn|7g|7gd|7gn|8g|8gd|8gn)|c6gn|x2gd|x8g|im4gn|is4gen|i4g|i8g|g5g|hpc7g)\.(medium|large|xlarge|metal|\d+xlarge|nano|micro|small)$/;

const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const EMAIL = /^[^@\s]+@([a-z0-9-]+\.)+[a-z]{2,63}$/i;
const GITHUB_REPO = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;
const ENV_NAME = /^[a-z][a-z0-9]{1,15}$/;

/** Parses `a.b.c.d/n` strictly. Returns undefined when malformed. */
export function parseCidr(cidr: string): { base: number; prefix: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const base = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((base & mask) >>> 0 !== base) return undefined; // host bits set: 10.0.0.1/16 is ambiguous
  return { base, prefix };
}

function cidrContains(outer: { base: number; prefix: number }, inner: { base: number; prefix: number }): boolean {
  if (inner.prefix < outer.prefix) return false;
  const mask = outer.prefix === 0 ? 0 : (0xffffffff << (32 - outer.prefix)) >>> 0;
  return (inner.base & mask) >>> 0 === outer.base;
}

function cidrsOverlap(a: { base: number; prefix: number }, b: { base: number; prefix: number }): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** Returns every problem with `env`; an empty list means valid. */
export function environmentProblems(env: EnvironmentConfig): string[] {
  const problems: string[] = [];
  const bad = (field: string, value: unknown, fix: string) =>
    problems.push(`${field} = ${JSON.stringify(value)}: ${fix}`);
  const required = (
    field: string,
    value: unknown,
    fix = "is required; set it in constructs/config/environments.ts",
  ): boolean => {
    if (value === undefined || value === null || value === "") {
      bad(field, value ?? null, fix);
      return false;
    }
    return true;
  };

  if (required("name", env.name) && !ENV_NAME.test(env.name))
    bad("name", env.name, 'use 2-16 lowercase letters and digits, starting with a letter (e.g. "prod")');

  if (required("accountId", env.accountId) && !/^\d{12}$/.test(env.accountId))
    bad("accountId", env.accountId, "use the 12-digit AWS account id (aws sts get-caller-identity)");

  const regionOk = required("region", env.region) && (AWS_REGIONS as readonly string[]).includes(env.region);
  if (env.region && !regionOk)
    bad("region", env.region, `use an AWS region such as "eu-west-1" (known: ${AWS_REGIONS.join(", ")})`);

  if (required("availabilityZone", env.availabilityZone)) {
    if (regionOk && !new RegExp(`^${env.region}[a-z]$`).test(env.availabilityZone))
      bad(
        "availabilityZone",
        env.availabilityZone,
        `must be a zone of region ${env.region}, e.g. "${env.region}a"; the subnet and the /data volume are pinned to it`,
      );
  }

  const vpc = required("vpcCidr", env.vpcCidr) ? parseCidr(env.vpcCidr) : undefined;
  if (env.vpcCidr && !vpc) bad("vpcCidr", env.vpcCidr, 'use a network address in CIDR form, e.g. "10.42.0.0/16"');
  else if (vpc && (vpc.prefix < 16 || vpc.prefix > 28))
    bad("vpcCidr", env.vpcCidr, "AWS allows VPC prefixes /16 to /28");

  const subnet = required("publicSubnetCidr", env.publicSubnetCidr) ? parseCidr(env.publicSubnetCidr) : undefined;
  if (env.publicSubnetCidr && !subnet)
    bad("publicSubnetCidr", env.publicSubnetCidr, 'use a network address in CIDR form, e.g. "10.42.0.0/24"');
  else if (subnet && (subnet.prefix < 16 || subnet.prefix > 28))
    bad("publicSubnetCidr", env.publicSubnetCidr, "AWS allows subnet prefixes /16 to /28; use e.g. a /24");
  else if (subnet && vpc && !cidrContains(vpc, subnet))
    bad("publicSubnetCidr", env.publicSubnetCidr, `must lie inside vpcCidr ${env.vpcCidr}, e.g. its first /24`);

  if (required("instanceType", env.instanceType) && !ARM64_INSTANCE_TYPE.test(env.instanceType))
    bad("instanceType", env.instanceType, 'the AMI is arm64; use a Graviton type such as "m7g.medium" or "t4g.small"');

  if (!Number.isInteger(env.dataVolumeGb) || env.dataVolumeGb < 8 || env.dataVolumeGb > 16384)
    bad("dataVolumeGb", env.dataVolumeGb, "use a whole number of GiB between 8 and 16384");
  if (!Number.isInteger(env.rootVolumeGb) || env.rootVolumeGb < 8 || env.rootVolumeGb > 100)
    bad("rootVolumeGb", env.rootVolumeGb, "use a whole number of GiB between 8 and 100 (the AMI snapshot size is 8)");

  if (!env.domain) bad("domain", null, "is required: { zoneName, siteName, createZone }");
  else {
    if (required("domain.zoneName", env.domain.zoneName) && !DOMAIN_NAME.test(env.domain.zoneName))
      bad("domain.zoneName", env.domain.zoneName, 'use a lowercase DNS name without a trailing dot, e.g. "shtetl.io"');
    if (required("domain.siteName", env.domain.siteName)) {
      if (!DOMAIN_NAME.test(env.domain.siteName))
        bad("domain.siteName", env.domain.siteName, 'use a lowercase DNS name, e.g. "zmanim.shtetl.io"');
      else if (env.domain.siteName !== env.domain.zoneName && !env.domain.siteName.endsWith(`.${env.domain.zoneName}`))
        bad("domain.siteName", env.domain.siteName, `must be inside domain.zoneName "${env.domain.zoneName}"`);
      else if (env.domain.siteName.startsWith("api."))
        bad(
          "domain.siteName",
          env.domain.siteName,
          'must not start with "api.": api.<siteName> is the API\'s host name and the edge function treats api.* hosts as API-only',
        );
    }
    domainZoneProblems(env, bad);
  }

  (env.adminCidrs ?? []).forEach((c, i) => {
    const p = parseCidr(c);
    if (!p) bad(`adminCidrs[${i}]`, c, 'use a CIDR such as "203.0.113.7/32"');
    else if (p.prefix === 0)
      bad(
        `adminCidrs[${i}]`,
        c,
        "0.0.0.0/0 opens SSH to the internet; list your own /32s or leave adminCidrs empty and use SSM Session Manager",
      );
    else if (vpc && cidrsOverlap(p, vpc))
      bad(`adminCidrs[${i}]`, c, `overlaps vpcCidr ${env.vpcCidr}; admin CIDRs are public addresses outside the VPC`);
  });

  if (required("alarmEmail", env.alarmEmail) && !EMAIL.test(env.alarmEmail))
    bad("alarmEmail", env.alarmEmail, 'use a mailbox such as "ops@shtetl.io"');

  if (!env.clerk) bad("clerk", null, "is required: { issuer, audience, protectedRoutePrefixes }");
  else {
    if (required("clerk.issuer", env.clerk.issuer) && !/^https:\/\/[a-z0-9.-]+(\/[\w./-]*)?$/.test(env.clerk.issuer))
      bad(
        "clerk.issuer",
        env.clerk.issuer,
        'use the https URL of the Clerk Frontend API, e.g. "https://clerk.shtetl.io"',
      );
    if (!Array.isArray(env.clerk.audience) || env.clerk.audience.length === 0 || env.clerk.audience.some((a) => !a))
      bad(
        "clerk.audience",
        env.clerk.audience,
        "list at least one audience; add the same value as `aud` in the Clerk JWT template (docs/clerk.md)",
      );
    (env.clerk.protectedRoutePrefixes ?? []).forEach((p, i) => {
      if (!/^\/api\/[A-Za-z0-9/_-]+$/.test(p) || p.endsWith("/"))
        bad(
          `clerk.protectedRoutePrefixes[${i}]`,
          p,
          'use a path under /api/ without a trailing slash, e.g. "/api/v1/me"',
        );
    });
  }

  if (!env.api) bad("api", null, "is required: { port, healthPath, throttlingBurstLimit, throttlingRateLimit }");
  else {
    if (!Number.isInteger(env.api.port) || env.api.port < 1024 || env.api.port > 65535)
      bad("api.port", env.api.port, "use an unprivileged port between 1024 and 65535 (default 8080)");
    if (!/^\/api\/[A-Za-z0-9/_-]*$/.test(env.api.healthPath ?? ""))
      bad("api.healthPath", env.api.healthPath, 'use a path under /api/, e.g. "/api/health"');
    if (!(env.api.throttlingBurstLimit > 0))
      bad("api.throttlingBurstLimit", env.api.throttlingBurstLimit, "use a positive number of requests");
    if (!(env.api.throttlingRateLimit > 0))
      bad("api.throttlingRateLimit", env.api.throttlingRateLimit, "use a positive number of requests per second");
  }

  if (!(typeof env.monthlyBudgetUsd === "number" && env.monthlyBudgetUsd > 0))
    bad("monthlyBudgetUsd", env.monthlyBudgetUsd, "use a positive number of US dollars, e.g. 50");

  if (!(AWS_REGIONS as readonly string[]).includes(env.originShieldRegion))
    bad("originShieldRegion", env.originShieldRegion, 'use the region closest to the origin, e.g. "eu-west-1"');

  const RETENTION = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
  ];
  if (env.waf !== undefined) {
    if (typeof env.waf.enabled !== "boolean") bad("waf.enabled", env.waf.enabled, "use true or false");
    const r = env.waf.apiRateLimitPer5Min;
    if (!Number.isInteger(r) || r < 10 || r > 2_000_000_000)
      bad(
        "waf.apiRateLimitPer5Min",
        r,
        "use a whole number of requests per IP per 5 minutes between 10 and 2000000000 (AWS WAF's range)",
      );
  }
  if (!RETENTION.includes(env.logRetentionDays))
    bad("logRetentionDays", env.logRetentionDays, `CloudWatch accepts only ${RETENTION.join(", ")}`);
  if (!Number.isInteger(env.noncurrentVersionDays) || env.noncurrentVersionDays < 1)
    bad("noncurrentVersionDays", env.noncurrentVersionDays, "use a whole number of days, at least 1");

  backendProblems(env, bad);

  if (!env.github) bad("github", null, "is required: { infraRepository, appRepository }");
  else {
    if (!GITHUB_REPO.test(env.github.infraRepository ?? ""))
      bad("github.infraRepository", env.github.infraRepository, 'use "owner/name" of this repository');
    if (!GITHUB_REPO.test(env.github.appRepository ?? ""))
      bad("github.appRepository", env.github.appRepository, 'use "owner/name" of the application repository');
  }
  problems.push(...githubOidcProblems(env));
  if (env.topology !== undefined) topologyProblems(env, vpc, subnet, bad);
  return problems;
}

const CARRIED_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "CAA", "SRV"];

/**
 * The go-live DNS rules (docs/dns.md): a created zone is the site's own name, delegated from the current DNS;
 * a zone above the site is an explicit `apexZone` opt-in that must carry over the records the current DNS
 * serves, at least Clerk's CNAME (the JWT issuer) and the MX of the alarm mailbox.
 */
function domainZoneProblems(env: EnvironmentConfig, bad: (field: string, value: unknown, fix: string) => void): void {
  const d = env.domain;
  if (!DOMAIN_NAME.test(d.siteName ?? "") || !DOMAIN_NAME.test(d.zoneName ?? "")) return;
  if (d.createZone && d.zoneName !== d.siteName)
    bad(
      "domain.zoneName",
      d.zoneName,
      `a zone created above the site name takes over every record of ${d.zoneName} once delegated (Clerk's CNAMEs, the MX); ` +
        `set it to "${d.siteName}" (the site's own zone, delegated from the current DNS with four NS records), ` +
        `or opt in with domain.apexZone = { name: "${d.zoneName}", carriedRecords: [...] } (docs/dns.md)`,
    );
  const apex = d.apexZone;
  if (!apex) return;
  if (!DOMAIN_NAME.test(apex.name ?? "") || !d.siteName.endsWith(`.${apex.name}`)) {
    bad(
      "domain.apexZone.name",
      apex.name ?? null,
      `use a parent of domain.siteName "${d.siteName}", e.g. "${d.siteName.split(".").slice(1).join(".")}"`,
    );
    return;
  }
  if (!d.createZone || d.zoneName !== d.siteName)
    bad(
      "domain.apexZone",
      apex.name,
      `needs the site zone too: set domain.zoneName to "${d.siteName}" and domain.createZone to true; the apex zone delegates it`,
    );
  const records = Array.isArray(apex.carriedRecords) ? apex.carriedRecords : [];
  const seen = new Set<string>();
  records.forEach((r, i) => {
    const f = `domain.apexZone.carriedRecords[${i}]`;
    const name = r?.name ?? "";
    if (name !== apex.name && !name.endsWith(`.${apex.name}`))
      bad(
        `${f}.name`,
        r?.name ?? null,
        `use a fully qualified name inside ${apex.name} without a trailing dot, e.g. "clerk.${apex.name}"`,
      );
    else if (name === d.siteName || name.endsWith(`.${d.siteName}`))
      bad(
        `${f}.name`,
        name,
        `records at or under ${d.siteName} belong to the site zone, which the stacks manage; remove it here`,
      );
    if (!CARRIED_TYPES.includes(r?.type))
      bad(
        `${f}.type`,
        r?.type ?? null,
        `use one of ${CARRIED_TYPES.join(", ")} (Route 53 creates the apex NS and SOA itself)`,
      );
    const values = Array.isArray(r?.values) ? r.values : [];
    if (values.length === 0 || values.some((v) => typeof v !== "string" || v === ""))
      bad(`${f}.values`, r?.values ?? null, "list the record's values exactly as the current DNS answers them");
    else if (r.type === "CNAME" && (values.length !== 1 || name === apex.name))
      bad(`${f}.values`, values, "a CNAME has exactly one value and cannot sit at the zone apex");
    else if (r.type === "MX" && values.some((v) => !/^\d{1,5} \S+$/.test(v)))
      bad(`${f}.values`, values, 'write each MX value as "<priority> <host>", e.g. "10 mx.example.net"');
    if (r?.ttl !== undefined && (!Number.isInteger(r.ttl) || r.ttl < 0 || r.ttl > 2147483647))
      bad(`${f}.ttl`, r.ttl, "use a whole number of seconds, e.g. 300");
    const key = `${name} ${r?.type}`;
    if (seen.has(key)) bad(`${f}`, key, "list each name and type once, with all its values");
    seen.add(key);
  });
  const has = (name: string, type: string) => records.some((r) => r?.name === name && r?.type === type);
  const inApexOnly = (name: string) =>
    (name === apex.name || name.endsWith(`.${apex.name}`)) && name !== d.siteName && !name.endsWith(`.${d.siteName}`);
  const issuerHost = /^https:\/\/([a-z0-9.-]+)/.exec(env.clerk?.issuer ?? "")?.[1];
  if (issuerHost && inApexOnly(issuerHost) && !has(issuerHost, "CNAME"))
    bad(
      "domain.apexZone.carriedRecords",
      records.map((r) => `${r?.name} ${r?.type}`),
      `carry Clerk's records, at least { name: "${issuerHost}", type: "CNAME", values: [<current target>] } (the JWT issuer); ` +
        `the Clerk dashboard (Domains) lists the others (accounts, clkmail, clk._domainkey, clk2._domainkey)`,
    );
  const mailDomain = env.alarmEmail?.split("@")[1]?.toLowerCase();
  if (mailDomain && inApexOnly(mailDomain) && !has(mailDomain, "MX"))
    bad(
      "domain.apexZone.carriedRecords",
      records.map((r) => `${r?.name} ${r?.type}`),
      `carry the MX of ${mailDomain} (alarmEmail ${env.alarmEmail}): { name: "${mailDomain}", type: "MX", values: [<dig +short MX ${mailDomain}>] }`,
    );
}

/**
 * Problems across the set of environments: each is keyed by its own name, and environments in one
 * account have disjoint VPC CIDRs (so they can be peered or reached over one VPN later).
 */
export function environmentSetProblems(defs: Readonly<Record<string, EnvironmentConfig>>): string[] {
  const problems: string[] = [];
  const list = Object.entries(defs);
  for (const [key, env] of list) {
    if (env.name !== key)
      problems.push(`environments.${key}.name = ${JSON.stringify(env.name)}: must equal its key "${key}"`);
  }
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const [ka, a] = list[i];
      const [kb, b] = list[j];
      const ca = parseCidr(a.vpcCidr);
      const cb = parseCidr(b.vpcCidr);
      if (a.accountId === b.accountId && ca && cb && cidrsOverlap(ca, cb)) {
        problems.push(
          `environments.${kb}.vpcCidr = ${JSON.stringify(b.vpcCidr)}: overlaps environments.${ka}.vpcCidr ${a.vpcCidr} in account ${a.accountId}; give each environment its own /16`,
        );
      }
    }
  }
  problems.push(...githubOidcSetProblems(defs));
  problems.push(...costAllocationTagProblems(defs));
  return problems;
}

/** Throws a ConfigError listing every problem, or returns the environment unchanged. */
export function validateEnvironment(env: EnvironmentConfig): EnvironmentConfig {
  const problems = environmentProblems(env);
  if (problems.length > 0) throw new ConfigError(env.name || "(unnamed)", problems);
  return env;
}

/**
 * Picks the environment named by `--env <name>` / `--env=<name>` in argv, else by `ZMANIM_ENV`, else prod.
 * `ZMANIM_STATE_BACKEND=cloud` with `TFC_ORGANIZATION` switches the state to Terraform Cloud workspaces
 * (the TFC_* overrides: constructs/config/validate-backend.ts).
 * Only main.ts and the CLIs call this; it is the single place that reads the process environment.
 */
export function selectEnvironment(
  argv: readonly string[],
  vars: Readonly<Record<string, string | undefined>>,
  defs: Readonly<Record<string, EnvironmentConfig>> = environments,
): EnvironmentConfig {
  let name = vars.ZMANIM_ENV || DEFAULT_ENVIRONMENT;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--env" && argv[i + 1]) name = argv[i + 1];
    else if (argv[i].startsWith("--env=")) name = argv[i].slice("--env=".length);
  }
  const setProblems = environmentSetProblems(defs);
  if (setProblems.length > 0) throw new ConfigError(name, setProblems);
  const base = defs[name];
  if (!base)
    throw new ConfigError(name, [
      `ZMANIM_ENV/--env = ${JSON.stringify(name)}: unknown environment; use one of ${Object.keys(defs).join(", ")} or add it to constructs/config/environments.ts`,
    ]);
  const env = applyBackendOverrides(base, vars);
  return validateEnvironment(env);
}

/** Graviton RDS classes (burstable t4g; general-purpose and memory-optimised 6g/7g/8g). */
const GRAVITON_DB_CLASS =
  /^db\.(t4g|m6g|m6gd|m7g|m8g|r6g|r6gd|r7g|r8g|x2g)\.(micro|small|medium|large|xlarge|\d+xlarge)$/;
/** Graviton ElastiCache node types. */
const GRAVITON_CACHE_NODE = /^cache\.(t4g|m6g|m7g|r6g|r7g|r8g)\.(micro|small|medium|large|xlarge|\d+xlarge)$/;

/** Production is held to stricter rules: a standby database and a cache that survives a node failure. */
function isProduction(env: EnvironmentConfig): boolean {
  return env.name === "prod";
}

const isInt = (v: unknown, min: number, max: number): boolean =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

type Cidr = { base: number; prefix: number };

/** Problems with `env.topology` (only called when the field is present). */
function topologyProblems(
  env: EnvironmentConfig,
  vpc: Cidr | undefined,
  publicSubnet: Cidr | undefined,
  bad: (field: string, value: unknown, fix: string) => void,
): void {
  const t = env.topology;
  if (!t) return;
  if (t.kind === "single-box") return;
  if (t.kind !== "scaled") {
    bad("topology.kind", (t as { kind: unknown }).kind, 'use "single-box" (the default) or "scaled"');
    return;
  }

  const azs = t.availabilityZones;
  const zone = new RegExp(`^${env.region}[a-z]$`);
  if (!Array.isArray(azs) || azs.length !== 2 || new Set(azs).size !== 2)
    bad(
      "topology.availabilityZones",
      azs ?? null,
      `list exactly two distinct zones of region ${env.region}, e.g. ["${env.region}a", "${env.region}b"]; the standby, the replicas and the fleet need a second zone`,
    );
  else {
    azs.forEach((az, i) => {
      if (!zone.test(az))
        bad(
          `topology.availabilityZones[${i}]`,
          az,
          `must be a zone of region ${env.region}, e.g. "${env.region}${i === 0 ? "a" : "b"}"`,
        );
    });
    if (!azs.includes(env.availabilityZone))
      bad(
        "topology.availabilityZones",
        azs,
        `must include availabilityZone "${env.availabilityZone}" (the public subnet's zone, where the box and the NAT gateway live); put it first`,
      );
  }

  // Every subnet of the VPC: parsed, inside the VPC, and disjoint from every other.
  const subnets: Array<[string, string, Cidr]> = [];
  if (publicSubnet) subnets.push(["publicSubnetCidr", env.publicSubnetCidr, publicSubnet]);
  for (const key of ["appSubnetCidrs", "dataSubnetCidrs"] as const) {
    const list = t[key];
    if (!Array.isArray(list) || list.length !== 2) {
      bad(
        `topology.${key}`,
        list ?? null,
        `list two CIDRs inside vpcCidr ${env.vpcCidr}, one per availability zone, e.g. /24s`,
      );
      continue;
    }
    list.forEach((cidr, i) => {
      const field = `topology.${key}[${i}]`;
      const parsed = parseCidr(cidr);
      if (!parsed) bad(field, cidr, 'use a network address in CIDR form, e.g. "10.42.10.0/24"');
      else if (parsed.prefix < 16 || parsed.prefix > 28)
        bad(field, cidr, "AWS allows subnet prefixes /16 to /28; use e.g. a /24");
      else if (vpc && !cidrContains(vpc, parsed)) bad(field, cidr, `must lie inside vpcCidr ${env.vpcCidr}`);
      else subnets.push([field, cidr, parsed]);
    });
  }
  for (let i = 0; i < subnets.length; i++) {
    for (let j = 0; j < i; j++) {
      if (cidrsOverlap(subnets[i][2], subnets[j][2]))
        bad(
          subnets[i][0],
          subnets[i][1],
          `overlaps ${subnets[j][0]} ${subnets[j][1]}; give every subnet its own range inside vpcCidr ${env.vpcCidr}`,
        );
    }
  }

  if (t.egress !== "public-ip" && t.egress !== "nat-gateway")
    bad(
      "topology.egress",
      t.egress ?? null,
      'use "public-ip" (a public IPv4 per instance, ingress only from the ALB) or "nat-gateway" (one NAT gateway)',
    );

  const db = t.database;
  if (!db)
    bad(
      "topology.database",
      null,
      "is required: { instanceClass, multiAz, allocatedStorageGb, maxAllocatedStorageGb, backupRetentionDays }",
    );
  else {
    if (!GRAVITON_DB_CLASS.test(db.instanceClass ?? ""))
      bad(
        "topology.database.instanceClass",
        db.instanceClass ?? null,
        'use a Graviton RDS class such as "db.t4g.small" or "db.m7g.large"',
      );
    if (typeof db.multiAz !== "boolean")
      bad("topology.database.multiAz", db.multiAz ?? null, "use true (a standby in the second zone) or false");
    else if (!db.multiAz && isProduction(env))
      bad(
        "topology.database.multiAz",
        db.multiAz,
        "prod requires Multi-AZ (a synchronous standby in the second zone); set it to true",
      );
    for (const p of databaseStorageProblems(db)) bad(`topology.database.${p.field}`, p.value, p.fix);
  }

  const cache = t.cache;
  if (!cache)
    bad("topology.cache", null, 'is required: { kind: "serverless", ... } or { kind: "replication-group", ... }');
  else if (cache.kind === "serverless") {
    if (!isInt(cache.maxDataStorageGb, 1, 5000))
      bad(
        "topology.cache.maxDataStorageGb",
        cache.maxDataStorageGb ?? null,
        "use a whole number of GB between 1 and 5000",
      );
    if (!isInt(cache.maxEcpuPerSecond, 1000, 15_000_000))
      bad(
        "topology.cache.maxEcpuPerSecond",
        cache.maxEcpuPerSecond ?? null,
        "use a whole number of ECPU per second between 1000 and 15000000",
      );
  } else if (cache.kind === "replication-group") {
    if (!GRAVITON_CACHE_NODE.test(cache.nodeType ?? ""))
      bad(
        "topology.cache.nodeType",
        cache.nodeType ?? null,
        'use a Graviton node type such as "cache.t4g.small" or "cache.m7g.large"',
      );
    if (!isInt(cache.replicas, 0, 5))
      bad("topology.cache.replicas", cache.replicas ?? null, "use a whole number of replicas from 0 to 5");
    else if (cache.replicas < 1 && isProduction(env))
      bad(
        "topology.cache.replicas",
        cache.replicas,
        'prod requires a highly available cache: at least 1 replica (automatic failover, Multi-AZ), or kind "serverless"',
      );
  } else
    bad("topology.cache.kind", (cache as { kind: unknown }).kind ?? null, 'use "serverless" or "replication-group"');

  const fleet = t.fleet;
  if (!fleet) bad("topology.fleet", null, "is required: { instanceType, min, max, targetCpuPercent }");
  else {
    if (!ARM64_INSTANCE_TYPE.test(fleet.instanceType ?? ""))
      bad(
        "topology.fleet.instanceType",
        fleet.instanceType ?? null,
        'the AMI is arm64; use a Graviton type such as "t4g.small" or "m7g.medium"',
      );
    for (const p of fleetSizeProblems(fleet)) bad(`topology.fleet.${p.field}`, p.value, p.fix);
  }

  if (typeof t.keepBox !== "boolean")
    bad(
      "topology.keepBox",
      t.keepBox ?? null,
      "use true while the box still runs beside the scaled topology, false once it is retired",
    );
}
