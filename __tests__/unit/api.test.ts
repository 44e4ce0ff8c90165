/**
 * The api stack: private integration over a VPC link to Cloud Map (D12), the Clerk JWT authorizer on the
 * protected prefixes only (D15), throttling, CORS, access logs and the 5xx-rate alarm.
 */
import { prod, staging, EnvironmentConfig } from "../../constructs/config/environments";
import { apiRoutes } from "../../stacks/api";

/** Written out, not imported: a change to the methods or the catch-all path must show up here. */
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
const CATCH_ALL = "/api/{proxy+}";
import { alarmTopicArn, instancePrivateIp } from "../../constructs/config/naming";
import { resourcesOfType, synthAll, Synthesized } from "../helpers/synth";

type Body = Record<string, unknown>;

describe.each([
  ["prod", prod],
  ["staging", staging],
])("api stack (%s)", (_name, env) => {
  let s: Synthesized;
  let r: Record<string, Record<string, Body>>;
  beforeAll(() => {
    s = synthAll(env);
    r = s.stacks.api.resource as Record<string, Record<string, Body>>;
  });

  it("is an HTTP API with CORS for the site's origin only, pinned to a fixed logical id", () => {
    const api = r.aws_apigatewayv2_api.http_api;
    expect(api.protocol_type).toBe("HTTP");
    expect(api.disable_execute_api_endpoint).toBe(false);
    expect(api.cors_configuration).toEqual(
      expect.objectContaining({ allow_origins: [`https://${env.domain.siteName}`], allow_credentials: false }),
    );
    expect(api.cors_configuration).toEqual(
      expect.objectContaining({ allow_headers: expect.arrayContaining(["authorization"]) }),
    );
  });

  it("integrates privately: HTTP_PROXY over the VPC link to the Cloud Map service holding the box's fixed address", () => {
    const integrations = Object.values(r.aws_apigatewayv2_integration);
    expect(integrations).toEqual([
      expect.objectContaining({
        integration_type: "HTTP_PROXY",
        integration_method: "ANY",
        connection_type: "VPC_LINK",
        connection_id: "${aws_apigatewayv2_vpc_link.vpc-link.id}",
        integration_uri: "${aws_service_discovery_service.api-service.arn}",
      }),
    ]);
    const link = r.aws_apigatewayv2_vpc_link["vpc-link"];
    expect(link.subnet_ids).toEqual([
      expect.stringMatching(
        /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-zmanim-[a-z]+-network\.outputs\.cross-stack-output-aws_subnetpublic_subnetid\}$/,
      ),
    ]);
    expect(link.security_group_ids).toEqual([
      expect.stringMatching(/network\.outputs\.cross-stack-output-aws_security_groupvpc-link-sgid\}$/),
    ]);
    // An HTTP namespace (DiscoverInstances only): no Route 53 private hosted zone behind it.
    expect(r.aws_service_discovery_private_dns_namespace).toBeUndefined();
    expect(Object.keys(r.aws_service_discovery_http_namespace)).toEqual(["namespace"]);
    const svc = r.aws_service_discovery_service["api-service"];
    expect(svc.namespace_id).toBe("${aws_service_discovery_http_namespace.namespace.id}");
    expect(svc.dns_config).toBeUndefined();
    const inst = Object.values(r.aws_service_discovery_instance);
    expect(inst).toEqual([
      expect.objectContaining({
        service_id: "${aws_service_discovery_service.api-service.id}",
        attributes: { AWS_INSTANCE_IPV4: instancePrivateIp(env), AWS_INSTANCE_PORT: String(env.api.port) },
      }),
    ]);
  });

  it("references nothing of the compute stack (naming.ts and the config give address and port)", () => {
    const json = JSON.stringify(s.stacks.api);
    expect(json).not.toMatch(/zmanim-[a-z]+-compute/);
    expect(s.manifest.stacks[`zmanim-${env.name}-api`].dependencies).toEqual(
      expect.arrayContaining([`zmanim-${env.name}-compute`]),
    );
  });

  it("validates Clerk tokens against the configured issuer and audience, from the Authorization header", () => {
    expect(Object.values(r.aws_apigatewayv2_authorizer)).toEqual([
      expect.objectContaining({
        authorizer_type: "JWT",
        identity_sources: ["$request.header.Authorization"],
        jwt_configuration: { issuer: env.clerk.issuer, audience: env.clerk.audience },
      }),
    ]);
  });

  it("attaches the authorizer to exactly the protected prefixes (bare and {proxy+}); every other route is anonymous", () => {
    const routes = resourcesOfType(s, "aws_apigatewayv2_route").map(([, , b]) => b);
    const expectedProtected = env.clerk.protectedRoutePrefixes
      .flatMap((p) => METHODS.flatMap((m) => [`${m} ${p}`, `${m} ${p}/{proxy+}`]))
      .sort();
    const guarded = routes.filter((x) => x.authorization_type === "JWT");
    expect(guarded.map((x) => x.route_key).sort()).toEqual(expectedProtected);
    for (const g of guarded) expect(g.authorizer_id).toBe("${aws_apigatewayv2_authorizer.clerk-jwt.id}");
    const open = routes.filter((x) => x.authorization_type !== "JWT");
    expect(open.map((x) => [x.route_key, x.authorization_type, x.authorizer_id]).sort()).toEqual(
      METHODS.map((m) => [`${m} ${CATCH_ALL}`, "NONE", undefined]).sort(),
    );
    for (const x of routes) expect(x.target).toBe("integrations/${aws_apigatewayv2_integration.integration.id}");
  });

  it("runs the $default stage with auto-deploy, the configured throttling and JSON access logs to a retained group", () => {
    const stage = r.aws_apigatewayv2_stage["default-stage"];
    expect([stage.name, stage.auto_deploy]).toEqual(["$default", true]);
    expect(stage.default_route_settings).toEqual({
      throttling_burst_limit: env.api.throttlingBurstLimit,
      throttling_rate_limit: env.api.throttlingRateLimit,
    });
    const logs = stage.access_log_settings as Body;
    expect(logs.destination_arn).toBe("${aws_cloudwatch_log_group.apigw_access_logs.arn}");
    expect(JSON.parse(logs.format as string)).toEqual({
      requestId: "$context.requestId",
      ip: "$context.identity.sourceIp",
      userAgent: "$context.identity.userAgent",
      requestTime: "$context.requestTime",
      httpMethod: "$context.httpMethod",
      path: "$context.path",
      routeKey: "$context.routeKey",
      status: "$context.status",
      protocol: "$context.protocol",
      responseLength: "$context.responseLength",
      responseLatency: "$context.responseLatency",
      integrationStatus: "$context.integrationStatus",
      integrationLatency: "$context.integrationLatency",
      integrationError: "$context.integrationErrorMessage",
      authorizerError: "$context.authorizer.error",
      jwtSubject: "$context.authorizer.claims.sub",
    });
    expect(r.aws_cloudwatch_log_group.apigw_access_logs).toEqual(
      expect.objectContaining({ name: `/zmanim/${env.name}/apigw-access`, retention_in_days: env.logRetentionDays }),
    );
    for (const [, id, g] of resourcesOfType(s, "aws_cloudwatch_log_group"))
      expect([id, Number(g.retention_in_days) > 0]).toEqual([id, true]);
  });

  it("alarms when 5xx exceed 1% of requests for 5 minutes, via metric math, to the environment's topic", () => {
    const alarm = r.aws_cloudwatch_metric_alarm["api-5xx-rate"];
    expect(alarm).toEqual(
      expect.objectContaining({
        comparison_operator: "GreaterThanThreshold",
        threshold: 1,
        evaluation_periods: 5,
        datapoints_to_alarm: 5,
        alarm_actions: [alarmTopicArn(env)],
      }),
    );
    const q = alarm.metric_query as Body[];
    const byId = Object.fromEntries(q.map((m) => [m.id, m]));
    expect((byId.errors.metric as Body).metric_name).toBe("5xx");
    expect((byId.requests.metric as Body).metric_name).toBe("Count");
    for (const id of ["errors", "requests"]) {
      expect(byId[id].metric).toEqual(
        expect.objectContaining({
          namespace: "AWS/ApiGateway",
          period: 60,
          stat: "Sum",
          dimensions: { ApiId: "${aws_apigatewayv2_api.http_api.id}", Stage: "$default" },
        }),
      );
    }
    expect(byId.rate).toEqual(
      expect.objectContaining({ expression: "IF(requests > 0, 100 * errors / requests, 0)", return_data: true }),
    );
    expect(q.filter((m) => m.return_data === true).map((m) => m.id)).toEqual(["rate"]);
  });
});

describe("apiRoutes", () => {
  it("turns each prefix into a bare and a greedy route per method ahead of the anonymous catch-all", () => {
    const routes = apiRoutes({ ...prod, clerk: { ...prod.clerk, protectedRoutePrefixes: ["/api/v1/me"] } });
    expect(routes.filter((r) => r.routeKey.startsWith("GET "))).toEqual([
      { routeKey: "GET /api/v1/me", protected: true },
      { routeKey: "GET /api/v1/me/{proxy+}", protected: true },
      { routeKey: "GET /api/{proxy+}", protected: false },
    ]);
    expect(routes).toHaveLength(18);
    // No route may match a CORS preflight: no OPTIONS, no ANY, no $default.
    expect(routes.filter((r) => /^(OPTIONS|ANY) |^\$default$/.test(r.routeKey))).toEqual([]);
  });

  it("with no protected prefixes, every route is anonymous", () => {
    const env: EnvironmentConfig = { ...prod, name: "open", clerk: { ...prod.clerk, protectedRoutePrefixes: [] } };
    const routes = resourcesOfType(synthAll(env), "aws_apigatewayv2_route").map(([, , b]) => [
      b.route_key,
      b.authorization_type,
    ]);
    expect(routes.sort()).toEqual(METHODS.map((m) => [`${m} ${CATCH_ALL}`, "NONE"]).sort());
  });

  it("refuses a prefix listed twice, naming the field and the route", () => {
    expect(() =>
      apiRoutes({ ...prod, clerk: { ...prod.clerk, protectedRoutePrefixes: ["/api/v1/me", "/api/v1/me"] } }),
    ).toThrow(/clerk\.protectedRoutePrefixes: route "GET \/api\/v1\/me" appears twice/);
  });
});
