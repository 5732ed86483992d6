// Tasks: list, create, show, transition.
import { Hono } from "hono";
import { resolveBranchHead } from "../../agents/git.ts";
import { ApiError } from "../../api/errors.ts";
import { toAuditEntry } from "../../api/events.ts";
import { createTask, listTasks, showTask, toSubtask, toTask, toTaskSummary, toTransitionOutcome, transitionTask } from "../../api/tasks.ts";
import { repoProcessorConfig } from "../../config/processor.ts";
import { eventNames, parseEventName } from "../../lifecycle/fsm.ts";
import { listAudit, recordAudit } from "../../store/audit.ts";
import { nowIso, writeTx } from "../../store/db.ts";
import { applyOperatorEvent } from "../../store/effects.ts";
import { ingestPlan } from "../../store/plans.ts";
import { listSubtasks } from "../../store/subtasks.ts";
import { branchProblem, createTask as storeTask, getTask, listTasks as storedTasks, normalizeTaskName, taskNameProblem } from "../../store/tasks.ts";
import type { Daemon } from "../daemon.ts";
import type { EventHub } from "../events.ts";
import { serve } from "../http.ts";
import { registeredRepo } from "./repos.ts";

export function taskRoutes(d: Daemon, hub: EventHub): Hono {
  const app = new Hono();
  const taskOf = (project: string, name: string) => {
    const task = getTask(d.db, project, name);
    if (!task) throw new ApiError("not_found", `task not found: ${project}/${name}`);
    return task;
  };

  serve(app, listTasks, ({ params, query }) => {
    const repo = registeredRepo(d, params.project);
    // The list leaves out plan content (GET …/tasks/:name has it): lists stay small however big plans are.
    const rows = storedTasks(d.db, { project: repo.project, ...(query.status ? { status: query.status } : {}), withoutContent: true, limit: query.limit });
    return rows.map(toTaskSummary);
  });

  serve(app, createTask, async ({ params, body }) => {
    const repo = registeredRepo(d, params.project);
    const name = normalizeTaskName(body.name);
    const nameProblem = taskNameProblem(name);
    if (nameProblem) throw new ApiError("invalid", nameProblem);
    if (body.branch !== undefined) {
      const bp = branchProblem(body.branch);
      if (bp) throw new ApiError("invalid", bp);
    }
    if (body.plan !== undefined) {
      const { parsePlan } = await import("../../lifecycle/plan-parser.ts");
      const p = parsePlan(body.plan);
      if (!p.ok) throw new ApiError("invalid", `invalid plan: ${p.error}`);
    }
    const branch = body.branch ?? `plan/${name}`;
    const { defaultBranch } = await import("../../agents/worktree.ts");
    if (branch === (await defaultBranch(repo.path).catch(() => ""))) throw new ApiError("invalid", `branch ${branch} is the repository's default branch; a task works on its own branch (default plan/${name})`);
    writeTx(d.db, () => {
      if (getTask(d.db, repo.project, name)) throw new ApiError("conflict", `task already exists: ${repo.project}/${name}`);
      storeTask(d.db, { project: repo.project, name, description: body.description ?? "", topic: body.topic ?? "", branch });
      recordAudit(d.db, { kind: "task_created", project: repo.project, task: name, toStatus: "ready", message: "task created (api)" });
      if (body.plan !== undefined) ingestPlan(d.db, repo.project, name, body.plan, { allowDraft: false, source: "api" });
    });
    hub.pump();
    return toTask(taskOf(repo.project, name));
  });

  serve(app, showTask, ({ params }) => {
    const repo = registeredRepo(d, params.project);
    const task = taskOf(repo.project, params.name);
    return {
      task: toTask(task),
      subtasks: listSubtasks(d.db, repo.project, task.name).map(toSubtask),
      history: listAudit(d.db, { project: repo.project, task: task.name, limit: 20 }).map(toAuditEntry),
    };
  });

  serve(app, transitionTask, async ({ params, body }) => {
    const repo = registeredRepo(d, params.project);
    const event = parseEventName(body.event);
    if (!event) throw new ApiError("invalid", `unknown event "${body.event}"; valid events: ${eventNames().join(", ")}`);
    const before = taskOf(repo.project, params.name);
    const head = before.branch ? await resolveBranchHead(repo.path, before.branch) : null;
    const result = applyOperatorEvent(d.db, { project: repo.project, task: before.name, event, cfg: repoProcessorConfig(d.config, repo.path), head, prices: d.config.pricing, source: "api", now: nowIso() });
    hub.pump();
    if (result.outcome === "failed") throw new ApiError("conflict", `${event} refused: ${result.result}`);
    return { result: toTransitionOutcome(result), task: toTask(taskOf(repo.project, before.name)) };
  });
  return app;
}

