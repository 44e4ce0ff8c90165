/**
 * The plan-test layer itself (scripts/dev/tf-test.sh): real terraform, mocked AWS provider, generated tests.
 * It must pass a correctly wired pair of stacks and turn red, with terraform's diagnostic, on a reference to
 * a remote-state output the producer does not declare, on a failed precondition and on a failed assert.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { itReportsMissingTerraform, runScript } from "../helpers/terraform-layer";
import { prod } from "../../constructs/config/environments";
import { synthEnvironment } from "../../main";

const root = resolve(__dirname, "..", "..");
const script = join(root, "scripts", "dev", "tf-test.sh");

const backend = (key: string) => ({ s3: { bucket: "state", key, region: "eu-west-1" } });
const terraformBlock = (key: string) => ({
  backend: backend(key),
  required_providers: { aws: { source: "aws", version: "5.100.0" } },
});
const provider = { aws: [{ region: "eu-west-1", allowed_account_ids: ["111111111111"] }] };
const remote = (key: string) => ({ backend: "s3", config: backend(key).s3 });
const NET = "${data.terraform_remote_state.net.outputs";

/** The producer: a subnet in eu-west-1a, exported as `subnet_id`. */
const net = {
  terraform: terraformBlock("t/net.tfstate"),
  provider,
  resource: {
    aws_vpc: { vpc: { cidr_block: "10.0.0.0/16" } },
    aws_subnet: { public: { vpc_id: "${aws_vpc.vpc.id}", cidr_block: "10.0.0.0/24", availability_zone: "eu-west-1a" } },
  },
  output: { subnet_id: { value: "${aws_subnet.public.id}" } },
};

/** A consumer: an instance whose AMI comes from SSM and whose subnet comes from the producer. */
function app(key: string, opts: { output?: string; volumeAz?: string; precondition?: string } = {}) {
  const instance: Record<string, unknown> = {
    ami: "${data.aws_ssm_parameter.ami.insecure_value}",
    instance_type: "t4g.micro",
    availability_zone: "eu-west-1a",
    subnet_id: `${NET}.${opts.output ?? "subnet_id"}}`,
  };
  if (opts.precondition) {
    instance.lifecycle = {
      precondition: [{ condition: opts.precondition, error_message: "the AMI parameter must hold the expected AMI" }],
    };
  }
  return {
    terraform: terraformBlock(key),
    provider,
    data: {
      terraform_remote_state: { net: remote("t/net.tfstate") },
      aws_ssm_parameter: { ami: { name: "/t/ami-id" } },
    },
    resource: {
      aws_instance: { box: instance },
      aws_ebs_volume: { data: { availability_zone: opts.volumeAz ?? "eu-west-1a", size: 1 } },
      aws_volume_attachment: {
        data: {
          device_name: "/dev/sdf",
          volume_id: "${aws_ebs_volume.data.id}",
          instance_id: "${aws_instance.box.id}",
        },
      },
    },
  };
}

function outdir(stacks: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "zmanim-tft-"));
  for (const [name, tf] of Object.entries(stacks)) {
    mkdirSync(join(dir, "stacks", name), { recursive: true });
    writeFileSync(join(dir, "stacks", name, "cdk.tf.json"), JSON.stringify(tf));
  }
  return dir;
}

const run = (args: string[], env: Record<string, string> = {}) => runScript(script, args, env);

/** The block of output belonging to one stack: its verdict line and the indented lines below it. */
function section(stdout: string, stack: string): string {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => new RegExp(`^(PASS|FAIL|SKIP) +${stack}\\b`).test(l));
  if (start < 0) return "";
  const end = lines.findIndex((l, i) => i > start && !l.startsWith(" "));
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

describe("scripts/dev/tf-test.sh", () => {
  const dir = outdir({
    "zmanim-t-net": net,
    "zmanim-t-app": app("t/app.tfstate"),
    "zmanim-t-missingoutput": app("t/missingoutput.tfstate", { output: "subnet_ids" }),
    "zmanim-t-wrongzone": app("t/wrongzone.tfstate", { volumeAz: "eu-west-1b" }),
    "zmanim-t-precondition": app("t/precondition.tfstate", {
      precondition: '${startswith(data.aws_ssm_parameter.ami.insecure_value, "ami-9")}',
    }),
  });
  let r: ReturnType<typeof run>;
  beforeAll(() => {
    r = run([], { CDKTF_OUTDIR: dir });
  }, 300000);

  it("passes correctly wired stacks, with the generated asserts", () => {
    expect(section(r.stdout, "zmanim-t-net")).toMatch(/^PASS/);
    expect(section(r.stdout, "zmanim-t-app")).toMatch(/^PASS {4}zmanim-t-app \(plan, 4 assert\(s\)\)/);
  });

  it("fails a reference to a remote-state output the producer does not declare, naming it", () => {
    const s = section(r.stdout, "zmanim-t-missingoutput");
    expect(s).toMatch(/^FAIL/);
    expect(s).toMatch(/Error: Unsupported attribute/);
    expect(s).toMatch(/does not have an attribute named\s+"subnet_ids"/);
  });

  it("fails a generated assert: a volume in another zone than its instance", () => {
    const s = section(r.stdout, "zmanim-t-wrongzone");
    expect(s).toMatch(/^FAIL/);
    expect(s).toMatch(/Error: Test assertion failed/);
    expect(s).toMatch(/volume data must be in the availability zone of\s+instance box/);
  });

  it("fails a resource precondition evaluated against the planned values", () => {
    const s = section(r.stdout, "zmanim-t-precondition");
    expect(s).toMatch(/^FAIL/);
    expect(s).toMatch(/Error: Resource precondition failed/);
    expect(s).toMatch(/the AMI parameter must hold the expected AMI/);
  });

  it("counts every stack and exits 1", () => {
    expect(r.stdout).toMatch(/^terraform test \(plan\): 2 passed, 3 failed, 0 skipped$/m);
    expect(r.status).toBe(1);
  });

  it("refuses a remote-state read that no synthesized stack writes, naming the key", () => {
    const lonely = outdir({ "zmanim-t-app": app("t/app.tfstate") });
    const res = run([], { CDKTF_OUTDIR: lonely });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(
      /zmanim-t-app: data\.terraform_remote_state\.net reads state key "t\/net\.tfstate", which no synthesized stack writes/,
    );
  }, 120000);

  it("plans every stack of prod in Terraform Cloud mode, the cloud block replaced offline, asserting each remote read's organization and workspace", () => {
    // A `cloud` block cannot be initialized offline: the plan runs on the copy without it (as for S3), and the
    // generated asserts check that each terraform_remote_state reads the producer's workspace in organization shtetl.
    const out = synthEnvironment(
      { ...prod, state: { kind: "cloud", organization: "shtetl", workspacePrefix: "zmanim-prod-" } },
      join(mkdtempSync(join(tmpdir(), "zmanim-tft-cloud-")), "cdktf.out"),
    );
    const res = run([], { CDKTF_OUTDIR: out });
    const verdicts = res.stdout
      .split("\n")
      .filter((l) => /^(PASS|FAIL|SKIP) /.test(l))
      .map((l) => l.replace(/ +/, " "));
    expect(verdicts).toEqual([
      "PASS zmanim-prod-api (plan, 5 assert(s))",
      "PASS zmanim-prod-cdn (plan, 17 assert(s))",
      "PASS zmanim-prod-cicd (plan, 0 assert(s))",
      "PASS zmanim-prod-compute (plan, 8 assert(s))",
      "PASS zmanim-prod-dns (plan, 6 assert(s))",
      "PASS zmanim-prod-monitoring (plan, 11 assert(s))",
      "PASS zmanim-prod-network (plan, 0 assert(s))",
      "PASS zmanim-prod-secrets (plan, 0 assert(s))",
      "PASS zmanim-prod-storage (plan, 3 assert(s))",
    ]);
    expect(res.status).toBe(0);
  }, 300000);

  itReportsMissingTerraform(script, "no stack was planned.");
});
