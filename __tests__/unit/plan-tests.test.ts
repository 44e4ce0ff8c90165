/**
 * The generator of the plan-mode terraform tests (scripts/tools/terraform/plan-tests.ts). The tests themselves run
 * under real terraform in scripts/dev/tf-test.sh (ops test __tests__/ops/tf-test.test.ts); these check what the
 * generator writes, over the synthesized stacks of both environments.
 */
import { LoadedStack, loadStacks } from "../../scripts/tools/cost/tfjson";
import {
  PlanTestError,
  ProviderSchemas,
  hcl,
  mockArn,
  moduleTestFile,
  planTestFor,
} from "../../scripts/tools/terraform/plan-tests";
import { shippedEnvironments } from "../../scripts/tools/terraform/environments";
import { synthAll } from "../helpers/synth";

/** A slice of the AWS provider schema: enough for the ARN attributes the generator fills. */
const schemas: ProviderSchemas = {
  provider_schemas: {
    "registry.terraform.io/hashicorp/aws": {
      resource_schemas: {
        aws_sns_topic: {
          block: { attributes: { arn: { type: "string", computed: true }, name: { type: "string", optional: true } } },
        },
        aws_acm_certificate: { block: { attributes: { arn: { type: "string", computed: true } } } },
        aws_elasticache_serverless_cache: {
          block: {
            attributes: {
              endpoint: { type: ["list", ["object", { address: "string", port: "number" }]], computed: true },
              security_group_ids: { type: ["set", "string"], optional: true, computed: true },
            },
          },
        },
        aws_acm_certificate_validation: {
          block: { attributes: { certificate_arn: { type: "string", required: true } } },
        },
      },
    },
  },
};
const onlyAws = (p: string) => p === "hashicorp/aws";
const ARN = /^arn:aws:[a-z0-9-]+:([a-z]{2}-[a-z]+-\d)?:(\d{12})?:.+$/;

describe.each(shippedEnvironments().map((e) => [e.name, e] as const))(
  "plan tests of the %s environment",
  (_name, env) => {
    const stacks: LoadedStack[] = loadStacks(synthAll(env).outdir);
    const tests = stacks.map((s) => ({ stack: s, test: planTestFor(s, { stacks, schemas, installable: onlyAws }) }));

    it("answers every remote-state read with exactly the outputs the producing stack declares", () => {
      let reads = 0;
      for (const { stack, test } of tests) {
        for (const [name, body] of Object.entries(stack.json.data?.terraform_remote_state ?? {})) {
          reads++;
          const key = (body.config as Record<string, unknown>).key;
          const producer = stacks.find(
            (s) => (s.json.terraform?.backend?.s3 as Record<string, unknown> | undefined)?.key === key,
          );
          expect(producer).toBeDefined();
          const block = test
            .testFile!.split("\n}\n")
            .find((b) => b.includes(`target = data.terraform_remote_state.${name}\n`))!;
          const declared = [...block.matchAll(/^ {6}"([^"]+)" = /gm)].map((m) => m[1]);
          expect(declared.sort()).toEqual(Object.keys(producer!.json.output ?? {}).sort());
        }
      }
      expect(reads).toBeGreaterThan(0);
    });

    it("plans a copy without backend, and mocks every AWS provider configuration", () => {
      for (const { stack, test } of tests) {
        expect((test.json!.terraform as Record<string, unknown>).backend).toBeUndefined();
        const aliases = (stack.json.provider?.aws ?? []).length;
        expect(test.testFile!.match(/^mock_provider "aws" \{/gm)).toHaveLength(aliases);
        expect(test.testFile).toMatch(/^\s+command = plan$/m);
      }
    });

    it("gives every resource well-formed ARNs", () => {
      for (const { stack } of tests) {
        for (const type of Object.keys(stack.json.resource ?? {}).filter((t) => t.startsWith("aws_"))) {
          expect(mockArn(type, "x", "eu-west-1", "111111111111")).toMatch(ARN);
        }
      }
    });

    it("plans the secrets stack with labelled stand-ins for hashicorp/random, keeping its SSM parameters", () => {
      const { stack, test } = tests.find((t) => t.stack.name.endsWith("-secrets"))!;
      const text = JSON.stringify(test.json);
      expect(text).not.toMatch(/random_password\.|"random_password":/);
      expect(Object.keys((test.json!.terraform as { required_providers: object }).required_providers)).toEqual(["aws"]);
      const passwords = Object.keys(stack.json.resource?.random_password ?? {});
      expect(passwords.length).toBeGreaterThan(0);
      for (const p of passwords) {
        expect(test.notes).toContain(
          `random_password.${p} planned as terraform_data.random_password_${p} (hashicorp/random is not installable here)`,
        );
        expect(test.testFile).toContain(
          `# Stand-in: random_password.${p} planned as terraform_data.random_password_${p}`,
        );
      }
      const params = (test.json!.resource as Record<string, Record<string, { value?: string }>>).aws_ssm_parameter;
      expect(Object.keys(params)).toEqual(Object.keys(stack.json.resource!.aws_ssm_parameter));
      // Where the provider can be installed, nothing is substituted.
      const real = planTestFor(stack, { stacks, schemas, installable: () => true });
      expect(real.notes).toEqual([]);
      expect(JSON.stringify(real.json)).toMatch(/"random_password":/);
    });
  },
);

describe("plan test generator", () => {
  const producer: LoadedStack = {
    name: "zmanim-t-dns",
    json: {
      terraform: { backend: { s3: { key: "t/dns.tfstate" } } },
      resource: {
        aws_acm_certificate: { cert: { domain_name: "example.org" } },
        aws_acm_certificate_validation: { v: { certificate_arn: "${aws_acm_certificate.cert.arn}" } },
      },
      output: { cert: { value: "${aws_acm_certificate_validation.v.certificate_arn}" } },
    },
  };
  const consumer = (key: string): LoadedStack => ({
    name: "zmanim-t-cdn",
    json: {
      provider: { aws: [{ region: "eu-west-1" }] },
      data: { terraform_remote_state: { dns: { backend: "s3", config: { key } } } },
      resource: { aws_sns_topic: { t: { name: "${data.terraform_remote_state.dns.outputs.cert}" } } },
    },
  });

  it("follows a producer's output through references to the ARN it ends in", () => {
    const t = planTestFor(consumer("t/dns.tfstate"), { stacks: [producer], schemas, installable: onlyAws });
    expect(t.testFile).toMatch(/"cert" = "arn:aws:acm:[a-z0-9-]*:111111111111:certificate\/cert"/);
    expect(t.testFile).toMatch(/condition\s+= aws_sns_topic\.t\.name == "arn:aws:acm:/);
  });

  it("refuses a remote-state read that no synthesized stack writes, naming the key and the fix", () => {
    expect(() =>
      planTestFor(consumer("t/nothing.tfstate"), { stacks: [producer], schemas, installable: onlyAws }),
    ).toThrow(
      new PlanTestError(
        'zmanim-t-cdn: data.terraform_remote_state.dns reads state key "t/nothing.tfstate", which no synthesized stack writes ' +
          "(stacks: zmanim-t-dns); synthesize the producing stack or fix the reference",
      ),
    );
  });

  it("gives computed collections one element, so an index into them plans as it does against AWS", () => {
    const cache: LoadedStack = {
      name: "zmanim-t-data",
      json: { resource: { aws_elasticache_serverless_cache: { cache: { name: "c" } } } },
    };
    const t = planTestFor(cache, { stacks: [cache], schemas, installable: onlyAws });
    const block = t
      .testFile!.split("\n}\n")
      .find((b) => b.includes("target          = aws_elasticache_serverless_cache.cache"))!;
    expect(block).toMatch(/"endpoint" = \[\s*\{\s*"address" = "address-mock"\s*"port" = 1\s*\},?\s*\]/);
    // Optional collections stay as configured.
    expect(block).not.toMatch(/security_group_ids/);
  });

  it("writes a stack's test for a shared root: the copy as the run's module, its overrides inside the run", () => {
    const t = planTestFor(consumer("t/dns.tfstate"), { stacks: [producer], schemas, installable: onlyAws });
    const file = moduleTestFile(t, "./zmanim-t-cdn");
    const run = file.slice(file.indexOf('run "plan_cdn" {'));
    expect(run).toMatch(/^ {2}module \{\n {4}source = "\.\/zmanim-t-cdn"\n {2}\}$/m);
    expect(run).toMatch(/^ {2}override_data \{\n {4}target = data\.terraform_remote_state\.dns$/m);
    expect(run).toMatch(/^ {2}override_resource \{\n {4}target {10}= aws_sns_topic\.t$/m);
    expect(file.slice(0, file.indexOf("run "))).not.toMatch(/override_/);
  });

  it("writes strings as HCL literals, never as templates", () => {
    expect(hcl({ a: "${x} and %{ if y }" })).toBe('{\n  "a" = "$${x} and %%{ if y }"\n}');
  });
});

describe('plan tests of prod in Terraform Cloud mode (state.kind "cloud")', () => {
  const env = {
    ...shippedEnvironments().find((e) => e.name === "prod")!,
    state: { kind: "cloud" as const, organization: "shtetl", workspacePrefix: "zmanim-prod-" },
  };
  const stacks = loadStacks(synthAll(env).outdir);
  const read = "cross-stack-reference-input-zmanim-prod-network";

  it("plans every stack without its cloud block and asserts each remote-state read's organization and workspace", () => {
    expect(stacks.map((s) => s.name).sort()).toEqual(
      ["api", "cdn", "cicd", "compute", "dns", "monitoring", "network", "secrets", "storage"].map(
        (x) => `zmanim-prod-${x}`,
      ),
    );
    let reads = 0;
    for (const s of stacks) {
      expect(s.json.terraform?.cloud).toBeDefined();
      const t = planTestFor(s, { stacks, schemas, installable: onlyAws });
      expect((t.json!.terraform as Record<string, unknown>).cloud).toBeUndefined();
      for (const [name, body] of Object.entries(s.json.data?.terraform_remote_state ?? {})) {
        reads++;
        const ws = (body as { config: { workspaces: { name: string } } }).config.workspaces.name;
        expect(t.testFile).toContain(`condition     = data.terraform_remote_state.${name}.backend == "remote"`);
        expect(t.testFile).toContain(
          `condition     = data.terraform_remote_state.${name}.config.organization == "shtetl"`,
        );
        expect(t.testFile).toContain(
          `condition     = data.terraform_remote_state.${name}.config.workspaces.name == "${ws}"`,
        );
      }
    }
    expect(reads).toBe(8); // api, cdn and storage reads as before, and the monitoring stack reads api, cdn and compute
  });

  it("refuses a read of another organization or of the wrong workspace, naming both sides", () => {
    const api = stacks.find((s) => s.name === "zmanim-prod-api")!;
    const tampered = (config: Record<string, unknown>): LoadedStack => {
      const json = JSON.parse(JSON.stringify(api.json));
      json.data.terraform_remote_state[read].config = { ...json.data.terraform_remote_state[read].config, ...config };
      return { name: api.name, json };
    };
    expect(() => planTestFor(tampered({ organization: "other" }), { stacks, schemas, installable: onlyAws })).toThrow(
      `zmanim-prod-api: data.terraform_remote_state.${read} reads {"backend":"remote","organization":"other","hostname":"app.terraform.io","workspace":"zmanim-prod-network"}, ` +
        `but zmanim-prod-network's state is in {"backend":"remote","organization":"shtetl","hostname":"app.terraform.io","workspace":"zmanim-prod-network"}`,
    );
    expect(() =>
      planTestFor(tampered({ workspaces: { name: "zmanim-prod-storage" } }), { stacks, schemas, installable: onlyAws }),
    ).toThrow(
      /"workspace":"zmanim-prod-storage"\}, but zmanim-prod-network's state is in .*"workspace":"zmanim-prod-network"\}/,
    );
  });
});
