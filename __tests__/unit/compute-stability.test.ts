/**
 * Replacing the instance must leave the stateful resources alone. Synthesize twice, changing the instance type
 * and the user data: the data volume and the Elastic IP keep their logical ids and identical blocks, their
 * attachment/association keep their ids and differ in nothing but the instance they point at, and no
 * stateful resource references the instance at all.
 * Also: the PersistentVolume construct's own guards, and fleet-wide policies on every instance, volume,
 * Elastic IP and alarm in every stack.
 */
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App } from "cdktf/lib/app";
import { Testing } from "cdktf/lib/testing";
import { TerraformStack } from "cdktf/lib/terraform-stack";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { PersistentVolume } from "../../constructs/persistent-volume";
import { ComputeStack } from "../../stacks/compute";
import { EnvironmentConfig, environments, prod, topologyOf } from "../../constructs/config/environments";
import { NetworkStack } from "../../stacks/network";
import { SecretsStack } from "../../stacks/secrets";
import { StorageStack } from "../../stacks/storage";
import { readUserDataScript } from "../../constructs/builders/user-data";
import { allResources, resourcesOfType, synthAll, TfJson } from "../helpers/synth";

type Body = Record<string, unknown>;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function synthCompute(env: EnvironmentConfig, userDataScript: string): TfJson {
  const outdir = mkdtempSync(join(tmpdir(), "zmanim-stability-"));
  dirs.push(outdir);
  const app = new App({ outdir });
  const network = new NetworkStack(app, { env });
  const storage = new StorageStack(app, { env, network });
  const secrets = new SecretsStack(app, { env });
  new ComputeStack(app, { env, network, storage, secrets, userDataScript });
  app.synth();
  return JSON.parse(readFileSync(join(outdir, "stacks", `zmanim-${env.name}-compute`, "cdk.tf.json"), "utf8"));
}

/** A body without cdktf's metadata comment, which carries the construct path. */
const strip = (b: Body | undefined) => {
  if (!b) return b;
  const { ["//"]: _meta, ...rest } = b;
  return rest;
};

/** Every resource whose block mentions `needle` anywhere, as "type.id". */
function referrers(json: TfJson, needle: string): string[] {
  const out: string[] = [];
  for (const [type, byId] of Object.entries(json.resource ?? {})) {
    for (const [id, body] of Object.entries(byId))
      if (JSON.stringify(strip(body)).includes(needle)) out.push(`${type}.${id}`);
  }
  return out.sort();
}

describe("replacing the instance leaves the volume and the Elastic IP alone", () => {
  const script = readUserDataScript();
  let before: TfJson;
  let after: TfJson;
  beforeAll(() => {
    before = synthCompute(prod, script);
    after = synthCompute(
      { ...prod, instanceType: "m7g.large" },
      script.replace("set -euo pipefail\n", "set -euo pipefail\n# a change to the boot script\n"),
    );
  });

  it("the instance itself changes (so this test compares a real replacement)", () => {
    const a = before.resource?.aws_instance?.instance;
    const b = after.resource?.aws_instance?.instance;
    expect([a?.instance_type, b?.instance_type]).toEqual(["m7g.medium", "m7g.large"]);
    expect(a?.user_data).not.toBe(b?.user_data);
    expect(b?.user_data_replace_on_change).toBe(true);
  });

  it("the volume and the Elastic IP keep their logical ids and identical blocks", () => {
    for (const [type, id] of [
      ["aws_ebs_volume", "data_volume"],
      ["aws_eip", "eip"],
    ]) {
      expect(Object.keys(before.resource?.[type] ?? {})).toEqual([id]);
      expect(Object.keys(after.resource?.[type] ?? {})).toEqual([id]);
      expect(strip(after.resource?.[type]?.[id])).toEqual(strip(before.resource?.[type]?.[id]));
    }
  });

  it("the attachment and the association keep their ids and differ in nothing but the instance reference", () => {
    for (const [type, id] of [
      ["aws_volume_attachment", "data_volume_attachment"],
      ["aws_eip_association", "eip_association"],
    ]) {
      expect(Object.keys(after.resource?.[type] ?? {})).toEqual([id]);
      const a = { ...strip(before.resource?.[type]?.[id]), instance_id: "X" };
      const b = { ...strip(after.resource?.[type]?.[id]), instance_id: "X" };
      expect(b).toEqual(a);
      expect(after.resource?.[type]?.[id]?.instance_id).toBe("${aws_instance.instance.id}");
    }
  });

  it("only the attachment, the association and the alarms reference the instance; nothing stateful does", () => {
    const allowed = new Set(["aws_volume_attachment", "aws_eip_association", "aws_cloudwatch_metric_alarm"]);
    for (const json of [before, after]) {
      const refs = referrers(json, "aws_instance.");
      expect(refs.filter((r) => !allowed.has(r.split(".")[0]))).toEqual([]);
      expect(refs).toEqual(
        expect.arrayContaining(["aws_volume_attachment.data_volume_attachment", "aws_eip_association.eip_association"]),
      );
      // The volume is referenced by the instance's user data (it comes first), never the other way round.
      expect(JSON.stringify(strip(json.resource?.aws_ebs_volume?.data_volume))).not.toMatch(/aws_instance|user_data/);
    }
  });

  it("the instance itself is never create_before_destroy (two instances cannot hold one volume)", () => {
    expect(after.resource?.aws_instance?.instance?.lifecycle).toBeUndefined();
  });
});

describe.each(Object.entries(environments))("fleet policies (%s)", (_n, env) => {
  // The box runs in single-box, and in scaled while keepBox holds; a retired box leaves none of its resources.
  const t = topologyOf(env);
  const boxes = t.kind === "single-box" || t.keepBox ? 1 : 0;

  it("every EBS volume is encrypted, and every persistent one is protected from destroy", () => {
    const s = synthAll(env);
    const vols = resourcesOfType(s, "aws_ebs_volume", { min: boxes });
    expect(vols.length).toBeGreaterThanOrEqual(boxes);
    for (const [, id, v] of vols) {
      expect([id, v.encrypted, (v.lifecycle as Body | undefined)?.prevent_destroy]).toEqual([id, true, true]);
    }
  });

  it("every instance: IMDSv2 with hop limit 1, encrypted root, no inline data volume, no create_before_destroy", () => {
    const s = synthAll(env);
    const insts = resourcesOfType(s, "aws_instance", { min: boxes });
    expect(insts.length).toBe(boxes);
    for (const [, id, i] of insts) {
      const md = i.metadata_options as Body;
      expect([id, md.http_tokens, md.http_put_response_hop_limit]).toEqual([id, "required", 1]);
      expect([id, (i.root_block_device as Body).encrypted]).toEqual([id, true]);
      expect([id, i.ebs_block_device]).toEqual([id, undefined]);
      expect([id, (i.lifecycle as Body | undefined)?.create_before_destroy ?? false]).toEqual([id, false]);
    }
  });

  it("every Elastic IP is protected from destroy", () => {
    const s = synthAll(env);
    // The NAT gateway's address (scaled, egress nat-gateway) holds nothing anyone depends on by value.
    const eips = resourcesOfType(s, "aws_eip", { min: boxes }).filter(([, id]) => id !== "nat_eip");
    expect(eips.length).toBe(boxes);
    for (const [, id, e] of eips) expect([id, (e.lifecycle as Body | undefined)?.prevent_destroy]).toEqual([id, true]);
  });

  it("every metric alarm has an alarm action", () => {
    const s = synthAll(env);
    const alarms = resourcesOfType(s, "aws_cloudwatch_metric_alarm");
    expect(alarms.length).toBeGreaterThanOrEqual(7);
    for (const [, id, a] of alarms)
      expect([id, ((a.alarm_actions as string[] | undefined) ?? []).length > 0]).toEqual([id, true]);
  });

  it("every volume attachment stops the instance before detaching", () => {
    const s = synthAll(env);
    for (const [, id, a] of resourcesOfType(s, "aws_volume_attachment", { min: boxes }))
      expect([id, a.stop_instance_before_detaching]).toEqual([id, true]);
    expect(allResources(s).some(([, type]) => type === "aws_volume_attachment")).toBe(boxes > 0);
  });
});

describe("PersistentVolume construct", () => {
  const stack = () => {
    const app = Testing.app();
    const st = new TerraformStack(app, "t");
    new AwsProvider(st, "aws", { region: "eu-west-1" });
    return st;
  };

  it("refuses a bad logical id, size or device name, naming the value and the fix", () => {
    expect(
      () =>
        new PersistentVolume(stack(), "v", { logicalId: "data-volume", availabilityZone: "eu-west-1a", sizeGb: 20 }),
    ).toThrow(/logicalId = "data-volume"; use letters, digits and underscores/);
    expect(
      () => new PersistentVolume(stack(), "v", { logicalId: "data", availabilityZone: "eu-west-1a", sizeGb: 0.5 }),
    ).toThrow(/sizeGb = 0.5; use a whole number of GiB/);
    expect(
      () =>
        new PersistentVolume(stack(), "v", {
          logicalId: "data",
          availabilityZone: "eu-west-1a",
          sizeGb: 20,
          deviceName: "/dev/sda1",
        }),
    ).toThrow(/deviceName = "\/dev\/sda1"; use one of \/dev\/sdf/);
  });

  it("attaches exactly once, and synthesis fails when it was never attached", () => {
    const st = stack();
    const v = new PersistentVolume(st, "v", { logicalId: "data", availabilityZone: "eu-west-1a", sizeGb: 20 });
    expect(() => Testing.synth(st, true)).toThrow(/attachTo\(instanceId\) was never called/);
    v.attachTo("i-123");
    expect(() => v.attachTo("i-456")).toThrow(/already attached/);
    const json = JSON.parse(Testing.synth(st, true));
    expect(json.resource.aws_volume_attachment.data_attachment).toEqual(
      expect.objectContaining({
        instance_id: "i-123",
        volume_id: "${aws_ebs_volume.data.id}",
        stop_instance_before_detaching: true,
        device_name: "/dev/sdf",
      }),
    );
  });
});
