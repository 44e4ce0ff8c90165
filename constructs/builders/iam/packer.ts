/**
 * What a Packer amazon-ebs build of packer/zmanim-ami.pkr.hcl asks of EC2, as simulated requests, with the
 * tags each resource carries at the time of the call (the deploy role denies destructive EC2 calls on
 * anything not tagged Project=zmanim, so the tags decide).
 *
 * The action list is the plugin's documented minimal policy ("IAM Task or Instance Role" in the Amazon plugin
 * docs, docs/README.md of github.com/hashicorp/packer-plugin-amazon), narrowed to the calls this template's
 * settings make, in the order of the amazon-ebs builder's steps (builder/ebs/builder.go):
 * - the source AMI lookup, the temporary key pair and security group (tagged with run_tags), RunInstances
 *   (run_tags on the instance, its volumes and network interface);
 * - StopInstances, ModifyInstanceAttribute (ena_support), CreateImage. With `encrypt_boot = true` the image
 *   is an intermediary one under a random name (builder/ebs/step_create_ami.go) that CopyImage copies
 *   encrypted; CreateImage tags it and its snapshots with run_tags (TagSpecifications for image and
 *   snapshot, since plugin v1.0.2, unless skip_ami_run_tags);
 * - CreateTags: `tags` on the final AMI, `snapshot_tags` on its snapshots (StepCreateTags);
 * - cleanup: the intermediary image deregistered and its snapshots deleted (StepAMIRegionCopy.Cleanup ->
 *   DestroyAMIs), the instance terminated, the security group and key pair deleted.
 */
import { readFileSync } from "fs";
import { EnvironmentConfig } from "../../config/environments";
import { ArnTarget, arnsOf } from "./arns";
import { SimRequest, baseContext } from "./requests";

/** The settings of the template's amazon-ebs source that decide which calls Packer makes and their tags. */
export interface PackerSource {
  encryptBoot: boolean;
  skipAmiRunTags: boolean;
  tags: Record<string, string>;
  snapshotTags: Record<string, string>;
  runTags: Record<string, string>;
}

/** `name = {` ... `}` (one `k = v` a line) inside the HCL text; values as written, quotes stripped. */
function mapAttribute(block: string, name: string): Record<string, string> {
  const lines = block.split("\n");
  const start = lines.findIndex((l) => new RegExp(`^\\s*${name}\\s*=\\s*\\{\\s*$`).test(l));
  const out: Record<string, string> = {};
  if (start < 0) return out;
  for (const line of lines.slice(start + 1)) {
    if (/^\s*\}\s*$/.test(line)) break;
    const kv = /^\s*([A-Za-z0-9_]+)\s*=\s*(.+?)\s*$/.exec(line);
    if (kv) out[kv[1]] = kv[2].replace(/^"(.*)"$/, "$1");
  }
  return out;
}

const boolAttribute = (block: string, name: string) => new RegExp(`^\\s*${name}\\s*=\\s*true\\s*$`, "m").test(block);

/** Reads the one `source "amazon-ebs"` block of a Packer HCL template. */
export function parsePackerSource(text: string): PackerSource {
  const start = text.search(/^source\s+"amazon-ebs"/m);
  if (start < 0) throw new Error('no source "amazon-ebs" block in the Packer template');
  const rest = text.slice(start);
  const end = rest.search(/^\}/m);
  const block = rest.slice(0, end);
  return {
    encryptBoot: boolAttribute(block, "encrypt_boot"),
    skipAmiRunTags: boolAttribute(block, "skip_ami_run_tags"),
    tags: mapAttribute(block, "tags"),
    snapshotTags: mapAttribute(block, "snapshot_tags"),
    runTags: mapAttribute(block, "run_tags"),
  };
}

export const readPackerSource = (path: string) => parsePackerSource(readFileSync(path, "utf8"));

/** Ids of what Packer creates (their real values exist only during the build). */
const IDS = {
  sourceImage: "ami-0aaaaaaaaaaaaaaa0",
  intermediaryImage: "ami-0bbbbbbbbbbbbbbb0",
  intermediarySnapshot: "snap-0bbbbbbbbbbbbbbb0",
  image: "ami-0ccccccccccccccc0",
  snapshot: "snap-0ccccccccccccccc0",
  instance: "i-0ddddddddddddddd0",
  volume: "vol-0ddddddddddddddd0",
  eni: "eni-0ddddddddddddddd0",
  securityGroup: "sg-0ddddddddddddddd0",
  keyPair: "packer_6743a1b2-0000-4000-8000-000000000000",
  subnet: "subnet-0123456789abcdef0",
  vpc: "vpc-0123456789abcdef0",
};

/** The requests of one build in `env`'s region; `why` names the Packer step. */
export async function packerBuildRequests(src: PackerSource, env: EnvironmentConfig): Promise<SimRequest[]> {
  return packerBuildRequestsSync(src, env);
}

export function packerBuildRequestsSync(src: PackerSource, env: EnvironmentConfig): SimRequest[] {
  const out: SimRequest[] = [];
  const vars = {
    InstanceId: IDS.instance,
    VolumeId: IDS.volume,
    NetworkInterfaceId: IDS.eni,
    SecurityGroupId: IDS.securityGroup,
    KeyPairName: IDS.keyPair,
    SubnetId: IDS.subnet,
    VpcId: IDS.vpc,
    SnapshotId: IDS.snapshot,
    ImageId: IDS.image,
  };
  const requestTags = (tags: Record<string, string>) => {
    const ctx: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(tags)) ctx[`aws:RequestTag/${k}`] = v;
    if (Object.keys(tags).length) ctx["aws:TagKeys"] = Object.keys(tags);
    return ctx;
  };
  /** `action` on the resource types it requires (and `primary`); `tags` are the target's current tags. */
  const add = (
    why: string,
    action: string,
    opts: {
      primary?: string;
      ids?: Partial<typeof vars>;
      tags?: Record<string, string>;
      request?: Record<string, string>;
    } = {},
  ) => {
    // Every id is one AWS assigns during the build: a policy can name none of them.
    const target: ArnTarget = {
      region: env.region,
      account: env.accountId,
      primary: opts.primary,
      vars: {},
      generated: { ...vars, ...opts.ids },
    };
    for (const { resource, format } of arnsOf(action, target)) {
      out.push({
        action,
        resource,
        context: { ...baseContext("ec2", env.region, opts.tags ?? {}), ...requestTags(opts.request ?? {}) },
        why: `packer: ${why}`,
        format,
        target,
      });
    }
  };
  const run = src.runTags;
  const imageTags = src.skipAmiRunTags ? {} : run;

  for (const a of ["ec2:DescribeRegions", "ec2:DescribeImages", "ec2:DescribeVpcs", "ec2:DescribeSubnets"])
    add("source AMI and network lookup", a);
  add("temporary key pair", "ec2:CreateKeyPair", { primary: "ec2:key-pair", request: run });
  add("temporary security group", "ec2:CreateSecurityGroup", { primary: "ec2:security-group", request: run });
  add("temporary security group", "ec2:AuthorizeSecurityGroupIngress", { primary: "ec2:security-group", tags: run });
  add("temporary security group", "ec2:DescribeSecurityGroups");
  add("build instance", "ec2:RunInstances", { ids: { ImageId: IDS.sourceImage }, request: run });
  add("build instance", "ec2:CreateTags", { primary: "ec2:instance", request: run });
  for (const a of ["ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ec2:DescribeVolumes", "ec2:DescribeTags"])
    add("build instance", a);
  add("stop the instance", "ec2:StopInstances", { primary: "ec2:instance", tags: run });
  add("ena_support", "ec2:ModifyInstanceAttribute", { primary: "ec2:instance", tags: run });

  const created = src.encryptBoot
    ? { ImageId: IDS.intermediaryImage, SnapshotId: IDS.intermediarySnapshot }
    : { ImageId: IDS.image, SnapshotId: IDS.snapshot };
  add("create the image", "ec2:CreateImage", { primary: "ec2:image", ids: created, request: imageTags });
  for (const a of ["ec2:DescribeImages", "ec2:DescribeSnapshots", "ec2:DescribeImageAttribute"])
    add("create the image", a);
  if (src.encryptBoot) {
    add("encrypt_boot: encrypted copy of the intermediary image", "ec2:CopyImage", {
      primary: "ec2:image",
      ids: { ImageId: IDS.intermediaryImage },
      tags: imageTags,
    });
    add("encrypt_boot: encrypted copy of the intermediary image", "ec2:CopyImage", {
      primary: "ec2:image",
      ids: { ImageId: IDS.image },
    });
  }
  add("tags on the AMI", "ec2:CreateTags", { primary: "ec2:image", ids: { ImageId: IDS.image }, request: src.tags });
  add("snapshot_tags on its snapshots", "ec2:CreateTags", {
    primary: "ec2:snapshot",
    ids: { SnapshotId: IDS.snapshot },
    request: src.snapshotTags,
  });

  if (src.encryptBoot) {
    add("encrypt_boot cleanup: deregister the intermediary image", "ec2:DeregisterImage", {
      primary: "ec2:image",
      ids: { ImageId: IDS.intermediaryImage },
      tags: imageTags,
    });
    add("encrypt_boot cleanup: delete the intermediary snapshot", "ec2:DeleteSnapshot", {
      primary: "ec2:snapshot",
      ids: { SnapshotId: IDS.intermediarySnapshot },
      tags: imageTags,
    });
  }
  add("cleanup: terminate the build instance", "ec2:TerminateInstances", { primary: "ec2:instance", tags: run });
  add("cleanup: temporary security group", "ec2:DeleteSecurityGroup", { primary: "ec2:security-group", tags: run });
  add("cleanup: temporary key pair", "ec2:DeleteKeyPair", { primary: "ec2:key-pair", tags: run });
  return out;
}
