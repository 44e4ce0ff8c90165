import { Construct } from "constructs";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { ApiStack } from "./api";
import { DnsStack } from "./dns";
import { StorageStack } from "./storage";

export interface CdnStackProps extends ZmanimStackProps {
  readonly storage: StorageStack;
  readonly api: ApiStack;
  readonly dns: DnsStack;
}

/** CloudFront with Origin Shield, OAC, cache policies, the SPA function, alias records, health check. */
export class CdnStack extends ZmanimStack {
  constructor(scope: Construct, props: CdnStackProps) {
    super(scope, "cdn", props);
  }
}
