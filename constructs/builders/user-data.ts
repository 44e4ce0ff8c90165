import { readFileSync } from "fs";
import { repoPath } from "../config/repo-root";

/** First line of the rendered header; the header ends with `HEADER_END`. */
// The header names the builder by the path it had when the instances were launched: any change to this text
// changes the user data, and a user-data change replaces the instance.
export const HEADER_BEGIN = "# --- rendered by the compute stack (stacks/user-data.ts) ---";
export const HEADER_END = "# --- end of rendered values ---";

/** The role the boot script plays: the box (API, PostgreSQL, Redis, backups) or an API-only fleet instance. */
export type BootRole = "box" | "api";

/** The lines that open each role's part of scripts/box/user-data.sh; everything before the first is shared. */
export const ROLE_MARKERS: Readonly<Record<BootRole, string>> = {
  api: "# --- The api role:",
  box: "# --- The box role",
};

/**
 * The boot script as one role's instances receive it: the shared part plus that role's part. EC2 takes at most
 * 16 KB of user data, which both roles together would exceed. The api part ends in `exit 0`, so the script in the
 * repository, with every part, runs either role too.
 */
export function scriptForRole(script: string, role: BootRole): string {
  const api = script.indexOf(`\n${ROLE_MARKERS.api}`);
  const box = script.indexOf(`\n${ROLE_MARKERS.box}`);
  if (api < 0 || box < api) {
    throw new Error(`boot script: expected a line starting "${ROLE_MARKERS.api}" followed by one starting "${ROLE_MARKERS.box}"`);
  }
  return role === "box" ? script.slice(0, api + 1) + script.slice(box + 1) : script.slice(0, box + 1);
}

/** The boot script of `role` (see `scriptForRole`), read from the repository. */
export function readUserDataScript(path: string = repoPath("scripts", "box", "user-data.sh"), role: BootRole = "box"): string {
  return scriptForRole(readFileSync(path, "utf8"), role);
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
    if (text.split(placeholders[name]).length !== 2) throw new Error(`user data placeholder for ${name} must occur exactly once`);
    text = text.replace(placeholders[name], () => token);
  }
  return text;
}
