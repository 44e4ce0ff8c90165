/**
 * GitHub's OIDC provider: one per AWS account. IAM keeps one OpenID Connect provider per issuer URL in an
 * account ("You cannot register the same provider multiple times in a single AWS account", CreateOpenIDConnectProvider,
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html), so exactly one
 * environment of an account creates it (`github.oidcProvider: "create"`, its cicd stack owns it) and every other
 * environment of that account looks it up (`"lookup"`, a data source). Importing the provider into a second state
 * instead would put one resource in two states, and destroying either cicd stack would cut CI off for all.
 */
import type { EnvironmentConfig, GitHubOidcProviderMode } from "./environments";

export const GITHUB_OIDC_PROVIDER_MODES: readonly GitHubOidcProviderMode[] = ["create", "lookup"];

/** What the environment's cicd stack does with GitHub's provider. @default "create" */
export function githubOidcProviderMode(env: EnvironmentConfig): GitHubOidcProviderMode {
  return env.github?.oidcProvider ?? "create";
}

/** Problems of one environment's `github.oidcProvider`: field, value and fix. */
export function githubOidcProblems(env: EnvironmentConfig): string[] {
  const value = env.github?.oidcProvider;
  if (value === undefined || GITHUB_OIDC_PROVIDER_MODES.includes(value)) return [];
  return [
    `github.oidcProvider = ${JSON.stringify(value)}: use "create" in the one environment of account ${env.accountId} ` +
      `whose cicd stack owns GitHub's OIDC provider, and "lookup" in every other environment of that account`,
  ];
}

/**
 * Problems across the environments: at most one creates the provider in each account. (An account whose
 * environments all look it up is valid: the provider was created outside this project, e.g. by the organization.)
 */
export function githubOidcSetProblems(defs: Readonly<Record<string, EnvironmentConfig>>): string[] {
  const creators = new Map<string, string[]>();
  for (const [key, env] of Object.entries(defs)) {
    if (githubOidcProviderMode(env) !== "create") continue;
    creators.set(env.accountId, [...(creators.get(env.accountId) ?? []), key]);
  }
  const problems: string[] = [];
  for (const [account, keys] of creators) {
    if (keys.length < 2) continue;
    const [first, ...rest] = keys;
    for (const key of rest) {
      problems.push(
        `environments.${key}.github.oidcProvider = ${JSON.stringify(defs[key].github?.oidcProvider ?? "create")} (the default): ` +
          `environments.${first} already creates GitHub's OIDC provider in account ${account}, and IAM holds one per account; ` +
          `set "lookup" here (docs/runbooks/first-deploy.md, "One GitHub OIDC provider per account")`,
      );
    }
  }
  return problems;
}
