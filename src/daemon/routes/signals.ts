// Signals: the queue of a repository, a signal sent through the API, and "scan now".
import { Hono } from "hono";
import { ApiError } from "../../api/errors.ts";
import { emitSignal, listSignals, scan, toSignal } from "../../api/signals.ts";
import { canonicalSignalType, normalizePayload } from "../../lifecycle/signal-types.ts";
import { recordAudit } from "../../store/audit.ts";
import { writeTx } from "../../store/db.ts";
import { countSignals, enqueueSignal, listSignals as storedSignals, MAX_PENDING_SIGNALS } from "../../store/signals.ts";
import { normalizeTaskName, taskNameProblem } from "../../store/tasks.ts";
import type { Daemon } from "../daemon.ts";
import type { EventHub } from "../events.ts";
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
    const canon = canonicalSignalType(body.type);
    if (!canon.ok) throw new ApiError("invalid", canon.error);
    const raw = body.payload === undefined ? "" : typeof body.payload === "string" ? body.payload : JSON.stringify(body.payload);
    const payload = normalizePayload(canon.type, raw);
    if (!payload.ok) throw new ApiError("invalid", `invalid payload for ${canon.type}: ${payload.error}`);
    const task = normalizeTaskName(body.task);
    const nameProblem = taskNameProblem(task);
    if (nameProblem) throw new ApiError("invalid", nameProblem);
    if (countSignals(d.db, repo.project).pending >= MAX_PENDING_SIGNALS) {
      throw new ApiError("too_many", `signal queue of ${repo.project} is full (${MAX_PENDING_SIGNALS} pending); try again when the daemon has caught up`);
    }
    const id = writeTx(d.db, () => {
      const id = enqueueSignal(d.db, { project: repo.project, task, type: canon.type, payload: payload.payload, source: "api" });
      recordAudit(d.db, { kind: "signal_enqueued", project: repo.project, task, event: canon.type, signalId: id, message: `${canon.type} queued (api)` });
      return id;
    });
    d.loop.kick(repo.project);
    hub.pump();
    return { id, project: repo.project, task, type: canon.type, status: "pending" as const };
  });

  serve(app, scan, ({ body }) => {
    if (body.project) registeredRepo(d, body.project);
    d.loop.kick(body.project);
    return { status: "scheduled" as const, project: body.project ?? null };
  });
  return app;
}
