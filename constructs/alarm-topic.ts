import { Construct } from "constructs";
import { TerraformProvider } from "cdktf/lib/terraform-provider";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { EnvironmentConfig, topologyOf } from "./config/environments";
import { alarmTopicName } from "./config/naming";

/**
 * Which stack owns the environment's regional alarm topic (every other stack names it by ARN, naming.ts): the
 * compute stack while the box runs, else the data stack, the first stack of the scaled topology that needs it
 * (its RDS event subscription must name an existing topic). Retiring the box moves it: docs/topologies.md.
 */
export function alarmTopicOwner(env: EnvironmentConfig): "compute" | "data" {
  const t = topologyOf(env);
  return t.kind === "scaled" && !t.keepBox ? "data" : "compute";
}

/**
 * The alarm topic and its email subscription (confirmed once by the recipient), as `alarm-topic` and
 * `alarm-email` in `scope` (with `idSuffix` appended; give another region's topic its `provider` and a suffix). Not KMS-encrypted: CloudWatch alarms cannot publish to a topic under the AWS managed
 * aws/sns key, and a customer managed key ($1/month) would protect nothing secret (alarm names and states).
 */
export function addAlarmTopic(
  scope: Construct,
  env: EnvironmentConfig,
  opts: { provider?: TerraformProvider; idSuffix?: string } = {},
): SnsTopic {
  const { provider, idSuffix = "" } = opts;
  const topic = new SnsTopic(scope, `alarm-topic${idSuffix}`, { provider, name: alarmTopicName(env) });
  new SnsTopicSubscription(scope, `alarm-email${idSuffix}`, {
    provider,
    topicArn: topic.arn,
    protocol: "email",
    endpoint: env.alarmEmail,
  });
  return topic;
}
