/**
 * The dns stack: the site's hosted zone (created or looked up), the SES identity with DKIM, custom MAIL FROM
 * (MX + SPF) and DMARC, and the apex-zone opt-in with its carried records.
 */
import { prod, staging, EnvironmentConfig } from "../../constructs/config/environments";
import { sesIdentityArn } from "../../constructs/config/naming";
import { carriedRecordId, dmarcRecord, mailFromDomain } from "../../stacks/dns";
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

  it("creates the site's own zone (never the apex), pinned and never destroyed, or looks up the existing public zone", () => {
    if (env.domain.createZone) expect(env.domain.zoneName).toBe(env.domain.siteName);
    if (env.domain.createZone) {
      expect(r.aws_route53_zone).toEqual({
        zone: expect.objectContaining({
          name: env.domain.zoneName,
          force_destroy: false,
          lifecycle: { prevent_destroy: true },
        }),
      });
      expect(s.stacks.dns.data?.aws_route53_zone).toBeUndefined();
      expect(s.stacks.dns.output?.["name-servers"]).toEqual(
        expect.objectContaining({ value: "${aws_route53_zone.zone.name_servers}" }),
      );
    } else {
      expect(r.aws_route53_zone).toBeUndefined();
      expect(s.stacks.dns.data?.aws_route53_zone).toEqual({
        zone: expect.objectContaining({ name: env.domain.zoneName, private_zone: false }),
      });
    }
    for (const [id, rec] of Object.entries(r.aws_route53_record)) expect([id, rec.zone_id]).toEqual([id, zoneRef]);
  });

  it("holds no certificate: the cdn stack owns it beside the distribution", () => {
    expect(r.aws_acm_certificate).toBeUndefined();
    expect(r.aws_acm_certificate_validation).toBeUndefined();
    expect(Object.keys(s.stacks.dns.output ?? {}).filter((k) => /acm|certificate/.test(k))).toEqual([]);
  });

  it("puts every record, the SES identity's DKIM and MAIL FROM included, inside the site zone that the delegation serves", () => {
    const names = Object.entries(r.aws_route53_record).map(([id, rec]) => [id, String(rec.name)]);
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const [id, name] of names) {
      const inside = name === env.domain.zoneName || name.endsWith(`.${env.domain.zoneName}`);
      expect([id, name, inside]).toEqual([id, name, true]);
    }
    expect(r.aws_sesv2_email_identity.ses_identity.email_identity).toBe(env.domain.siteName);
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
        expect.objectContaining({
          type: "CNAME",
          name: `${token}._domainkey.${env.domain.siteName}`,
          records: [`${token}.dkim.amazonses.com`],
        }),
      );
    });
  });

  it("sets a custom MAIL FROM subdomain with its MX and SPF, and DMARC on the site name", () => {
    const mailFrom = mailFromDomain(env);
    expect(mailFrom).toBe(`mail.${env.domain.siteName}`);
    expect(r.aws_sesv2_email_identity_mail_from_attributes["ses-mail-from"]).toEqual(
      expect.objectContaining({
        email_identity: "${aws_sesv2_email_identity.ses_identity.email_identity}",
        mail_from_domain: mailFrom,
      }),
    );
    expect(r.aws_route53_record["ses-mail-from-mx"]).toEqual(
      expect.objectContaining({
        name: mailFrom,
        type: "MX",
        records: [`10 feedback-smtp.${env.region}.amazonses.com`],
      }),
    );
    expect(r.aws_route53_record["ses-mail-from-spf"]).toEqual(
      expect.objectContaining({ name: mailFrom, type: "TXT", records: ["v=spf1 include:amazonses.com -all"] }),
    );
    expect(r.aws_route53_record.dmarc).toEqual(
      expect.objectContaining({
        name: `_dmarc.${env.domain.siteName}`,
        type: "TXT",
        records: [expect.stringMatching(/^v=DMARC1; p=quarantine;/)],
      }),
    );
  });
});

describe("dmarcRecord", () => {
  it("sends aggregate reports to the alarm mailbox only when it is in the zone's organizational domain", () => {
    expect(dmarcRecord(prod)).toBe("v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:admin@shtetl.io");
    const elsewhere: EnvironmentConfig = { ...prod, alarmEmail: "ops@example.org" };
    expect(dmarcRecord(elsewhere)).toBe("v=DMARC1; p=quarantine; adkim=r; aspf=r");
    // A delegated subdomain zone (docs/dns.md) still reports to the parent domain's mailbox.
    const delegated: EnvironmentConfig = {
      ...prod,
      domain: { zoneName: "zmanim.shtetl.io", siteName: "zmanim.shtetl.io", createZone: true },
    };
    expect(dmarcRecord(delegated)).toBe("v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:admin@shtetl.io");
  });
});

describe("apex zone opt-in", () => {
  const carried = [
    { name: "clerk.shtetl.io", type: "CNAME" as const, values: ["frontend-api.clerk.services"] },
    { name: "accounts.shtetl.io", type: "CNAME" as const, values: ["accounts.clerk.services"] },
    { name: "shtetl.io", type: "MX" as const, values: ["1 smtp.google.com"], ttl: 3600 },
    { name: "shtetl.io", type: "TXT" as const, values: ["v=spf1 include:_spf.google.com ~all"] },
  ];
  const apexEnv: EnvironmentConfig = {
    ...prod,
    domain: { ...prod.domain, apexZone: { name: "shtetl.io", carriedRecords: carried } },
  };
  let r: Record<string, Record<string, Body>>;
  let out: Record<string, Body>;
  beforeAll(() => {
    const s = synthAll(apexEnv);
    r = s.stacks.dns.resource as Record<string, Record<string, Body>>;
    out = s.stacks.dns.output as Record<string, Body>;
  });

  it("creates the apex zone beside the site zone, both pinned and never destroyed", () => {
    expect(Object.keys(r.aws_route53_zone).sort()).toEqual(["apex_zone", "zone"]);
    expect(r.aws_route53_zone.apex_zone).toEqual(
      expect.objectContaining({ name: "shtetl.io", force_destroy: false, lifecycle: { prevent_destroy: true } }),
    );
    expect(r.aws_route53_zone.zone.name).toBe("zmanim.shtetl.io");
    expect(out["apex-name-servers"].value).toBe("${aws_route53_zone.apex_zone.name_servers}");
  });

  it("creates every carried record in the apex zone, keyed by name and type", () => {
    for (const c of carried) {
      expect(r.aws_route53_record[carriedRecordId(c)]).toEqual(
        expect.objectContaining({
          zone_id: "${aws_route53_zone.apex_zone.zone_id}",
          name: c.name,
          type: c.type,
          records: c.values,
          ttl: c.ttl ?? 300,
        }),
      );
    }
    const inApex = Object.values(r.aws_route53_record).filter(
      (x) => x.zone_id === "${aws_route53_zone.apex_zone.zone_id}",
    );
    expect(inApex).toHaveLength(carried.length + 1);
  });

  it("keeps the site zone delegated from the apex zone, so the certificate never waits on the apex", () => {
    expect(r.aws_route53_record["site-delegation"]).toEqual(
      expect.objectContaining({
        zone_id: "${aws_route53_zone.apex_zone.zone_id}",
        name: "zmanim.shtetl.io",
        type: "NS",
        records: "${aws_route53_zone.zone.name_servers}",
      }),
    );
    // Site records (SES, DMARC) stay in the site zone.
    expect(r.aws_route53_record.dmarc.zone_id).toBe("${aws_route53_zone.zone.zone_id}");
  });
});
