// Task, signal and event routes of the control API.
import type { Hono } from "hono";
import * as v from "valibot";
import { resolveBranchHead } from "../agents/git.ts";
import { repoProcessorConfig } from "../config/processor.ts";
import { eventNames, parseEventName } from "../lifecycle/fsm.ts";
import { canonicalSignalType, normalizePayload } from "../lifecycle/signal-types.ts";
import { TASK_STATUSES, type SignalRowStatus, type TaskStatus } from "../lifecycle/types.ts";
import { listAudit, recordAudit } from "../store/audit.ts";
import { nowIso, writeTx } from "../store/db.ts";
import { applyOperatorEvent } from "../store/effects.ts";
import { ingestPlan } from "../store/plans.ts";
import { countSignals, enqueueSignal, listSignals, MAX_PENDING_SIGNALS, SIGNAL_ROW_STATUSES } from "../store/signals.ts";
import { StoreError } from "../store/errors.ts";
import { branchProblem, createTask, getTask, listTasks, normalizeTaskName, taskNameProblem } from "../store/tasks.ts";
import { listSubtasks } from "../store/subtasks.ts";
import type { Daemon } from "./daemon.ts";
import type { EventHub } from "./events.ts";
import { HttpError, jsonBody } from "./http.ts";
import type { RepoEntry } from "./repos.ts";


const CreateTaskBody = v.object({
  name: v.pipe(v.string(), v.minLength(1, "name is required")),
  description: v.optional(v.string()),
  topic: v.optional(v.string()),
  branch: v.optional(v.string()),
  plan: v.optional(v.pipe(v.string(), v.maxLength(512 * 1024, "plan must be at most 512 KiB"))),
});
const TransitionBody = v.object({ event: v.pipe(v.string("event must be a string"), v.minLength(1, "event is required")) });
const SignalBody = v.object({
  type: v.pipe(v.string("type must be a string"), v.minLength(1, "type is required")),
  task: v.pipe(v.string("task must be a string"), v.minLength(1, "task is required")),
  payload: v.optional(v.union([v.string(), v.record(v.string(), v.unknown())], "payload must be a string or a JSON object")),
});
const ScanBody = v.object({ project: v.optional(v.string()) });

function csv<T extends string>(raw: string | undefined, allowed: readonly T[], what: string): T[] | undefined {
  if (!raw) return undefined;
  const out: T[] = [];
  for (const s of raw.split(",").map((x) => x.trim()).filter(Boolean)) {
    if (!(allowed as readonly string[]).includes(s)) throw new HttpError(400, `unknown ${what} "${s}"; valid: ${allowed.join(", ")}`);
    out.push(s as T);
  }
  return out;
}

export function mountLifecycleRoutes(app: Hono, d: Daemon, hub: EventHub): void {
  const repoOf = (project: string): RepoEntry => {
    const r = d.registry.get(project);
    if (!r) throw new HttpError(404, `repo not registered: ${project}`);
    return r;
  };

  app.get("/v1/repos/:project/tasks", (c) => {
    const repo = repoOf(c.req.param("project"));
    const status = csv<TaskStatus>(c.req.query("status"), TASK_STATUSES, "status");
    const rawLimit = c.req.query("limit");
    const limit = rawLimit === undefined ? 1000 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new HttpError(400, "limit must be a whole number from 1 to 10000");
    // The list leaves out plan content (GET …/tasks/:name has it): lists stay small however big plans are.
    const rows = listTasks(d.db, { project: repo.project, ...(status ? { status } : {}), withoutContent: true, limit });
    return c.json(rows.map(({ content: _content, ...rest }) => rest));
  });

  app.post("/v1/repos/:project/tasks", async (c) => {
    const repo = repoOf(c.req.param("project"));
    const body = await jsonBody(c, CreateTaskBody);
    const name = normalizeTaskName(body.name);
    const nameProblem = taskNameProblem(name);
    if (nameProblem) throw new HttpError(400, nameProblem);
    if (body.branch !== undefined) {
      const bp = branchProblem(body.branch);
      if (bp) throw new HttpError(400, bp);
    }
    if (body.plan !== undefined) {
      const { parsePlan } = await import("../lifecycle/plan-parser.ts");
      const p = parsePlan(body.plan);
      if (!p.ok) throw new HttpError(400, `invalid plan: ${p.error}`);
    }
    const branch = body.branch ?? `plan/${name}`;
    const { defaultBranch } = await import("../agents/worktree.ts");
    if (branch === (await defaultBranch(repo.path).catch(() => ""))) throw new HttpError(400, `branch ${branch} is the repository's default branch; a task works on its own branch (default plan/${name})`);
    writeTx(d.db, () => {
      if (getTask(d.db, repo.project, name)) throw new HttpError(409, `task already exists: ${repo.project}/${name}`);
      try {
        createTask(d.db, { project: repo.project, name, description: body.description ?? "", topic: body.topic ?? "", branch });
      } catch (err) {
        if (err instanceof StoreError && err.code === "conflict") throw new HttpError(409, err.message);
        throw err;
      }
      recordAudit(d.db, { kind: "task_created", project: repo.project, task: name, toStatus: "ready", message: "task created (api)" });
      if (body.plan !== undefined) ingestPlan(d.db, repo.project, name, body.plan, { allowDraft: false, source: "api" });
    });
    hub.pump();
    return c.json(getTask(d.db, repo.project, name), 201);
  });

  app.get("/v1/repos/:project/tasks/:name", (c) => {
    const repo = repoOf(c.req.param("project"));
    const task = getTask(d.db, repo.project, c.req.param("name"));
    if (!task) throw new HttpError(404, `task not found: ${repo.project}/${c.req.param("name")}`);
    return c.json({ task, subtasks: listSubtasks(d.db, repo.project, task.name), history: listAudit(d.db, { project: repo.project, task: task.name, limit: 20 }) });
  });

  app.post("/v1/repos/:project/tasks/:name/transition", async (c) => {
    const repo = repoOf(c.req.param("project"));
    const body = await jsonBody(c, TransitionBody);
    const event = parseEventName(body.event);
    if (!event) throw new HttpError(400, `unknown event "${body.event}"; valid events: ${eventNames().join(", ")}`);
    const before = getTask(d.db, repo.project, c.req.param("name"));
    if (!before) throw new HttpError(404, `task not found: ${repo.project}/${c.req.param("name")}`);
    const head = before.branch ? await resolveBranchHead(repo.path, before.branch) : null;
    const result = applyOperatorEvent(d.db, { project: repo.project, task: before.name, event, cfg: repoProcessorConfig(d.config, repo.path), head, prices: d.config.pricing, source: "api", now: nowIso() });
    hub.pump();
    if (result.outcome === "failed") throw new HttpError(409, `${event} refused: ${result.result}`);
    return c.json({ result, task: getTask(d.db, repo.project, before.name) });
  });

  app.get("/v1/repos/:project/signals", (c) => {
    const repo = repoOf(c.req.param("project"));
    const status = csv<SignalRowStatus>(c.req.query("status"), SIGNAL_ROW_STATUSES, "signal status");
    const limit = Math.max(1, Math.min(1000, Number(c.req.query("limit") ?? "100") || 100));
    return c.json(listSignals(d.db, { project: repo.project, ...(status ? { status } : {}), limit }));
  });

  app.post("/v1/repos/:project/signals", async (c) => {
    const repo = repoOf(c.req.param("project"));
    const body = await jsonBody(c, SignalBody);
    const canon = canonicalSignalType(body.type);
    if (!canon.ok) throw new HttpError(400, canon.error);
    const raw = body.payload === undefined ? "" : typeof body.payload === "string" ? body.payload : JSON.stringify(body.payload);
    const payload = normalizePayload(canon.type, raw);
    if (!payload.ok) throw new HttpError(400, `invalid payload for ${canon.type}: ${payload.error}`);
    const task = normalizeTaskName(body.task);
    if (taskNameProblem(task)) throw new HttpError(400, taskNameProblem(task)!);
    if (countSignals(d.db, repo.project).pending >= MAX_PENDING_SIGNALS) {
      throw new HttpError(429, `signal queue of ${repo.project} is full (${MAX_PENDING_SIGNALS} pending); try again when the daemon has caught up`);
    }
    const id = writeTx(d.db, () => {
      const id = enqueueSignal(d.db, { project: repo.project, task, type: canon.type, payload: payload.payload, source: "api" });
      recordAudit(d.db, { kind: "signal_enqueued", project: repo.project, task, event: canon.type, signalId: id, message: `${canon.type} queued (api)` });
      return id;
    });
    d.loop.kick(repo.project);
    hub.pump();
    return c.json({ id, project: repo.project, task, type: canon.type, status: "pending" }, 201);
  });

  app.post("/v1/scan", async (c) => {
    const body = await jsonBody(c, ScanBody);
    if (body.project && !d.registry.get(body.project)) throw new HttpError(404, `repo not registered: ${body.project}`);
    d.loop.kick(body.project);
    return c.json({ status: "scheduled", project: body.project ?? null }, 202);
  });

  app.get("/v1/events", (c) => {
    const raw = c.req.header("last-event-id") ?? c.req.query("after");
    let after: number | undefined;
    if (raw !== undefined && raw !== "") {
      after = Number(raw);
      if (!Number.isInteger(after) || after < 0) throw new HttpError(400, `invalid Last-Event-ID "${raw}": expected a non-negative integer`);
    }
    const kinds = c.req.query("kinds")?.split(",").map((s) => s.trim()).filter(Boolean);
    const stream = hub.stream(after, { project: c.req.query("project"), task: c.req.query("task"), kinds });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" },
    });
  });

}
