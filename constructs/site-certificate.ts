import { Construct } from "constructs";
import { TerraformProvider } from "cdktf/lib/terraform-provider";
import { TerraformIterator } from "cdktf/lib/terraform-iterator";
import { Token } from "cdktf/lib/tokens";
import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";

export interface SiteCertificateProps {
  /** The us-east-1 provider: CloudFront accepts certificates only from there. */
  readonly provider: TerraformProvider;
  /** The hosted zone that serves the validation records (publicly: it must be delegated). */
  readonly zoneId: string;
  /** Every name on the certificate: the first is the subject, the rest are subject alternative names. */
  readonly domainNames: readonly string[];
}

/** How long Terraform waits for ACM to validate the certificate. */
export const VALIDATION_TIMEOUT = "30m";

/** The pinned logical ids; they are the same as when the dns stack held the certificate (docs/dns.md). */
export const CERTIFICATE_IDS = {
  certificate: "certificate",
  validationRecord: "certificate-validation-record",
  validation: "certificate-validation",
} as const;

/**
 * A DNS-validated ACM certificate with its validation records and the wait for validation.
 *
 * It belongs in the stack of its consumer (the CloudFront distribution): with `create_before_destroy`, a
 * change of names then runs in one apply as create new certificate -> validate -> point the distribution at
 * it -> delete the old one. Held in another stack, the old certificate would still be attached when its own
 * stack tries to delete it, and ACM answers `ResourceInUseException`
 * (https://docs.aws.amazon.com/acm/latest/userguide/troubleshooting-delete.html).
 *
 * Validation records are keyed by domain name, so adding a name adds one record and keeps the others.
 */
export class SiteCertificate extends Construct {
  readonly certificate: AcmCertificate;
  /** ARN of the validated certificate; referencing it waits for validation. */
  readonly arn: string;

  constructor(scope: Construct, id: string, props: SiteCertificateProps) {
    super(scope, id);
    const [subject, ...alternatives] = props.domainNames;
    if (!subject) throw new Error("SiteCertificate: domainNames is empty; list the site name first");

    this.certificate = new AcmCertificate(this, "certificate", {
      provider: props.provider,
      domainName: subject,
      subjectAlternativeNames: alternatives.length > 0 ? alternatives : undefined,
      validationMethod: "DNS",
      lifecycle: { createBeforeDestroy: true },
      tags: { Name: subject },
    });
    this.certificate.overrideLogicalId(CERTIFICATE_IDS.certificate);

    const dvo = TerraformIterator.fromComplexList(this.certificate.domainValidationOptions, "domain_name");
    const records = new Route53Record(this, "validation-record", {
      forEach: dvo,
      zoneId: props.zoneId,
      name: dvo.getString("resource_record_name"),
      type: dvo.getString("resource_record_type"),
      records: [dvo.getString("resource_record_value")],
      ttl: 300,
      // Names that share a validation record (a name and its wildcard) write the same record.
      allowOverwrite: true,
    });
    records.overrideLogicalId(CERTIFICATE_IDS.validationRecord);

    const validation = new AcmCertificateValidation(this, "validation", {
      provider: props.provider,
      certificateArn: this.certificate.arn,
      validationRecordFqdns: Token.asList(TerraformIterator.fromResources(records).pluckProperty("fqdn")),
      // The provider waits 75m by default. With the zone delegated (the preflight checks it first), ACM
      // validates within minutes; 30m fails the apply cleanly inside the cdn stack's deploy budget
      // (scripts/ci/deploy-budgets.json) instead of holding the state lock until the job is killed.
      timeouts: { create: VALIDATION_TIMEOUT },
    });
    validation.overrideLogicalId(CERTIFICATE_IDS.validation);
    this.arn = validation.certificateArn;
  }
}
