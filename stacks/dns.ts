import { Construct } from "constructs";
import { ZmanimStack, ZmanimStackProps } from "./base";

/** Hosted zone, ACM certificate in us-east-1 with DNS validation, SES identity with DKIM/SPF/DMARC. */
export class DnsStack extends ZmanimStack {
  constructor(scope: Construct, props: ZmanimStackProps) {
    super(scope, "dns", props);
  }
}
