// The app layer: composes every stack of one environment and synthesizes it. Run as the entry point
// (`node dist/main.js [--env NAME]`), it is the only place that reads the process environment; tests and
// tools import `addStacks` and `synthEnvironment`, which read nothing from it.
import { existsSync, mkdirSync, renameSync, rmSync } from "fs";
import { dirname, resolve } from "path";
import { App } from "cdktf/lib/app";
import { ApiStack } from "./stacks/api";
import { AppStack } from "./stacks/app-stack";
import { CdnStack } from "./stacks/cdn";
import { CicdStack } from "./stacks/cicd";
import { terraformOf } from "./constructs/builders/deploy-role-policy";
import { ComputeStack } from "./stacks/compute";
import { DataStack } from "./stacks/data";
import { DnsStack } from "./stacks/dns";
import { EnvironmentConfig, topologyOf } from "./constructs/config/environments";
import { MonitoringStack } from "./stacks/monitoring";
import { NetworkStack } from "./stacks/network";
import { RetiredBoxStack } from "./stacks/retired-box";
import { SecretsStack } from "./stacks/secrets";
import { StorageStack } from "./stacks/storage";
import { selectEnvironment, validateEnvironment } from "./constructs/config/validate-environment";
import { ConfigError } from "./constructs/config/errors";

export interface ZmanimStacks {
  readonly network: NetworkStack;
  readonly storage: StorageStack;
  readonly secrets: SecretsStack;
  /**
   * The box. In the scaled topology once the box is retired (keepBox false), the same stack without
   * resources: its deploy destroys the box (retired-box.ts).
   */
  readonly compute: ComputeStack | RetiredBoxStack;
  readonly dns: DnsStack;
  readonly api: ApiStack;
  readonly cdn: CdnStack;
  readonly cicd: CicdStack;
  /** Budget, cost anomaly detection, edge metrics and the dashboard: last in the deploy order. */
  readonly monitoring: MonitoringStack;
  /** Scaled topology only: RDS and ElastiCache. */
  readonly data?: DataStack;
  /** Scaled topology only: the API fleet behind its internal ALB. */
  readonly app?: AppStack;
}

/**
 * Adds every stack of one environment to `app`. The graph is acyclic; cross-stack values flow through
 * cdktf's remote-state wiring, and `manifest.json` records the resulting deploy order.
 */
export function addStacks(app: App, env: EnvironmentConfig): ZmanimStacks {
  const network = new NetworkStack(app, { env });
  const storage = new StorageStack(app, { env, network });
  const secrets = new SecretsStack(app, { env });
  // The one place that reads the topology. The box runs in single-box, and beside the fleet while keepBox
  // holds (the scale-out and its rollback window); the fleet runs in scaled.
  const topology = topologyOf(env);
  const scaled = topology.kind === "scaled" ? topology : undefined;
  const box = !scaled || scaled.keepBox ? new ComputeStack(app, { env, network, storage, secrets }) : undefined;
  const compute = box ?? new RetiredBoxStack(app, { env });
  const dns = new DnsStack(app, { env });
  const data = scaled ? new DataStack(app, { env, network, topology: scaled }) : undefined;
  const appTier = scaled ? new AppStack(app, { env, network, topology: scaled }) : undefined;
  const api = new ApiStack(app, { env, network, compute: box, app: appTier });
  const cdn = new CdnStack(app, { env, storage, api, dns });
  const monitoring = new MonitoringStack(app, { env, api, cdn, compute: box, data, app: appTier });

  // Declared as well as inferred, so the deploy order holds even before a stack references another.
  storage.addDependency(network);
  box?.addDependency(network);
  box?.addDependency(storage);
  box?.addDependency(secrets);
  api.addDependency(network);
  if (box) api.addDependency(box);
  data?.addDependency(network);
  data?.addDependency(secrets);
  if (data && appTier) {
    // Releases, secrets and the data stores' endpoints (SSM data-config) exist before the first instance boots;
    // the alarm topic's owner (alarm-topic.ts) comes before the stacks that name it.
    for (const s of [network, storage, secrets, data]) appTier.addDependency(s);
    // The box (or its retirement) first: the topic it owns must be gone before the data stack creates its own.
    appTier.addDependency(compute);
    data.addDependency(compute);
    api.addDependency(appTier);
  }
  cdn.addDependency(storage);
  cdn.addDependency(api);
  cdn.addDependency(dns);
  // Last: it names the cdn stack's log delivery source and the us-east-1 alarm topic, and reads every id it draws.
  for (const s of [api, cdn, compute, ...(data ? [data] : []), ...(appTier ? [appTier] : [])])
    monitoring.addDependency(s);

  // Last: the deploy role's grants are generated from every other stack's Terraform.
  const workload = [
    network,
    storage,
    secrets,
    compute,
    dns,
    ...(data ? [data] : []),
    ...(appTier ? [appTier] : []),
    api,
    cdn,
    monitoring,
  ];
  const cicd = new CicdStack(app, { env, workload: terraformOf(workload, env) });

  return { network, storage, secrets, compute, dns, api, cdn, cicd, data, app: appTier, monitoring };
}

/**
 * Synthesizes every stack of `env` into `outdir`, all or nothing.
 *
 * The environment is validated first (a ConfigError leaves `outdir` untouched). The app then synthesizes
 * into a sibling staging directory, and only a complete output replaces `outdir`, so nobody can ever
 * deploy a half-written `cdktf.out`.
 */
export function synthEnvironment(env: EnvironmentConfig, outdir: string): string {
  validateEnvironment(env);
  const target = resolve(outdir);
  const staging = `${target}.staging-${process.pid}`;
  const previous = `${target}.previous-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  try {
    const app = new App({ outdir: staging });
    addStacks(app, env);
    app.synth();
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(target)) renameSync(target, previous);
  renameSync(staging, target);
  rmSync(previous, { recursive: true, force: true });
  return target;
}

/** `node dist/main.js [--env NAME]`: pick the environment, validate it, synthesize every stack. */
function main(): void {
  try {
    const env = selectEnvironment(process.argv.slice(2), process.env);
    const out = synthEnvironment(env, process.env.CDKTF_OUTDIR ?? "cdktf.out");
    if (!process.env.CDKTF_OUTDIR) console.log(`synthesized environment "${env.name}" into ${out}`);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

if (require.main === module) main();
