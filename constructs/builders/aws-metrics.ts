/**
 * The AWS service metrics the dashboard draws, as AWS documents them: namespace, metric names, the dimension set
 * used, and the resource type that must exist for the metric to be emitted. A vendored table (with the page each
 * row comes from) so a test can check every widget against it.
 */
export interface DocumentedMetrics {
  namespace: string;
  metrics: string[];
  /** The exact dimension set (names) the dashboard uses. */
  dimensions: string[];
  /** A Terraform resource type whose presence makes AWS emit these; undefined: account-level. */
  requires?: string;
  doc: string;
}

export const AWS_DOCUMENTED_METRICS: readonly DocumentedMetrics[] = [
  {
    namespace: "AWS/ApiGateway",
    metrics: ["IntegrationLatency", "Latency", "4xx", "5xx", "Count"],
    dimensions: ["ApiId", "Stage"],
    requires: "aws_apigatewayv2_stage",
    doc: "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html",
  },
  {
    namespace: "AWS/EC2",
    metrics: ["CPUUtilization", "NetworkIn", "NetworkOut"],
    dimensions: ["InstanceId"],
    requires: "aws_instance",
    doc: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/viewing_metrics_with_cloudwatch.html",
  },
  {
    namespace: "AWS/EC2",
    metrics: ["CPUUtilization", "NetworkIn", "NetworkOut"],
    dimensions: ["AutoScalingGroupName"],
    requires: "aws_autoscaling_group",
    doc: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/viewing_metrics_with_cloudwatch.html (dimension AutoScalingGroupName)",
  },
  {
    namespace: "AWS/Route53",
    metrics: ["HealthCheckStatus"],
    dimensions: ["HealthCheckId"],
    requires: "aws_route53_health_check",
    doc: "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html (us-east-1)",
  },
  {
    namespace: "AWS/Billing",
    metrics: ["EstimatedCharges"],
    dimensions: ["Currency"],
    doc: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/monitor_estimated_charges_with_cloudwatch.html (us-east-1, after billing alerts are enabled)",
  },
  {
    namespace: "AWS/ApplicationELB",
    metrics: ["TargetResponseTime", "HTTPCode_Target_5XX_Count"],
    dimensions: ["LoadBalancer"],
    requires: "aws_lb",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html",
  },
  {
    namespace: "AWS/RDS",
    metrics: ["CPUUtilization", "FreeStorageSpace"],
    dimensions: ["DBInstanceIdentifier"],
    requires: "aws_db_instance",
    doc: "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html",
  },
  {
    namespace: "AWS/ElastiCache",
    metrics: ["BytesUsedForCache", "ElastiCacheProcessingUnits"],
    dimensions: ["clusterId"],
    requires: "aws_elasticache_serverless_cache",
    doc: "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/serverless-metrics-events-redis.html",
  },
  {
    namespace: "AWS/ElastiCache",
    metrics: ["EngineCPUUtilization"],
    dimensions: ["CacheClusterId"],
    requires: "aws_elasticache_replication_group",
    doc: "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.Redis.html",
  },
];
