import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { App } from "cdktf/lib/app";
import { TerraformStack } from "cdktf/lib/terraform-stack";
import { Fn } from "cdktf/lib/terraform-functions";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { VolumeAttachment } from "@cdktf/provider-aws/lib/volume-attachment";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { buildGraph, interpolations, referencesIn } from "../../scripts/tools/diagram/graph";
import { readmeBlock, renderDot, renderMermaid } from "../../scripts/tools/diagram/render";
import { main } from "../../scripts/tools/diagram/cli";
import { loadStacks, stacksOfEnvironment } from "../../scripts/tools/cost/tfjson";
import { synthAll } from "../helpers/synth";

/**
 * The fixture app: two stacks, references within each, a reference nested inside jsonencode, an explicit
 * depends_on, and two cross-stack references (subnet id, security group id) that cdktf wires through remote
 * state. The expected edges below are written by hand from the constructs, not derived by the code under test.
 */
let outdir: string;
const base = mkdtempSync(join(tmpdir(), "zmanim-diagram-"));

beforeAll(() => {
  const app = new App({ outdir: join(base, "cdktf.out") });
  const net = new TerraformStack(app, "zmanim-prod-net");
  new AwsProvider(net, "aws", { region: "eu-west-1" });
  const vpc = new Vpc(net, "vpc", { cidrBlock: "10.0.0.0/16" });
  const subnet = new Subnet(net, "subnet", { vpcId: vpc.id, cidrBlock: "10.0.0.0/24" });
  const sg = new SecurityGroup(net, "sg", { vpcId: vpc.id, name: "box" });
  const bucket = new S3Bucket(net, "bucket", { bucket: "fixture-bucket" });
  new S3BucketVersioningA(net, "versioning", {
    bucket: bucket.id,
    versioningConfiguration: { status: "Enabled" },
    dependsOn: [sg],
  });

  const box = new TerraformStack(app, "zmanim-prod-box");
  new AwsProvider(box, "aws", { region: "eu-west-1" });
  const role = new IamRole(box, "role", { name: "box", assumeRolePolicy: "{}" });
  const volume = new EbsVolume(box, "volume", { availabilityZone: "eu-west-1a", size: 20 });
  // The volume is referenced only inside jsonencode, nested in a template string.
  new IamRolePolicy(box, "policy", {
    role: role.id,
    policy: Fn.jsonencode({
      Statement: [{ Effect: "Allow", Action: "ec2:AttachVolume", Resource: [`${volume.arn}/nested`] }],
    }),
  });
  const instance = new Instance(box, "instance", {
    ami: "ami-0123456789abcdef0",
    instanceType: "m7g.medium",
    subnetId: subnet.id,
    vpcSecurityGroupIds: [sg.id],
  });
  new VolumeAttachment(box, "attach", { deviceName: "/dev/sdf", instanceId: instance.id, volumeId: volume.id });
  app.synth();
  outdir = join(base, "cdktf.out");
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

const EXPECTED_RESOURCES = [
  "zmanim-prod-net|aws_vpc.vpc",
  "zmanim-prod-net|aws_subnet.subnet",
  "zmanim-prod-net|aws_security_group.sg",
  "zmanim-prod-net|aws_s3_bucket.bucket",
  "zmanim-prod-net|aws_s3_bucket_versioning.versioning",
  "zmanim-prod-box|aws_iam_role.role",
  "zmanim-prod-box|aws_iam_role_policy.policy",
  "zmanim-prod-box|aws_instance.instance",
  "zmanim-prod-box|aws_ebs_volume.volume",
  "zmanim-prod-box|aws_volume_attachment.attach",
];

const EXPECTED_EDGES: Array<[string, string, string]> = [
  ["zmanim-prod-net|aws_subnet.subnet", "zmanim-prod-net|aws_vpc.vpc", "ref"],
  ["zmanim-prod-net|aws_security_group.sg", "zmanim-prod-net|aws_vpc.vpc", "ref"],
  ["zmanim-prod-net|aws_s3_bucket_versioning.versioning", "zmanim-prod-net|aws_s3_bucket.bucket", "ref"],
  ["zmanim-prod-net|aws_s3_bucket_versioning.versioning", "zmanim-prod-net|aws_security_group.sg", "depends_on"],
  ["zmanim-prod-box|aws_iam_role_policy.policy", "zmanim-prod-box|aws_iam_role.role", "ref"],
  ["zmanim-prod-box|aws_iam_role_policy.policy", "zmanim-prod-box|aws_ebs_volume.volume", "ref"],
  ["zmanim-prod-box|aws_volume_attachment.attach", "zmanim-prod-box|aws_instance.instance", "ref"],
  ["zmanim-prod-box|aws_volume_attachment.attach", "zmanim-prod-box|aws_ebs_volume.volume", "ref"],
  ["zmanim-prod-box|aws_instance.instance", "zmanim-prod-net|aws_subnet.subnet", "remote_state"],
  ["zmanim-prod-box|aws_instance.instance", "zmanim-prod-net|aws_security_group.sg", "remote_state"],
];

function graphByAddress(collapse: boolean) {
  const g = buildGraph(loadStacks(outdir), { collapse });
  const byId = new Map(g.stacks.flatMap((s) => s.nodes.map((n) => [n.id, n] as const)));
  const nodes = g.stacks.flatMap((s) => s.nodes.map((n) => `${n.stack}|${n.address}`));
  const edges = g.edges.map((e) => {
    const f = byId.get(e.from)!;
    const t = byId.get(e.to)!;
    return [`${f.stack}|${f.address}`, `${t.stack}|${t.address}`, e.kind];
  });
  return { g, byId, nodes, edges };
}

describe("the diagram of a small fixture app", () => {
  it("the fixture really goes through remote state (cdktf wiring, not a hand-made JSON)", () => {
    const boxJson = JSON.parse(readFileSync(join(outdir, "stacks/zmanim-prod-box/cdk.tf.json"), "utf8"));
    expect(Object.keys(boxJson.data.terraform_remote_state)).toHaveLength(1);
    expect(JSON.stringify(boxJson.resource.aws_instance)).toContain("data.terraform_remote_state.");
  });

  it("contains every resource as a node, grouped by its stack", () => {
    const { g, nodes } = graphByAddress(false);
    expect(nodes.sort()).toEqual([...EXPECTED_RESOURCES].sort());
    for (const s of g.stacks) for (const n of s.nodes) expect(n.stack).toBe(s.name);
  });

  it("contains every reference edge, the depends_on edge and both cross-stack edges, and nothing else", () => {
    const { edges } = graphByAddress(false);
    expect(edges.map((e) => e.join(" ")).sort()).toEqual(EXPECTED_EDGES.map((e) => e.join(" ")).sort());
  });

  it("the Mermaid text has a subgraph per stack, every node and every edge", () => {
    const { g, byId } = graphByAddress(false);
    const text = renderMermaid(g);
    expect(text).toMatch(/^flowchart LR\n {2}%% Generated by `npm run diagram`/);
    expect(text).toContain('subgraph stack_net["zmanim-prod-net"]');
    expect(text).toContain('subgraph stack_box["zmanim-prod-box"]');
    for (const n of byId.values()) expect(text).toContain(`${n.id}["${n.address}"]`);
    const arrow = { ref: "-->", remote_state: "==>", depends_on: "-.->" };
    for (const e of g.edges) expect(text).toContain(`  ${e.from} ${arrow[e.kind]} ${e.to}\n`);
    expect(text.split("\n").filter((l) => /-->|==>|-\.->/.test(l))).toHaveLength(EXPECTED_EDGES.length);
  });

  it("folding keeps every resource: configuration resources end up inside their parent's label", () => {
    const { g, nodes } = graphByAddress(true);
    const absorbed = g.stacks.flatMap((s) => s.nodes.flatMap((n) => n.absorbed.map((a) => `${n.stack}|${a}`)));
    expect([...nodes, ...absorbed].sort()).toEqual([...EXPECTED_RESOURCES].sort());
    expect(absorbed).toEqual(
      expect.arrayContaining([
        "zmanim-prod-net|aws_s3_bucket_versioning.versioning",
        "zmanim-prod-box|aws_iam_role_policy.policy",
      ]),
    );
    expect(renderMermaid(g)).toContain('["aws_s3_bucket.bucket (+1)"]');
  });

  it("Graphviz renders the same graph to SVG", () => {
    const { g, byId } = graphByAddress(false);
    const run = spawnSync("dot", ["-Tsvg"], { input: renderDot(g), encoding: "utf8" });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("<svg");
    for (const n of byId.values()) expect(run.stdout).toContain(n.address);
    expect((run.stdout.match(/class="edge"/g) ?? []).length).toBe(EXPECTED_EDGES.length);
  });
});

describe("the diagram of the current prod synth", () => {
  const stacks = () => stacksOfEnvironment(loadStacks(synthAll().outdir), "prod", "synth");

  it("folding loses no resource or data source: each is a node or inside exactly one node", () => {
    const all = stacks().flatMap((s) => [
      ...Object.entries(s.json.resource ?? {}).flatMap(([t, by]) => Object.keys(by).map((n) => `${s.name}|${t}.${n}`)),
      ...Object.entries(s.json.data ?? {})
        .filter(([t]) => t !== "terraform_remote_state")
        .flatMap(([t, by]) => Object.keys(by).map((n) => `${s.name}|data.${t}.${n}`)),
    ]);
    const g = buildGraph(stacks());
    const shown = g.stacks.flatMap((s) =>
      s.nodes.flatMap((n) => [`${n.stack}|${n.address}`, ...n.absorbed.map((a) => `${n.stack}|${a}`)]),
    );
    expect(shown.sort()).toEqual(all.sort());
    expect(g.stacks.reduce((n, s) => n + s.nodes.length, 0)).toBeLessThan(all.length / 2);
  });

  it("every remote-state reference to an output that names a resource becomes a cross-stack edge", () => {
    const g = buildGraph(stacks(), { collapse: false });
    const byId = new Map(g.stacks.flatMap((s) => s.nodes.map((n) => [n.id, n] as const)));
    const remote = new Set(
      g.edges
        .filter((e) => e.kind === "remote_state")
        .map((e) => `${byId.get(e.from)!.stack}|${byId.get(e.from)!.address}`),
    );
    let expected = 0;
    for (const s of stacks()) {
      for (const [type, by] of Object.entries(s.json.resource ?? {})) {
        for (const [name, body] of Object.entries(by)) {
          if (!JSON.stringify(body).includes("data.terraform_remote_state.")) continue;
          expected++;
          expect(remote).toContain(`${s.name}|${type}.${name}`);
        }
      }
    }
    expect(expected).toBeGreaterThan(5);
  });
});

describe("reference parsing", () => {
  it("finds references anywhere in a template, nested ones included, and skips escaped $${", () => {
    expect(interpolations('a ${x} $${not} b ${jsonencode({"k" = "${y}"})}')).toEqual([
      "x",
      'jsonencode({"k" = "${y}"})',
    ]);
    const refs = referencesIn({
      "//": { metadata: "${aws_vpc.ignored.id}" },
      depends_on: ["aws_vpc.also_ignored"],
      list: [{ deep: "${aws_s3_bucket.b-1.arn}/*" }],
      policy:
        '${jsonencode({"Resource" = [aws_iam_role.r.arn, "${data.aws_caller_identity.me.account_id}"], "Action" = "aws_s3_bucket.literal"})}',
      remote:
        "${data.terraform_remote_state.cross-stack-reference-input-zmanim-prod-net.outputs.cross-stack-output-aws_subnetsubnetid}",
    });
    expect([...refs.addresses].sort()).toEqual(["aws_iam_role.r", "aws_s3_bucket.b-1", "data.aws_caller_identity.me"]);
    expect(refs.remote).toEqual([
      { state: "cross-stack-reference-input-zmanim-prod-net", output: "cross-stack-output-aws_subnetsubnetid" },
    ]);
  });
});

describe("the CLI and the README block", () => {
  function cli(args: string[]) {
    let out = "";
    let err = "";
    const code = main(
      args,
      {},
      (s) => (out += s),
      (s) => (err += s),
    );
    return { code, out, err };
  }

  it("--update-readme rewrites only the marked block; --check-readme then passes and fails once stale", () => {
    const readme = join(base, "README.md");
    writeFileSync(readme, "# Title\n\n<!-- diagram:begin -->\nold\n<!-- diagram:end -->\n\nAfter.\n");
    const mmd = join(base, "arch.mmd");
    expect(cli(["--outdir", outdir, "--readme", readme, "--check-readme"]).code).toBe(1);
    const up = cli(["--outdir", outdir, "--out", mmd, "--no-svg", "--readme", readme, "--update-readme"]);
    expect(up.code).toBe(0);
    const text = readFileSync(readme, "utf8");
    expect(text.startsWith("# Title\n\n<!-- diagram:begin -->\n```mermaid\nflowchart LR\n  %% Generated")).toBe(true);
    expect(text.endsWith("```\n<!-- diagram:end -->\n\nAfter.\n")).toBe(true);
    expect(text).toContain(readmeBlock(readFileSync(mmd, "utf8")));
    expect(cli(["--outdir", outdir, "--readme", readme, "--check-readme"]).code).toBe(0);
    writeFileSync(readme, text.replace("aws_vpc.vpc", "aws_vpc.renamed"));
    const stale = cli(["--outdir", outdir, "--readme", readme, "--check-readme"]);
    expect(stale.code).toBe(1);
    expect(stale.err).toContain("npm run diagram -- --update-readme");
  });

  it("a README without markers is an error that names the markers, and nothing is written", () => {
    const readme = join(base, "NOMARKERS.md");
    writeFileSync(readme, "# nothing here\n");
    const mmd = join(base, "never.mmd");
    const r = cli(["--outdir", outdir, "--out", mmd, "--no-svg", "--readme", readme, "--update-readme"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("<!-- diagram:begin -->");
    expect(readFileSync(readme, "utf8")).toBe("# nothing here\n");
    expect(() => readFileSync(mmd)).toThrow();
  });

  it("--svg writes an SVG through dot", () => {
    const svg = join(base, "arch.svg");
    const r = cli(["--outdir", outdir, "--out", join(base, "a.mmd"), "--svg", svg]);
    expect(r.code).toBe(0);
    expect(readFileSync(svg, "utf8")).toContain("aws_instance.instance");
  });
});
