/**
 * The secrets stack and the SSM contract between the stacks and the boot script.
 */
import { EnvironmentConfig, prod, staging } from "../../constructs/config/environments";
import { bucketName, logGroupPrefix, mailFromAddress, metricsNamespace } from "../../constructs/config/naming";
import { boxConfig, CLERK_PLACEHOLDER } from "../../stacks/secrets";
import { readUserDataScript } from "../../constructs/builders/user-data";
import { allResources, resourcesOfType, synthAll, Synthesized, TfJson, stackResourcesOfType } from "../helpers/synth";
import { statements, asList } from "../helpers/policy";

type Body = Record<string, unknown>;
const params = (json: TfJson): Array<[string, Body]> => stackResourcesOfType(json, "aws_ssm_parameter");
/** The box's boot script: the shared part and the box role's part. */
const SCRIPT = readUserDataScript();

describe.each([
  ["prod", prod],
  ["staging", staging],
])("secrets stack (%s)", (_n, env: EnvironmentConfig) => {
  let s: Synthesized;
  let sec: TfJson;
  const byLeaf = (leaf: string): [string, Body] => {
    const hit = params(sec).find(([, b]) => b.name === `/zmanim/${env.name}/${leaf}`);
    if (!hit) throw new Error(`no parameter ${leaf}`);
    return hit;
  };
  beforeAll(() => {
    s = synthAll(env);
    sec = s.stacks.secrets;
  });

  it.each([
    ["postgres-password", "postgres_password"],
    ["redis-password", "redis_password"],
    ["restic-password", "restic_password"],
  ])("%s: a generated random_password stored as SecureString, protected from destroy, pinned ids", (leaf, id) => {
    const pw = sec.resource?.random_password?.[id];
    expect(pw).toEqual(expect.objectContaining({ length: 40, special: false }));
    expect(pw?.lifecycle).toBeUndefined(); // rotation is `terraform apply -replace`, docs/secrets.md
    const [paramId, param] = byLeaf(leaf);
    expect(paramId).toBe(`${id}_param`);
    expect(param).toEqual(
      expect.objectContaining({
        type: "SecureString",
        value: `\${random_password.${id}.result}`,
        lifecycle: { prevent_destroy: true },
      }),
    );
    expect(param.key_id).toBeUndefined(); // the account's aws/ssm key: what the instance policy's kms:ViaService condition covers
  });

  it("clerk-secret-key: a SecureString placeholder whose value Terraform never overwrites", () => {
    const [id, p] = byLeaf("clerk-secret-key");
    expect(id).toBe("clerk_secret_key_param");
    expect(p).toEqual(
      expect.objectContaining({
        type: "SecureString",
        value: "PLACEHOLDER_set_out_of_band_see_docs_secrets_md",
        lifecycle: { prevent_destroy: true, ignore_changes: ["value"] },
      }),
    );
    // The boot script recognises the placeholder and accepts its characters.
    expect(CLERK_PLACEHOLDER).toMatch(/^PLACEHOLDER[A-Za-z0-9_]+$/);
    expect(SCRIPT).toContain('"$1" == PLACEHOLDER*');
    expect(SCRIPT).toContain('warn_placeholder_clerk_key "$clerk_key"');
  });

  it("config: a plain String with the box's non-secret settings", () => {
    const [, p] = byLeaf("config");
    expect(p.type).toBe("String");
    const cfg = JSON.parse(p.value as string);
    expect(cfg).toEqual(boxConfig(env));
    expect(cfg).toEqual(
      expect.objectContaining({
        ZMANIM_ENV: env.name,
        AWS_REGION: env.region,
        ZMANIM_BACKUP_BUCKET: bucketName(env, "backups"),
        ZMANIM_RELEASES_BUCKET: bucketName(env, "releases"),
        RESTIC_REPOSITORY: `s3:s3.${env.region}.amazonaws.com/${bucketName(env, "backups")}`,
        ZMANIM_ALARM_EMAIL: env.alarmEmail,
        ZMANIM_MAIL_FROM: mailFromAddress(env),
        ZMANIM_METRICS_NAMESPACE: metricsNamespace(env),
        ZMANIM_LOG_GROUP_PREFIX: logGroupPrefix(env),
        ZMANIM_API_PORT: String(env.api.port),
        ZMANIM_DOMAIN: env.domain.siteName,
      }),
    );
    // No secret ends up in the plain parameter.
    expect(JSON.stringify(cfg)).not.toMatch(/random_password|PASSWORD|SECRET/);
  });

  it("every SSM parameter of every stack lives under /zmanim/<env>/, and every SecureString is in the secrets stack", () => {
    const all = resourcesOfType(s, "aws_ssm_parameter");
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const [stack, id, p] of all) {
      expect([id, p.name]).toEqual([id, expect.stringMatching(new RegExp(`^/zmanim/${env.name}/[a-z0-9-]+$`))]);
      if (p.type === "SecureString") expect([id, stack]).toEqual([id, "secrets"]);
    }
  });

  it("the random provider is used by the secrets stack only, so every other stack stays terraform-validatable", () => {
    for (const [short, json] of Object.entries(s.stacks)) {
      const usesRandom =
        Object.keys(json.terraform.required_providers ?? {}).includes("random") ||
        Object.keys(json.resource ?? {}).some((t) => t.startsWith("random_")) ||
        JSON.stringify(json).includes("random_password");
      expect([short, usesRandom]).toEqual([short, short === "secrets"]);
    }
  });

  it("every SSM parameter the boot script reads exists in the secrets or compute stack, and the instance may read it", () => {
    const leaves = [...SCRIPT.matchAll(/ssm_get ([a-z-]+)\)/g)].map((m) => m[1]);
    expect(leaves.sort()).toEqual([
      "clerk-secret-key",
      "cloudwatch-agent",
      "config",
      "postgres-password",
      "redis-password",
      "restic-password",
    ]);
    const names = [...params(sec), ...params(s.stacks.compute)].map(([, b]) => b.name);
    for (const leaf of leaves) expect(names).toContain(`/zmanim/${env.name}/${leaf}`);
    const policy = statements(Object.values(s.stacks.compute.resource?.aws_iam_role_policy ?? {})[0]?.policy);
    const ssmRead = policy.find((st) => asList(st.Action).includes("ssm:GetParameter"));
    expect(ssmRead?.Resource).toBe(`arn:aws:ssm:${env.region}:${env.accountId}:parameter/zmanim/${env.name}/*`);
  });

  it("no resource outside the secrets stack holds a secret value", () => {
    for (const [stack, type, id, body] of allResources(s)) {
      if (stack === "secrets") continue;
      expect([type, id, JSON.stringify(body).includes(".result}")]).toEqual([type, id, false]);
    }
  });
});

describe("boxConfig", () => {
  it("refuses a value that box.env could not carry unquoted, naming the key, the value and the fix", () => {
    expect(() => boxConfig({ ...prod, alarmEmail: "ops team@shtetl.io" })).toThrow(
      /box config ZMANIM_ALARM_EMAIL = "ops team@shtetl.io": only letters, digits and @%\+=:,.\/_- are allowed/,
    );
  });
});
