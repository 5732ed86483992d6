// Tasks on the wire (snake_case, mapped from store rows here only): list, create, show, transition.
import * as v from "valibot";
import type { ProcessResult } from "../lifecycle/model.ts";
import { TASK_STATUSES } from "../lifecycle/types.ts";
import type { IngestResult } from "../store/plans.ts";
import type { SubtaskRow } from "../store/subtasks.ts";
import type { TaskRow } from "../store/tasks.ts";
import { AuditEntry } from "./events.ts";
import { csvParam, defineRoute, wholeNumberParam } from "./route.ts";

const taskEntries = {
  id: v.number(),
  project: v.string(),
  name: v.string(),
  status: v.picklist(TASK_STATUSES),
  description: v.string(),
  topic: v.string(),
  branch: v.string(),
  /** Which agent works on it now, in which phase and wave ("" / 0 = none). */
  execution: v.strictObject({ phase: v.string(), agent: v.string(), wave: v.number() }),
  review_cycle: v.number(),
  verify_cycle: v.number(),
  latest_feedback: v.string(),
  /** The commit verification approved; null when none. */
  verification: v.nullable(v.strictObject({ sha: v.string(), base_sha: v.string(), by: v.string(), at: v.string(), origin: v.string() })),
  pr_url: v.string(),
  pr_state: v.string(),
  pr_number: v.nullable(v.number()),
  pr_create_state: v.string(),
  pr_create_error: v.string(),
  pr_create_attempts: v.number(),
  planning_at: v.nullable(v.string()),
  implementing_at: v.nullable(v.string()),
  reviewing_at: v.nullable(v.string()),
  verifying_at: v.nullable(v.string()),
  done_at: v.nullable(v.string()),
  created_at: v.string(),
  updated_at: v.string(),
  /** Why the task is on budget hold; "" = not held. */
  hold: v.string(),
};

/** A task as lists show it: everything but the plan text. */
export const TaskSummary = v.strictObject(taskEntries);
export type TaskSummary = v.InferOutput<typeof TaskSummary>;
/** A task with its plan (markdown; "" = none). */
export const Task = v.strictObject({ ...taskEntries, content: v.string() });
export type Task = v.InferOutput<typeof Task>;

export const Subtask = v.strictObject({ project: v.string(), task: v.string(), number: v.number(), title: v.string(), wave: v.number(), status: v.string() });
export type Subtask = v.InferOutput<typeof Subtask>;

export function toTaskSummary(t: Omit<TaskRow, "content">): TaskSummary {
  return {
    id: t.id,
    project: t.project,
    name: t.name,
    status: t.status,
    description: t.description,
    topic: t.topic,
    branch: t.branch,
    execution: { phase: t.execution.phase, agent: t.execution.agent, wave: t.execution.wave },
    review_cycle: t.reviewCycle,
    verify_cycle: t.verifyCycle,
    latest_feedback: t.latestFeedback,
    verification: t.verification ? { sha: t.verification.sha, base_sha: t.verification.baseSha, by: t.verification.by, at: t.verification.at, origin: t.verification.origin } : null,
    pr_url: t.prUrl,
    pr_state: t.prState,
    pr_number: t.prNumber,
    pr_create_state: t.prCreateState,
    pr_create_error: t.prCreateError,
    pr_create_attempts: t.prCreateAttempts,
    planning_at: t.planningAt,
    implementing_at: t.implementingAt,
    reviewing_at: t.reviewingAt,
    verifying_at: t.verifyingAt,
    done_at: t.doneAt,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    hold: t.hold,
  };
}

export function toTask(t: TaskRow): Task {
  return { ...toTaskSummary(t), content: t.content };
}

export function toSubtask(s: SubtaskRow): Subtask {
  return { project: s.project, task: s.task, number: s.number, title: s.title, wave: s.wave, status: s.status };
}

/** A plan stored for a task (`kas task plan`): its size, or why it is only a draft, and the parser's notes. */
export const PlanOutcome = v.strictObject({ waves: v.number(), tasks: v.number(), draft_reason: v.nullable(v.string()), warnings: v.array(v.string()) });
export type PlanOutcome = v.InferOutput<typeof PlanOutcome>;

export function toPlanOutcome(r: IngestResult): PlanOutcome {
  return { waves: r.waves, tasks: r.tasks, draft_reason: r.draftReason, warnings: r.warnings };
}

export const listTasks = defineRoute({
  method: "GET",
  path: "/v1/repos/:project/tasks",
  summary: "Tasks of a repository, without their plan text",
  status: 200,
  query: v.object({ status: csvParam(TASK_STATUSES, "status"), limit: wholeNumberParam(1, 10_000, 1000) }),
  reply: v.array(TaskSummary),
});

export const createTask = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/tasks",
  summary: "Create a task (ready), with its plan if given",
  status: 201,
  body: v.object({
    name: v.pipe(v.string("name must be a string"), v.minLength(1, "name is required")),
    description: v.optional(v.string("description must be a string")),
    topic: v.optional(v.string("topic must be a string")),
    branch: v.optional(v.string("branch must be a string")),
    plan: v.optional(v.pipe(v.string("plan must be a string"), v.maxLength(512 * 1024, "plan must be at most 512 KiB"))),
  }),
  reply: Task,
});

export const showTask = defineRoute({
  method: "GET",
  path: "/v1/repos/:project/tasks/:name",
  summary: "A task with its subtasks and its 20 newest history entries",
  status: 200,
  reply: v.strictObject({ task: Task, subtasks: v.array(Subtask), history: v.array(AuditEntry) }),
});

export const planTask = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/tasks/:name/plan",
  summary: "Store a task's plan markdown (validated: waves and tasks must parse, unless draft)",
  status: 200,
  body: v.object({ markdown: v.pipe(v.string("markdown must be a string"), v.minLength(1, "markdown is required")), draft: v.optional(v.boolean(), false) }),
  reply: PlanOutcome,
});

export const TransitionRecord = v.strictObject({ from: v.string(), to: v.string(), event: v.string(), origin: v.optional(v.string()) });

/** What an operator event did: applied or refused, in words, and the status changes it made. */
export const TransitionOutcome = v.strictObject({ outcome: v.picklist(["done", "failed"]), result: v.string(), transitions: v.array(TransitionRecord) });
export type TransitionOutcome = v.InferOutput<typeof TransitionOutcome>;

/** The processor's result without its internals (the task update and the actions it queued). */
export function toTransitionOutcome(r: ProcessResult): TransitionOutcome {
  return { outcome: r.outcome, result: r.result, transitions: r.transitions.map((t) => ({ from: t.from, to: t.to, event: t.event, ...(t.origin !== undefined ? { origin: t.origin } : {}) })) };
}

export const transitionTask = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/tasks/:name/transition",
  summary: "Apply an operator event to a task (409 when its state refuses it)",
  status: 200,
  body: v.object({ event: v.pipe(v.string("event must be a string"), v.minLength(1, "event is required")) }),
  reply: v.strictObject({ result: TransitionOutcome, task: Task }),
});
