import { Construct } from "constructs";
import { ZmanimStack, ZmanimStackProps } from "./base";

/** SSM parameters under /zmanim/<env>/: generated passwords, the Clerk key placeholder, the box config. */
export class SecretsStack extends ZmanimStack {
  constructor(scope: Construct, props: ZmanimStackProps) {
    super(scope, "secrets", props);
  }
}
