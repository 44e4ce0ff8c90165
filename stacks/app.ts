import { App } from "cdktf/lib/app";
import { ApiStack } from "./api";
import { CdnStack } from "./cdn";
import { CicdStack } from "./cicd";
import { ComputeStack } from "./compute";
import { DataStack } from "./data";
import { DnsStack } from "./dns";
import { EnvironmentConfig, topologyOf } from "./environments";
import { NetworkStack } from "./network";
import { SecretsStack } from "./secrets";
import { StorageStack } from "./storage";

export interface ZmanimStacks {
  readonly network: NetworkStack;
  readonly storage: StorageStack;
  readonly secrets: SecretsStack;
  readonly compute: ComputeStack;
  readonly dns: DnsStack;
  readonly api: ApiStack;
  readonly cdn: CdnStack;
  readonly cicd: CicdStack;
  /** Scaled topology only: RDS and ElastiCache. */
  readonly data?: DataStack;
}

/**
 * Adds every stack of one environment to `app`. The graph is acyclic; cross-stack values flow through
 * cdktf's remote-state wiring, and `manifest.json` records the resulting deploy order.
 */
export function addStacks(app: App, env: EnvironmentConfig): ZmanimStacks {
  const network = new NetworkStack(app, { env });
  const storage = new StorageStack(app, { env, network });
  const secrets = new SecretsStack(app, { env });
  const compute = new ComputeStack(app, { env, network, storage, secrets });
  const dns = new DnsStack(app, { env });
  const api = new ApiStack(app, { env, network, compute });
  const cdn = new CdnStack(app, { env, storage, api, dns });
  const cicd = new CicdStack(app, { env });

  // Declared as well as inferred, so the deploy order holds even before a stack references another.
  storage.addDependency(network);
  compute.addDependency(network);
  compute.addDependency(storage);
  compute.addDependency(secrets);
  api.addDependency(network);
  api.addDependency(compute);
  cdn.addDependency(storage);
  cdn.addDependency(api);
  cdn.addDependency(dns);

  const topology = topologyOf(env);
  let data: DataStack | undefined;
  if (topology.kind === "scaled") {
    data = new DataStack(app, { env, network, topology });
    data.addDependency(network);
    data.addDependency(secrets);
  }

  return { network, storage, secrets, compute, dns, api, cdn, cicd, data };
}
