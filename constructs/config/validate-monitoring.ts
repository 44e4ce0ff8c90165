import { EnvironmentConfig } from "./environments";

/**
 * Cost allocation tags are account-wide: two environments of one account that both activate them would fight
 * (the destroy of either deactivates them for both). At most one environment per account may own them.
 */
export function costAllocationTagProblems(defs: Readonly<Record<string, EnvironmentConfig>>): string[] {
  const owners = new Map<string, string[]>();
  for (const [key, env] of Object.entries(defs)) {
    if (!env.activatesCostAllocationTags) continue;
    owners.set(env.accountId, [...(owners.get(env.accountId) ?? []), key]);
  }
  const problems: string[] = [];
  for (const [account, keys] of owners) {
    if (keys.length < 2) continue;
    for (const key of keys.slice(1)) {
      problems.push(
        `environments.${key}.activatesCostAllocationTags = true: environments.${keys[0]} already activates the account's cost allocation tags in account ${account}; set it false here (one environment per account owns them)`,
      );
    }
  }
  return problems;
}
