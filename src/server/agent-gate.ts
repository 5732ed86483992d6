// The agents' door to the daemon. A sandboxed agent sees this socket, never the control socket, and
// every request on it must carry the agent's token (Authorization: Bearer …). With it an agent may do
// what its own work needs — report its CLI's hooks for itself, queue signals and store the plan of its
// own task, read its own task, ping — and nothing else: other tasks, other agents, repos, config, gc,
// reload, usage answer 403 and are audited with the agent's identity. One middleware, whatever the
// transport.
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type { Context, Hono, MiddlewareHandler } from "hono";
import { Hono as HonoApp } from "hono";
import { recordAudit } from "../store/audit.ts";
import { type AgentIdentity, verifyAgentToken } from "./agent-token.ts";
import { agentSocketPath } from "./agent-paths.ts";
import type { Daemon } from "./running-daemon.ts";


type Body = Record<string, unknown>;

interface Allowed {
  method: string;
  path: RegExp;
  /** True when the request is the agent's own (path groups, JSON body). */
  own: (id: AgentIdentity, m: RegExpExecArray, body: Body) => boolean;
}

const seg = "([^/]+)";
const ALLOWED: Allowed[] = [
  { method: "GET", path: /^\/v1\/ping$/, own: () => true },
  { method: "POST", path: /^\/v1\/agent-events$/, own: (id, _m, b) => b.project === id.project && b.title === id.title },
  { method: "POST", path: new RegExp(`^/v1/repos/${seg}/signals$`), own: (id, m, b) => dec(m[1]) === id.project && typeof b.task === "string" && sameTask(b.task, id.task) },
  { method: "POST", path: /^\/v1\/scan$/, own: (id, _m, b) => b.project === undefined || b.project === id.project },
  { method: "GET", path: new RegExp(`^/v1/repos/${seg}/tasks/${seg}$`), own: (id, m) => dec(m[1]) === id.project && dec(m[2]) === id.task },
  { method: "POST", path: new RegExp(`^/v1/repos/${seg}/tasks/${seg}/plan$`), own: (id, m) => dec(m[1]) === id.project && dec(m[2]) === id.task },
];

function dec(s: string | undefined): string {
  try {
    return decodeURIComponent(s ?? "");
  } catch {
    return "";
  }
}

/** `kas signal emit` drops a trailing .md from the task name; so does the check. */
function sameTask(given: string, own: string): boolean {
  return given === own || given === `${own}.md`;
}

async function jsonOf(c: Context): Promise<Body> {
  if (c.req.method !== "POST") return {};
  try {
    const v: unknown = await c.req.raw.clone().json();
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Body) : {};
  } catch {
    return {};
  }
}

function bearer(c: Context): string {
  const h = c.req.header("authorization") ?? "";
  return h.startsWith("Bearer ") ? h.slice(7).trim() : "";
}

/** The middleware: 401 without a valid token, 403 (audited) for anything not the agent's own. */
export function agentGate(d: Daemon): MiddlewareHandler {
  return async (c, next) => {
    const id = verifyAgentToken(bearer(c));
    if (id === null) return c.json({ error: "an agent token is required on this socket (KASMOS_AGENT_TOKEN)" }, 401);
    const path = c.req.path;
    const body = await jsonOf(c);
    for (const a of ALLOWED) {
      if (a.method !== c.req.method) continue;
      const m = a.path.exec(path);
      if (m && a.own(id, m, body)) return next();
    }
    const what = `${c.req.method} ${path}`;
    try {
      recordAudit(d.db, { kind: "agent_forbidden", project: id.project, task: id.task, message: `${id.title}: ${what} refused (an agent acts only for itself)`, detail: { title: id.title, method: c.req.method, path }, level: "warn" });
    } catch (err) {
      d.log.warn(`cannot audit a refused agent request: ${(err as Error).message}`);
    }
    d.log.warn(`${id.project}/${id.task}: agent ${id.title} refused: ${what}`);
    return c.json({ error: `forbidden: agent ${id.title} may act only for its own task (${id.project}/${id.task})` }, 403);
  };
}

/** The app served on the agents' socket: the gate, then the daemon's own routes. */
export function createAgentApp(d: Daemon, app: Hono): Hono {
  const agents = new HonoApp();
  agents.use(agentGate(d));
  agents.all("*", (c) => app.fetch(c.req.raw));
  return agents;
}

/** Listen on the agents' socket (its folder 0700, the socket 0600 like the control one). */
export function serveAgents(d: Daemon, app: Hono, controlSocket: string): ReturnType<typeof Bun.serve> {
  const path = agentSocketPath(controlSocket);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  chmodSync(dirname(path), 0o700);
  rmSync(path, { force: true });
  const agents = createAgentApp(d, app);
  const oldUmask = process.umask(0o177);
  try {
    const options = { unix: path, fetch: agents.fetch, maxRequestBodySize: 8 * 1024 * 1024, idleTimeout: 0 };
    return Bun.serve(options as Omit<typeof options, "idleTimeout">);
  } finally {
    process.umask(oldUmask);
  }
}
