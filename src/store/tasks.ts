// Task rows (reference §3.3–§3.5). Keys are (project, name); names are bare slugs without `.md`.
// `content` (the plan markdown) is only ever written by createTask/setContent: the generic
// applyTaskUpdate has no content field, so an update can never wipe a plan. It lives in task_plans
// (migration 12; the tasks.content column is always ''), so reading tasks never reads plan pages
// unless the plan is asked for (PLAN_TEXT).
import { type Db, nowIso, writeTx, inList } from "./db.ts";
import { StoreError } from "./errors.ts";
import { ACTIVE_TASK, MAY_NEED_AGENT, OPEN_TASK, PR_OPEN, PR_TODO, TASK_FOLDER } from "./migrations.ts";
import {
  EXECUTION_PHASES,
  TASK_STATUSES,
  type ExecutionPhase,
  type ExecutionState,
  type TaskStatus,
} from "../lifecycle/types.ts";

export const PHASE_TIMESTAMP_COLUMNS = ["planning_at", "implementing_at", "reviewing_at", "verifying_at", "done_at"] as const;
export type PhaseTimestampColumn = (typeof PHASE_TIMESTAMP_COLUMNS)[number];

export const SUBTASK_STATUSES = ["pending", "running", "complete", "failed", "closed", "done", "blocked", "in_review"] as const;
export type SubtaskStatus = (typeof SUBTASK_STATUSES)[number];

export const VERIFY_ORIGINS = ["master", "operator", "force_promoted", "auto"] as const;
export type VerifyOrigin = (typeof VERIFY_ORIGINS)[number];

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

export interface SubtaskInput {
  number: number;
  title: string;
  wave?: number;
  status?: SubtaskStatus;
}

export interface SubtaskRow {
  project: string;
  task: string;
  number: number;
  title: string;
  wave: number;
  status: SubtaskStatus;
}

export interface CreateTaskInput {
  project: string;
  name: string;
  description?: string;
  topic?: string;
  branch?: string;
  content?: string;
}

/** A counter field either gets an explicit value or an atomic `+1`. */
export type CounterUpdate = number | "increment";

export interface TaskUpdate {
  status?: TaskStatus;
  /** Missing fields keep their stored value. */
  execution?: Partial<ExecutionState>;
  reviewCycle?: CounterUpdate;
  verifyCycle?: CounterUpdate;
  latestFeedback?: string;
  /** Set this phase timestamp column to now. */
  timestampColumn?: PhaseTimestampColumn;
  /** Explicitly set (ISO string) or clear (null) phase timestamps; applied before timestampColumn. */
  timestamps?: Partial<Record<PhaseTimestampColumn, string | null>>;
  /** Bind (object; `at` defaults to now) or clear (null) the verification fields. */
  verification?: (Omit<Verification, "at"> & { at?: string }) | null;
  description?: string;
  topic?: string;
  branch?: string;
  prUrl?: string;
  prState?: string;
  prNumber?: number | null;
  prCreateState?: string;
  prCreateError?: string;
  prCreateAttempts?: CounterUpdate;
  /** Open attention item ("" clears it). */
  attention?: string;
  /** Budget hold reason ("" lifts it). */
  hold?: string;
  /** The spend a resume granted past (JSON of lifecycle/budget BudgetBase). */
  budgetBase?: string;
}

interface RawTask {
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

interface RawSubtask {
  project: string;
  task: string;
  number: number;
  title: string;
  wave: number;
  status: string;
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

function requireKey(project: string, name: string): { project: string; name: string } {
  const p = project.trim();
  const n = normalizeTaskName(name);
  if (p === "") throw new StoreError("invalid", "project must not be empty");
  if (n === "") throw new StoreError("invalid", "task name must not be empty");
  if (n.includes("/") || n.includes("\\")) throw new StoreError("invalid", `invalid task name: ${name}`);
  return { project: p, name: n };
}

/** The columns of a task with its plan: the plan comes as plan_text, from task_plans. */
const WITH_PLAN = "*, coalesce((SELECT content FROM task_plans WHERE task_id = tasks.id), '') AS plan_text";

function toTask(r: RawTask): TaskRow {
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

function toSubtask(r: RawSubtask): SubtaskRow {
  return { project: r.project, task: r.task, number: r.number, title: r.title, wave: r.wave, status: r.status as SubtaskStatus };
}

function notFound(project: string, name: string): StoreError {
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
function columnsWithoutContent(db: Db): string {
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

/** Replace every subtask of a task in one transaction (nests as a savepoint inside a caller's writeTx). */
export function setSubtasks(db: Db, project: string, name: string, subtasks: SubtaskInput[]): void {
  const key = requireKey(project, name);
  const seen = new Set<number>();
  for (const s of subtasks) {
    if (!Number.isInteger(s.number) || s.number < 1) throw new StoreError("invalid", `invalid subtask number: ${s.number}`);
    if (seen.has(s.number)) throw new StoreError("invalid", `duplicate subtask number: ${s.number}`);
    seen.add(s.number);
    if (s.status !== undefined && !(SUBTASK_STATUSES as readonly string[]).includes(s.status)) {
      throw new StoreError("invalid", `invalid subtask status: ${s.status}`);
    }
  }
  writeTx(db, () => {
    const exists = db.query("SELECT 1 FROM tasks WHERE project = $project AND name = $name").get(key);
    if (!exists) throw notFound(key.project, key.name);
    db.query("DELETE FROM subtasks WHERE project = $project AND task = $name").run(key);
    const ins = db.query(
      "INSERT INTO subtasks (project, task, number, title, wave, status) VALUES ($project, $name, $number, $title, $wave, $status)",
    );
    for (const s of subtasks) {
      ins.run({ ...key, number: s.number, title: s.title, wave: s.wave ?? 0, status: s.status ?? "pending" });
    }
    db.query("UPDATE tasks SET updated_at = $now WHERE project = $project AND name = $name").run({ ...key, now: nowIso() });
  });
}

/** Ordered by number. */
export function listSubtasks(db: Db, project: string, name: string): SubtaskRow[] {
  const key = { project: project.trim(), name: normalizeTaskName(name) };
  return db
    .query<RawSubtask, { project: string; name: string }>(
      "SELECT project, task, number, title, wave, status FROM subtasks WHERE project = $project AND task = $name ORDER BY number",
    )
    .all(key)
    .map(toSubtask);
}

/** Update one subtask's status; returns false when that subtask does not exist. */
export function setSubtaskStatus(db: Db, project: string, name: string, number: number, status: SubtaskStatus): boolean {
  if (!(SUBTASK_STATUSES as readonly string[]).includes(status)) throw new StoreError("invalid", `invalid subtask status: ${status}`);
  const key = requireKey(project, name);
  return (
    db.query("UPDATE subtasks SET status = $status WHERE project = $project AND task = $name AND number = $number").run({ ...key, number, status })
      .changes > 0
  );
}

function counterSql(column: string, value: CounterUpdate, param: string, params: Record<string, string | number | null>): string {
  if (value === "increment") return `${column} = ${column} + 1`;
  if (!Number.isInteger(value) || value < 0) throw new StoreError("invalid", `invalid ${column}: ${value}`);
  params[param] = value;
  return `${column} = $${param}`;
}

/**
 * Apply a metadata update to one task and return the updated row. Does NOT open a transaction:
 * the caller wraps the whole effect (FSM check, update, audit, signal finish) in one `writeTx`.
 * Never touches `content`. Missing task → StoreError("not_found").
 */
export function applyTaskUpdate(db: Db, project: string, name: string, update: TaskUpdate): TaskRow {
  const { sql, params, key } = taskUpdateSql(project, name, update);
  const r = db.query<RawTask, Record<string, string | number | null>>(`${sql} RETURNING ${WITH_PLAN}`).get(params);
  if (!r) throw notFound(key.project, key.name);
  return toTask(r);
}

/** An execution update as it is stored: phase checked, agent trimmed, wave a whole number ≥ 0. */
function storedExecution(ex: Partial<ExecutionState>): Partial<ExecutionState> {
  const out: Partial<ExecutionState> = {};
  if (ex.phase !== undefined) {
    if (ex.phase !== "" && !(EXECUTION_PHASES as readonly string[]).includes(ex.phase)) throw new StoreError("invalid", `invalid execution phase: ${ex.phase}`);
    out.phase = ex.phase;
  }
  if (ex.agent !== undefined) out.agent = ex.agent.trim();
  if (ex.wave !== undefined) {
    if (!Number.isInteger(ex.wave)) throw new StoreError("invalid", `invalid active wave: ${ex.wave}`);
    out.wave = Math.max(0, ex.wave);
  }
  return out;
}

/** The execution state a task has after `update` is written (what writeTaskUpdate stores, without reading it back). */
export function executionAfterUpdate(before: ExecutionState, ex: TaskUpdate["execution"]): ExecutionState {
  return ex ? { ...before, ...storedExecution(ex) } : before;
}

/** applyTaskUpdate without reading the row back (RETURNING * costs as much as the update itself in bursts). */
export function writeTaskUpdate(db: Db, project: string, name: string, update: TaskUpdate): void {
  const { sql, params, key } = taskUpdateSql(project, name, update);
  if (db.query<never, Record<string, string | number | null>>(sql).run(params).changes === 0) throw notFound(key.project, key.name);
}

function taskUpdateSql(project: string, name: string, update: TaskUpdate): { sql: string; params: Record<string, string | number | null>; key: { project: string; name: string } } {
  const key = requireKey(project, name);
  const now = nowIso();
  const sets: string[] = ["updated_at = $now"];
  const params: Record<string, string | number | null> = { ...key, now };
  const setText = (column: string, param: string, value: string | undefined) => {
    if (value === undefined) return;
    sets.push(`${column} = $${param}`);
    params[param] = value;
  };

  if (update.status !== undefined) {
    if (!(TASK_STATUSES as readonly string[]).includes(update.status)) throw new StoreError("invalid", `invalid status: ${update.status}`);
    setText("status", "status", update.status);
  }
  if (update.execution) {
    const ex = storedExecution(update.execution);
    setText("execution_phase", "phase", ex.phase);
    setText("active_agent", "agent", ex.agent);
    if (ex.wave !== undefined) {
      sets.push("active_wave = $wave");
      params.wave = ex.wave;
    }
  }
  if (update.reviewCycle !== undefined) sets.push(counterSql("review_cycle", update.reviewCycle, "reviewCycle", params));
  if (update.verifyCycle !== undefined) sets.push(counterSql("verify_cycle", update.verifyCycle, "verifyCycle", params));
  if (update.prCreateAttempts !== undefined) sets.push(counterSql("pr_create_attempts", update.prCreateAttempts, "prCreateAttempts", params));
  setText("latest_feedback", "latestFeedback", update.latestFeedback?.trim());
  setText("attention", "attention", update.attention);
  setText("hold", "hold", update.hold);
  setText("budget_base", "budgetBase", update.budgetBase);
  setText("description", "description", update.description);
  setText("topic", "topic", update.topic);
  setText("branch", "branch", update.branch);
  setText("pr_url", "prUrl", update.prUrl);
  setText("pr_state", "prState", update.prState);
  setText("pr_create_state", "prCreateState", update.prCreateState);
  setText("pr_create_error", "prCreateError", update.prCreateError);
  if (update.prNumber !== undefined) {
    sets.push("pr_number = $prNumber");
    params.prNumber = update.prNumber;
  }

  const tsValues = new Map<PhaseTimestampColumn, string | null>();
  for (const [col, value] of Object.entries(update.timestamps ?? {})) {
    if (!(PHASE_TIMESTAMP_COLUMNS as readonly string[]).includes(col)) throw new StoreError("invalid", `unknown phase timestamp: ${col}`);
    if (value !== undefined) tsValues.set(col as PhaseTimestampColumn, value);
  }
  if (update.timestampColumn !== undefined) {
    if (!(PHASE_TIMESTAMP_COLUMNS as readonly string[]).includes(update.timestampColumn)) {
      throw new StoreError("invalid", `unknown phase timestamp: ${update.timestampColumn}`);
    }
    tsValues.set(update.timestampColumn, now);
  }
  for (const [col, value] of tsValues) {
    sets.push(`${col} = $ts_${col}`);
    params[`ts_${col}`] = value;
  }

  if (update.verification !== undefined) {
    const v = update.verification;
    sets.push("verified_sha = $vSha", "verified_base_sha = $vBase", "verified_by = $vBy", "verified_at = $vAt", "verify_origin = $vOrigin");
    if (v === null) {
      Object.assign(params, { vSha: "", vBase: "", vBy: "", vAt: null, vOrigin: "" });
    } else {
      if (v.sha.trim() === "") throw new StoreError("invalid", "verification sha must not be empty");
      Object.assign(params, { vSha: v.sha.trim(), vBase: v.baseSha.trim(), vBy: v.by, vAt: v.at ?? now, vOrigin: v.origin });
    }
  }

  return { sql: `UPDATE tasks SET ${sets.join(", ")} WHERE project = $project AND name = $name`, params, key };
}

/** Delete a task (subtasks cascade). Returns false when absent. */
export function deleteTask(db: Db, project: string, name: string): boolean {
  const key = requireKey(project, name);
  return db.query("DELETE FROM tasks WHERE project = $project AND name = $name").run(key).changes > 0;
}

/** Every status present as a key (zero-filled). Without a project, counts across all projects. */
export function countTasksByStatus(db: Db, project?: string): Record<TaskStatus, number> {
  const out = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  const rows =
    project === undefined
      ? db.query<{ status: string; n: number }, []>("SELECT status, SUM(n) AS n FROM task_counts GROUP BY status").all()
      : db.query<{ status: string; n: number }, { project: string }>("SELECT status, n FROM task_counts WHERE project = $project").all({ project });
  for (const r of rows) {
    if (r.status in out) out[r.status as TaskStatus] = r.n;
  }
  return out;
}

/** Task counts per (project, status) in one query (daemon status over many repos), from the trigger-kept task_counts. */
export function countTasksByProject(db: Db): { project: string; status: string; n: number }[] {
  return db.query<{ project: string; status: string; n: number }, []>("SELECT project, status, n FROM task_counts WHERE n > 0 ORDER BY project, status").all();
}

export interface TaskSummary {
  project: string;
  name: string;
  status: string;
  phase: string;
  wave: number;
  attention: string;
}

/**
 * Active tasks and tasks with an attention item, compactly (daemon status). Two walks of small partial
 * indexes (idx_tasks_active, idx_tasks_attention): never the finished history, never plan text.
 */
export function activeTaskSummaries(db: Db): TaskSummary[] {
  const cols = "project, name, status, execution_phase AS phase, active_wave AS wave, attention";
  return db
    .query<TaskSummary, []>(
      `SELECT ${cols} FROM tasks INDEXED BY idx_tasks_active WHERE ${ACTIVE_TASK}
       UNION SELECT ${cols} FROM tasks INDEXED BY idx_tasks_attention WHERE attention != ''
       ORDER BY project, name LIMIT 200`,
    )
    .all();
}

/**
 * Done, verified tasks without any PR attempt (the GitHub sweep's candidates) of every project, names
 * only: one walk of the small partial index per sweep.
 */
export function tasksNeedingPrAll(db: Db): { project: string; name: string }[] {
  return db.query<{ project: string; name: string }, []>(`SELECT project, name FROM tasks INDEXED BY idx_tasks_pr_todo WHERE ${PR_TODO} ORDER BY project, name`).all();
}

/** Tasks of a project in `statuses` whose PR is still open (the PR monitor's set), without plan text. */
export function tasksWithOpenPr(db: Db, project: string, statuses: readonly TaskStatus[]): TaskRow[] {
  const params: Record<string, string> = { project };
  return db
    .query<RawTask, Record<string, string>>(`SELECT ${columnsWithoutContent(db)} FROM tasks INDEXED BY idx_tasks_pr_open WHERE project = $project AND ${PR_OPEN} AND status IN ${inList("s", statuses, params)} ORDER BY name`)
    .all(params)
    .map(toTask);
}

/**
 * Worktree folder names (under <repo>/.worktrees/) of a project's tasks that can still signal: open
 * tasks, and tasks with a live agent. One walk of idx_tasks_open plus the live agents (driving the join:
 * CROSS JOIN keeps SQLite from walking every task of the project instead).
 */
export function liveWorktreeFolders(db: Db, project: string): Set<string> {
  const rows = db
    .query<{ folder: string }, { project: string }>(
      `SELECT ${TASK_FOLDER} AS folder FROM tasks INDEXED BY idx_tasks_open WHERE project = $project AND ${OPEN_TASK} AND branch != ''
       UNION SELECT ${TASK_FOLDER} FROM agents a INDEXED BY idx_agents_live_title CROSS JOIN tasks
         WHERE a.project = $project AND a.state = 'running' AND tasks.project = a.project AND tasks.name = a.task AND branch != ''`,
    )
    .all({ project });
  return new Set(rows.map((r) => r.folder));
}

/** Of these worktree folder names, the ones that belong to a task of the project (idx_tasks_folder). */
export function taskFolders(db: Db, project: string, folders: readonly string[]): Set<string> {
  if (folders.length === 0) return new Set();
  const rows = db
    .query<{ folder: string }, { project: string; folders: string }>(
      `SELECT DISTINCT ${TASK_FOLDER} AS folder FROM tasks INDEXED BY idx_tasks_folder WHERE project = $project AND ${TASK_FOLDER} IN (SELECT value FROM json_each($folders))`,
    )
    .all({ project, folders: JSON.stringify(folders) });
  return new Set(rows.map((r) => r.folder));
}

/**
 * Tasks whose stored state may call for an agent (see lifecycle/agents.ts), plus the named ones.
 * A filter in SQL so a repo with thousands of active tasks that need nothing costs nothing per pass.
 */
export function tasksMaybeNeedingAgents(db: Db, project: string, alsoNames: string[] = []): TaskRow[] {
  const rows = db
    .query<RawTask, { project: string; names: string }>(
      `SELECT ${WITH_PLAN} FROM tasks WHERE project = $project AND (
         ${MAY_NEED_AGENT}
         OR name IN (SELECT value FROM json_each($names))
       ) ORDER BY name`,
    )
    .all({ project, names: JSON.stringify(alsoNames) });
  return rows.map(toTask);
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

/** Projects with a task that may need an agent or with a live agent (the reconciler's per-pass filter). */
export function projectsMaybeNeedingAgents(db: Db): string[] {
  return db
    .query<{ project: string }, []>(
      `SELECT DISTINCT project FROM tasks WHERE
         ${MAY_NEED_AGENT}
       UNION SELECT DISTINCT project FROM agents WHERE state = 'running'`,
    )
    .all()
    .map((r) => r.project);
}
