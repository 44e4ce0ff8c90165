import { Construct } from "constructs";
import { ZmanimStack, ZmanimStackProps } from "./base";

/**
 * The compute stack of a scaled environment whose box is retired (`keepBox: false`): the same stack name and
 * state key as the box's compute stack, with no resources.
 *
 * Deploying it is the box's retirement. Terraform plans the destruction of everything the state still holds
 * (the instance, its role, alarms, log groups, the `/data` volume and the Elastic IP: `prevent_destroy` goes
 * with the resource block), in one plan that a reviewer sees and approves. Dropping the stack from the output
 * instead would leave the box running and billed with nothing deploying its state, and no plan would ever
 * destroy it. docs/runbooks/scale-out.md snapshots the volume before the flip.
 *
 * In an environment that never had a box (the `scaled` example) the state is empty and the plan is a no-op.
 * It deploys before the data and app stacks, so the alarm topic it held is gone before the data stack
 * creates its own under the same name.
 */
export class RetiredBoxStack extends ZmanimStack {
  constructor(scope: Construct, props: ZmanimStackProps) {
    super(scope, "compute", props);
  }
}
