import { Construct } from "constructs";
import { Fn } from "cdktf/lib/terraform-functions";
import { Token } from "cdktf/lib/tokens";
import { TerraformIterator } from "cdktf/lib/terraform-iterator";
import { TerraformOutput } from "cdktf/lib/terraform-output";
import { Route53Zone } from "@cdktf/provider-aws/lib/route53-zone";
import { DataAwsRoute53Zone } from "@cdktf/provider-aws/lib/data-aws-route53-zone";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import { Sesv2EmailIdentity } from "@cdktf/provider-aws/lib/sesv2-email-identity";
import { Sesv2EmailIdentityMailFromAttributes } from "@cdktf/provider-aws/lib/sesv2-email-identity-mail-from-attributes";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { EnvironmentConfig } from "./environments";

/** Subdomain of the site used as the custom MAIL FROM domain (SPF and bounces): `mail.<siteName>`. */
export function mailFromDomain(env: EnvironmentConfig): string {
  return `mail.${env.domain.siteName}`;
}

/**
 * The DMARC record of the site name. Aggregate reports go to the alarm mailbox when its domain and the zone
 * are the same or one contains the other (a report address in an unrelated domain needs an authorization
 * record in that domain's zone, so it is left out).
 */
export function dmarcRecord(env: EnvironmentConfig): string {
  const mailboxDomain = env.alarmEmail.split("@")[1]?.toLowerCase() ?? "";
  const zone = env.domain.zoneName;
  const sameOrg = mailboxDomain === zone || mailboxDomain.endsWith(`.${zone}`) || zone.endsWith(`.${mailboxDomain}`);
  return ["v=DMARC1", "p=quarantine", "adkim=r", "aspf=r", ...(sameOrg ? [`rua=mailto:${env.alarmEmail}`] : [])].join("; ");
}

/**
 * DNS and identity: the Route 53 hosted zone (created, or looked up when it already exists), the site's
 * ACM certificate in us-east-1 (CloudFront only accepts certificates from there) with DNS validation, and
 * the SES domain identity that backup-failure mail is sent from, with Easy DKIM, a custom MAIL FROM domain
 * (MX + SPF) and DMARC.
 *
 * The alias records, the health check and its alarm belong to the cdn stack (they need the distribution).
 */
export class DnsStack extends ZmanimStack {
  /** Hosted zone id of `env.domain.zoneName`. */
  readonly zoneId: string;
  /** ARN of the validated certificate (us-east-1); referencing it waits for validation. */
  readonly certificateArn: string;
  readonly certificate: AcmCertificate;
  readonly emailIdentity: Sesv2EmailIdentity;

  constructor(scope: Construct, props: ZmanimStackProps) {
    super(scope, "dns", props);
    const env = props.env;
    const site = env.domain.siteName;
    const useast1 = this.regionalProvider("us-east-1", "us-east-1");

    if (env.domain.createZone) {
      const zone = new Route53Zone(this, "zone", {
        name: env.domain.zoneName,
        comment: `Shtetl Zmanim (${env.name}); managed by zmanim-infra`,
        forceDestroy: false,
        // Recreating a zone changes its name servers and breaks the registrar's delegation.
        lifecycle: { preventDestroy: true },
      });
      zone.overrideLogicalId("zone");
      this.zoneId = zone.zoneId;
      new TerraformOutput(this, "name-servers", {
        value: zone.nameServers,
        description: `Delegate ${env.domain.zoneName} to these name servers at the registrar (docs/dns.md)`,
      });
    } else {
      const zone = new DataAwsRoute53Zone(this, "zone", { name: env.domain.zoneName, privateZone: false });
      this.zoneId = zone.zoneId;
    }

    // ACM certificate for CloudFront: must be in us-east-1.
    this.certificate = new AcmCertificate(this, "certificate", {
      provider: useast1,
      domainName: site,
      validationMethod: "DNS",
      lifecycle: { createBeforeDestroy: true },
      tags: { Name: site },
    });
    this.certificate.overrideLogicalId("certificate");

    const dvo = TerraformIterator.fromComplexList(this.certificate.domainValidationOptions, "domain_name");
    const validationRecords = new Route53Record(this, "certificate-validation-record", {
      forEach: dvo,
      zoneId: this.zoneId,
      name: dvo.getString("resource_record_name"),
      type: dvo.getString("resource_record_type"),
      records: [dvo.getString("resource_record_value")],
      ttl: 300,
      allowOverwrite: true,
    });
    const validation = new AcmCertificateValidation(this, "certificate-validation", {
      provider: useast1,
      certificateArn: this.certificate.arn,
      validationRecordFqdns: Token.asList(TerraformIterator.fromResources(validationRecords).pluckProperty("fqdn")),
    });
    this.certificateArn = validation.certificateArn;

    // SES identity in the environment's region: naming.sesIdentityArn(env) names exactly this identity.
    this.emailIdentity = new Sesv2EmailIdentity(this, "ses-identity", {
      emailIdentity: site,
      dkimSigningAttributes: { nextSigningKeyLength: "RSA_2048_BIT" },
    });
    this.emailIdentity.overrideLogicalId("ses_identity");

    // Easy DKIM: three CNAMEs <token>._domainkey.<site> -> <token>.dkim.amazonses.com.
    for (let i = 0; i < 3; i++) {
      const token = Fn.element(this.emailIdentity.dkimSigningAttributes.tokens, i);
      new Route53Record(this, `ses-dkim-${i}`, {
        zoneId: this.zoneId,
        name: `${token}._domainkey.${site}`,
        type: "CNAME",
        ttl: 1800,
        records: [`${token}.dkim.amazonses.com`],
      });
    }

    // Custom MAIL FROM: bounces and SPF on mail.<site>, so SPF aligns with the From domain for DMARC.
    const mailFrom = mailFromDomain(env);
    new Sesv2EmailIdentityMailFromAttributes(this, "ses-mail-from", {
      emailIdentity: this.emailIdentity.emailIdentity,
      mailFromDomain: mailFrom,
      behaviorOnMxFailure: "USE_DEFAULT_VALUE",
    });
    new Route53Record(this, "ses-mail-from-mx", {
      zoneId: this.zoneId,
      name: mailFrom,
      type: "MX",
      ttl: 1800,
      records: [`10 feedback-smtp.${env.region}.amazonses.com`],
    });
    new Route53Record(this, "ses-mail-from-spf", {
      zoneId: this.zoneId,
      name: mailFrom,
      type: "TXT",
      ttl: 1800,
      records: ["v=spf1 include:amazonses.com -all"],
    });
    new Route53Record(this, "dmarc", {
      zoneId: this.zoneId,
      name: `_dmarc.${site}`,
      type: "TXT",
      ttl: 1800,
      records: [dmarcRecord(env)],
    });

    new TerraformOutput(this, "certificate-arn", { value: this.certificateArn });
  }
}
