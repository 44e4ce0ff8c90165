import { Construct } from "constructs";
import { Apigatewayv2Api } from "@cdktf/provider-aws/lib/apigatewayv2-api";
import { Apigatewayv2Authorizer } from "@cdktf/provider-aws/lib/apigatewayv2-authorizer";
import { Apigatewayv2Route } from "@cdktf/provider-aws/lib/apigatewayv2-route";
import { Apigatewayv2Stage } from "@cdktf/provider-aws/lib/apigatewayv2-stage";
import { TerraformOutput } from "cdktf/lib/terraform-output";
import { AlarmSet } from "../constructs/alarm-set";
import { SLO_TARGETS } from "../constructs/builders/dashboard";
import { RetainedLogGroup } from "../constructs/log-group";
import { PrivateIntegration, PrivateIntegrationProps } from "../constructs/private-integration";
import { ZmanimStack, ZmanimStackProps } from "./base";
import type { AppStack } from "./app-stack";
import { ComputeStack } from "./compute";
import { EnvironmentConfig, topologyOf } from "../constructs/config/environments";
import {
  alarmTopicArn,
  instancePrivateIp,
  logGroupPrefix,
  siteOrigins,
  resourcePrefix,
} from "../constructs/config/naming";
import { NetworkStack } from "./network";

export interface ApiStackProps extends ZmanimStackProps {
  readonly network: NetworkStack;
  /**
   * Kept for the deploy order only (the instance must exist before its registration is useful). Nothing of
   * the compute stack is referenced: the instance's address and port come from naming.ts and the config.
   * Absent in the scaled topology once the box is retired.
   */
  readonly compute?: ComputeStack;
  /** The scaled topology's fleet: the private integration targets its ALB listener. */
  readonly app?: AppStack;
}

/**
 * Where the private integration sends requests. single-box: VPC link -> Cloud Map service -> the instance's fixed
 * private address. scaled: VPC link (ENIs in both app subnets) -> the internal ALB's listener -> a healthy fleet
 * instance; no Cloud Map. The VPC link's security group may reach only that target's port.
 */
function privateIntegrationTarget(
  props: ApiStackProps,
): Pick<PrivateIntegrationProps, "subnetIds" | "description" | "target"> {
  const { env, network: net } = props;
  const prefix = resourcePrefix(env);
  if (topologyOf(env).kind === "scaled") {
    if (!props.app || !net.scaled)
      throw new Error(`api stack: environment "${env.name}" is scaled; pass the app stack and a scaled network`);
    return {
      subnetIds: net.scaled.appSubnets.map((s) => s.id),
      description: "Go API fleet via VPC link + internal ALB",
      target: { kind: "load-balancer-listener", listenerArn: props.app.fleet.listener.arn },
    };
  }
  return {
    subnetIds: [net.publicSubnet.id],
    description: "Go API on the instance via VPC link + Cloud Map",
    target: {
      kind: "cloud-map",
      namespaceName: `${prefix}-api`,
      instanceId: `${prefix}-box`,
      ipv4: instancePrivateIp(env),
      port: env.api.port,
    },
  };
}

/** Threshold of the origin p95 alarm, ms (the epic's success metric). */
export const ORIGIN_P95_MS = SLO_TARGETS.originP95Ms;

/** One HTTP API route and whether the Clerk JWT authorizer guards it. */
export interface ApiRoute {
  readonly routeKey: string;
  readonly protected: boolean;
}

/** The anonymous catch-all path (public zmanim endpoints, health). */
export const PUBLIC_ROUTE_PATH = "/api/{proxy+}";

/**
 * The methods every route is declared for, one route per method. Never `ANY` and never `OPTIONS`: a route
 * that matches OPTIONS (an `ANY` route included) captures the browser's CORS preflight, which then meets the
 * route's authorizer (a preflight carries no token) or the Go API, instead of API Gateway's own CORS answer.
 */
export const ROUTE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * Every route of the API. Each protected prefix `p` gets `<method> p` and `<method> p/{proxy+}`; HTTP APIs
 * pick the most specific match, so those win over the anonymous `<method> /api/{proxy+}`. Prefixes match
 * whole path segments: `/api/v1/me` protects `/api/v1/me` and `/api/v1/me/x`, not `/api/v1/meals`.
 */
export function apiRoutes(env: EnvironmentConfig): ApiRoute[] {
  const routes: ApiRoute[] = [];
  const add = (path: string, isProtected: boolean) => {
    for (const m of ROUTE_METHODS) routes.push({ routeKey: `${m} ${path}`, protected: isProtected });
  };
  for (const prefix of env.clerk.protectedRoutePrefixes) {
    add(prefix, true);
    add(`${prefix}/{proxy+}`, true);
  }
  add(PUBLIC_ROUTE_PATH, false);
  const keys = routes.map((r) => r.routeKey);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup) throw new Error(`clerk.protectedRoutePrefixes: route "${dup}" appears twice; list each prefix once`);
  return routes;
}

/**
 * CORS for the frontend, which calls `https://api.<site>` from `https://<site>` (cross-origin).
 * - Origins: exactly the environment's site (naming.siteOrigins); no wildcard, no credentials (the app sends
 *   a bearer token, not cookies).
 * - Methods the app uses and the headers it sends: `Authorization` (Clerk token) and `Content-Type` (JSON
 *   bodies). A browser preflights only requests that carry them, i.e. protected and writing calls.
 * - Max age 7200 s, the most Chromium honours (Firefox honours up to a day), so a browser preflights a URL
 *   at most every two hours.
 * With CORS configured, API Gateway answers a preflight OPTIONS request itself when no route matches it
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html; a `$default` route
 * captures OPTIONS, and so does an `ANY` route, see docs/request-flow.md). apiRoutes() declares no
 * `OPTIONS`, `ANY` or `$default` route, so no preflight meets an authorizer. API Gateway also replaces any
 * CORS headers the Go API sends.
 */
export function corsConfiguration(env: EnvironmentConfig) {
  return {
    allowOrigins: siteOrigins(env),
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ["authorization", "content-type"],
    maxAge: 7200,
    allowCredentials: false,
  };
}

/** Fields of the JSON access log line (API Gateway `$context` variables). */
export const ACCESS_LOG_FORMAT: Record<string, string> = {
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
};

/**
 * The HTTP API in front of the Go API (D12): a private integration over a VPC link to a Cloud Map service
 * whose one instance is the box's fixed private address, so nothing on the instance is exposed to the
 * internet. A Clerk JWT authorizer guards the configured protected prefixes only (D15); everything else is
 * anonymous. `$default` stage with default-route throttling, JSON access logs and a 5xx-rate alarm.
 *
 * CloudFront is the front door (the cdn stack's `/api/*` behaviour). The execute-api endpoint stays
 * enabled because it is CloudFront's origin; see docs/request-flow.md for why direct hits are tolerated.
 */
export class ApiStack extends ZmanimStack {
  readonly api: Apigatewayv2Api;
  readonly stage: Apigatewayv2Stage;
  readonly authorizer: Apigatewayv2Authorizer;
  /** `<api-id>.execute-api.<region>.amazonaws.com`: the origin domain for CloudFront. */
  readonly executeApiDomain: string;

  constructor(scope: Construct, props: ApiStackProps) {
    super(scope, "api", props);
    const env = props.env;
    const net = props.network;
    const prefix = resourcePrefix(env);
    const routes = apiRoutes(env);

    this.api = new Apigatewayv2Api(this, "http-api", {
      name: `${prefix}-api`,
      protocolType: "HTTP",
      description: "Shtetl Zmanim Go API (behind CloudFront /api/*)",
      // CloudFront's origin is this endpoint; it cannot be disabled without a custom API domain.
      disableExecuteApiEndpoint: false,
      corsConfiguration: corsConfiguration(env),
    });
    this.api.overrideLogicalId("http_api");
    this.executeApiDomain = `${this.api.id}.execute-api.${env.region}.amazonaws.com`;

    const { integration } = new PrivateIntegration(this, "private-integration", {
      apiId: this.api.id,
      name: `${prefix}-api`,
      securityGroupIds: [net.vpcLinkSecurityGroup.id],
      ...privateIntegrationTarget(props),
    });

    this.authorizer = new Apigatewayv2Authorizer(this, "clerk-jwt", {
      apiId: this.api.id,
      name: "clerk-jwt",
      authorizerType: "JWT",
      identitySources: ["$request.header.Authorization"],
      jwtConfiguration: { issuer: env.clerk.issuer, audience: env.clerk.audience },
    });

    for (const r of routes) {
      new Apigatewayv2Route(this, `route-${r.routeKey.replace(/[^A-Za-z0-9]+/g, "-").replace(/-+$/, "")}`, {
        apiId: this.api.id,
        routeKey: r.routeKey,
        target: `integrations/${integration.id}`,
        ...(r.protected
          ? { authorizationType: "JWT", authorizerId: this.authorizer.id }
          : { authorizationType: "NONE" }),
      });
    }

    const accessLogs = new RetainedLogGroup(this, "access-logs", {
      name: `${logGroupPrefix(env)}/apigw-access`,
      retentionDays: env.logRetentionDays,
    });
    accessLogs.logGroup.overrideLogicalId("apigw_access_logs");

    this.stage = new Apigatewayv2Stage(this, "default-stage", {
      apiId: this.api.id,
      name: "$default",
      autoDeploy: true,
      defaultRouteSettings: {
        throttlingBurstLimit: env.api.throttlingBurstLimit,
        throttlingRateLimit: env.api.throttlingRateLimit,
      },
      accessLogSettings: {
        destinationArn: accessLogs.arn,
        format: JSON.stringify(ACCESS_LOG_FORMAT),
      },
    });

    this.addAlarms(env);

    new TerraformOutput(this, "api-endpoint", { value: this.api.apiEndpoint });
  }
  /** The 5xx rate and the origin p95, to the environment's alarm topic. */
  private addAlarms(env: EnvironmentConfig): void {
    const prefix = resourcePrefix(env);
    // 5xx rate above 1% for 5 consecutive minutes. IF() keeps idle minutes (Count = 0) at 0, not missing.
    const metric = (id: string, metricName: string) => ({
      id,
      returnData: false,
      metric: {
        namespace: "AWS/ApiGateway",
        metricName,
        period: 60,
        stat: "Sum",
        dimensions: { ApiId: this.api.id, Stage: "$default" },
      },
    });
    new AlarmSet(this, "alarms", {
      topicArn: alarmTopicArn(env),
      namePrefix: `${prefix}-`,
      alarms: [
        {
          id: "api-5xx-rate",
          alarmDescription: `HTTP API 5xx responses above 1% of requests for 5 minutes (${env.domain.siteName}/api)`,
          comparisonOperator: "GreaterThanThreshold",
          threshold: 1,
          evaluationPeriods: 5,
          datapointsToAlarm: 5,
          treatMissingData: "notBreaching",
          metricQuery: [
            metric("errors", "5xx"),
            metric("requests", "Count"),
            {
              id: "rate",
              expression: "IF(requests > 0, 100 * errors / requests, 0)",
              label: "5xx rate (%)",
              returnData: true,
            },
          ],
        },
        // The epic's "origin responses under 200 ms (direct to EC2)": IntegrationLatency is the time from API
        // Gateway relaying the request to the integration (VPC link -> the box or the fleet's ALB) until the
        // response comes back, i.e. the Go API and its data stores. Latency adds API Gateway's own overhead
        // (routing, the JWT authorizer), which is not the origin's. docs/monitoring.md.
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html
        {
          id: "api-origin-latency-p95",
          alarmDescription: `Origin p95 (API Gateway IntegrationLatency) above ${ORIGIN_P95_MS} ms for 15 minutes (${env.domain.siteName}/api)`,
          namespace: "AWS/ApiGateway",
          metricName: "IntegrationLatency",
          dimensions: { ApiId: this.api.id, Stage: "$default" },
          extendedStatistic: "p95",
          period: 300,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          threshold: ORIGIN_P95_MS,
          comparisonOperator: "GreaterThanThreshold",
          // No requests in a period is healthy.
          treatMissingData: "notBreaching",
        },
      ],
    });
  }
}
