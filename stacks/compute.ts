import { Construct } from "constructs";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { NetworkStack } from "./network";
import { SecretsStack } from "./secrets";
import { StorageStack } from "./storage";

export interface ComputeStackProps extends ZmanimStackProps {
  readonly network: NetworkStack;
  readonly storage: StorageStack;
  readonly secrets: SecretsStack;
}

/** The box: instance, /data volume, Elastic IP, IAM, user data, alarms. */
export class ComputeStack extends ZmanimStack {
  constructor(scope: Construct, props: ComputeStackProps) {
    super(scope, "compute", props);
  }
}
