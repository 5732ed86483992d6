// Agents: list, capture, send, kill, restart, a task's retry, and the reports of the agents' own CLIs.
import { Hono } from "hono";
import { agentEvent, captureAgent, killAgent, listAgents, restartAgent, retryTask, sendToAgent, toAgent } from "../../api/agents.ts";
import { Refused } from "../../util/errors.ts";
import { listAgents as storedAgents, liveAgents } from "../../store/agents.ts";
import type { AgentRunner } from "../../runner/runner.ts";
import type { Daemon } from "../running-daemon.ts";
import { serve } from "../http.ts";
import { registeredRepo } from "./repos.ts";

export function agentRoutes(d: Daemon, runner: AgentRunner): Hono {
  const app = new Hono();
  serve(app, listAgents, ({ params, query }) => {
    const repo = registeredRepo(d, params.project);
    const filter = { project: repo.project, ...(query.task ? { task: query.task } : {}) };
    // Live ones from the live index: newest-500-then-filter lost a live agent behind 500 newer ended ones.
    return (query.all ? storedAgents(d.db, { ...filter, limit: 500 }) : liveAgents(d.db, filter).reverse()).map(toAgent);
  });

  serve(app, captureAgent, async ({ params, query }) => {
    const repo = registeredRepo(d, params.project);
    const text = await runner.capture(repo.project, params.title, query.lines);
    if (text === null) throw new Refused("not_found", `instance not found: ${params.title}`);
    // Said even for an empty screen (hono leaves the type off an empty text body).
    return new Response(text, { headers: { "content-type": "text/plain; charset=UTF-8" } });
  });

  serve(app, sendToAgent, async ({ params, body }) => {
    const repo = registeredRepo(d, params.project);
    if (!(await runner.send(repo.project, params.title, body.prompt))) throw new Refused("not_found", `instance not running: ${params.title}`);
  });

  serve(app, agentEvent, ({ body }) => {
    const r = runner.onAgentEvent(body);
    if (r === null) throw new Refused("not_found", `no running agent ${body.title} in ${body.project}`);
    return r;
  });

  serve(app, restartAgent, ({ params, query }) => runner.restart(registeredRepo(d, params.project), params.title, query.fresh === true));
  serve(app, retryTask, ({ params }) => runner.retryTask(registeredRepo(d, params.project), params.task));

  serve(app, killAgent, ({ params }) => {
    const repo = registeredRepo(d, params.project);
    if (!runner.kill(repo.project, params.title)) throw new Refused("not_found", `instance not running: ${params.title}`);
    return { status: "killing" as const, title: params.title };
  });
  return app;
}
