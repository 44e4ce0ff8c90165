import { App } from "cdktf/lib/app";
import { ApiStack } from "./api";
import { AppStack } from "./app-stack";
import { CdnStack } from "./cdn";
import { CicdStack } from "./cicd";
import { terraformOf } from "../constructs/builders/deploy-role-policy";
import { ComputeStack } from "./compute";
import { DataStack } from "./data";
import { DnsStack } from "./dns";
import { EnvironmentConfig, topologyOf } from "./environments";
import { NetworkStack } from "./network";
import { RetiredBoxStack } from "./retired-box";
import { SecretsStack } from "./secrets";
import { StorageStack } from "./storage";

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

  // Last: the deploy role's grants are generated from every other stack's Terraform.
  const workload = [network, storage, secrets, compute, dns, ...(data ? [data] : []), ...(appTier ? [appTier] : []), api, cdn];
  const cicd = new CicdStack(app, { env, workload: terraformOf(workload, env) });

  return { network, storage, secrets, compute, dns, api, cdn, cicd, data, app: appTier };
}
