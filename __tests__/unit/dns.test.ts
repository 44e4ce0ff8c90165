/**
 * The dns stack: hosted zone (created or looked up), the us-east-1 certificate with DNS validation, and the
 * SES identity with DKIM, custom MAIL FROM (MX + SPF) and DMARC.
 */
import { prod, staging, EnvironmentConfig } from "../../stacks/environments";
import { sesIdentityArn } from "../../stacks/naming";
import { dmarcRecord, mailFromDomain } from "../../stacks/dns";
import { synthAll, Synthesized } from "../helpers/synth";

type Body = Record<string, unknown>;

describe.each([
  ["prod (creates the zone)", prod],
  ["staging (looks the zone up)", staging],
])("dns stack: %s", (_name, env) => {
  let s: Synthesized;
  let r: Record<string, Record<string, Body>>;
  let zoneRef: string;
  beforeAll(() => {
    s = synthAll(env);
    r = s.stacks.dns.resource as Record<string, Record<string, Body>>;
    zoneRef = env.domain.createZone ? "${aws_route53_zone.zone.zone_id}" : "${data.aws_route53_zone.zone.zone_id}";
  });

  it("creates the hosted zone (pinned, never destroyed) or looks up the existing public zone", () => {
    if (env.domain.createZone) {
      expect(r.aws_route53_zone).toEqual({
        zone: expect.objectContaining({ name: env.domain.zoneName, force_destroy: false, lifecycle: { prevent_destroy: true } }),
      });
      expect(s.stacks.dns.data?.aws_route53_zone).toBeUndefined();
      expect(s.stacks.dns.output?.["name-servers"]).toEqual(expect.objectContaining({ value: "${aws_route53_zone.zone.name_servers}" }));
    } else {
      expect(r.aws_route53_zone).toBeUndefined();
      expect(s.stacks.dns.data?.aws_route53_zone).toEqual({ zone: expect.objectContaining({ name: env.domain.zoneName, private_zone: false }) });
    }
    for (const [id, rec] of Object.entries(r.aws_route53_record)) expect([id, rec.zone_id]).toEqual([id, zoneRef]);
  });

  it("requests the site certificate in us-east-1 with DNS validation and waits for it", () => {
    const useast1 = (s.stacks.dns.provider!.aws as Body[]).find((p) => p.alias === "us-east-1");
    expect(useast1?.region).toBe("us-east-1");
    expect(r.aws_acm_certificate.certificate).toEqual(
      expect.objectContaining({
        provider: "aws.us-east-1",
        domain_name: env.domain.siteName,
        validation_method: "DNS",
        lifecycle: { create_before_destroy: true },
      }),
    );
    const rec = r.aws_route53_record["certificate-validation-record"];
    expect(rec.for_each).toContain("aws_acm_certificate.certificate.domain_validation_options");
    expect([rec.name, rec.type, rec.records]).toEqual(["${each.value.resource_record_name}", "${each.value.resource_record_type}", ["${each.value.resource_record_value}"]]);
    const v = r.aws_acm_certificate_validation["certificate-validation"];
    expect(v.provider).toBe("aws.us-east-1");
    expect(v.certificate_arn).toBe("${aws_acm_certificate.certificate.arn}");
    expect(String(v.validation_record_fqdns)).toContain("aws_route53_record.certificate-validation-record");
    // The cdn stack gets the validated ARN (so CloudFront waits for validation) and the zone id.
    const outputs = Object.values(s.stacks.dns.output ?? {}).map((o) => o.value);
    expect(outputs).toEqual(expect.arrayContaining(["${aws_acm_certificate_validation.certificate-validation.certificate_arn}", zoneRef]));
  });

  it("creates the SES identity that naming.sesIdentityArn (the instance's send permission) points at", () => {
    const id = r.aws_sesv2_email_identity.ses_identity;
    expect(id.email_identity).toBe(env.domain.siteName);
    expect(id.provider).toBeUndefined();
    const region = (s.stacks.dns.provider!.aws as Body[]).find((p) => p.alias === undefined)!.region;
    expect(sesIdentityArn(env)).toBe(`arn:aws:ses:${region}:${env.accountId}:identity/${id.email_identity}`);
  });

  it("publishes the three Easy DKIM CNAMEs", () => {
    const dkim = Object.entries(r.aws_route53_record).filter(([k]) => k.startsWith("ses-dkim-"));
    expect(dkim.map(([k]) => k)).toEqual(["ses-dkim-0", "ses-dkim-1", "ses-dkim-2"]);
    dkim.forEach(([, rec], i) => {
      const token = `\${element(aws_sesv2_email_identity.ses_identity.dkim_signing_attributes[0].tokens, ${i})}`;
      expect(rec).toEqual(
        expect.objectContaining({ type: "CNAME", name: `${token}._domainkey.${env.domain.siteName}`, records: [`${token}.dkim.amazonses.com`] }),
      );
    });
  });

  it("sets a custom MAIL FROM subdomain with its MX and SPF, and DMARC on the site name", () => {
    const mailFrom = mailFromDomain(env);
    expect(mailFrom).toBe(`mail.${env.domain.siteName}`);
    expect(r.aws_sesv2_email_identity_mail_from_attributes["ses-mail-from"]).toEqual(
      expect.objectContaining({ email_identity: "${aws_sesv2_email_identity.ses_identity.email_identity}", mail_from_domain: mailFrom }),
    );
    expect(r.aws_route53_record["ses-mail-from-mx"]).toEqual(
      expect.objectContaining({ name: mailFrom, type: "MX", records: [`10 feedback-smtp.${env.region}.amazonses.com`] }),
    );
    expect(r.aws_route53_record["ses-mail-from-spf"]).toEqual(
      expect.objectContaining({ name: mailFrom, type: "TXT", records: ["v=spf1 include:amazonses.com -all"] }),
    );
    expect(r.aws_route53_record.dmarc).toEqual(
      expect.objectContaining({ name: `_dmarc.${env.domain.siteName}`, type: "TXT", records: [expect.stringMatching(/^v=DMARC1; p=quarantine;/)] }),
    );
  });
});

describe("dmarcRecord", () => {
  it("sends aggregate reports to the alarm mailbox only when it is in the zone's organizational domain", () => {
    expect(dmarcRecord(prod)).toBe("v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:admin@shtetl.io");
    const elsewhere: EnvironmentConfig = { ...prod, alarmEmail: "ops@example.org" };
    expect(dmarcRecord(elsewhere)).toBe("v=DMARC1; p=quarantine; adkim=r; aspf=r");
    // A delegated subdomain zone (docs/dns.md) still reports to the parent domain's mailbox.
    const delegated: EnvironmentConfig = { ...prod, domain: { zoneName: "zmanim.shtetl.io", siteName: "zmanim.shtetl.io", createZone: true } };
    expect(dmarcRecord(delegated)).toBe("v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:admin@shtetl.io");
  });
});
