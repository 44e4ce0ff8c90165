/**
 * The scaled topology's API tier: the app stack (fleet + alarm set), the API stack's integration with the internal
 * ALB, and the topologies' exclusivity. Policy checks iterate over EVERY resource of a type, in every stack of the
 * shipped `scaled` environment, with the box retired and with the box kept.
 */
import { readFileSync, readdirSync } from "fs";
import { join } from "path";
import { Testing } from "cdktf/lib/testing";
import { TerraformStack } from "cdktf/lib/terraform-stack";
import { Fleet, FleetProps } from "../../constructs/fleet";
import { fleetPolicyStatements } from "../../stacks/app-stack";
import { EnvironmentConfig, ScaledTopology, prod, scaled, staging } from "../../constructs/config/environments";
import { alarmTopicArn } from "../../constructs/config/naming";
import {
  ROLE_MARKERS,
  assembleUserData,
  readUserDataScript,
  unescapeTerraformTemplate,
} from "../../constructs/builders/user-data";
import { fleetCloudwatchAgentConfig } from "../../constructs/builders/cloudwatch-agent";
import { releasePolicyStatements } from "../../stacks/cicd";
import { fleetCalls } from "../../scripts/tools/iam/calls";
import { resolveRef } from "../helpers/refs";
import { resourcesOfType, Synthesized, synthAll } from "../helpers/synth";

type Body = Record<string, unknown>;
const topology = scaled.topology as ScaledTopology;
const keepBox: EnvironmentConfig = { ...scaled, topology: { ...topology, keepBox: true } };
const natEgress: EnvironmentConfig = { ...scaled, topology: { ...topology, egress: "nat-gateway" } };

/** Stacks holding the regional alarm topic (the cdn stack's namesake lives in us-east-1, for CloudFront metrics). */
function regionalTopicOwners(s: Synthesized, env: EnvironmentConfig): string[] {
  return resourcesOfType(s, "aws_sns_topic")
    .filter(([, , t]) => t.name === `zmanim-${env.name}-alarms` && t.provider === undefined)
    .map(([stack]) => stack);
}

/** The resource a reference in `stack` resolves to, as "stack/type.id". */
function target(s: Synthesized, stack: string, value: unknown): string {
  const a = resolveRef(s, stack, value);
  return a ? `${a.stack}/${a.type}.${a.id}` : `unresolved ${String(value)}`;
}

describe.each([
  ["scaled", scaled],
  ["scaled, keepBox", keepBox],
  ["scaled, NAT egress", natEgress],
])("%s: the API tier", (_n, env) => {
  const s = synthAll(env);

  it("has an app stack, and every load balancer in every stack is internal, in the app subnets", () => {
    expect(s.stacks.app).toBeDefined();
    const lbs = resourcesOfType(s, "aws_lb");
    expect(lbs.length).toBeGreaterThan(0);
    for (const [stack, , lb] of lbs) {
      expect([stack, lb.internal, lb.load_balancer_type, lb.drop_invalid_header_fields]).toEqual([
        "app",
        true,
        "application",
        true,
      ]);
      expect((lb.subnets as string[]).map((v) => target(s, stack, v)).sort()).toEqual([
        "network/aws_subnet.app_subnet_0",
        "network/aws_subnet.app_subnet_1",
      ]);
      expect((lb.security_groups as string[]).map((v) => target(s, stack, v))).toEqual([
        "network/aws_security_group.alb_security_group",
      ]);
    }
  });

  it("admits traffic into the app security group only from the ALB security group", () => {
    const rules = resourcesOfType(s, "aws_vpc_security_group_ingress_rule").filter(
      ([stack, , r]) => target(s, stack, r.security_group_id) === "network/aws_security_group.app_security_group",
    );
    expect(rules.length).toBeGreaterThan(0);
    for (const [stack, id, r] of rules) {
      expect([
        id,
        target(s, stack, r.referenced_security_group_id),
        r.cidr_ipv4,
        r.cidr_ipv6,
        r.from_port,
        r.to_port,
      ]).toEqual([
        id,
        "network/aws_security_group.alb_security_group",
        undefined,
        undefined,
        env.api.port,
        env.api.port,
      ]);
    }
    // Every instance of the fleet carries the app group and no other.
    for (const [stack, , lt] of resourcesOfType(s, "aws_launch_template")) {
      expect(lt.vpc_security_group_ids).toBeUndefined();
      const [nic, ...more] = lt.network_interfaces as Body[];
      expect(more).toEqual([]);
      expect((nic.security_groups as string[]).map((v) => target(s, stack, v))).toEqual([
        "network/aws_security_group.app_security_group",
      ]);
      // A public IPv4 exactly when the config chooses public-ip egress (then no NAT gateway exists).
      expect(nic.associate_public_ip_address).toBe(String((env.topology as ScaledTopology).egress === "public-ip"));
      expect(resourcesOfType(s, "aws_nat_gateway", { min: 0 }).length).toBe(
        (env.topology as ScaledTopology).egress === "nat-gateway" ? 1 : 0,
      );
    }
  });

  it("every Auto Scaling group spans both app subnets in two zones, with ELB health checks and launch-before-terminate", () => {
    const groups = resourcesOfType(s, "aws_autoscaling_group");
    expect(groups.length).toBe(1);
    const subnets = s.stacks.network.resource?.aws_subnet ?? {};
    for (const [stack, , g] of groups) {
      const ids = (g.vpc_zone_identifier as string[]).map((v) => target(s, stack, v));
      const zones = new Set(ids.map((t) => subnets[t.replace("network/aws_subnet.", "")]?.availability_zone));
      expect(zones.size).toBeGreaterThanOrEqual(2);
      expect(g.health_check_type).toBe("ELB");
      expect(g.health_check_grace_period).toBeGreaterThan(0);
      expect(g.min_size).toBeGreaterThanOrEqual(2);
      expect(g.min_size).toBe(topology.fleet.min);
      expect(g.max_size).toBe(topology.fleet.max);
      expect(g.desired_capacity).toBeUndefined();
      expect(g.instance_maintenance_policy).toEqual({ min_healthy_percentage: 100, max_healthy_percentage: 200 });
      expect(g.instance_refresh).toEqual(
        expect.objectContaining({
          strategy: "Rolling",
          preferences: expect.objectContaining({ min_healthy_percentage: 100, max_healthy_percentage: 200 }),
        }),
      );
      expect((g.target_group_arns as string[]).map((v) => target(s, stack, v))).toEqual([
        expect.stringMatching(/^app\/aws_lb_target_group\./),
      ]);
    }
  });

  it("every group ignores failed scaling activities while Terraform waits for capacity (an instance profile not yet visible fails a launch)", () => {
    const groups = resourcesOfType(s, "aws_autoscaling_group");
    expect(groups.length).toBe(1);
    for (const [, id, g] of groups) expect([id, g.ignore_failed_scaling_activities]).toEqual([id, true]);
  });

  it("tags the instances, their volumes and interfaces and the group with the stack's default tags, which the release role selects by", () => {
    const lts = resourcesOfType(s, "aws_launch_template");
    expect(lts.length).toBe(1);
    for (const [stack, , lt] of lts) {
      const provider = (s.stacks[stack].provider?.aws as Body[]).find((p) => p.alias === undefined)!;
      const defaults = ((provider.default_tags as Body[])[0].tags ?? {}) as Record<string, string>;
      expect(defaults).toEqual(expect.objectContaining({ Project: "zmanim", Environment: env.name }));
      const specs = lt.tag_specifications as { resource_type: string; tags: Record<string, string> }[];
      expect(specs.map((t) => t.resource_type).sort()).toEqual(["instance", "network-interface", "volume"]);
      for (const spec of specs)
        expect([spec.resource_type, spec.tags]).toEqual([
          spec.resource_type,
          { ...defaults, Name: `zmanim-${env.name}-api` },
        ]);
      // ssm-restart.sh and the release role's SendCommand condition select instances by these tags.
      const restart = releasePolicyStatements(env).find((st) => st.Sid === "RestartOnProjectInstance")!;
      const wanted = Object.entries(restart.Condition!.StringEquals).map(([k, v]) => [
        k.replace("ssm:resourceTag/", ""),
        v,
      ]);
      const instanceTags = specs.find((t) => t.resource_type === "instance")!.tags;
      for (const [k, v] of wanted) expect([k, instanceTags[k as string]]).toEqual([k, v]);
    }
    for (const [stack, , g] of resourcesOfType(s, "aws_autoscaling_group")) {
      const tags = Object.fromEntries((g.tag as { key: string; value: string }[]).map((t) => [t.key, t.value]));
      expect(tags).toEqual(
        expect.objectContaining({ Project: "zmanim", Environment: env.name, Stack: stack, ManagedBy: "terraform" }),
      );
    }
  });

  it("never uses $Latest or $Default: every group pins its launch template's latest_version", () => {
    const json = JSON.stringify(s.stacks);
    expect(json).not.toMatch(/\$Latest|\$Default/);
    for (const [stack, , g] of resourcesOfType(s, "aws_autoscaling_group")) {
      const lt = g.launch_template as Body;
      expect(lt.version).toMatch(/^\$\{aws_launch_template\.[A-Za-z0-9_-]+\.latest_version\}$/);
      expect(target(s, stack, lt.id)).toBe(target(s, stack, String(lt.version).replace("latest_version", "id")));
    }
  });

  it("every launch template requires IMDSv2, encrypts its root volume on the AMI's root device, and runs the API role", () => {
    const packerRoot = /launch_block_device_mappings\s*{\s*device_name\s*=\s*"([^"]+)"/.exec(
      readFileSync(join(__dirname, "..", "..", "packer", "zmanim-ami.pkr.hcl"), "utf8"),
    )?.[1];
    expect(packerRoot).toBe("/dev/sda1");
    const lts = resourcesOfType(s, "aws_launch_template");
    expect(lts.length).toBe(1);
    for (const [stack, , lt] of lts) {
      expect(lt.metadata_options).toEqual({
        http_endpoint: "enabled",
        http_tokens: "required",
        http_put_response_hop_limit: 1,
        instance_metadata_tags: "disabled",
      });
      expect(lt.block_device_mappings).toEqual([
        {
          device_name: "/dev/sda1",
          ebs: { volume_type: "gp3", volume_size: env.rootVolumeGb, encrypted: "true", delete_on_termination: "true" },
        },
      ]);
      expect(lt.instance_type).toBe(topology.fleet.instanceType);
      expect(String(lt.image_id)).toMatch(/^\$\{data\.aws_ssm_parameter\.ami-id\.insecure_value\}$/);
      expect(s.stacks[stack].data?.aws_ssm_parameter?.["ami-id"]?.name).toBe(`/zmanim/${env.name}/ami-id`);
      const text = Buffer.from(String(lt.user_data), "base64").toString("utf8");
      expect(text).toMatch(/^export ZMANIM_ROLE='api'$/m);
      expect(text).not.toMatch(/^export ZMANIM_DATA_VOLUME_ID/m);
      // The api role's part only (EC2 takes at most 16 KB of user data), and every SSM parameter it reads is the
      // instance role's to read: under the environment's prefix.
      expect(Buffer.byteLength(text)).toBeLessThan(15 * 1024);
      expect(text).not.toContain(ROLE_MARKERS.box);
      const leaves = [...text.matchAll(/ssm_get ([a-z-]+)\)/g)].map((m) => m[1]).sort();
      expect(leaves).toEqual([
        "cache-password",
        "clerk-secret-key",
        "cloudwatch-agent-api",
        "config",
        "data-config",
        "database-app-password",
      ]);
      const params = Object.values(s.stacks.app.resource?.aws_ssm_parameter ?? {}).map((p) => p.name);
      expect(params).toEqual([`/zmanim/${env.name}/cloudwatch-agent-api`]);
    }
  });

  it("health-checks the API's health path on the API port, and the listener forwards to that target group", () => {
    for (const [stack, id, tg] of resourcesOfType(s, "aws_lb_target_group")) {
      expect([tg.port, tg.protocol, tg.target_type]).toEqual([env.api.port, "HTTP", "instance"]);
      expect(tg.health_check).toEqual(
        expect.objectContaining({ enabled: true, path: env.api.healthPath, matcher: "200", port: "traffic-port" }),
      );
      expect(Number(tg.deregistration_delay)).toBeLessThanOrEqual(60);
      const listeners = resourcesOfType(s, "aws_lb_listener");
      expect(listeners.map(([ls, , l]) => target(s, ls, (l.default_action as Body[])[0].target_group_arn))).toEqual([
        `${stack}/aws_lb_target_group.${id}`,
      ]);
    }
  });

  it("sends every API request through the VPC link to the ALB listener; no Cloud Map anywhere", () => {
    const api = s.stacks.api.resource ?? {};
    const integrations = Object.values(api.aws_apigatewayv2_integration ?? {});
    expect(integrations.length).toBe(1);
    for (const i of integrations) {
      expect(target(s, "api", i.integration_uri)).toMatch(/^app\/aws_lb_listener\./);
      expect([i.connection_type, i.integration_type]).toEqual(["VPC_LINK", "HTTP_PROXY"]);
    }
    for (const link of Object.values(api.aws_apigatewayv2_vpc_link ?? {})) {
      expect((link.subnet_ids as string[]).map((v) => target(s, "api", v)).sort()).toEqual([
        "network/aws_subnet.app_subnet_0",
        "network/aws_subnet.app_subnet_1",
      ]);
    }
    for (const stack of Object.values(s.stacks)) {
      expect(Object.keys(stack.resource ?? {}).filter((t) => t.startsWith("aws_service_discovery"))).toEqual([]);
    }
    expect(s.manifest.stacks[`zmanim-${env.name}-api`].dependencies).toContain(`zmanim-${env.name}-app`);
  });

  it("alarms on unhealthy hosts, no healthy host and the 5xx rate, all to the environment's topic", () => {
    const alarms = s.stacks.app.resource?.aws_cloudwatch_metric_alarm ?? {};
    expect(Object.keys(alarms).sort()).toEqual(["fleet-5xx-rate", "fleet-no-healthy-hosts", "fleet-unhealthy-hosts"]);
    for (const a of Object.values(alarms)) {
      expect([a.alarm_actions, a.ok_actions]).toEqual([[alarmTopicArn(env)], [alarmTopicArn(env)]]);
    }
    expect(alarms["fleet-unhealthy-hosts"]).toEqual(
      expect.objectContaining({
        metric_name: "UnHealthyHostCount",
        threshold: 0,
        comparison_operator: "GreaterThanThreshold",
      }),
    );
  });
});

describe("the topologies are exclusive", () => {
  it("scaled without keepBox: no box, no Elastic IP but the NAT gateway's, no Cloud Map; the data stack owns the alarm topic", () => {
    for (const env of [scaled, natEgress]) {
      const s = synthAll(env);
      // The compute stack stays, without resources: deploying it retires a box (retired-box.ts).
      expect(Object.keys(s.stacks.compute.resource ?? {})).toEqual([]);
      for (const type of ["aws_instance", "aws_ebs_volume", "aws_volume_attachment", "aws_eip_association"])
        expect(resourcesOfType(s, type, { min: 0 })).toEqual([]);
      expect(resourcesOfType(s, "aws_eip", { min: 0 }).map(([stack, id]) => `${stack}/${id}`)).toEqual(
        env === natEgress ? ["network/nat_eip"] : [],
      );
      expect(regionalTopicOwners(s, env)).toEqual(["data"]);
      expect(s.manifest.stacks[`zmanim-${env.name}-app`].dependencies).toContain(`zmanim-${env.name}-data`);
    }
  });

  it("retiring the box (keepBox true to false) keeps the compute stack's state key, and it deploys before data and app", () => {
    const before = synthAll(keepBox);
    const after = synthAll({ ...keepBox, topology: { ...(keepBox.topology as ScaledTopology), keepBox: false } });
    // Same stack name and backend: the next deploy plans the destruction of the box it holds, instead of
    // leaving it running with nothing deploying its state.
    expect(after.stacks.compute.terraform.backend).toEqual(before.stacks.compute.terraform.backend);
    expect(after.stacks.compute.resource ?? {}).toEqual({});
    expect(after.stacks.compute.data ?? {}).toEqual({});
    for (const stack of ["app", "data"]) {
      expect(after.manifest.stacks[`zmanim-${keepBox.name}-${stack}`].dependencies).toContain(
        `zmanim-${keepBox.name}-compute`,
      );
    }
    expect(regionalTopicOwners(after, keepBox)).toEqual(["data"]);
  });

  it("scaled with keepBox: the box keeps its volume, Elastic IP and the alarm topic beside the fleet", () => {
    const s = synthAll(keepBox);
    expect(Object.keys(s.stacks.compute.resource?.aws_eip ?? {})).toEqual(["eip"]);
    expect(Object.keys(s.stacks.compute.resource?.aws_ebs_volume ?? {})).toEqual(["data_volume"]);
    expect(regionalTopicOwners(s, keepBox)).toEqual(["compute"]);
    for (const stack of ["app", "data"])
      expect(s.manifest.stacks[`zmanim-${keepBox.name}-${stack}`].dependencies).toContain(
        `zmanim-${keepBox.name}-compute`,
      );
  });

  it.each([
    ["prod", prod],
    ["staging", staging],
  ])("%s (single-box): no app stack, load balancer or Auto Scaling group", (_n, env) => {
    const s = synthAll(env);
    expect(s.stacks.app).toBeUndefined();
    for (const type of ["aws_lb", "aws_autoscaling_group", "aws_launch_template"])
      expect(resourcesOfType(s, type, { min: 0 })).toEqual([]);
    expect(Object.keys(s.stacks.api.resource?.aws_service_discovery_service ?? {})).toEqual(["api-service"]);
  });
});

describe("the fleet's instance role", () => {
  const statements = fleetPolicyStatements(scaled);
  const actions = statements.flatMap((st) => st.Action);

  it("reads its SSM parameters and releases, writes its metrics and logs, and nothing of the box's data", () => {
    expect(actions).toEqual(
      expect.arrayContaining([
        "ssm:GetParameter",
        "s3:GetObject",
        "cloudwatch:PutMetricData",
        "logs:PutLogEvents",
        "ssm:UpdateInstanceInformation",
      ]),
    );
    expect(actions.filter((a) => /^(ses|s3:PutObject|s3:DeleteObject|ec2:|iam:)/.test(a))).toEqual([
      "ec2:DescribeTags",
    ]);
    const resources = statements.flatMap((st) => (Array.isArray(st.Resource) ? st.Resource : [st.Resource]));
    expect(resources.filter((r) => r.includes("backups"))).toEqual([]);
    for (const st of statements.filter((x) => x.Resource === "*")) {
      expect([
        st.Sid,
        st.Condition !== undefined || st.Action.every((a) => /^(ssm|ssmmessages|ec2messages):/.test(a)),
      ]).toEqual([st.Sid, true]);
    }
  });

  it("lets the CloudWatch agent resolve its AutoScalingGroupName dimension: ec2:DescribeTags, in the region only", () => {
    expect(fleetCloudwatchAgentConfig(scaled)).toEqual(
      expect.objectContaining({
        metrics: expect.objectContaining({
          append_dimensions: { AutoScalingGroupName: "${aws:AutoScalingGroupName}" },
        }),
      }),
    );
    expect(statements.find((st) => st.Action.includes("ec2:DescribeTags"))).toEqual({
      Sid: "AgentDescribeOwnTags",
      Effect: "Allow",
      Action: ["ec2:DescribeTags"],
      Resource: "*",
      Condition: { StringEquals: { "aws:RequestedRegion": scaled.region } },
    });
    // The IAM sufficiency simulation asks for it on the fleet role's behalf.
    expect(fleetCalls(scaled).filter((c) => c.action === "ec2:DescribeTags")).toEqual([
      { script: "amazon-cloudwatch-agent", cli: "amazon-cloudwatch-agent", action: "ec2:DescribeTags", resource: "*" },
    ]);
  });
});

describe("Fleet construct guards", () => {
  const props: FleetProps = {
    name: "f",
    ami: "ami-1",
    instanceType: "t4g.small",
    vpcId: "vpc",
    subnetIds: ["a", "b"],
    instanceSecurityGroupIds: ["sg-app"],
    loadBalancerSecurityGroupIds: ["sg-alb"],
    instanceProfileName: "p",
    userData: "#!/bin/bash\n",
    targetPort: 8080,
    healthCheckPath: "/health",
    minSize: 2,
    maxSize: 4,
    targetCpuPercent: 60,
    listenerPort: 80,
  };
  const build = (patch: Partial<FleetProps>) =>
    new Fleet(new TerraformStack(Testing.app(), "t"), "fleet", { ...props, ...patch });

  it("refuses one subnet, a minimum below 2, a maximum below the minimum and a name the ALB would refuse", () => {
    expect(() => build({ subnetIds: ["a"] })).toThrow(/subnetIds = \["a"\]; give at least two subnets/);
    expect(() => build({ minSize: 1 })).toThrow(/minSize = 1; use at least 2/);
    expect(() => build({ maxSize: 1 })).toThrow(/maxSize = 1; use a whole number from 2 to 100, at least fleet.min/);
    expect(() => build({ name: "x".repeat(33) })).toThrow(/name = "x{33}"/);
    expect(() => build({ name: "internal-api" })).toThrow(/nor with internal-/);
  });

  it("base64-encodes the user data it is given, byte for byte", () => {
    const stack = new TerraformStack(Testing.app(), "t");
    new Fleet(stack, "fleet", { ...props, userData: "#!/bin/bash\necho ${x} %{y}\n" });
    const lt = Object.values(JSON.parse(Testing.synth(stack)).resource.aws_launch_template as Record<string, Body>)[0];
    expect(Buffer.from(String(lt.user_data), "base64").toString("utf8")).toBe("#!/bin/bash\necho ${x} %{y}\n");
  });
});

describe("the boot script's role parts", () => {
  const dir = join(__dirname, "..", "..", "scripts", "box", "user-data");
  const part = (f: string) => readFileSync(join(dir, f), "utf8");

  it("gives the box the shared part and the box part, the fleet the shared part and the api part", () => {
    const box = readUserDataScript(dir, "box");
    const api = readUserDataScript(dir, "api");
    expect(box).not.toContain(ROLE_MARKERS.api);
    expect(box).toContain(ROLE_MARKERS.box);
    expect(api).toContain(ROLE_MARKERS.api);
    expect(api).not.toContain(ROLE_MARKERS.box);
    const shared = part("common.sh");
    expect(box.startsWith(shared) && api.startsWith(shared)).toBe(true);
    expect(box).toBe(shared + part("box.sh"));
    expect(api).toBe(shared + part("api.sh"));
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith(".sh"))
        .sort(),
    ).toEqual(["api.sh", "box.sh", "common.sh"]);
  });

  it("refuses parts that would not assemble, naming the file and the fix", () => {
    expect(() => assembleUserData("#!/bin/bash\necho hi\n", "echo api\n", "api")).toThrow(
      'boot script: api.sh (the api role\'s part) must start with the line "# --- The api role:..."',
    );
    expect(() => assembleUserData("echo hi\n", "# --- The box role\n", "box")).toThrow(
      "boot script: common.sh must start with a #! line",
    );
    expect(() => assembleUserData("#!/bin/bash\necho hi", "# --- The box role\n", "box")).toThrow(
      "boot script: common.sh must end with a newline",
    );
  });

  it("stores the fleet's agent configuration with the agent's own placeholders escaped from Terraform", () => {
    const [param] = Object.values(synthAll(scaled).stacks.app.resource?.aws_ssm_parameter ?? {});
    expect(String(param.value)).toContain("$${aws:AutoScalingGroupName}");
    expect(JSON.parse(unescapeTerraformTemplate(String(param.value)))).toEqual(fleetCloudwatchAgentConfig(scaled));
  });
});
