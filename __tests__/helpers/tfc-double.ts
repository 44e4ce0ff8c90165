/**
 * TEST DOUBLE of the Terraform Cloud API (not Terraform Cloud): an in-memory organization served over HTTP on
 * 127.0.0.1, for scripts/tools/tfc/bootstrap and the preflight's Terraform Cloud step. It implements only the
 * endpoints those tools call, and checks each request the way the API documents it:
 * - `Authorization: Bearer <token>`; any other token gets 401 with a JSON:API error
 *   (https://developer.hashicorp.com/terraform/cloud-docs/api-docs#authentication);
 * - writes carry `Content-Type: application/vnd.api+json` and a JSON:API document (`data.type` as the page
 *   says), else 415 / 422 (https://developer.hashicorp.com/terraform/cloud-docs/api-docs#json-api-documents);
 * - projects: POST /organizations/:org/projects {data:{type:"projects",attributes:{name}}}; GET with filter[names]
 *   (https://developer.hashicorp.com/terraform/cloud-docs/api-docs/projects);
 * - workspaces: GET /organizations/:org/workspaces/:name, POST /organizations/:org/workspaces, PATCH /workspaces/:id,
 *   attributes name, execution-mode (remote|local|agent), terraform-version, global-remote-state, setting-overwrites,
 *   relationships.project.data {type:"projects",id} (https://developer.hashicorp.com/terraform/cloud-docs/api-docs/workspaces);
 * - vars: GET/POST /workspaces/:id/vars, PATCH /workspaces/:id/vars/:var_id with data.type "vars", attributes
 *   key, value, category (terraform|env), hcl, sensitive, description
 *   (https://developer.hashicorp.com/terraform/cloud-docs/api-docs/workspace-variables);
 * - GET/POST/DELETE /workspaces/:id/relationships/remote-state-consumers with data: [{type:"workspaces", id}]
 *   (https://developer.hashicorp.com/terraform/cloud-docs/api-docs/workspaces#get-remote-state-consumers).
 * Every request is logged; `writes()` counts the non-GET ones. Sensitive values read back as null, as the API does.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from "http";
import { AddressInfo } from "net";

export interface DoubleWorkspace {
  id: string;
  name: string;
  attributes: Record<string, unknown>;
  projectId?: string;
  vars: Array<{
    id: string;
    key: string;
    value: string;
    category: string;
    hcl: boolean;
    sensitive: boolean;
    description?: string;
  }>;
  consumers: string[];
}

export interface TfcDouble {
  address: string;
  token: string;
  organization: string;
  projects: Array<{ id: string; name: string }>;
  workspaces: DoubleWorkspace[];
  log: string[];
  /** Requests rejected as malformed (422/415/400): a passing test expects none. */
  rejected: string[];
  writes(): string[];
  workspace(name: string): DoubleWorkspace;
  stop(): Promise<void>;
}

const JSONAPI = "application/vnd.api+json";
const WS_ATTRIBUTES = new Set([
  "name",
  "execution-mode",
  "terraform-version",
  "global-remote-state",
  "setting-overwrites",
  "description",
  "auto-apply",
]);
const VAR_ATTRIBUTES = new Set(["key", "value", "category", "hcl", "sensitive", "description"]);

export async function startTfcDouble(organization = "shtetl", token = "tfc-double-token"): Promise<TfcDouble> {
  let seq = 0;
  const nextId = (p: string) => `${p}-${(++seq).toString().padStart(16, "0")}`;
  const state = {
    projects: [] as Array<{ id: string; name: string }>,
    workspaces: [] as DoubleWorkspace[],
    log: [] as string[],
    rejected: [] as string[],
  };

  const wsDoc = (w: DoubleWorkspace) => ({
    id: w.id,
    type: "workspaces",
    attributes: { name: w.name, ...w.attributes },
    relationships: { project: { data: w.projectId ? { id: w.projectId, type: "projects" } : null } },
  });
  const varDoc = (v: DoubleWorkspace["vars"][number]) => ({
    id: v.id,
    type: "vars",
    attributes: {
      key: v.key,
      value: v.sensitive ? null : v.value,
      category: v.category,
      hcl: v.hcl,
      sensitive: v.sensitive,
      description: v.description ?? null,
    },
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://double");
    const path = url.pathname.replace(/^\/api\/v2/, "");
    state.log.push(`${method} ${path}${url.search}`);
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, { "Content-Type": JSONAPI });
      res.end(body === undefined ? "" : JSON.stringify(body));
    };
    const fail = (status: number, title: string, detail: string) => {
      if (status !== 401 && status !== 404) state.rejected.push(`${method} ${path}: ${status} ${detail}`);
      send(status, { errors: [{ status: String(status), title, detail }] });
    };
    if (!url.pathname.startsWith("/api/v2/")) return fail(404, "not found", `no route ${url.pathname}`);
    if (req.headers.authorization !== `Bearer ${token}`) return fail(401, "unauthorized", "invalid token");
    let body: any = undefined;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (method !== "GET") {
      if (!String(req.headers["content-type"] ?? "").startsWith(JSONAPI))
        return fail(415, "unsupported media type", `Content-Type must be ${JSONAPI}`);
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return fail(400, "bad request", "body is not JSON");
      }
    }
    const orgPrefix = `/organizations/${organization}`;
    let m: RegExpExecArray | null;

    if (method === "GET" && path === orgPrefix)
      return send(200, { data: { id: organization, type: "organizations", attributes: { name: organization } } });
    if (path.startsWith("/organizations/") && !path.startsWith(orgPrefix + "/") && path !== orgPrefix)
      return fail(404, "not found", "organization not found");

    // Projects
    if (path === `${orgPrefix}/projects`) {
      if (method === "GET") {
        const names = url.searchParams.get("filter[names]");
        const list = names === null ? state.projects : state.projects.filter((p) => names.split(",").includes(p.name));
        return send(200, { data: list.map((p) => ({ id: p.id, type: "projects", attributes: { name: p.name } })) });
      }
      if (method === "POST") {
        if (body?.data?.type !== "projects") return fail(422, "invalid", 'data.type must be "projects"');
        const name = body.data.attributes?.name;
        if (typeof name !== "string" || !/^[A-Za-z0-9 _-]{3,40}$/.test(name))
          return fail(422, "invalid", "data.attributes.name is invalid");
        if (state.projects.some((p) => p.name === name)) return fail(422, "invalid", "name has already been taken");
        const p = { id: nextId("prj"), name };
        state.projects.push(p);
        return send(201, { data: { id: p.id, type: "projects", attributes: { name } } });
      }
    }

    // Workspaces
    const checkWsAttributes = (attrs: Record<string, unknown>): string | undefined => {
      for (const k of Object.keys(attrs)) if (!WS_ATTRIBUTES.has(k)) return `unknown attribute data.attributes.${k}`;
      if ("execution-mode" in attrs && !["remote", "local", "agent"].includes(String(attrs["execution-mode"])))
        return "execution-mode must be remote, local or agent";
      if ("terraform-version" in attrs && !/^\d+\.\d+\.\d+$/.test(String(attrs["terraform-version"])))
        return "terraform-version must be a version";
      if ("global-remote-state" in attrs && typeof attrs["global-remote-state"] !== "boolean")
        return "global-remote-state must be a boolean";
      return undefined;
    };
    const projectRel = (b: any): string | undefined | null => {
      const rel = b?.data?.relationships?.project;
      if (rel === undefined) return undefined;
      if (rel?.data?.type !== "projects" || !state.projects.some((p) => p.id === rel.data.id)) return null;
      return rel.data.id;
    };
    if ((m = new RegExp(`^${orgPrefix}/workspaces/([^/]+)$`).exec(path)) && method === "GET") {
      const w = state.workspaces.find((x) => x.name === decodeURIComponent(m![1]));
      return w ? send(200, { data: wsDoc(w) }) : fail(404, "not found", "workspace not found");
    }
    if (path === `${orgPrefix}/workspaces` && method === "POST") {
      if (body?.data?.type !== "workspaces") return fail(422, "invalid", 'data.type must be "workspaces"');
      const attrs = body.data.attributes ?? {};
      const problem = checkWsAttributes(attrs);
      if (problem) return fail(422, "invalid", problem);
      if (typeof attrs.name !== "string" || !/^[A-Za-z0-9_-]{1,90}$/.test(attrs.name))
        return fail(422, "invalid", "name is invalid");
      if (state.workspaces.some((w) => w.name === attrs.name))
        return fail(422, "invalid", "name has already been taken");
      const project = projectRel(body);
      if (project === null)
        return fail(422, "invalid", "relationships.project.data must be {type: projects, id: <existing project>}");
      const { name, ...rest } = attrs;
      const w: DoubleWorkspace = {
        id: nextId("ws"),
        name,
        attributes: { "execution-mode": "remote", "terraform-version": "1.9.0", "global-remote-state": false, ...rest },
        projectId: project,
        vars: [],
        consumers: [],
      };
      state.workspaces.push(w);
      return send(201, { data: wsDoc(w) });
    }
    const wsById = (id: string) => state.workspaces.find((x) => x.id === id);
    if ((m = /^\/workspaces\/([^/]+)$/.exec(path)) && method === "PATCH") {
      const w = wsById(m[1]);
      if (!w) return fail(404, "not found", "workspace not found");
      if (body?.data?.type !== "workspaces") return fail(422, "invalid", 'data.type must be "workspaces"');
      const problem = checkWsAttributes(body.data.attributes ?? {});
      if (problem) return fail(422, "invalid", problem);
      const project = projectRel(body);
      if (project === null)
        return fail(422, "invalid", "relationships.project.data must be {type: projects, id: <existing project>}");
      if (project) w.projectId = project;
      const { name, ...rest } = body.data.attributes ?? {};
      if (name) w.name = name;
      Object.assign(w.attributes, rest);
      return send(200, { data: wsDoc(w) });
    }

    // Variables
    if ((m = /^\/workspaces\/([^/]+)\/vars(?:\/([^/]+))?$/.exec(path))) {
      const w = wsById(m[1]);
      if (!w) return fail(404, "not found", "workspace not found");
      if (method === "GET" && !m[2]) return send(200, { data: w.vars.map(varDoc) });
      if (method !== "GET" && body?.data?.type !== "vars") return fail(422, "invalid", 'data.type must be "vars"');
      const a = body?.data?.attributes ?? {};
      for (const k of Object.keys(a))
        if (!VAR_ATTRIBUTES.has(k)) return fail(422, "invalid", `unknown attribute data.attributes.${k}`);
      if ("category" in a && !["terraform", "env"].includes(a.category))
        return fail(422, "invalid", "category must be terraform or env");
      if (method === "POST" && !m[2]) {
        if (typeof a.key !== "string" || typeof a.value !== "string" || !a.category)
          return fail(422, "invalid", "key, value and category are required");
        if (w.vars.some((v) => v.key === a.key && v.category === a.category))
          return fail(422, "invalid", "key has already been taken");
        const v = {
          id: nextId("var"),
          key: a.key,
          value: a.value,
          category: a.category,
          hcl: !!a.hcl,
          sensitive: !!a.sensitive,
          description: a.description,
        };
        w.vars.push(v);
        return send(201, { data: varDoc(v) });
      }
      if (method === "PATCH" && m[2]) {
        const v = w.vars.find((x) => x.id === m![2]);
        if (!v) return fail(404, "not found", "variable not found");
        if (body.data.id !== v.id) return fail(422, "invalid", "data.id must be the variable id");
        Object.assign(v, Object.fromEntries(Object.entries(a).filter(([k]) => k !== "description")));
        return send(200, { data: varDoc(v) });
      }
    }

    // Remote state consumers
    if ((m = /^\/workspaces\/([^/]+)\/relationships\/remote-state-consumers$/.exec(path))) {
      const w = wsById(m[1]);
      if (!w) return fail(404, "not found", "workspace not found");
      if (method === "GET") return send(200, { data: w.consumers.map((id) => ({ id, type: "workspaces" })) });
      const list = body?.data;
      if (
        !Array.isArray(list) ||
        list.length === 0 ||
        list.some((d: { type?: string; id?: string }) => d?.type !== "workspaces" || !wsById(String(d.id)))
      )
        return fail(422, "invalid", "data must be a non-empty array of {type: workspaces, id: <existing workspace>}");
      const ids: string[] = list.map((d: { id: string }) => d.id);
      if (method === "POST") {
        for (const id of ids) if (!w.consumers.includes(id)) w.consumers.push(id);
        return send(204);
      }
      if (method === "DELETE") {
        w.consumers = w.consumers.filter((c) => !ids.includes(c));
        return send(204);
      }
    }
    return fail(404, "not found", `no route ${method} ${path}`);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    address: `http://127.0.0.1:${port}`,
    token,
    organization,
    get projects() {
      return state.projects;
    },
    get workspaces() {
      return state.workspaces;
    },
    get log() {
      return state.log;
    },
    get rejected() {
      return state.rejected;
    },
    writes: () => state.log.filter((l) => !l.startsWith("GET ")),
    workspace(name: string) {
      const w = state.workspaces.find((x) => x.name === name);
      if (!w) throw new Error(`no workspace ${name} in the double`);
      return w;
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
