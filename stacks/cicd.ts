import { Construct } from "constructs";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { StorageStack } from "./storage";

export interface CicdStackProps extends ZmanimStackProps {
  readonly storage: StorageStack;
}

/** GitHub OIDC provider and the plan, deploy and release roles. */
export class CicdStack extends ZmanimStack {
  constructor(scope: Construct, props: CicdStackProps) {
    super(scope, "cicd", props);
  }
}
