import { Construct } from "constructs";
import { Fn } from "cdktf/lib/terraform-functions";
import { TerraformOutput } from "cdktf/lib/terraform-output";
import { Route53Zone } from "@cdktf/provider-aws/lib/route53-zone";
import { DataAwsRoute53Zone } from "@cdktf/provider-aws/lib/data-aws-route53-zone";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { Sesv2EmailIdentity } from "@cdktf/provider-aws/lib/sesv2-email-identity";
import { Sesv2EmailIdentityMailFromAttributes } from "@cdktf/provider-aws/lib/sesv2-email-identity-mail-from-attributes";
import { ZmanimStack, ZmanimStackProps } from "./base";
import { ApexZoneConfig, CarriedRecord, EnvironmentConfig } from "../constructs/config/environments";

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
  return ["v=DMARC1", "p=quarantine", "adkim=r", "aspf=r", ...(sameOrg ? [`rua=mailto:${env.alarmEmail}`] : [])].join(
    "; ",
  );
}

/** A stable construct id per carried record set (name and type), so reordering the list changes nothing. */
export function carriedRecordId(r: CarriedRecord): string {
  return `carried-${r.type.toLowerCase()}-${r.name.replace(/[^a-z0-9]+/gi, "-")}`;
}

/**
 * DNS and identity: the site's Route 53 hosted zone (created, or looked up when it already exists) and the
 * SES domain identity that backup-failure mail is sent from, with Easy DKIM, a custom MAIL FROM domain
 * (MX + SPF) and DMARC. Every record is under the site name, so all of them are served as soon as the
 * current DNS delegates the site name to the zone (docs/dns.md).
 *
 * Opt-in (`domain.apexZone`): a zone for the parent domain that recreates the carried records and
 * delegates the site name to the site zone, ready for a later delegation of the apex at the registrar.
 *
 * The certificate, its validation, the alias records, the health check and its alarm belong to the cdn
 * stack, beside the distribution that uses them.
 */
export class DnsStack extends ZmanimStack {
  /** Hosted zone id of `env.domain.zoneName`. */
  readonly zoneId: string;
  readonly emailIdentity: Sesv2EmailIdentity;

  constructor(scope: Construct, props: ZmanimStackProps) {
    super(scope, "dns", props);
    const env = props.env;
    const site = env.domain.siteName;
    let siteZoneNameServers: string[] = [];

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
      siteZoneNameServers = zone.nameServers;
      new TerraformOutput(this, "name-servers", {
        value: zone.nameServers,
        description: `Delegate ${env.domain.zoneName} with four NS records at the DNS that serves its parent today (docs/dns.md)`,
      });
    } else {
      const zone = new DataAwsRoute53Zone(this, "zone", { name: env.domain.zoneName, privateZone: false });
      this.zoneId = zone.zoneId;
    }

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

    if (env.domain.apexZone) this.apexZone(env.domain.apexZone, site, siteZoneNameServers);
  }

  /** The parent zone: the carried records, and NS records that keep the site zone delegated. */
  private apexZone(apex: ApexZoneConfig, site: string, siteNameServers: string[]): void {
    const zone = new Route53Zone(this, "apex-zone", {
      name: apex.name,
      comment: `${apex.name}: records carried over from the current DNS; managed by zmanim-infra`,
      forceDestroy: false,
      lifecycle: { preventDestroy: true },
    });
    zone.overrideLogicalId("apex_zone");
    for (const r of apex.carriedRecords) {
      new Route53Record(this, carriedRecordId(r), {
        zoneId: zone.zoneId,
        name: r.name,
        type: r.type,
        ttl: r.ttl ?? 300,
        records: r.values,
      });
    }
    new Route53Record(this, "site-delegation", {
      zoneId: zone.zoneId,
      name: site,
      type: "NS",
      ttl: 3600,
      records: siteNameServers,
    });
    new TerraformOutput(this, "apex-name-servers", {
      value: zone.nameServers,
      description: `Set ${apex.name}'s name servers at the registrar to these only after the preflight's apex check passes (docs/dns.md)`,
    });
  }
}
