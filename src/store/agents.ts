// Agents the daemon started: one row per tmux session, the source of truth for "is this agent
// already running?" (no double starts) and for re-adopting sessions after a restart.
import { type Db, nowIso } from "./db.ts";

export type AgentState = "running" | "exited" | "killed" | "failed";

export interface AgentRow {
  id: number;
  project: string;
  task: string;
  title: string;
  role: string;
  wave: number;
  taskNumber: number;
  session: string;
  cwd: string;
  program: string;
  state: AgentState;
  exitStatus: number | null;
  reason: string;
  startedAt: string;
  endedAt: string | null;
  /** HEAD of the task branch when the agent started (masters: the commit under review). */
  baseSha: string;
}

interface Raw {
  id: number;
  project: string;
  task: string;
  title: string;
  role: string;
  wave: number;
  task_number: number;
  session: string;
  cwd: string;
  program: string;
  state: string;
  exit_status: number | null;
  reason: string;
  started_at: string;
  ended_at: string | null;
  base_sha: string;
}

const toRow = (r: Raw): AgentRow => ({
  id: r.id,
  project: r.project,
  task: r.task,
  title: r.title,
  role: r.role,
  wave: r.wave,
  taskNumber: r.task_number,
  session: r.session,
  cwd: r.cwd,
  program: r.program,
  state: r.state as AgentState,
  exitStatus: r.exit_status,
  reason: r.reason,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  baseSha: r.base_sha,
});

export interface NewAgent {
  project: string;
  task: string;
  title: string;
  role: string;
  wave?: number;
  taskNumber?: number;
  session: string;
  cwd: string;
  program: string;
  baseSha?: string;
}

export function insertAgent(db: Db, a: NewAgent): AgentRow {
  const r = db
    .query<Raw, Record<string, string | number>>(
      `INSERT INTO agents (project, task, title, role, wave, task_number, session, cwd, program, state, started_at, base_sha)
       VALUES ($project, $task, $title, $role, $wave, $taskNumber, $session, $cwd, $program, 'running', $now, $baseSha) RETURNING *`,
    )
    .get({ project: a.project, task: a.task, title: a.title, role: a.role, wave: a.wave ?? 0, taskNumber: a.taskNumber ?? 0, session: a.session, cwd: a.cwd, program: a.program, now: nowIso(), baseSha: a.baseSha ?? "" })!;
  return toRow(r);
}

export function endAgent(db: Db, id: number, state: Exclude<AgentState, "running">, exitStatus: number | null, reason: string): boolean {
  return (
    db
      .query("UPDATE agents SET state = $state, exit_status = $exitStatus, reason = $reason, ended_at = $now WHERE id = $id AND state = 'running'")
      .run({ id, state, exitStatus, reason, now: nowIso() }).changes > 0
  );
}

export function liveAgents(db: Db, filter: { project?: string; task?: string } = {}): AgentRow[] {
  return db
    .query<Raw, { project: string | null; task: string | null }>(
      "SELECT * FROM agents WHERE state = 'running' AND ($project IS NULL OR project = $project) AND ($task IS NULL OR task = $task) ORDER BY id",
    )
    .all({ project: filter.project ?? null, task: filter.task ?? null })
    .map(toRow);
}

export function listAgents(db: Db, filter: { project?: string; task?: string; limit?: number } = {}): AgentRow[] {
  return db
    .query<Raw, { project: string | null; task: string | null; limit: number }>(
      "SELECT * FROM agents WHERE ($project IS NULL OR project = $project) AND ($task IS NULL OR task = $task) ORDER BY id DESC LIMIT $limit",
    )
    .all({ project: filter.project ?? null, task: filter.task ?? null, limit: Math.max(1, Math.min(1000, filter.limit ?? 200)) })
    .map(toRow);
}

export function liveAgentByTitle(db: Db, project: string, title: string): AgentRow | null {
  const r = db.query<Raw, { project: string; title: string }>("SELECT * FROM agents WHERE project = $project AND title = $title AND state = 'running'").get({ project, title });
  return r ? toRow(r) : null;
}

export function setAttention(db: Db, project: string, task: string, text: string): void {
  // updated_at is left alone on purpose: it marks lifecycle changes (the reconciler compares agent ends against it).
  db.query("UPDATE tasks SET attention = $text WHERE project = $project AND name = $task").run({ project, task, text });
}

export function getAttention(db: Db, project: string, task: string): string {
  return db.query<{ attention: string }, { project: string; task: string }>("SELECT attention FROM tasks WHERE project = $project AND name = $task").get({ project, task })?.attention ?? "";
}

/** The most recent master of a task (any state), for measuring its self-fixes. */
export function lastMaster(db: Db, project: string, task: string): AgentRow | null {
  const r = db.query<Raw, { project: string; task: string }>("SELECT * FROM agents WHERE project = $project AND task = $task AND role = 'master' AND session != '' ORDER BY id DESC LIMIT 1").get({ project, task });
  return r ? toRow(r) : null;
}

/** Clear an open attention item (a no-op write-free statement when there is none). */
export function clearAttention(db: Db, project: string, task: string): void {
  db.query("UPDATE tasks SET attention = '' WHERE project = $project AND name = $task AND attention != ''").run({ project, task });
}
