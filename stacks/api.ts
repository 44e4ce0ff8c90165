import { Construct } from "constructs";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { ComputeStack } from "./compute";
import { NetworkStack } from "./network";

export interface ApiStackProps extends ZmanimStackProps {
  readonly network: NetworkStack;
  readonly compute: ComputeStack;
}

/** HTTP API: VPC link + Cloud Map to the instance, Clerk JWT authorizer, throttling, CORS, access logs. */
export class ApiStack extends ZmanimStack {
  constructor(scope: Construct, props: ApiStackProps) {
    super(scope, "api", props);
  }
}
