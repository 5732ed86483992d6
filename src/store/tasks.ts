// Task rows. Keys are (project, name); names are bare slugs without `.md`.
// `content` (the plan markdown) is only ever written by createTask/setContent: the generic
// applyTaskUpdate has no content field, so an update can never wipe a plan. It lives in task_plans
// (migration 12; the tasks.content column is always ''), so reading tasks never reads plan pages
// unless the plan is asked for (PLAN_TEXT).
import { type Db, nowIso, inList } from "./db.ts";
import { StoreError } from "./errors.ts";
import type { ExecutionPhase, ExecutionState, TaskStatus } from "../lifecycle/types.ts";
import type { VerifyOrigin } from "../lifecycle/signal-types.ts";

export interface Verification {
  sha: string;
  baseSha: string;
  by: string;
  at: string;
  origin: VerifyOrigin | string;
}

export interface TaskRow {
  id: number;
  project: string;
  name: string;
  status: TaskStatus;
  description: string;
  topic: string;
  branch: string;
  content: string;
  execution: ExecutionState;
  reviewCycle: number;
  verifyCycle: number;
  latestFeedback: string;
  /** null when the task carries no verification binding (verified_sha empty). */
  verification: Verification | null;
  prUrl: string;
  prState: string;
  prNumber: number | null;
  prCreateState: string;
  prCreateError: string;
  prCreateAttempts: number;
  planningAt: string | null;
  implementingAt: string | null;
  reviewingAt: string | null;
  verifyingAt: string | null;
  doneAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** Why the task is on budget hold; "" = not held (migration 10). */
  hold: string;
}

export interface CreateTaskInput {
  project: string;
  name: string;
  description?: string;
  topic?: string;
  branch?: string;
  content?: string;
}

/** A task row as SQLite returns it. */
export interface RawTask {
  /** Present when selected WITH_PLAN. */
  plan_text?: string;
  id: number;
  project: string;
  name: string;
  status: string;
  description: string;
  topic: string;
  branch: string;
  content: string;
  execution_phase: string;
  active_agent: string;
  active_wave: number;
  review_cycle: number;
  verify_cycle: number;
  latest_feedback: string;
  verified_sha: string;
  verified_base_sha: string;
  verified_by: string;
  verified_at: string | null;
  verify_origin: string;
  pr_url: string;
  pr_state: string;
  pr_number: number | null;
  pr_create_state: string;
  pr_create_error: string;
  pr_create_attempts: number;
  planning_at: string | null;
  implementing_at: string | null;
  reviewing_at: string | null;
  verifying_at: string | null;
  done_at: string | null;
  created_at: string;
  updated_at: string;
  hold: string;
}

/** Trim and strip one trailing `.md` (ingress accepts both `<slug>` and `<slug>.md`). */
export function normalizeTaskName(name: string): string {
  const trimmed = name.trim();
  return trimmed.endsWith(".md") ? trimmed.slice(0, -3).trim() : trimmed;
}

/** WHERE terms for the optional project / task filters of history listings (task names normalised). */
export function projectTaskTerms(filter: { project?: string; task?: string }, where: string[], params: Record<string, string | number>): void {
  if (filter.project !== undefined) {
    where.push("project = $project");
    params.project = filter.project;
  }
  if (filter.task !== undefined) {
    where.push("task = $task");
    params.task = normalizeTaskName(filter.task);
  }
}

export function requireKey(project: string, name: string): { project: string; name: string } {
  const p = project.trim();
  const n = normalizeTaskName(name);
  if (p === "") throw new StoreError("invalid", "project must not be empty");
  if (n === "") throw new StoreError("invalid", "task name must not be empty");
  if (n.includes("/") || n.includes("\\")) throw new StoreError("invalid", `invalid task name: ${name}`);
  return { project: p, name: n };
}

/** The columns of a task with its plan: the plan comes as plan_text, from task_plans. */
export const WITH_PLAN = "*, coalesce((SELECT content FROM task_plans WHERE task_id = tasks.id), '') AS plan_text";

export function toTask(r: RawTask): TaskRow {
  return {
    id: r.id,
    project: r.project,
    name: r.name,
    status: r.status as TaskStatus,
    description: r.description,
    topic: r.topic,
    branch: r.branch,
    content: r.plan_text ?? r.content,
    execution: { phase: r.execution_phase as ExecutionPhase, agent: r.active_agent, wave: r.active_wave },
    reviewCycle: r.review_cycle,
    verifyCycle: r.verify_cycle,
    latestFeedback: r.latest_feedback,
    verification:
      r.verified_sha === ""
        ? null
        : { sha: r.verified_sha, baseSha: r.verified_base_sha, by: r.verified_by, at: r.verified_at ?? "", origin: r.verify_origin },
    prUrl: r.pr_url,
    prState: r.pr_state,
    prNumber: r.pr_number,
    prCreateState: r.pr_create_state,
    prCreateError: r.pr_create_error,
    prCreateAttempts: r.pr_create_attempts,
    planningAt: r.planning_at,
    implementingAt: r.implementing_at,
    reviewingAt: r.reviewing_at,
    verifyingAt: r.verifying_at,
    doneAt: r.done_at,
    hold: r.hold,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}


export function notFound(project: string, name: string): StoreError {
  return new StoreError("not_found", `task not found: ${project}/${name}`);
}


/** Insert a `ready` task. Duplicate (project, name) → StoreError("conflict"). */
export function createTask(db: Db, input: CreateTaskInput): TaskRow {
  const { project, name } = requireKey(input.project, input.name);
  const now = nowIso();
  // Two tasks on one branch would share one worktree: their coders would overwrite each other.
  const branch = input.branch ?? "";
  if (branch !== "") {
    const owner = db.query<{ name: string }, { project: string; branch: string; name: string }>("SELECT name FROM tasks WHERE project = $project AND branch = $branch AND name != $name LIMIT 1").get({ project, branch, name });
    if (owner) throw new StoreError("conflict", `branch ${branch} is already the branch of task ${owner.name}; give this task its own (default plan/${name})`);
  }
  const res = db
    .query(
      `INSERT INTO tasks (project, name, status, description, topic, branch, content, created_at, updated_at)
       VALUES ($project, $name, 'ready', $description, $topic, $branch, $content, $now, $now)
       ON CONFLICT (project, name) DO NOTHING`,
    )
    .run({
      project,
      name,
      description: input.description ?? "",
      topic: input.topic ?? "",
      branch: input.branch ?? "",
      content: "",
      now,
    });
  if (res.changes === 0) throw new StoreError("conflict", `task already exists: ${project}/${name}`);
  if (input.content) db.query("INSERT INTO task_plans (task_id, content) VALUES ($id, $content)").run({ id: Number(res.lastInsertRowid), content: input.content });
  const row = getTask(db, project, name);
  if (!row) throw notFound(project, name);
  return row;
}

export function getTask(db: Db, project: string, name: string): TaskRow | null {
  const key = { project: project.trim(), name: normalizeTaskName(name) };
  const r = db.query<RawTask, { project: string; name: string }>(`SELECT ${WITH_PLAN} FROM tasks WHERE project = $project AND name = $name`).get(key);
  return r ? toTask(r) : null;
}

/** Like getTask but throws StoreError("not_found"). */
export function requireTask(db: Db, project: string, name: string): TaskRow {
  const row = getTask(db, project, name);
  if (!row) throw notFound(project.trim(), normalizeTaskName(name));
  return row;
}

export interface ListTasksFilter {
  project?: string;
  /** Restrict to these statuses; an empty array yields no rows. */
  status?: TaskStatus[];
  topic?: string;
  /** Leave plan content out (returned as ""): lists of thousands of tasks stay cheap. */
  withoutContent?: boolean;
  limit?: number;
}

const columnLists = new WeakMap<Db, string>();

/** Every tasks column but `content` (which is selected as ''), from the live schema. */
export function columnsWithoutContent(db: Db): string {
  let cols = columnLists.get(db);
  if (!cols) {
    const names = db.query<{ name: string }, []>("PRAGMA table_info(tasks)").all().map((c) => c.name);
    cols = names.map((n) => (n === "content" ? "'' AS content" : n)).join(", ");
    columnLists.set(db, cols);
  }
  return cols;
}

/** Ordered by project, name. */
export function listTasks(db: Db, filter: ListTasksFilter = {}): TaskRow[] {
  return selectTasks<RawTask>(db, filter, filter.withoutContent ? columnsWithoutContent(db) : WITH_PLAN).map(toTask);
}

/** What a task table shows: a few columns, so listing every task of every repo stays cheap. */
export type TaskLine = Pick<TaskRow, "project" | "name" | "status" | "execution" | "reviewCycle" | "verifyCycle" | "updatedAt">;

/** listTasks for a table: only TaskLine's columns are read. Ordered by project, name. */
export function listTaskLines(db: Db, filter: Omit<ListTasksFilter, "withoutContent"> = {}): TaskLine[] {
  type Raw = Pick<RawTask, "project" | "name" | "status" | "execution_phase" | "active_agent" | "active_wave" | "review_cycle" | "verify_cycle" | "updated_at">;
  return selectTasks<Raw>(db, filter, "project, name, status, execution_phase, active_agent, active_wave, review_cycle, verify_cycle, updated_at").map((r) => ({
    project: r.project,
    name: r.name,
    status: r.status as TaskStatus,
    execution: { phase: r.execution_phase as ExecutionPhase, agent: r.active_agent, wave: r.active_wave },
    reviewCycle: r.review_cycle,
    verifyCycle: r.verify_cycle,
    updatedAt: r.updated_at,
  }));
}

function selectTasks<R>(db: Db, filter: ListTasksFilter, columns: string): R[] {
  if (filter.status && filter.status.length === 0) return [];
  const where: string[] = [];
  const params: Record<string, string> = {};
  if (filter.project !== undefined) {
    where.push("project = $project");
    params.project = filter.project;
  }
  if (filter.topic !== undefined) {
    where.push("topic = $topic");
    params.topic = filter.topic;
  }
  if (filter.status) {
    where.push(`status IN ${inList("s", filter.status, params)}`);
  }
  const limit = filter.limit !== undefined ? ` LIMIT ${Math.max(1, Math.floor(filter.limit))}` : "";
  const sql = `SELECT ${columns} FROM tasks ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY project, name${limit}`;
  return db.query<R, Record<string, string>>(sql).all(params);
}

/** The only way (besides createTask) to write `content`. Missing task → not_found. */
export function setContent(db: Db, project: string, name: string, content: string): void {
  const key = requireKey(project, name);
  const r = db
    .query<{ id: number }, { project: string; name: string; now: string }>("UPDATE tasks SET updated_at = $now WHERE project = $project AND name = $name RETURNING id")
    .get({ ...key, now: nowIso() });
  if (!r) throw notFound(key.project, key.name);
  db.query("INSERT INTO task_plans (task_id, content) VALUES ($id, $content) ON CONFLICT (task_id) DO UPDATE SET content = excluded.content").run({ id: r.id, content });
}

export function getContent(db: Db, project: string, name: string): string {
  const key = requireKey(project, name);
  const r = db.query<{ content: string }, { project: string; name: string }>("SELECT coalesce((SELECT content FROM task_plans WHERE task_id = tasks.id), '') AS content FROM tasks WHERE project = $project AND name = $name").get(key);
  if (!r) throw notFound(key.project, key.name);
  return r.content;
}

/** Delete a task (subtasks cascade). Returns false when absent. */
export function deleteTask(db: Db, project: string, name: string): boolean {
  const key = requireKey(project, name);
  return db.query("DELETE FROM tasks WHERE project = $project AND name = $name").run(key).changes > 0;
}

/**
 * Why `name` cannot be a task name, or null. Task names become file names (signals), git branch
 * components (`plan/<name>`), worktree folders and tmux session names, so they are strict slugs.
 */
export function taskNameProblem(name: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(name)) return `invalid task name "${name}": use letters, digits, ".", "_" and "-", starting with a letter or digit (max 200)`;
  if (name.includes("..") || name.endsWith(".") || name.endsWith(".lock")) return `invalid task name "${name}": no "..", no trailing "." or ".lock" (it becomes a git branch name)`;
  return null;
}

/** Why `branch` cannot be a task branch, or null (git check-ref-format rules, plus no escaping .worktrees/). */
export function branchProblem(branch: string): string | null {
  const bad =
    branch.length === 0 ||
    branch.length > 240 ||
    !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(branch) ||
    branch.includes("..") ||
    branch.includes("//") ||
    branch.endsWith("/") ||
    branch.endsWith(".") ||
    branch.split("/").some((c) => c.startsWith(".") || c.endsWith(".lock"));
  return bad ? `invalid branch "${branch}": use a git branch name like plan/<task> (letters, digits, ".", "_", "-", "/"; no "..")` : null;
}
