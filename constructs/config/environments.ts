/**
 * Typed environment definitions. `prod` is the embedded default; `staging` is the second example.
 *
 * Every value here is validated by `validateEnvironment` (see ./validate-environment.ts) before any
 * construct is created and before `cdktf.out` is touched. Stacks receive the validated object as props;
 * nothing below `main.ts` reads `process.env`.
 */

/** Where Terraform state lives for every stack of an environment. */
export type StateConfig =
  | {
      kind: "s3";
      /** State bucket created by `backend.tf.json`. */
      bucket: string;
      /** DynamoDB lock table created by `backend.tf.json`. */
      lockTable: string;
      /** Region of the state bucket and lock table. */
      region: string;
    }
  | {
      kind: "cloud";
      /** Terraform Cloud organization. */
      organization: string;
      /** Workspaces are named `<workspacePrefix><stack>`, e.g. `zmanim-prod-network`. */
      workspacePrefix: string;
      /** @default "app.terraform.io" */
      hostname?: string;
      /** The project that holds the workspaces (and appears in the runs' identity tokens). @default "zmanim-<env>" */
      project?: string;
      /**
       * Where runs execute: "remote" (Terraform Cloud's workers, with dynamic AWS credentials), "agent"
       * (self-hosted agents, same credentials) or "local" (state only). The cicd workspace is always local.
       * @default "remote"
       */
      executionMode?: "remote" | "local" | "agent";
      /** Terraform version of every workspace. @default the version CI installs (constructs/config/terraform-cloud.ts) */
      terraformVersion?: string;
    };

export interface DomainConfig {
  /**
   * The hosted zone that holds the site's records. Default: the site's own name (`zmanim.shtetl.io`), which
   * the current DNS of the parent delegates with four NS records; the parent (apex) is never touched.
   * A created zone must equal `siteName`; a zone above the site is the `apexZone` opt-in (docs/dns.md).
   */
  zoneName: string;
  /** The public site name served by CloudFront, e.g. `zmanim.shtetl.io`. Must be inside `zoneName`. */
  siteName: string;
  /**
   * true: the dns stack creates the hosted zone. false: the zone already exists in this account and is
   * looked up by name (documented external-DNS alternative in docs/dns.md).
   */
  createZone: boolean;
  /**
   * Opt-in: Route 53 also hosts the parent zone (e.g. `shtetl.io`). Delegating it at the registrar replaces
   * every record the current DNS serves, so the zone is refused unless it lists the records to carry over
   * (at least Clerk's CNAMEs and the MX of the alarm mailbox). The site zone stays a delegated subzone, so
   * the certificate validates before the apex moves. @default undefined (the apex is never touched)
   */
  apexZone?: ApexZoneConfig;
}

/** The records an apex zone recreates from the current DNS before it is delegated. */
export interface ApexZoneConfig {
  /** The parent zone, e.g. `shtetl.io`; `siteName` must be inside it. */
  name: string;
  carriedRecords: CarriedRecord[];
}

export type CarriedRecordType = "A" | "AAAA" | "CNAME" | "MX" | "TXT" | "CAA" | "SRV";

/** One record set copied from the current DNS (`dig +noall +answer <name> <type>` shows it). */
export interface CarriedRecord {
  /** Fully qualified name without a trailing dot, e.g. `clerk.shtetl.io`. */
  name: string;
  type: CarriedRecordType;
  /** Record values as Route 53 takes them, e.g. `["10 inbound-smtp.example.net"]` for an MX. */
  values: string[];
  /** @default 300 */
  ttl?: number;
}

export interface ClerkConfig {
  /** Clerk Frontend API URL, used as the JWT issuer, e.g. `https://clerk.shtetl.io`. Must be https. */
  issuer: string;
  /** Values accepted in the `aud` claim. Clerk adds `aud` only through a JWT template (docs/clerk.md). */
  audience: string[];
  /** Route prefixes that require a valid Clerk JWT, e.g. `/api/v1/me`. Everything else is anonymous. */
  protectedRoutePrefixes: string[];
}

export interface ApiConfig {
  /** Port the Go API listens on, on the instance. @default 8080 */
  port: number;
  /** Path CloudFront, Route 53 and deploy workflows probe for health. */
  healthPath: string;
  /** HTTP API default route throttling. */
  throttlingBurstLimit: number;
  throttlingRateLimit: number;
}

export interface GitHubConfig {
  /** `owner/name` of this infrastructure repository (OIDC trust). */
  infraRepository: string;
  /** `owner/name` of the application repository that calls the release workflow (OIDC trust). */
  appRepository: string;
  /**
   * GitHub's OIDC provider is one per AWS account: "create" in the one environment of the account whose cicd stack
   * owns it, "lookup" (a data source) in every other environment of that account (constructs/config/github-oidc.ts).
   * @default "create"
   */
  oidcProvider?: GitHubOidcProviderMode;
}

export type GitHubOidcProviderMode = "create" | "lookup";

/**
 * How the API and its data are hosted. One field of the environment chooses; `main.ts` reads it in one
 * place. Leaving `topology` out means `{ kind: "single-box" }`, and the synthesized JSON of a single-box
 * environment is the same whether the field is given or not.
 */
export type TopologyConfig = SingleBoxTopology | ScaledTopology;

/** Today's topology: one box runs the Go API, PostgreSQL and Redis (compute stack). */
export interface SingleBoxTopology {
  kind: "single-box";
}

/**
 * The growth topology: RDS for PostgreSQL (Multi-AZ), ElastiCache for Valkey, and an Auto Scaling group of
 * API-only instances behind an internal ALB, across two availability zones.
 */
export interface ScaledTopology {
  kind: "scaled";
  /**
   * Exactly two availability zones of `region`. The first should be `availabilityZone`, so the box (while
   * `keepBox` holds) and the fleet share a zone.
   */
  availabilityZones: [string, string];
  /** One app subnet per AZ (same order as `availabilityZones`), inside `vpcCidr`; routes to the internet gateway. */
  appSubnetCidrs: [string, string];
  /** One data subnet per AZ, inside `vpcCidr`; their route table has no route to the internet. */
  dataSubnetCidrs: [string, string];
  /**
   * How API instances reach the internet (SSM, CloudWatch, releases bucket via the gateway endpoint aside):
   * `public-ip` gives each instance a public IPv4 with ingress only from the ALB; `nat-gateway` puts one NAT
   * gateway in the first app AZ and gives instances no public address.
   * @default "public-ip"
   */
  egress: "public-ip" | "nat-gateway";
  database: ManagedDatabaseConfig;
  cache: ManagedCacheConfig;
  fleet: FleetConfig;
  /**
   * true while the box still runs beside the scaled topology (the scale-out and its rollback window): the
   * compute stack and its volume and Elastic IP stay. false retires the box (docs/runbooks/scale-out.md).
   */
  keepBox: boolean;
}

export interface ManagedDatabaseConfig {
  /** RDS instance class, Graviton, e.g. `db.t4g.medium` or `db.m7g.large`. */
  instanceClass: string;
  /** A standby in the second AZ. Required in prod. */
  multiAz: boolean;
  /** Initial gp3 storage in GiB (RDS minimum 20). */
  allocatedStorageGb: number;
  /** Storage autoscaling ceiling in GiB; must exceed `allocatedStorageGb`. */
  maxAllocatedStorageGb: number;
  /** Automated backup retention in days (7 to 35). */
  backupRetentionDays: number;
}

export type ManagedCacheConfig =
  | {
      /** ElastiCache Serverless for Valkey: highly available across AZs by construction, billed per GB-hour and ECPU. */
      kind: "serverless";
      /** Upper bound of data storage in GB (a cost guard). */
      maxDataStorageGb: number;
      /** Upper bound of ElastiCache Processing Units per second (a cost guard). */
      maxEcpuPerSecond: number;
    }
  | {
      /** A node-based Valkey replication group. */
      kind: "replication-group";
      /** Graviton cache node type, e.g. `cache.t4g.small`. */
      nodeType: string;
      /** Replicas besides the primary. At least 1 for automatic failover (required in prod). */
      replicas: number;
    };

export interface FleetConfig {
  /** Graviton instance type of the API-only instances. */
  instanceType: string;
  /** Auto Scaling group bounds; `min` is at least 2 (one per AZ). */
  min: number;
  max: number;
  /** Target average CPU utilisation (percent) for target tracking. */
  targetCpuPercent: number;
}

/**
 * A minimal AWS WAF web ACL on the distribution: AWS managed common rules plus a per-IP rate limit on
 * `/api/*`. Priced in docs/security/accepted-risks.md (CKV_AWS_68) and shown by `npm run cost` when on.
 */
export interface WafConfig {
  enabled: boolean;
  /** Requests per client IP per 5 minutes on `/api/*` before WAF blocks that IP (AWS accepts 10 to 2e9). */
  apiRateLimitPer5Min: number;
}

export interface EnvironmentConfig {
  /** Short environment name, used in stack names (`zmanim-<name>-<stack>`) and SSM paths. */
  name: string;
  /** The AWS account this environment deploys into. Providers refuse any other account. */
  accountId: string;
  /** Primary region for everything regional. */
  region: string;
  /** The one availability zone the subnet and the data volume are pinned to. Must be in `region`. */
  availabilityZone: string;
  vpcCidr: string;
  /** Must lie inside `vpcCidr`. */
  publicSubnetCidr: string;
  /** Graviton (arm64) instance type. */
  instanceType: string;
  /** Size of the persistent `/data` volume in GiB. Growing is online; shrinking is impossible. */
  dataVolumeGb: number;
  /** Size of the disposable root volume in GiB. */
  rootVolumeGb: number;
  domain: DomainConfig;
  /** CIDRs allowed to reach port 22. Empty means port 22 is closed; use SSM Session Manager. */
  adminCidrs: string[];
  /** Receives every alarm and backup-failure email (SNS subscription must be confirmed once). */
  alarmEmail: string;
  clerk: ClerkConfig;
  api: ApiConfig;
  /** Monthly budget in USD; `npm run cost` fails when the estimate exceeds it. */
  monthlyBudgetUsd: number;
  /** Origin Shield region for both CloudFront origins. */
  originShieldRegion: string;
  /** Retention of every CloudWatch log group, in days. */
  logRetentionDays: number;
  /** Days a noncurrent object version is kept in versioned buckets (backups included). */
  noncurrentVersionDays: number;
  /** Web ACL on the distribution. @default undefined: none (the budget's choice for prod, see accepted-risks.md) */
  waf?: WafConfig;
  state: StateConfig;
  github: GitHubConfig;
  /** @default { kind: "single-box" } */
  topology?: TopologyConfig;
  /**
   * This environment's monitoring stack activates the `Project` and `Environment` cost allocation tags. They are
   * account-wide: exactly one environment per account should own them (its destroy deactivates them), and only
   * in the payer account (docs/monitoring.md). @default false
   */
  activatesCostAllocationTags?: boolean;
}

export const prod: EnvironmentConfig = {
  name: "prod",
  accountId: "111111111111",
  region: "eu-west-1",
  availabilityZone: "eu-west-1a",
  vpcCidr: "10.42.0.0/16",
  publicSubnetCidr: "10.42.0.0/24",
  instanceType: "m7g.medium",
  dataVolumeGb: 20,
  rootVolumeGb: 10,
  domain: { zoneName: "zmanim.shtetl.io", siteName: "zmanim.shtetl.io", createZone: true },
  adminCidrs: [],
  alarmEmail: "admin@shtetl.io",
  clerk: {
    issuer: "https://clerk.shtetl.io",
    audience: ["zmanim-api"],
    protectedRoutePrefixes: ["/api/v1/me", "/api/v1/admin"],
  },
  api: { port: 8080, healthPath: "/api/health", throttlingBurstLimit: 200, throttlingRateLimit: 100 },
  monthlyBudgetUsd: 50,
  originShieldRegion: "eu-west-1",
  logRetentionDays: 30,
  noncurrentVersionDays: 30,
  state: {
    kind: "s3",
    bucket: "zmanim-tfstate-111111111111",
    lockTable: "zmanim-tfstate-lock",
    region: "eu-west-1",
  },
  // prod's cicd stack owns account 111111111111's GitHub OIDC provider; staging and scaled look it up.
  github: { infraRepository: "shtetl/zmanim-infra", appRepository: "shtetl/zmanim", oidcProvider: "create" },
  activatesCostAllocationTags: true,
};

export const staging: EnvironmentConfig = {
  ...prod,
  name: "staging",
  github: { ...prod.github, oidcProvider: "lookup" },
  vpcCidr: "10.43.0.0/16",
  publicSubnetCidr: "10.43.0.0/24",
  instanceType: "t4g.small",
  availabilityZone: "eu-west-1b",
  domain: { zoneName: "zmanim-staging.shtetl.io", siteName: "zmanim-staging.shtetl.io", createZone: true },
  monthlyBudgetUsd: 30,
  logRetentionDays: 14,
  noncurrentVersionDays: 7,
  // prod owns the account's cost allocation tags.
  activatesCostAllocationTags: false,
};

/**
 * The `scaled` topology as a shipped example: a staging-sized copy with the smallest sane Graviton classes,
 * Multi-AZ on, its own VPC range and site name, and no box (keepBox false).
 */
export const scaled: EnvironmentConfig = {
  ...staging,
  name: "scaled",
  vpcCidr: "10.44.0.0/16",
  publicSubnetCidr: "10.44.0.0/24",
  availabilityZone: "eu-west-1a",
  domain: { zoneName: "zmanim-scaled.shtetl.io", siteName: "zmanim-scaled.shtetl.io", createZone: true },
  // Multi-AZ RDS, Valkey, an ALB and two instances cost about $150 a month before any traffic
  // (docs/cost-curve.json); staging's $30 would fail `npm run cost -- --env scaled` by construction.
  monthlyBudgetUsd: 175,
  topology: {
    kind: "scaled",
    availabilityZones: ["eu-west-1a", "eu-west-1b"],
    appSubnetCidrs: ["10.44.10.0/24", "10.44.11.0/24"],
    dataSubnetCidrs: ["10.44.20.0/24", "10.44.21.0/24"],
    egress: "public-ip",
    database: {
      instanceClass: "db.t4g.small",
      multiAz: true,
      allocatedStorageGb: 20,
      maxAllocatedStorageGb: 100,
      backupRetentionDays: 7,
    },
    cache: { kind: "serverless", maxDataStorageGb: 1, maxEcpuPerSecond: 5000 },
    fleet: { instanceType: "t4g.small", min: 2, max: 4, targetCpuPercent: 60 },
    keepBox: false,
  },
};

export const environments: Readonly<Record<string, EnvironmentConfig>> = { prod, staging, scaled };

export const DEFAULT_ENVIRONMENT = "prod";

/** The environment's topology, with the default applied. */
export function topologyOf(env: EnvironmentConfig): TopologyConfig {
  return env.topology ?? { kind: "single-box" };
}
