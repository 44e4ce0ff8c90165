import { Construct } from "constructs";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { VolumeAttachment } from "@cdktf/provider-aws/lib/volume-attachment";

export interface PersistentVolumeProps {
  /**
   * Terraform logical id of the `aws_ebs_volume`. It is the volume's address in state: changing it means
   * destroy-and-recreate, which `prevent_destroy` then refuses. The attachment gets `<logicalId>_attachment`.
   */
  readonly logicalId: string;
  /** Must be the availability zone of the instance's subnet; EBS volumes cannot cross zones. */
  readonly availabilityZone: string;
  /** Size in GiB. Growing is an online change; shrinking is impossible. */
  readonly sizeGb: number;
  /**
   * Device name requested at attach time. On Nitro instances the OS sees an NVMe device whose serial is the
   * volume id, so the boot script finds the volume by id, never by this name.
   * @default "/dev/sdf"
   */
  readonly deviceName?: string;
  /** gp3 throughput in MiB/s. @default 125 (the gp3 baseline, no extra cost) */
  readonly throughputMibps?: number;
  /** gp3 IOPS. @default 3000 (the gp3 baseline, no extra cost) */
  readonly iops?: number;
  /** Tags of the volume (merged with the provider's default tags). */
  readonly tags?: Record<string, string>;
}

/**
 * An encrypted gp3 EBS volume that outlives every instance it is attached to.
 *
 * - `prevent_destroy` on the volume and a pinned logical id: no plan can delete it, and no refactor can
 *   rename it into destroy-and-recreate.
 * - `final_snapshot`: should the volume ever be deleted on purpose (after lifting prevent_destroy), AWS takes
 *   a snapshot first.
 * - The volume references nothing of the instance. Only the `aws_volume_attachment` does, so replacing the
 *   instance replaces the attachment and nothing else.
 * - `stop_instance_before_detaching`: on replacement Terraform stops the old instance (PostgreSQL and Redis
 *   shut down cleanly through systemd) before it detaches the volume.
 */
export class PersistentVolume extends Construct {
  readonly volume: EbsVolume;
  private readonly logicalId: string;
  private readonly deviceName: string;
  private attachmentResource?: VolumeAttachment;

  constructor(scope: Construct, id: string, props: PersistentVolumeProps) {
    super(scope, id);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(props.logicalId)) {
      throw new Error(
        `PersistentVolume ${id}: logicalId = ${JSON.stringify(props.logicalId)}; use letters, digits and underscores, starting with a letter`,
      );
    }
    if (!Number.isInteger(props.sizeGb) || props.sizeGb < 1 || props.sizeGb > 16384) {
      throw new Error(
        `PersistentVolume ${id}: sizeGb = ${JSON.stringify(props.sizeGb)}; use a whole number of GiB between 1 and 16384`,
      );
    }
    const deviceName = props.deviceName ?? "/dev/sdf";
    if (!/^\/dev\/(sd[f-p]|xvd[f-p])$/.test(deviceName)) {
      throw new Error(
        `PersistentVolume ${id}: deviceName = ${JSON.stringify(deviceName)}; use one of /dev/sdf ... /dev/sdp`,
      );
    }

    this.volume = new EbsVolume(this, "volume", {
      availabilityZone: props.availabilityZone,
      size: props.sizeGb,
      type: "gp3",
      iops: props.iops ?? 3000,
      throughput: props.throughputMibps ?? 125,
      encrypted: true,
      finalSnapshot: true,
      tags: props.tags,
      lifecycle: { preventDestroy: true },
    });
    this.volume.overrideLogicalId(props.logicalId);
    this.logicalId = props.logicalId;
    this.deviceName = deviceName;
    this.node.addValidation({
      validate: () =>
        this.attachmentResource ? [] : [`PersistentVolume ${id}: attachTo(instanceId) was never called`],
    });
  }

  /**
   * Attaches the volume to an instance. Call it once, after the instance exists (the instance's boot script
   * may name the volume id, so the volume comes first). The attachment is the only resource that references
   * the instance.
   */
  attachTo(instanceId: string): VolumeAttachment {
    if (this.attachmentResource)
      throw new Error(`PersistentVolume ${this.node.id}: already attached; a volume attaches to one instance`);
    this.attachmentResource = new VolumeAttachment(this, "attachment", {
      deviceName: this.deviceName,
      volumeId: this.volume.id,
      instanceId,
      stopInstanceBeforeDetaching: true,
    });
    this.attachmentResource.overrideLogicalId(`${this.logicalId}_attachment`);
    return this.attachmentResource;
  }

  get attachment(): VolumeAttachment | undefined {
    return this.attachmentResource;
  }
}
