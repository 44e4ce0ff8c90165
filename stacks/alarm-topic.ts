import { Construct } from "constructs";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { EnvironmentConfig, topologyOf } from "./environments";
import { alarmTopicName } from "./naming";

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
 * `alarm-email` in `scope`. Not KMS-encrypted: CloudWatch alarms cannot publish to a topic under the AWS managed
 * aws/sns key, and a customer managed key ($1/month) would protect nothing secret (alarm names and states).
 */
export function addAlarmTopic(scope: Construct, env: EnvironmentConfig): SnsTopic {
  const topic = new SnsTopic(scope, "alarm-topic", { name: alarmTopicName(env) });
  new SnsTopicSubscription(scope, "alarm-email", { topicArn: topic.arn, protocol: "email", endpoint: env.alarmEmail });
  return topic;
}
