/**
 * The cdn stack: the distribution's caching, its static bucket policy, standard logging v2, DNS aliases and
 * the health check with its us-east-1 alarm.
 */
import { readFileSync } from "fs";
import { environments } from "../../constructs/config/environments";
import { bucketArn, bucketName, ciRoleName, roleArn, sitePathsStoreName } from "../../constructs/config/naming";

import {
  certificateNames,
  HEALTH_CHECK_REGIONS,
  NOT_FOUND_STATUS_PATH,
  PRICE_CLASS,
  SPA_ROUTER_PATH,
} from "../../stacks/cdn";
import { logsPolicyStatements } from "../../stacks/storage";
import { synthAll, Synthesized } from "../helpers/synth";
import { statements } from "../helpers/policy";

type Body = Record<string, unknown>;

describe.each(Object.entries(environments))("cdn stack (%s)", (_name, env) => {
  let s: Synthesized;
  let r: Record<string, Record<string, Body>>;
  let d: Body;
  beforeAll(() => {
    s = synthAll(env);
    r = s.stacks.cdn.resource as Record<string, Record<string, Body>>;
    d = r.aws_cloudfront_distribution.distribution;
  });

  const behaviour = (path: string) => (d.ordered_cache_behavior as Body[]).find((b) => b.path_pattern === path) as Body;
  const policyOf = (b: Body) =>
    r.aws_cloudfront_cache_policy[/\.([A-Za-z0-9_-]+)\.id\}$/.exec(b.cache_policy_id as string)![1]];

  it("pins the distribution and the static bucket policy to fixed logical ids", () => {
    expect(Object.keys(r.aws_cloudfront_distribution)).toEqual(["distribution"]);
    expect(Object.keys(r.aws_s3_bucket_policy)).toEqual(["static_bucket_policy"]);
  });

  it("serves the site name and api.<site> with its own validated us-east-1 certificate, price class 100 (US, Europe, Israel)", () => {
    expect(d.aliases).toEqual([env.domain.siteName, `api.${env.domain.siteName}`]);
    expect(d.price_class).toBe(PRICE_CLASS);
    expect(PRICE_CLASS).toBe("PriceClass_100");
    expect((d.viewer_certificate as Body).acm_certificate_arn).toBe(
      "${aws_acm_certificate_validation.certificate-validation.certificate_arn}",
    );
    expect(d.is_ipv6_enabled).toBe(true);
  });

  it("requests the certificate in us-east-1 for every certificate name, validated by DNS in the site zone, replaced create-before-destroy", () => {
    const useast1 = (s.stacks.cdn.provider!.aws as Body[]).find((p) => p.alias === "us-east-1");
    expect(useast1?.region).toBe("us-east-1");
    const names = certificateNames(env);
    expect(names[0]).toBe(env.domain.siteName);
    expect(Object.keys(r.aws_acm_certificate)).toEqual(["certificate"]);
    expect(r.aws_acm_certificate.certificate).toEqual(
      expect.objectContaining({
        provider: "aws.us-east-1",
        domain_name: names[0],
        validation_method: "DNS",
        lifecycle: { create_before_destroy: true },
      }),
    );
    expect(r.aws_acm_certificate.certificate.subject_alternative_names ?? []).toEqual(names.slice(1));
    const rec = r.aws_route53_record["certificate-validation-record"];
    expect(rec.for_each).toContain("aws_acm_certificate.certificate.domain_validation_options");
    expect([rec.name, rec.type, rec.records]).toEqual([
      "${each.value.resource_record_name}",
      "${each.value.resource_record_type}",
      ["${each.value.resource_record_value}"],
    ]);
    expect(rec.zone_id).toMatch(
      new RegExp(
        `^\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-zmanim-${env.name}-dns\\.outputs\\.[^}]*route53_zone[^}]*zone_id\\}$`,
      ),
    );
    const v = r.aws_acm_certificate_validation["certificate-validation"];
    expect([v.provider, v.certificate_arn]).toEqual(["aws.us-east-1", "${aws_acm_certificate.certificate.arn}"]);
    expect(String(v.validation_record_fqdns)).toContain("aws_route53_record.certificate-validation-record");
    expect(s.stacks.cdn.output?.["certificate-validation-records"]?.value).toBe(
      "${tolist(aws_acm_certificate.certificate.domain_validation_options)}",
    );
  });

  it("origins: the static bucket by its regional name, the API by its execute-api name from the api stack", () => {
    const [st, api] = d.origin as Body[];
    expect(st.domain_name).toBe(`${bucketName(env, "static")}.s3.${env.region}.amazonaws.com`);
    expect(api.domain_name).toMatch(
      new RegExp(
        `^\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-zmanim-${env.name}-api\\.outputs\\.[^}]+\\}\\.execute-api\\.${env.region}\\.amazonaws\\.com$`,
      ),
    );
    expect(api.custom_header).toBeUndefined();
  });

  it("caches hashed assets a year (immutable), HTML briefly, the API an hour by default within [0, 1 day]", () => {
    const assets = policyOf(behaviour("/_next/static/*"));
    expect([assets.min_ttl, assets.default_ttl, assets.max_ttl]).toEqual([31536000, 31536000, 31536000]);
    const headers = r.aws_cloudfront_response_headers_policy["immutable-headers"];
    expect(headers.custom_headers_config).toEqual({
      items: [{ header: "Cache-Control", value: "public, max-age=31536000, immutable", override: true }],
    });
    const html = policyOf(d.default_cache_behavior as Body);
    expect([html.min_ttl, html.default_ttl, html.max_ttl]).toEqual([0, 300, 86400]);
    const api = policyOf(behaviour("/api/*"));
    expect([api.min_ttl, api.default_ttl, api.max_ttl]).toEqual([0, 3600, 86400]);
    expect(api.parameters_in_cache_key_and_forwarded_to_origin).toEqual(
      expect.objectContaining({
        query_strings_config: { query_string_behavior: "all" },
        headers_config: { header_behavior: "whitelist", headers: { items: ["Authorization", "Origin"] } },
        cookies_config: { cookie_behavior: "none" },
      }),
    );
  });

  it("sends /api/* (every method) and the uncached health path (GET and HEAD only) to the API with all viewer headers but Host", () => {
    const orp = r.aws_cloudfront_origin_request_policy["api-origin-request"];
    expect(orp.headers_config).toEqual({ header_behavior: "allExcept", headers: { items: ["host"] } });
    expect(orp.query_strings_config).toEqual({ query_string_behavior: "all" });
    for (const path of ["/api/*", env.api.healthPath]) {
      const b = behaviour(path);
      expect([path, b.target_origin_id, b.origin_request_policy_id]).toEqual([
        path,
        "http-api",
        "${aws_cloudfront_origin_request_policy.api-origin-request.id}",
      ]);
      expect(b.cached_methods).toEqual(["GET", "HEAD"]);
    }
    expect(behaviour("/api/*").allowed_methods).toEqual(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]);
    // The one behaviour that answers plain HTTP forwards only what the health checks send.
    expect(behaviour(env.api.healthPath)).toMatchObject({
      viewer_protocol_policy: "allow-all",
      allowed_methods: ["GET", "HEAD"],
      cached_methods: ["GET", "HEAD"],
    });
    expect(behaviour(env.api.healthPath).cache_policy_id).toBe("4135ea2d-6df8-44a3-9df3-4b5a84be39ad");
    const paths = (d.ordered_cache_behavior as Body[]).map((b) => b.path_pattern);
    expect(paths.indexOf(env.api.healthPath)).toBeLessThan(paths.indexOf("/api/*"));
  });

  it("ships constructs/cloudfront/*.js byte for byte as the function code; the router reads the pinned site-paths store", () => {
    expect(r.aws_cloudfront_function["spa-router"].code).toBe(readFileSync(SPA_ROUTER_PATH, "utf8"));
    expect(r.aws_cloudfront_function["not-found-status"].code).toBe(readFileSync(NOT_FOUND_STATUS_PATH, "utf8"));
    expect(r.aws_cloudfront_key_value_store).toEqual({
      site_paths: expect.objectContaining({ name: sitePathsStoreName(env) }),
    });
    expect(sitePathsStoreName(env)).toBe(`zmanim-${env.name}-site-paths`);
    expect(r.aws_cloudfront_function["spa-router"].key_value_store_associations).toEqual([
      "${aws_cloudfront_key_value_store.site_paths.arn}",
    ]);
    expect(r.aws_cloudfront_function["not-found-status"].key_value_store_associations).toBeUndefined();
  });

  it("static bucket policy: TLS only, read by this distribution alone through OAC, written by the CI roles", () => {
    const p = r.aws_s3_bucket_policy.static_bucket_policy;
    expect(p.bucket).toBe(bucketName(env, "static"));
    const sts = statements(p.policy);
    const arn = bucketArn(env, "static");
    expect(sts.map((x) => x.Sid)).toEqual([
      "DenyInsecureTransport",
      "CloudFrontOacRead",
      "CloudFrontOacMissingIs404",
      "CiPublish",
    ]);
    expect(sts[1]).toEqual({
      Sid: "CloudFrontOacRead",
      Effect: "Allow",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: "s3:GetObject",
      Resource: `${arn}/*`,
      Condition: { StringEquals: { "AWS:SourceArn": "${aws_cloudfront_distribution.distribution.arn}" } },
    });
    // ListBucket on the bucket itself, for the same distribution only: a missing key is 404, not 403.
    expect(sts[2]).toEqual({ ...sts[1], Sid: "CloudFrontOacMissingIs404", Action: "s3:ListBucket", Resource: arn });
    expect(sts[3].Condition).toEqual({
      ArnEquals: {
        "aws:PrincipalArn": [roleArn(env, ciRoleName(env, "deploy")), roleArn(env, ciRoleName(env, "release"))],
      },
    });
    expect(sts[3].Action).toEqual(expect.arrayContaining(["s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]));
    // Nothing else may grant reads: no other Allow names CloudFront or everyone.
    expect(sts.filter((x) => x.Effect === "Allow" && JSON.stringify(x.Principal).includes("*"))).toEqual([]);
  });

  it("delivers access logs with standard logging v2 from us-east-1 into the logs bucket, where the bucket policy admits them", () => {
    const src = r.aws_cloudwatch_log_delivery_source["access-log-source"];
    const dst = r.aws_cloudwatch_log_delivery_destination["access-log-destination"];
    const del = r.aws_cloudwatch_log_delivery["access-log-delivery"];
    for (const x of [src, dst, del]) expect(x.provider).toBe("aws.us-east-1");
    const useast1 = (s.stacks.cdn.provider!.aws as Body[]).find((p) => p.alias === "us-east-1");
    expect(useast1?.region).toBe("us-east-1");
    expect([src.log_type, src.resource_arn]).toEqual([
      "ACCESS_LOGS",
      "${aws_cloudfront_distribution.distribution.arn}",
    ]);
    const dest = (dst.delivery_destination_configuration as Body[])[0].destination_resource_arn as string;
    expect(dest).toBe(`${bucketArn(env, "logs")}/cloudfront`);
    expect(del.delivery_source_name).toBe("${aws_cloudwatch_log_delivery_source.access-log-source.name}");
    // The logs bucket (storage stack) lets CloudWatch Logs delivery sources of this account in us-east-1 write there.
    const grant = logsPolicyStatements(env).find((x) => x.Sid === "CloudFrontLogDelivery")!;
    expect(grant.Resource).toBe(`${dest}/*`);
    expect(grant.Condition?.ArnLike).toEqual({
      "aws:SourceArn": `arn:aws:logs:us-east-1:${env.accountId}:delivery-source:*`,
    });
    expect(d.logging_config).toBeUndefined();
  });

  it("points A and AAAA aliases for the site name and api.<site> at the distribution, in the dns stack's zone", () => {
    const records = Object.values(r.aws_route53_record).filter((x) => x.alias !== undefined);
    expect(records.map((x) => `${x.type} ${x.name}`).sort()).toEqual(
      [
        `A ${env.domain.siteName}`,
        `AAAA ${env.domain.siteName}`,
        `A api.${env.domain.siteName}`,
        `AAAA api.${env.domain.siteName}`,
      ].sort(),
    );
    // The site's records keep the logical ids they were created with.
    expect([r.aws_route53_record["alias-a"].name, r.aws_route53_record["alias-aaaa"].name]).toEqual([
      env.domain.siteName,
      env.domain.siteName,
    ]);
    for (const x of records) {
      expect(x.zone_id).toMatch(
        /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-zmanim-[a-z]+-dns\.outputs\.[^}]+\}$/,
      );
      expect(x.alias).toEqual({
        name: "${aws_cloudfront_distribution.distribution.domain_name}",
        zone_id: "${aws_cloudfront_distribution.distribution.hosted_zone_id}",
        evaluate_target_health: false,
      });
    }
  });

  it("health-checks http://api.<site><healthPath> (where the frontend goes) and alarms in us-east-1 to an emailed topic there", () => {
    const hc = Object.values(r.aws_route53_health_check);
    expect(hc).toEqual([
      expect.objectContaining({
        type: "HTTP",
        fqdn: `api.${env.domain.siteName}`,
        port: 80,
        resource_path: env.api.healthPath,
        regions: HEALTH_CHECK_REGIONS,
      }),
    ]);
    // Route 53 counts a 3xx as healthy: the checked path must answer plain HTTP itself, not redirect.
    expect(hc[0].enable_sni).toBeUndefined();
    expect(behaviour(hc[0].resource_path as string).viewer_protocol_policy).toBe("allow-all");
    const alarm = r.aws_cloudwatch_metric_alarm["api-health-alarm"];
    expect(alarm).toEqual(
      expect.objectContaining({
        provider: "aws.us-east-1",
        namespace: "AWS/Route53",
        metric_name: "HealthCheckStatus",
        dimensions: { HealthCheckId: "${aws_route53_health_check.api-health-check.id}" },
        comparison_operator: "LessThanThreshold",
        threshold: 1,
        treat_missing_data: "breaching",
        alarm_actions: ["${aws_sns_topic.alarm-topic-us-east-1.arn}"],
      }),
    );
    expect(r.aws_sns_topic["alarm-topic-us-east-1"]).toEqual(
      expect.objectContaining({ provider: "aws.us-east-1", name: `zmanim-${env.name}-alarms` }),
    );
    expect(r.aws_sns_topic_subscription["alarm-email-us-east-1"]).toEqual(
      expect.objectContaining({
        provider: "aws.us-east-1",
        protocol: "email",
        endpoint: env.alarmEmail,
        topic_arn: "${aws_sns_topic.alarm-topic-us-east-1.arn}",
      }),
    );
  });

  it("depends on storage, api and dns in the manifest", () => {
    expect(s.manifest.stacks[`zmanim-${env.name}-cdn`].dependencies).toEqual(
      expect.arrayContaining([`zmanim-${env.name}-storage`, `zmanim-${env.name}-api`, `zmanim-${env.name}-dns`]),
    );
  });
});
