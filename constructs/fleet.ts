import { Construct } from "constructs";
import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { AutoscalingPolicy } from "@cdktf/provider-aws/lib/autoscaling-policy";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { Problem, fleetSizeProblems } from "./config/limits";

/**
 * Root device of the AMI: Ubuntu's `/dev/sda1` (packer/zmanim-ami.pkr.hcl, `launch_block_device_mappings`). A
 * mapping under any other name would add a second, empty volume and leave the root volume unencrypted.
 */
export const AMI_ROOT_DEVICE = "/dev/sda1";

/** What the launch template tags at launch: the instance, its volumes and its network interface. */
export const FLEET_TAGGED_AT_LAUNCH = ["instance", "volume", "network-interface"] as const;

export interface FleetProps {
  /**
   * Name of the launch template, Auto Scaling group, load balancer and target group, e.g. `zmanim-prod-api`.
   * At most 32 characters (the load balancer and target group limit): letters, digits and hyphens.
   */
  readonly name: string;
  /** AMI id (e.g. an SSM parameter's `insecureValue`, so plans show it). A change triggers an instance refresh. */
  readonly ami: string;
  /** Graviton (arm64) instance type. */
  readonly instanceType: string;
  readonly vpcId: string;
  /** Subnets of the load balancer and the instances: at least two, in different availability zones. */
  readonly subnetIds: string[];
  /** Security groups of the instances (the application port from the load balancer's group only). */
  readonly instanceSecurityGroupIds: string[];
  /** Security groups of the load balancer (its listener port from the API Gateway VPC link only). */
  readonly loadBalancerSecurityGroupIds: string[];
  /**
   * A public IPv4 address on each instance (egress without a NAT gateway; inbound is still only what the
   * security groups admit). @default false
   */
  readonly associatePublicIpAddress?: boolean;
  /** Name of the instances' IAM instance profile. */
  readonly instanceProfileName: string;
  /** The instances' user data, plain text (it is base64-encoded here). A change triggers an instance refresh. */
  readonly userData: string;
  /** Port the application listens on, on each instance. */
  readonly targetPort: number;
  /** Path the target group probes; it must answer 200 without authentication. */
  readonly healthCheckPath: string;
  /** Auto Scaling bounds. `minSize` is at least 2, so both zones always hold an instance. */
  readonly minSize: number;
  readonly maxSize: number;
  /** Target average CPU utilisation of the group, percent. */
  readonly targetCpuPercent: number;
  /**
   * Port of the internal load balancer's HTTP listener. The load balancer is internal, and the only client is the
   * API Gateway VPC link, whose ENIs live in the same VPC: the hop never leaves the VPC, and TLS ends at
   * CloudFront and API Gateway before it.
   */
  readonly listenerPort: number;
  /** Size of the encrypted gp3 root volume in GiB. @default 10 */
  readonly rootVolumeGb?: number;
  /**
   * Seconds after launch before a failing ELB health check counts: the boot script reads SSM, starts the agent and
   * the API (which downloads its release first). @default 300
   */
  readonly healthCheckGracePeriodSeconds?: number;
  /**
   * Seconds the load balancer lets in-flight requests finish on a deregistering target. The API answers within
   * the integration timeout (29 s). @default 30 (the ALB default is 300, which only slows refreshes down)
   */
  readonly deregistrationDelaySeconds?: number;
  /**
   * Detailed (1-minute) EC2 monitoring: target tracking reacts within minutes instead of about ten, for about
   * $2.10 per instance-month. @default false
   */
  readonly detailedMonitoring?: boolean;
  /** Tags of every resource here besides `Name` (on top of the provider's default tags). @default none */
  readonly tags?: Record<string, string>;
  /**
   * Tags the provider's `default_tags` never reach: what the launch template tags at launch (instances, volumes,
   * network interfaces) and the Auto Scaling group's `tag` blocks. `default_tags` apply only to a resource's own
   * `tags` argument (terraform-provider-aws issue #19387), so pass the stack's default tags here, or the fleet's
   * instances carry no `Project` or `Environment` tag (which ssm-restart.sh and the release role select by).
   * @default none
   */
  readonly launchTags?: Record<string, string>;
}

/**
 * A fleet of identical, stateless instances behind an internal Application Load Balancer.
 *
 * - **Launch template**: IMDSv2 required (hop limit 1, so containers on the host cannot reach the instance's
 *   credentials), no instance metadata tags, an encrypted gp3 root volume, EBS-optimized, user data in base64.
 *   Every change writes a new version and the group follows it through `latest_version`: never `$Latest`, on
 *   which Terraform starts no instance refresh (aws_autoscaling_group, `instance_refresh`: "A refresh will not
 *   start when version = "$Latest" is configured in the launch_template block").
 * - **Auto Scaling group** across all given subnets, ELB health checks with a grace period, target tracking on
 *   average CPU, and launch-before-terminate replacement: `min_healthy_percentage = 100` with
 *   `max_healthy_percentage = 200`, for instance refreshes and for every other replacement
 *   (`instance_maintenance_policy`). `desired_capacity` is left to Auto Scaling, so a plan never fights target
 *   tracking.
 * - **Load balancer**: internal, invalid header fields dropped, an HTTP target group whose health check probes
 *   `healthCheckPath` every 15 s, and one HTTP listener that forwards to it.
 *
 * Construction fails on fewer than two subnets, a minimum below 2, a maximum below the minimum, or a name the
 * load balancer would refuse. Nothing here holds state: logical ids follow the construct path.
 */
export class Fleet extends Construct {
  readonly launchTemplate: LaunchTemplate;
  readonly group: AutoscalingGroup;
  readonly loadBalancer: Lb;
  readonly targetGroup: LbTargetGroup;
  readonly listener: LbListener;

  /**
   * The size rules of a fleet (constructs/config/limits.ts), named by this construct's props; the environment
   * validation applies the same rules to `topology.fleet`.
   */
  static sizeProblems(props: Pick<FleetProps, "minSize" | "maxSize" | "targetCpuPercent">): Problem[] {
    const names: Record<string, string> = { min: "minSize", max: "maxSize", targetCpuPercent: "targetCpuPercent" };
    return fleetSizeProblems({ min: props.minSize, max: props.maxSize, targetCpuPercent: props.targetCpuPercent }).map(
      (p) => ({
        ...p,
        field: names[p.field],
      }),
    );
  }

  constructor(scope: Construct, id: string, props: FleetProps) {
    super(scope, id);
    const fail = (field: string, value: unknown, fix: string) => {
      throw new Error(`Fleet ${id}: ${field} = ${JSON.stringify(value)}; ${fix}`);
    };
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(props.name) || props.name.startsWith("internal-")) {
      fail(
        "name",
        props.name,
        "use 1 to 32 letters, digits or hyphens, not starting or ending with a hyphen (nor with internal-)",
      );
    }
    if (props.subnetIds.length < 2)
      fail("subnetIds", props.subnetIds, "give at least two subnets in different availability zones");
    for (const p of Fleet.sizeProblems(props)) fail(p.field, p.value, p.fix);
    const deregistration = props.deregistrationDelaySeconds ?? 30;
    if (!Number.isInteger(deregistration) || deregistration < 0 || deregistration > 3600) {
      fail("deregistrationDelaySeconds", deregistration, "use a whole number of seconds from 0 to 3600");
    }
    const tags = { ...(props.tags ?? {}), Name: props.name };
    const launched = { ...(props.launchTags ?? {}), ...tags };

    this.launchTemplate = this.launchTemplateOf(props, tags, launched);

    this.loadBalancer = new Lb(this, "load-balancer", {
      name: props.name,
      internal: true,
      loadBalancerType: "application",
      subnets: props.subnetIds,
      securityGroups: props.loadBalancerSecurityGroupIds,
      dropInvalidHeaderFields: true,
      idleTimeout: 60,
      tags,
    });

    this.targetGroup = new LbTargetGroup(this, "target-group", {
      name: props.name,
      vpcId: props.vpcId,
      targetType: "instance",
      protocol: "HTTP",
      port: props.targetPort,
      deregistrationDelay: String(deregistration),
      healthCheck: {
        enabled: true,
        protocol: "HTTP",
        port: "traffic-port",
        path: props.healthCheckPath,
        matcher: "200",
        interval: 15,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
      tags,
    });

    this.listener = new LbListener(this, "listener", {
      loadBalancerArn: this.loadBalancer.arn,
      protocol: "HTTP",
      port: props.listenerPort,
      defaultAction: [{ type: "forward", targetGroupArn: this.targetGroup.arn }],
      tags,
    });

    const launchBeforeTerminate = { minHealthyPercentage: 100, maxHealthyPercentage: 200 };
    const grace = props.healthCheckGracePeriodSeconds ?? 300;
    this.group = new AutoscalingGroup(this, "group", {
      name: props.name,
      minSize: props.minSize,
      maxSize: props.maxSize,
      vpcZoneIdentifier: props.subnetIds,
      targetGroupArns: [this.targetGroup.arn],
      healthCheckType: "ELB",
      healthCheckGracePeriod: grace,
      defaultInstanceWarmup: grace,
      launchTemplate: { id: this.launchTemplate.id, version: `${this.launchTemplate.latestVersion}` },
      instanceMaintenancePolicy: launchBeforeTerminate,
      instanceRefresh: {
        strategy: "Rolling",
        preferences: {
          ...launchBeforeTerminate,
          instanceWarmup: String(grace),
          skipMatching: true,
          autoRollback: true,
        },
      },
      // Group metrics at 1-minute granularity are free.
      enabledMetrics: [
        "GroupMinSize",
        "GroupMaxSize",
        "GroupDesiredCapacity",
        "GroupInServiceInstances",
        "GroupTotalInstances",
      ],
      metricsGranularity: "1Minute",
      // The group's own tags. Not propagated: the launch template tags the instances (and, unlike propagation,
      // their volumes and interfaces too), so one source of instance tags.
      tag: Object.entries(launched).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
      // While Terraform waits for capacity, a failed scaling activity (e.g. the new instance profile not yet
      // visible to EC2, which is eventually consistent) would otherwise fail the apply and taint the group;
      // Auto Scaling retries the launch by itself. aws_autoscaling_group, `ignore_failed_scaling_activities`
      // (provider 5.100.0 docs; added in terraform-provider-aws PR #32914).
      ignoreFailedScalingActivities: true,
    });

    new AutoscalingPolicy(this, "cpu-target-tracking", {
      name: `${props.name}-cpu`,
      autoscalingGroupName: this.group.name,
      policyType: "TargetTrackingScaling",
      targetTrackingConfiguration: {
        predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" },
        targetValue: props.targetCpuPercent,
      },
    });
  }
  /** IMDSv2 only, an encrypted gp3 root, the public IPv4 choice spelled out, and every launch tagged. */
  private launchTemplateOf(
    props: FleetProps,
    tags: Record<string, string>,
    launched: Record<string, string>,
  ): LaunchTemplate {
    return new LaunchTemplate(this, "launch-template", {
      name: props.name,
      description: `${props.name}: API-only instances`,
      imageId: props.ami,
      instanceType: props.instanceType,
      iamInstanceProfile: { name: props.instanceProfileName },
      // The interface spelled out, so the plan (and the cost model) shows whether instances get a public IPv4.
      networkInterfaces: [
        {
          deviceIndex: 0,
          associatePublicIpAddress: String(props.associatePublicIpAddress ?? false),
          securityGroups: props.instanceSecurityGroupIds,
          deleteOnTermination: "true",
        },
      ],
      ebsOptimized: "true",
      monitoring: { enabled: props.detailedMonitoring ?? false },
      metadataOptions: {
        httpEndpoint: "enabled",
        httpTokens: "required",
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: "disabled",
      },
      blockDeviceMappings: [
        {
          deviceName: AMI_ROOT_DEVICE,
          ebs: {
            volumeType: "gp3",
            volumeSize: props.rootVolumeGb ?? 10,
            encrypted: "true",
            deleteOnTermination: "true",
          },
        },
      ],
      userData: Buffer.from(props.userData, "utf8").toString("base64"),
      updateDefaultVersion: true,
      // Instances, their root volumes and network interfaces are tagged at launch (RunInstances TagSpecifications).
      tagSpecifications: FLEET_TAGGED_AT_LAUNCH.map((resourceType) => ({ resourceType, tags: launched })),
      tags,
    });
  }
}
