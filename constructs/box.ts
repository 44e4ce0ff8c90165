import { Construct } from "constructs";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { EipAssociation } from "@cdktf/provider-aws/lib/eip-association";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { PersistentVolume } from "./persistent-volume";

export interface BoxProps {
  /** `Name` tag of the instance and the Elastic IP; the data volume is tagged `<name>-data`. */
  readonly name: string;
  /** AMI id (e.g. an SSM parameter's `insecureValue`, so plans show it). */
  readonly ami: string;
  /** Graviton (arm64) instance type. */
  readonly instanceType: string;
  readonly subnetId: string;
  /** The subnet's availability zone; the data volume is created in it too. */
  readonly availabilityZone: string;
  /**
   * Fixed private address inside the subnet. It survives replacement, so anything that names the box by
   * address (a Cloud Map instance) needs no update. @default none (DHCP)
   */
  readonly privateIp?: string;
  readonly securityGroupIds: string[];
  /** Name of the IAM instance profile. */
  readonly instanceProfileName: string;
  /** Size of the disposable, encrypted gp3 root volume in GiB. */
  readonly rootVolumeGb: number;
  /** Size of the persistent `/data` volume in GiB. */
  readonly dataVolumeGb: number;
  /**
   * The instance's user data, given the data volume's id (a Terraform reference): the boot script finds the
   * volume by id (D5). A change replaces the instance (`user_data_replace_on_change`).
   */
  readonly userData: (dataVolumeId: string) => string;
  /**
   * Detailed (1-minute) EC2 monitoring. @default false: basic 5-minute metrics; status checks are per minute
   * regardless.
   */
  readonly detailedMonitoring?: boolean;
}

/**
 * One always-on instance whose state lives beside it (D4): a `/data` `PersistentVolume` and an Elastic IP, both
 * with `prevent_destroy` and pinned logical ids, connected to the instance only through their attachment and
 * association. Replacing the instance (new AMI, user data or type) touches nothing else.
 *
 * Safe defaults: IMDSv2 required with hop limit 1, instance metadata tags off, an encrypted gp3 root volume,
 * EBS-optimized. Logical ids are an external contract: `instance`, `eip`, `eip_association`, `data_volume`
 * and `data_volume_attachment`, so there is one box per stack.
 */
export class Box extends Construct {
  readonly instance: Instance;
  readonly eip: Eip;
  readonly dataVolume: PersistentVolume;

  constructor(scope: Construct, id: string, props: BoxProps) {
    super(scope, id);
    this.eip = new Eip(this, "eip", {
      domain: "vpc",
      tags: { Name: props.name },
      lifecycle: { preventDestroy: true },
    });
    this.eip.overrideLogicalId("eip");

    // The volume comes first: the boot script names its volume id. It attaches after the instance exists.
    this.dataVolume = new PersistentVolume(this, "data-volume", {
      logicalId: "data_volume",
      availabilityZone: props.availabilityZone,
      sizeGb: props.dataVolumeGb,
      tags: { Name: `${props.name}-data` },
    });

    this.instance = new Instance(this, "instance", {
      ami: props.ami,
      instanceType: props.instanceType,
      subnetId: props.subnetId,
      availabilityZone: props.availabilityZone,
      privateIp: props.privateIp,
      vpcSecurityGroupIds: props.securityGroupIds,
      iamInstanceProfile: props.instanceProfileName,
      ebsOptimized: true,
      monitoring: props.detailedMonitoring ?? false,
      metadataOptions: {
        httpEndpoint: "enabled",
        httpTokens: "required",
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: "disabled",
      },
      rootBlockDevice: {
        volumeType: "gp3",
        volumeSize: props.rootVolumeGb,
        encrypted: true,
        deleteOnTermination: true,
      },
      userData: props.userData(this.dataVolume.volume.id),
      userDataReplaceOnChange: true,
      tags: { Name: props.name },
    });
    this.instance.overrideLogicalId("instance");
    this.dataVolume.attachTo(this.instance.id);

    new EipAssociation(this, "eip-association", {
      allocationId: this.eip.allocationId,
      instanceId: this.instance.id,
    }).overrideLogicalId("eip_association");
  }
}
