/**
 * A small client of the Terraform Cloud (HCP Terraform) API: JSON:API documents over HTTPS with a bearer token.
 * https://developer.hashicorp.com/terraform/cloud-docs/api-docs (authentication, JSON:API documents, errors)
 * Endpoints used (each page cited where it is called in ./plan.ts):
 * - projects:   GET/POST /organizations/:org/projects
 *   https://developer.hashicorp.com/terraform/cloud-docs/api-docs/projects
 * - workspaces: GET /organizations/:org/workspaces/:name, POST /organizations/:org/workspaces, PATCH /workspaces/:id
 *   https://developer.hashicorp.com/terraform/cloud-docs/api-docs/workspaces
 * - variables:  GET/POST /workspaces/:id/vars, PATCH /workspaces/:id/vars/:var_id
 *   https://developer.hashicorp.com/terraform/cloud-docs/api-docs/workspace-variables
 * - sharing:    GET/POST/DELETE /workspaces/:id/relationships/remote-state-consumers
 *   https://developer.hashicorp.com/terraform/cloud-docs/api-docs/workspaces#get-remote-state-consumers
 */

export const JSONAPI = "application/vnd.api+json";

/** The token was refused (HTTP 401): the caller exits with EXIT_BAD_TOKEN. */
export class TokenRejected extends Error {}

/** Any other unexpected answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiResponse {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface TfcClient {
  /** Every request made, in order (method and path); writes are the non-GET ones. */
  readonly log: string[];
  get(path: string, allow404?: boolean): Promise<ApiResponse>;
  write(method: "POST" | "PATCH" | "DELETE", path: string, body: unknown): Promise<ApiResponse>;
}

/**
 * The token: TFE_TOKEN, else the CLI's per-host variable TF_TOKEN_<host with dots as underscores>
 * (https://developer.hashicorp.com/terraform/cli/config/config-file#environment-variable-credentials).
 */
export function tokenFrom(vars: Readonly<Record<string, string | undefined>>, hostname: string): string | undefined {
  return vars.TFE_TOKEN || vars[`TF_TOKEN_${hostname.replace(/\./g, "_").replace(/-/g, "__")}`] || undefined;
}

export function httpClient(address: string, token: string): TfcClient {
  const log: string[] = [];
  const call = async (method: string, path: string, body?: unknown, allow404 = false): Promise<ApiResponse> => {
    log.push(`${method} ${path}`);
    const res = await fetch(`${address.replace(/\/$/, "")}/api/v2${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": JSONAPI, Accept: JSONAPI },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (res.status === 401) throw new TokenRejected(`${method} ${path}: HTTP 401`);
    if (res.status === 404 && allow404) return { status: 404, body: parsed };
    if (res.status >= 300) {
      const errs = (parsed as { errors?: Array<{ title?: string; detail?: string }> } | undefined)?.errors ?? [];
      const why =
        errs.map((e) => [e.title, e.detail].filter(Boolean).join(": ")).join("; ") || String(text).slice(0, 200);
      throw new ApiError(res.status, `${method} ${path}: HTTP ${res.status} ${why}`);
    }
    return { status: res.status, body: parsed };
  };
  return {
    log,
    get: (path, allow404 = false) => call("GET", path, undefined, allow404),
    write: (method, path, body) => call(method, path, body),
  };
}
