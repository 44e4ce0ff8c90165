/**
 * The compute stack: the instance, the persistent data volume and Elastic IP, IAM, user data, the CloudWatch
 * agent configuration and the alarms. Assertions over the synthesized JSON of both environments.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { EnvironmentConfig, prod, staging } from "../../constructs/config/environments";
import {
  alarmTopicName,
  bucketArn,
  instancePrivateIp,
  instanceRoleName,
  metricsNamespace,
  mailFromAddress,
  sesIdentityArn,
  ssmParameterArnPattern,
} from "../../constructs/config/naming";
import {
  BOX_LOGS,
  METRICS,
  MONITORED_PATHS,
  boxLogGroupName,
  cloudwatchAgentConfig,
} from "../../constructs/builders/cloudwatch-agent";
import {
  HEADER_BEGIN,
  HEADER_END,
  readUserDataScript,
  renderUserDataText,
  unescapeTerraformTemplate,
} from "../../constructs/builders/user-data";
import { asList, Statement, statements } from "../helpers/policy";
import { resolveRef } from "../helpers/refs";
import { synthAll, Synthesized, TfJson, stackResourcesOfType } from "../helpers/synth";

type Body = Record<string, unknown>;
const one = (json: TfJson, type: string): [string, Body] => {
  const all = Object.entries(json.resource?.[type] ?? {});
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0];
};
const all = (json: TfJson, type: string): Array<[string, Body]> => stackResourcesOfType(json, type);
const VOLUME_TOKEN = "${aws_ebs_volume.data_volume.id}";

describe.each([
  ["prod", prod],
  ["staging", staging],
])("compute stack (%s)", (_name, env: EnvironmentConfig) => {
  let s: Synthesized;
  let c: TfJson;
  beforeAll(() => {
    s = synthAll(env);
    c = s.stacks.compute;
  });

  describe("the instance", () => {
    let inst: Body;
    beforeAll(() => {
      inst = one(c, "aws_instance")[1];
    });

    it("boots the AMI published in SSM, read with insecure_value so plans show it", () => {
      const ds = c.data?.aws_ssm_parameter ?? {};
      const [dsId, dsBody] = Object.entries(ds).find(([, b]) => b.name === `/zmanim/${env.name}/ami-id`) ?? [];
      expect(dsBody).toBeDefined();
      expect(inst.ami).toBe(`\${data.aws_ssm_parameter.${dsId}.insecure_value}`);
    });

    it("has the environment's instance type, in the pinned subnet and zone, on the fixed private address", () => {
      expect(inst.instance_type).toBe(env.instanceType);
      expect(inst.availability_zone).toBe(env.availabilityZone);
      expect(inst.private_ip).toBe(instancePrivateIp(env));
      const subnet = resolveRef(s, "compute", inst.subnet_id);
      expect(subnet).toEqual({ stack: "network", type: "aws_subnet", id: "public_subnet", attr: "id" });
      expect(s.stacks.network.resource?.aws_subnet?.public_subnet?.availability_zone).toBe(env.availabilityZone);
      const sgs = asList(inst.vpc_security_group_ids as string[]).map((v) => resolveRef(s, "compute", v));
      expect(sgs).toEqual([
        { stack: "network", type: "aws_security_group", id: expect.stringMatching(/instance/), attr: "id" },
      ]);
    });

    it("requires IMDSv2 with a hop limit of 1", () => {
      expect(inst.metadata_options).toEqual(
        expect.objectContaining({ http_tokens: "required", http_put_response_hop_limit: 1, http_endpoint: "enabled" }),
      );
    });

    it("has an encrypted gp3 root volume of the configured size, deleted on termination, and is EBS-optimized", () => {
      expect(inst.root_block_device).toEqual({
        volume_type: "gp3",
        volume_size: env.rootVolumeGb,
        encrypted: true,
        delete_on_termination: true,
      });
      expect(inst.ebs_optimized).toBe(true);
      expect(inst.ebs_block_device).toBeUndefined(); // the data volume is a separate resource, never inline
    });

    it("is replaced when its user data changes, and never with create_before_destroy", () => {
      expect(inst.user_data_replace_on_change).toBe(true);
      expect((inst.lifecycle as Body | undefined)?.create_before_destroy ?? false).toBe(false);
    });

    it("runs as the instance profile of the role", () => {
      const profile = resolveRef(s, "compute", inst.iam_instance_profile);
      expect(profile?.type).toBe("aws_iam_instance_profile");
      const [, prof] = one(c, "aws_iam_instance_profile");
      expect(prof.role).toBe(`\${aws_iam_role.${one(c, "aws_iam_role")[0]}.name}`);
      expect(one(c, "aws_iam_role")[1].name).toBe(instanceRoleName(env));
    });
  });

  describe("user data", () => {
    let raw: string;
    beforeAll(() => {
      raw = one(c, "aws_instance")[1].user_data as string;
    });

    it("is exactly the boot script with the rendered header, once Terraform has unescaped it", () => {
      const script = readUserDataScript();
      const expected = renderUserDataText(script, {
        ZMANIM_ENV: env.name,
        ZMANIM_REGION: env.region,
        ZMANIM_SSM_PREFIX: `/zmanim/${env.name}`,
        ZMANIM_DATA_VOLUME_ID: "VOLUME_ID",
      });
      expect(unescapeTerraformTemplate(raw.replace(VOLUME_TOKEN, "VOLUME_ID"))).toBe(expected);
      // And the header is the only addition: removing it gives the script byte for byte.
      const header = expected.slice(
        expected.indexOf(HEADER_BEGIN),
        expected.indexOf(HEADER_END) + HEADER_END.length + 1,
      );
      expect(expected.replace(header, "")).toBe(script);
    });

    it("has exactly one live interpolation, the data volume id, and no template directive", () => {
      const live = raw.match(/(?<!\$)\$\{[^}]*\}/g) ?? [];
      expect(live).toEqual([VOLUME_TOKEN]);
      expect(raw.match(/(?<!%)%\{/g)).toBeNull();
    });

    it("fits EC2's 16 KB user data limit with room to spare", () => {
      const rendered = renderUserDataText(readUserDataScript(), {
        ZMANIM_ENV: env.name,
        ZMANIM_REGION: env.region,
        ZMANIM_SSM_PREFIX: `/zmanim/${env.name}`,
        ZMANIM_DATA_VOLUME_ID: "vol-0123456789abcdef0",
      });
      expect(Buffer.byteLength(rendered)).toBeLessThan(15 * 1024);
    });
  });

  describe("the data volume and the Elastic IP", () => {
    it("the data volume: gp3, encrypted, the configured size, in the subnet's zone, prevent_destroy, pinned id", () => {
      const vol = c.resource?.aws_ebs_volume?.data_volume;
      expect(vol).toEqual(
        expect.objectContaining({
          type: "gp3",
          encrypted: true,
          size: env.dataVolumeGb,
          availability_zone: env.availabilityZone,
          final_snapshot: true,
          lifecycle: { prevent_destroy: true },
        }),
      );
      expect(vol?.availability_zone).toBe(s.stacks.network.resource?.aws_subnet?.public_subnet?.availability_zone);
    });

    it("attaches as /dev/sdf through aws_volume_attachment, stopping the instance before detaching", () => {
      const att = c.resource?.aws_volume_attachment?.data_volume_attachment;
      expect(att).toEqual(
        expect.objectContaining({
          device_name: "/dev/sdf",
          volume_id: "${aws_ebs_volume.data_volume.id}",
          instance_id: "${aws_instance.instance.id}",
          stop_instance_before_detaching: true,
        }),
      );
      expect(all(c, "aws_volume_attachment")).toHaveLength(1);
    });

    it("the Elastic IP: VPC, prevent_destroy, pinned id, associated through aws_eip_association", () => {
      expect(c.resource?.aws_eip?.eip).toEqual(
        expect.objectContaining({ domain: "vpc", lifecycle: { prevent_destroy: true } }),
      );
      expect(c.resource?.aws_eip_association?.eip_association).toEqual(
        expect.objectContaining({
          allocation_id: "${aws_eip.eip.allocation_id}",
          instance_id: "${aws_instance.instance.id}",
        }),
      );
    });
  });

  describe("IAM: least privilege", () => {
    let st: Statement[];
    beforeAll(() => {
      st = statements(one(c, "aws_iam_role_policy")[1].policy);
    });
    const bySid = (sid: string) => {
      const hit = st.find((x) => x.Sid === sid);
      if (!hit) throw new Error(`no statement ${sid}`);
      return hit;
    };

    it("no statement has a wildcard action, and * resource only where the action has no resource type", () => {
      for (const x of st) {
        expect([x.Sid, x.Effect]).toEqual([x.Sid, "Allow"]);
        expect([x.Sid, asList(x.Action).filter((a) => a.includes("*"))]).toEqual([x.Sid, []]);
        if (asList(x.Resource).includes("*")) {
          if (x.Sid === "SessionManagerAndRunCommand") {
            // The agent's channels and its calls about itself; never a parameter, object or key.
            expect(
              asList(x.Action).every(
                (a) =>
                  /^(ssmmessages|ec2messages):/.test(a) ||
                  [
                    "ssm:UpdateInstanceInformation",
                    "ssm:ListInstanceAssociations",
                    "ssm:UpdateInstanceAssociationStatus",
                  ].includes(a),
              ),
            ).toBe(true);
          } else {
            expect([x.Sid, asList(x.Action)]).toEqual([x.Sid, ["cloudwatch:PutMetricData"]]);
            expect(x.Condition).toEqual({ StringEquals: { "cloudwatch:namespace": metricsNamespace(env) } });
          }
        }
      }
    });

    it("backups: what restic needs (list, get, put, delete) on the backup bucket only", () => {
      expect(bySid("BackupsBucket")).toEqual(
        expect.objectContaining({
          Action: ["s3:ListBucket", "s3:GetBucketLocation"],
          Resource: bucketArn(env, "backups"),
        }),
      );
      expect(bySid("BackupsObjects")).toEqual(
        expect.objectContaining({
          Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
          Resource: `${bucketArn(env, "backups")}/*`,
        }),
      );
    });

    it("releases: read-only", () => {
      const releaseActions = st
        .filter((x) => asList(x.Resource).some((r) => r.startsWith(bucketArn(env, "releases"))))
        .flatMap((x) => asList(x.Action));
      expect(releaseActions.sort()).toEqual(["s3:GetObject", "s3:ListBucket"]);
    });

    it("S3 access names only the backup and release buckets", () => {
      const s3Resources = st
        .filter((x) => asList(x.Action).some((a) => a.startsWith("s3:")))
        .flatMap((x) => asList(x.Resource));
      for (const r of s3Resources)
        expect(r.replace(/\/\*$/, "")).toMatch(
          new RegExp(`^(${bucketArn(env, "backups")}|${bucketArn(env, "releases")})$`),
        );
    });

    it("SSM: GetParameter(s) on /zmanim/<env>/* only, and kms:Decrypt only through SSM for those parameters", () => {
      expect(bySid("ReadOwnParameters")).toEqual(
        expect.objectContaining({
          Action: ["ssm:GetParameter", "ssm:GetParameters"],
          Resource: ssmParameterArnPattern(env),
        }),
      );
      const kms = st.filter((x) => asList(x.Action).some((a) => a.startsWith("kms:")));
      expect(kms).toHaveLength(1);
      expect(kms[0].Action).toEqual(["kms:Decrypt"]);
      expect(kms[0].Condition).toEqual({
        StringEquals: { "kms:ViaService": `ssm.${env.region}.amazonaws.com` },
        StringLike: { "kms:EncryptionContext:PARAMETER_ARN": ssmParameterArnPattern(env) },
      });
    });

    it("SES: send only from the project's address to the alarm recipient; the recipient's identity covers the sandbox", () => {
      const ses = st.filter((x) => asList(x.Action).some((a) => a.startsWith("ses:")));
      const identity = (name: string) => `arn:aws:ses:${env.region}:${env.accountId}:identity/${name}`;
      expect(ses).toEqual([
        expect.objectContaining({
          Action: ["ses:SendEmail", "ses:SendRawEmail"],
          Resource: [sesIdentityArn(env), identity(env.alarmEmail), identity(env.alarmEmail.split("@")[1])],
          Condition: {
            StringEquals: { "ses:FromAddress": mailFromAddress(env) },
            "ForAllValues:StringEquals": { "ses:Recipients": [env.alarmEmail] },
          },
        }),
      ]);
    });

    it("logs: write only to the project's box log groups", () => {
      const logs = st.filter((x) => asList(x.Action).some((a) => a.startsWith("logs:")));
      expect(logs).toHaveLength(1);
      const groups = BOX_LOGS.map(
        (l) => `arn:aws:logs:${env.region}:${env.accountId}:log-group:${boxLogGroupName(env, l.group)}`,
      );
      expect(asList(logs[0].Resource).sort()).toEqual([...groups, ...groups.map((g) => `${g}:log-stream:*`)].sort());
      expect(asList(logs[0].Action).sort()).toEqual([
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
      ]);
    });

    it("nothing else: every statement is one of the reviewed ones", () => {
      expect(st.map((x) => x.Sid).sort()).toEqual(
        [
          "BackupsBucket",
          "BackupsObjects",
          "DecryptOwnParametersViaSsm",
          "PutProjectMetrics",
          "ReadOwnParameters",
          "ReleasesBucket",
          "ReleasesObjects",
          "SendMailFromProjectIdentity",
          "SessionManagerAndRunCommand",
          "WriteProjectLogs",
        ].sort(),
      );
    });

    it("Session Manager and Run Command without AmazonSSMManagedInstanceCore (it reads every parameter); only EC2 may assume the role", () => {
      // No managed policy at all: everything the role may do is in the reviewed inline statements.
      expect(stackResourcesOfType(c, "aws_iam_role_policy_attachment", { min: 0 })).toEqual([]);
      expect(all(c, "aws_iam_role_policy")).toHaveLength(1);
      const agent = asList(bySid("SessionManagerAndRunCommand").Action);
      // The SSM Agent's own calls: a subset of AmazonSSMManagedInstanceCore's ssm, ssmmessages and ec2messages actions.
      expect(agent).toEqual([
        "ssm:UpdateInstanceInformation",
        "ssm:ListInstanceAssociations",
        "ssm:UpdateInstanceAssociationStatus",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage",
        "ec2messages:FailMessage",
        "ec2messages:GetEndpoint",
        "ec2messages:GetMessages",
        "ec2messages:SendReply",
      ]);
      // Parameter reads are granted once, on the environment's prefix.
      const reads = st.filter((x) => asList(x.Action).some((a) => a.startsWith("ssm:GetParameter")));
      expect(reads.map((x) => x.Resource)).toEqual([ssmParameterArnPattern(env)]);
      const trust = statements(one(c, "aws_iam_role")[1].assume_role_policy);
      expect(trust).toEqual([
        expect.objectContaining({
          Effect: "Allow",
          Principal: { Service: "ec2.amazonaws.com" },
          Action: "sts:AssumeRole",
        }),
      ]);
    });
  });

  describe("CloudWatch: agent configuration, log groups and alarms", () => {
    let agent: Record<string, any>;
    beforeAll(() => {
      const param = all(c, "aws_ssm_parameter").find(([, b]) => b.name === `/zmanim/${env.name}/cloudwatch-agent`);
      expect(param).toBeDefined();
      expect(param?.[1].type).toBe("String");
      agent = JSON.parse(param?.[1].value as string);
    });

    it("ships the agent config through SSM, small enough for the standard tier", () => {
      expect(agent).toEqual(cloudwatchAgentConfig(env));
      const param = all(c, "aws_ssm_parameter").find(([, b]) => b.name === `/zmanim/${env.name}/cloudwatch-agent`);
      expect(Buffer.byteLength(param?.[1].value as string)).toBeLessThan(4096);
    });

    it("collects memory and disk (/ and /data) into the project namespace without host or instance dimensions", () => {
      expect(agent.agent.omit_hostname).toBe(true);
      expect(agent.metrics.namespace).toBe(metricsNamespace(env));
      expect(agent.metrics.append_dimensions).toBeUndefined();
      expect(agent.metrics.aggregation_dimensions).toEqual([["path"]]);
      expect(agent.metrics.metrics_collected.mem.measurement).toEqual(["mem_used_percent"]);
      expect(agent.metrics.metrics_collected.disk).toEqual(
        expect.objectContaining({
          measurement: ["used_percent"],
          resources: ["/", "/data"],
          drop_original_metrics: ["disk_used_percent"],
        }),
      );
    });

    it("ships the api, postgresql, redis, backup and restore-drill logs to retained log groups of this stack", () => {
      const groups = all(c, "aws_cloudwatch_log_group").map(([, b]) => b);
      expect(groups.map((g) => g.name).sort()).toEqual(
        ["api", "backup", "postgresql", "redis", "restore-drill"].map((g) => `/zmanim/${env.name}/${g}`).sort(),
      );
      for (const g of groups) expect(g.retention_in_days).toBe(env.logRetentionDays);
      const shipped = agent.logs.logs_collected.files.collect_list
        .map((e: { log_group_name: string }) => e.log_group_name)
        .sort();
      expect(shipped).toEqual(groups.map((g) => g.name).sort());
    });

    const alarms = () => all(c, "aws_cloudwatch_metric_alarm").map(([, b]) => b);
    const alarm = (suffix: string) => {
      const hit = alarms().find((a) => a.alarm_name === `zmanim-${env.name}-${suffix}`);
      if (!hit) throw new Error(`no alarm ${suffix}`);
      return hit;
    };

    it("every alarm notifies the alarm topic (which mails the configured address)", () => {
      const [topicId, topic] = one(c, "aws_sns_topic");
      expect(topic.name).toBe(alarmTopicName(env));
      expect(one(c, "aws_sns_topic_subscription")[1]).toEqual(
        expect.objectContaining({
          protocol: "email",
          endpoint: env.alarmEmail,
          topic_arn: `\${aws_sns_topic.${topicId}.arn}`,
        }),
      );
      expect(alarms().length).toBe(9); // cpu, status, recover, disk x2, memory, agent silent, backup, restore drill
      for (const a of alarms()) {
        expect([a.alarm_name, asList(a.alarm_actions as string[])]).toEqual([
          a.alarm_name,
          expect.arrayContaining([`\${aws_sns_topic.${topicId}.arn}`]),
        ]);
      }
    });

    it("CPU above 80% for 5 minutes", () => {
      expect(alarm("cpu-high")).toEqual(
        expect.objectContaining({
          namespace: "AWS/EC2",
          metric_name: "CPUUtilization",
          dimensions: { InstanceId: "${aws_instance.instance.id}" },
          statistic: "Average",
          period: 300,
          evaluation_periods: 1,
          threshold: 80,
          comparison_operator: "GreaterThanThreshold",
        }),
      );
    });

    it("a failed status check alarms, and a failed system check recovers the instance", () => {
      expect(alarm("status-check-failed")).toEqual(
        expect.objectContaining({
          namespace: "AWS/EC2",
          metric_name: "StatusCheckFailed",
          threshold: 1,
          comparison_operator: "GreaterThanOrEqualToThreshold",
        }),
      );
      const recover = alarm("auto-recover");
      expect(recover).toEqual(
        expect.objectContaining({
          namespace: "AWS/EC2",
          metric_name: "StatusCheckFailed_System",
          dimensions: { InstanceId: "${aws_instance.instance.id}" },
        }),
      );
      expect(recover.alarm_actions).toContain(`arn:aws:automate:${env.region}:ec2:recover`);
    });

    it("disk above 80% on / and on /data, memory above 90%", () => {
      for (const [slug, path] of [
        ["root", "/"],
        ["data", "/data"],
      ]) {
        expect(alarm(`disk-high-${slug}`)).toEqual(
          expect.objectContaining({
            namespace: metricsNamespace(env),
            metric_name: "disk_used_percent",
            dimensions: { path },
            threshold: 80,
            comparison_operator: "GreaterThanThreshold",
          }),
        );
      }
      const mem = alarm("memory-high");
      expect(mem).toEqual(
        expect.objectContaining({
          namespace: metricsNamespace(env),
          metric_name: "mem_used_percent",
          threshold: 90,
          comparison_operator: "GreaterThanThreshold",
        }),
      );
      expect(mem.dimensions).toBeUndefined();
    });

    it("an agent that stops reporting alarms after 15 minutes (missing data is breaching)", () => {
      expect(alarm("agent-silent")).toEqual(
        expect.objectContaining({
          namespace: metricsNamespace(env),
          metric_name: "mem_used_percent",
          statistic: "SampleCount",
          period: 300,
          evaluation_periods: 3,
          threshold: 1,
          comparison_operator: "LessThanThreshold",
          treat_missing_data: "breaching",
        }),
      );
    });

    it("backup freshness: no BackupSuccess for 26 hours alarms, and a missing metric counts as breaching", () => {
      const b = alarm("backup-stale");
      expect(b).toEqual(
        expect.objectContaining({
          namespace: metricsNamespace(env),
          metric_name: "BackupSuccess",
          statistic: "Sum",
          threshold: 1,
          comparison_operator: "LessThanThreshold",
          treat_missing_data: "breaching",
        }),
      );
      expect(b.dimensions).toBeUndefined();
      expect((b.period as number) * (b.evaluation_periods as number)).toBe(26 * 3600);
      expect(b.datapoints_to_alarm).toBe(b.evaluation_periods);
    });

    it("restore drill freshness: no drill passed for 8 days alarms, and a missing metric counts as breaching", () => {
      const d = alarm("restore-drill-stale");
      expect(d).toEqual(
        expect.objectContaining({
          namespace: metricsNamespace(env),
          metric_name: "RestoreDrillAgeSeconds",
          statistic: "Minimum",
          threshold: 7 * 86400,
          comparison_operator: "GreaterThanThreshold",
          treat_missing_data: "breaching",
          period: 3600,
          evaluation_periods: 26,
          datapoints_to_alarm: 26,
        }),
      );
      expect(d.dimensions).toBeUndefined();
      // The last datapoint under the threshold can be at most 7 days after the pass; 26 h later the alarm fires:
      // never later than 8 days and 2 hours, and never inside CloudWatch's 7-day look-back limit.
      expect((d.threshold as number) + 26 * 3600).toBeLessThanOrEqual(8 * 86400 + 2 * 3600);
      expect((d.period as number) * (d.evaluation_periods as number)).toBeLessThanOrEqual(7 * 86400);
    });

    it("every alarm on the project namespace watches a metric with exactly the dimensions that are published", () => {
      const published: Record<string, Array<Record<string, string> | undefined>> = {
        [METRICS.memUsedPercent]: [undefined],
        [METRICS.diskUsedPercent]: MONITORED_PATHS.map((path) => ({ path })),
        [METRICS.backupSuccess]: [undefined],
        [METRICS.restoreDrillAgeSeconds]: [undefined],
      };
      const own = alarms().filter((a) => a.namespace === metricsNamespace(env));
      expect(own.length).toBe(6);
      for (const a of own) {
        expect([a.alarm_name, published[a.metric_name as string]]).toEqual([
          a.alarm_name,
          expect.arrayContaining([a.dimensions as Record<string, string> | undefined]),
        ]);
      }
      // The contract is written down where the AMI and backup script authors read it.
      const layout = readFileSync(join(__dirname, "..", "..", "docs", "on-box-layout.md"), "utf8");
      for (const m of Object.values(METRICS)) expect(layout).toMatch(new RegExp("\\| `" + m + "` \\|"));
    });
  });
});
