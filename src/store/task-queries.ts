// Task queries of the daemon's passes (status counts, attention, PR sweeps, worktree scopes, the
// reconciler's filter): trigger-kept counts or small partial indexes, never the finished history or plan text.
import { type Db, inList } from "./db.ts";
import { ACTIVE_TASK, MAY_NEED_AGENT, OPEN_TASK, PR_OPEN, PR_TODO, TASK_FOLDER } from "./migrations.ts";
import { columnsWithoutContent, toTask, WITH_PLAN, type RawTask, type TaskRow } from "./tasks.ts";
import { TASK_STATUSES, type TaskStatus } from "../lifecycle/types.ts";

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

/** Of these task names, the ones of the project's open tasks (idx_tasks_open). */
export function openTaskNames(db: Db, project: string, names: readonly string[]): Set<string> {
  if (names.length === 0) return new Set();
  const rows = db
    .query<{ name: string }, { project: string; names: string }>(
      `SELECT name FROM tasks INDEXED BY idx_tasks_open WHERE project = $project AND ${OPEN_TASK} AND name IN (SELECT value FROM json_each($names))`,
    )
    .all({ project, names: JSON.stringify(names) });
  return new Set(rows.map((r) => r.name));
}
