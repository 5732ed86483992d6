// Tasks: list, create, show, transition.
import { Hono } from "hono";
import { Refused } from "../../util/errors.ts";
import { toAuditEntry } from "../../api/events.ts";
import { createTask, listTasks, planTask, showTask, toPlanOutcome, toSubtask, toTask, toTaskSummary, toTransitionOutcome, transitionTask } from "../../api/tasks.ts";
import { listAudit } from "../../store/audit.ts";
import { ingestPlan } from "../../store/plans.ts";
import { listSubtasks } from "../../store/subtasks.ts";
import { listTasks as storedTasks, requireTask } from "../../store/tasks.ts";
import { createTask as createTaskOnce } from "../../usecases/create-task.ts";
import { transitionTask as transitionOnce } from "../../usecases/transition-task.ts";
import type { Daemon } from "../running-daemon.ts";
import type { EventHub } from "../../engine/events.ts";
import { serve } from "../http.ts";
import { registeredRepo } from "./repos.ts";

export function taskRoutes(d: Daemon, hub: EventHub): Hono {
  const app = new Hono();
  serve(app, listTasks, ({ params, query }) => {
    const repo = registeredRepo(d, params.project);
    // The list leaves out plan content (GET …/tasks/:name has it): lists stay small however big plans are.
    const rows = storedTasks(d.db, { project: repo.project, ...(query.status ? { status: query.status } : {}), withoutContent: true, limit: query.limit });
    return rows.map(toTaskSummary);
  });

  serve(app, createTask, async ({ params, body }) => {
    const repo = registeredRepo(d, params.project);
    const { task } = await createTaskOnce(d.db, { project: repo.project, repoPath: repo.path, ...body, source: "api" });
    hub.pump();
    return toTask(task);
  });

  serve(app, planTask, ({ params, body }) => {
    const repo = registeredRepo(d, params.project);
    const r = ingestPlan(d.db, repo.project, params.name, body.markdown, { allowDraft: body.draft, source: "api" });
    d.loop.kick(repo.project);
    hub.pump();
    return toPlanOutcome(r);
  });

  serve(app, showTask, ({ params }) => {
    const repo = registeredRepo(d, params.project);
    const task = requireTask(d.db, repo.project, params.name);
    return {
      task: toTask(task),
      subtasks: listSubtasks(d.db, repo.project, task.name).map(toSubtask),
      history: listAudit(d.db, { project: repo.project, task: task.name, limit: 20 }).map(toAuditEntry),
    };
  });

  serve(app, transitionTask, async ({ params, body }) => {
    const repo = registeredRepo(d, params.project);
    const { event, result, task } = await transitionOnce(d.db, { project: repo.project, repoPath: repo.path, name: params.name, event: body.event, config: d.config, source: "api" });
    hub.pump();
    if (result.outcome === "failed") throw new Refused("conflict", `${event} refused: ${result.result}`);
    return { result: toTransitionOutcome(result), task: toTask(task) };
  });
  return app;
}

