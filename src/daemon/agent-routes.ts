// Agent instances of the control API: list, capture, send, kill.
import type { Hono } from "hono";
import * as v from "valibot";
import { listAgents, liveAgents } from "../store/agents.ts";
import { listUsage } from "../store/usage.ts";
import { parseSince, summarizeUsage, USAGE_GROUPINGS, type UsageGrouping } from "../api/usage.ts";
import { AgentEventBody } from "../api/agents.ts";
import type { AgentRunner } from "./agent-runner.ts";
import { RestartRefused } from "./restart-checks.ts";
import type { Daemon } from "./daemon.ts";
import { HttpError, jsonBody } from "./http.ts";

const SendBody = v.object({ prompt: v.pipe(v.string("prompt must be a string"), v.minLength(1, "prompt is required"), v.maxLength(256 * 1024, "prompt must be at most 256 KiB")) });

export function mountAgentRoutes(app: Hono, d: Daemon, runner: AgentRunner): void {
  const project = (p: string): string => {
    if (!d.registry.get(p)) throw new HttpError(404, `repo not registered: ${p}`);
    return p;
  };
  app.get("/v1/repos/:project/instances", (c) => {
    const p = project(c.req.param("project"));
    const all = c.req.query("all") === "1" || c.req.query("all") === "true";
    const filter = { project: p, ...(c.req.query("task") ? { task: c.req.query("task")! } : {}) };
    // Live ones from the live index: newest-500-then-filter lost a live agent behind 500 newer ended ones.
    return c.json(all ? listAgents(d.db, { ...filter, limit: 500 }) : liveAgents(d.db, filter).reverse());
  });
  app.get("/v1/repos/:project/instances/:title/capture", async (c) => {
    const p = project(c.req.param("project"));
    const lines = c.req.query("lines") ? Number(c.req.query("lines")) : undefined;
    if (lines !== undefined && (!Number.isInteger(lines) || lines < 1)) throw new HttpError(400, "lines must be a positive integer");
    const text = await runner.capture(p, c.req.param("title"), lines);
    if (text === null) throw new HttpError(404, `instance not found: ${c.req.param("title")}`);
    return c.text(text);
  });
  app.post("/v1/repos/:project/instances/:title/send", async (c) => {
    const p = project(c.req.param("project"));
    const body = await jsonBody(c, SendBody);
    if (!(await runner.send(p, c.req.param("title"), body.prompt))) throw new HttpError(404, `instance not running: ${c.req.param("title")}`);
    return c.body(null, 204);
  });
  // Tokens and cost (GET /v1/usage?project=&task=&since=7d&by=task|role|model|repo|day).
  app.get("/v1/usage", (c) => {
    const by = (c.req.query("by") ?? "task") as UsageGrouping;
    if (!(USAGE_GROUPINGS as readonly string[]).includes(by)) throw new HttpError(400, `by must be one of ${USAGE_GROUPINGS.join(", ")}`);
    const sinceRaw = c.req.query("since");
    const since = sinceRaw ? parseSince(sinceRaw) : null;
    if (sinceRaw && since === null) throw new HttpError(400, `since: cannot read "${sinceRaw}" (use 7d, 24h, 90m or a date)`);
    const project = c.req.query("project");
    const task = c.req.query("task");
    const rows = listUsage(d.db, { ...(project ? { project } : {}), ...(task ? { task } : {}), ...(since ? { since } : {}) });
    return c.json(summarizeUsage(rows, by, d.config.pricing, since));
  });
  // Reports from the agents' own CLIs (Claude Code hooks, codex notify) through `kasmos agent hook`.
  app.post("/v1/agent-events", async (c) => {
    const body = await jsonBody(c, AgentEventBody);
    const r = runner.onAgentEvent(body);
    if (r === null) throw new HttpError(404, `no running agent ${body.title} in ${body.project}`);
    return c.json(r);
  });
  const restartError = (err: unknown): never => {
    if (err instanceof RestartRefused) throw new HttpError(err.status, err.message);
    throw err;
  };
  app.post("/v1/repos/:project/instances/:title/restart", async (c) => {
    const p = project(c.req.param("project"));
    const repo = d.registry.get(p)!;
    return c.json(await runner.restart(repo, c.req.param("title")).catch(restartError));
  });
  app.post("/v1/repos/:project/tasks/:task/retry", async (c) => {
    const p = project(c.req.param("project"));
    const repo = d.registry.get(p)!;
    return c.json(await runner.retryTask(repo, c.req.param("task")).catch(restartError));
  });
  app.post("/v1/repos/:project/instances/:title/kill", (c) => {
    const p = project(c.req.param("project"));
    if (!runner.kill(p, c.req.param("title"))) throw new HttpError(404, `instance not running: ${c.req.param("title")}`);
    return c.json({ status: "killing", title: c.req.param("title") });
  });
}
