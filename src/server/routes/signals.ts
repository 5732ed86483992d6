// Signals: the queue of a repository, a signal sent through the API, and "scan now".
import { Hono } from "hono";
import { emitSignal, listSignals, scan, toSignal } from "../../api/signals.ts";
import { listSignals as storedSignals } from "../../store/signals.ts";
import { emitSignal as emitOnce } from "../../usecases/emit-signal.ts";
import type { Daemon } from "../running-daemon.ts";
import type { EventHub } from "../../engine/events.ts";
import { serve } from "../http.ts";
import { registeredRepo } from "./repos.ts";

export function signalRoutes(d: Daemon, hub: EventHub): Hono {
  const app = new Hono();
  serve(app, listSignals, ({ params, query }) => {
    const repo = registeredRepo(d, params.project);
    return storedSignals(d.db, { project: repo.project, ...(query.status ? { status: query.status } : {}), limit: query.limit }).map(toSignal);
  });

  serve(app, emitSignal, ({ params, body }) => {
    const repo = registeredRepo(d, params.project);
    const payload = body.payload === undefined ? "" : typeof body.payload === "string" ? body.payload : JSON.stringify(body.payload);
    const { id, task, type } = emitOnce(d.db, { project: repo.project, task: body.task, type: body.type, payload, source: "api", knownTaskOnly: false });
    d.loop.kick(repo.project);
    hub.pump();
    return { id, project: repo.project, task, type, status: "pending" as const };
  });

  serve(app, scan, ({ body }) => {
    if (body.project) registeredRepo(d, body.project);
    d.loop.kick(body.project);
    return { status: "scheduled" as const, project: body.project ?? null };
  });
  return app;
}
