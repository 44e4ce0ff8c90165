import { EDGE_METRICS } from "./dashboard";

/**
 * CloudFront's access log (standard logging v2) delivered to a CloudWatch Logs group in us-east-1 with only the
 * fields the edge measures need, space-delimited in this order, e.g. `0.002 Hit 200`. Field meanings:
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html
 * - `time-taken`: seconds (millisecond precision) from the edge receiving the request to writing the response's
 *   last byte: the edge's own view of what the viewer waited, without the viewer's network.
 * - `x-edge-result-type`: Hit, RefreshHit, Miss, LimitExceeded, CapacityExceeded, Error, Redirect,
 *   FunctionGeneratedResponse (and others for newer features).
 * - `sc-status`: the HTTP status returned to the viewer.
 */
export const EDGE_LOG_FIELDS = ["time-taken", "x-edge-result-type", "sc-status"] as const;

/** Delimiter between the delivered fields (`field_delimiter` of the delivery). */
export const EDGE_LOG_DELIMITER = " ";

export interface EdgeMetricFilter {
  /** Construct id and filter name suffix. */
  id: string;
  /** Space-delimited filter pattern: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html */
  pattern: string;
  metricName: string;
  /** A literal number or `$<field>`. */
  value: string;
  unit: "Seconds" | "Count";
}

/**
 * The metric filters on the edge log group. Field names in a pattern are positional labels; hyphens are not
 * allowed in them, so `time-taken` is `time_taken`.
 * - Hit latency: the value of `time_taken` for every `Hit` (served from the edge cache, no origin round trip).
 *   RefreshHit revalidated with the origin, so it is not a cached response in the epic's sense.
 * - Miss latency: `time_taken` of every `Miss`, the origin's latency as the edge sees it (CloudFront to API
 *   Gateway or S3 and back, plus the edge's own time), without CloudFront's paid OriginLatency metric.
 * - Requests and hits, for the cache hit ratio: every record, and every `*Hit` (Hit and RefreshHit, as
 *   CloudFront's own CacheHitRate counts them).
 */
export function edgeMetricFilters(): EdgeMetricFilter[] {
  const fields = (resultType?: string) =>
    `[time_taken, result_type${resultType ? `=${JSON.stringify(resultType)}` : ""}, status]`;
  return [
    {
      id: "hit-time-taken",
      pattern: fields("Hit"),
      metricName: EDGE_METRICS.hitTimeTaken,
      value: "$time_taken",
      unit: "Seconds",
    },
    {
      id: "miss-time-taken",
      pattern: fields("Miss"),
      metricName: EDGE_METRICS.missTimeTaken,
      value: "$time_taken",
      unit: "Seconds",
    },
    { id: "requests", pattern: fields(), metricName: EDGE_METRICS.requests, value: "1", unit: "Count" },
    { id: "hits", pattern: fields("*Hit"), metricName: EDGE_METRICS.hits, value: "1", unit: "Count" },
  ];
}
