import { readFileSync } from "fs";
import { join } from "path";
import { repoPath } from "../config/repo-root";

/** First line of the rendered header; the header ends with `HEADER_END`. */
// The header names the builder by the path it had when the instances were launched: any change to this text
// changes the user data, and a user-data change replaces the instance.
export const HEADER_BEGIN = "# --- rendered by the compute stack (stacks/user-data.ts) ---";
export const HEADER_END = "# --- end of rendered values ---";

/** The role the boot script plays: the box (API, PostgreSQL, Redis, backups) or an API-only fleet instance. */
export type BootRole = "box" | "api";

/**
 * The boot script's parts, in scripts/box/user-data/: `common.sh` (the shebang, usage, checks and functions every
 * role needs), then one part per role. A role's boot script is the common part followed by that role's part,
 * concatenated as they are: EC2 takes at most 16 KB of user data, which both roles together would exceed.
 */
export const USER_DATA_PARTS: Readonly<{ common: string } & Record<BootRole, string>> = {
  common: "common.sh",
  box: "box.sh",
  api: "api.sh",
};

/** The heading line that opens each role's part (scripts/box/user-data/<role>.sh). */
export const ROLE_MARKERS: Readonly<Record<BootRole, string>> = {
  api: "# --- The api role:",
  box: "# --- The box role",
};

/**
 * One role's boot script from its parts' texts: `common` (which starts with the `#!` line and ends with a
 * newline) followed by `part` (the role's part, which starts with its heading, `ROLE_MARKERS[role]`).
 */
export function assembleUserData(common: string, part: string, role: BootRole): string {
  if (!common.startsWith("#!")) throw new Error(`boot script: ${USER_DATA_PARTS.common} must start with a #! line`);
  if (!common.endsWith("\n")) throw new Error(`boot script: ${USER_DATA_PARTS.common} must end with a newline`);
  if (!part.startsWith(ROLE_MARKERS[role])) {
    throw new Error(
      `boot script: ${USER_DATA_PARTS[role]} (the ${role} role's part) must start with the line "${ROLE_MARKERS[role]}..."`,
    );
  }
  return common + part;
}

/** The boot script of `role` (see `assembleUserData`), read from the parts in `dir`. */
export function readUserDataScript(
  dir: string = repoPath("scripts", "box", "user-data"),
  role: BootRole = "box",
): string {
  return assembleUserData(
    readFileSync(join(dir, USER_DATA_PARTS.common), "utf8"),
    readFileSync(join(dir, USER_DATA_PARTS[role]), "utf8"),
    role,
  );
}

/**
 * Escapes text for a Terraform string: `${` and `%{` would otherwise start an interpolation or a template
 * directive. Terraform turns `$${` back into `${` and `%%{` into `%{`.
 */
export function escapeTerraformTemplate(text: string): string {
  // Function replacements: in a replacement string, "$$" would mean a single "$".
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** Inverse of `escapeTerraformTemplate` (what Terraform does to a literal string). */
export function unescapeTerraformTemplate(text: string): string {
  return text.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{");
}

/** The header block for `values`, one `export NAME='value'` line each. */
export function renderHeader(values: Record<string, string>): string {
  const lines = [HEADER_BEGIN];
  for (const [name, value] of Object.entries(values)) {
    if (!/^ZMANIM_[A-Z0-9_]+$/.test(name)) {
      throw new Error(`user data value ${JSON.stringify(name)}: names must match ZMANIM_[A-Z0-9_]+`);
    }
    if (value.includes("'") || value.includes("\n")) {
      throw new Error(`user data value ${name} = ${JSON.stringify(value)}: single quotes and newlines are not allowed`);
    }
    lines.push(`export ${name}='${value}'`);
  }
  lines.push(HEADER_END);
  return lines.join("\n") + "\n";
}

/**
 * The boot script with the rendered values inserted right after its shebang line: exactly
 * `<shebang>\n<header><rest of the script>`. This is the plain text the instance receives.
 */
export function renderUserDataText(script: string, values: Record<string, string>): string {
  if (!script.startsWith("#!")) throw new Error("user data script must start with a #! line");
  const nl = script.indexOf("\n");
  return script.slice(0, nl + 1) + renderHeader(values) + script.slice(nl + 1);
}

/**
 * The same text prepared for a Terraform string: every literal `${`/`%{` is escaped, while `tokens`
 * (name -> cdktf token string such as a volume id reference) stay live interpolations. Token values are
 * passed through placeholders so that escaping never touches them.
 */
export function renderUserDataForTerraform(
  script: string,
  values: Record<string, string>,
  tokens: Record<string, string>,
): string {
  const placeholders: Record<string, string> = {};
  const all: Record<string, string> = { ...values };
  for (const name of Object.keys(tokens)) {
    placeholders[name] = `@@ZMANIM_TOKEN_${name}@@`;
    all[name] = placeholders[name];
  }
  let text = escapeTerraformTemplate(renderUserDataText(script, all));
  for (const [name, token] of Object.entries(tokens)) {
    if (text.split(placeholders[name]).length !== 2)
      throw new Error(`user data placeholder for ${name} must occur exactly once`);
    text = text.replace(placeholders[name], () => token);
  }
  return text;
}
