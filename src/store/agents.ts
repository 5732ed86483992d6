// Agents the daemon started: one row per tmux session, the source of truth for "is this agent
// already running?" (no double starts) and for re-adopting sessions after a restart.
import { type Db, nowIso } from "./db.ts";
import { projectTaskTerms } from "./tasks.ts";

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
  /** The CLI harness that started it (claude, codex, opencode, generic). */
  harness: string;
  /** "bwrap (…policy…)" or "off (why)"; "" for agents started before it was recorded. */
  sandbox: string;
  /** What it is doing: starting, working, idle (turn ended), waiting (for a person), ended; "" = unknown. */
  activity: string;
  activityAt: string | null;
  /** The CLI's own message with the activity (a permission prompt's text, …). */
  activityNote: string;
  /** The CLI's transcript file, when it told us. */
  transcript: string;
  /** Times kasmos typed a reminder into it. */
  nudges: number;
  /** Last non-empty pane lines when it ended (why it exited). */
  lastLines: string;
  /** Where the usage reader stopped in the transcript (JSON). */
  usageCursor: string;
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
  harness: string;
  sandbox: string;
  activity: string;
  activity_at: string | null;
  activity_note: string;
  transcript: string;
  nudges: number;
  last_lines: string;
  usage_cursor: string;
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
  harness: r.harness,
  sandbox: r.sandbox,
  activity: r.activity,
  activityAt: r.activity_at,
  activityNote: r.activity_note,
  transcript: r.transcript,
  nudges: r.nudges,
  lastLines: r.last_lines,
  usageCursor: r.usage_cursor,
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
  harness?: string;
  sandbox?: string;
}

export function insertAgent(db: Db, a: NewAgent): AgentRow {
  const r = db
    .query<Raw, Record<string, string | number>>(
      `INSERT INTO agents (project, task, title, role, wave, task_number, session, cwd, program, state, started_at, base_sha, harness, sandbox, activity, activity_at)
       VALUES ($project, $task, $title, $role, $wave, $taskNumber, $session, $cwd, $program, 'running', $now, $baseSha, $harness, $sandbox, 'starting', $now) RETURNING *`,
    )
    .get({ project: a.project, task: a.task, title: a.title, role: a.role, wave: a.wave ?? 0, taskNumber: a.taskNumber ?? 0, session: a.session, cwd: a.cwd, program: a.program, now: nowIso(), baseSha: a.baseSha ?? "", harness: a.harness ?? "", sandbox: a.sandbox ?? "" })!;
  return toRow(r);
}

export function endAgent(db: Db, id: number, state: Exclude<AgentState, "running">, exitStatus: number | null, reason: string): boolean {
  return (
    db
      .query("UPDATE agents SET state = $state, exit_status = $exitStatus, reason = $reason, ended_at = $now WHERE id = $id AND state = 'running'")
      .run({ id, state, exitStatus, reason, now: nowIso() }).changes > 0
  );
}

/**
 * The WHERE terms for a project/task filter, built per filter (projectTaskTerms): `($p IS NULL OR
 * project = $p)` cannot use an index, so every call scanned every agent row ever stored (70–83 ms at
 * 450 k rows).
 */
function filterTerms(filter: { project?: string; task?: string }): { where: string[]; params: Record<string, string | number> } {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  projectTaskTerms(filter, where, params);
  return { where, params };
}

/**
 * The agents running now. The index is named (INDEXED BY): without statistics SQLite plans the unfiltered
 * `WHERE state = 'running' ORDER BY id` as a walk of every row ever stored (it saves the sort), 143–184 ms
 * per status call at 450 k rows; with a project alone, idx_agents_task would walk the project's history.
 */
export function liveAgents(db: Db, filter: { project?: string; task?: string } = {}): AgentRow[] {
  const { where, params } = filterTerms(filter);
  const index = filter.project !== undefined && filter.task !== undefined ? "idx_agents_task" : "idx_agents_live_title";
  return db
    .query<Raw, Record<string, string | number>>(`SELECT * FROM agents INDEXED BY ${index} WHERE ${["state = 'running'", ...where].join(" AND ")} ORDER BY id`)
    .all(params)
    .map(toRow);
}

/** Newest first, live and ended; a project's rows by idx_agents_project_id (walked backwards up to the limit). */
export function listAgents(db: Db, filter: { project?: string; task?: string; limit?: number } = {}): AgentRow[] {
  const { where, params } = filterTerms(filter);
  const index = filter.project === undefined ? "" : filter.task === undefined ? "INDEXED BY idx_agents_project_id" : "INDEXED BY idx_agents_task";
  return db
    .query<Raw, Record<string, string | number>>(`SELECT * FROM agents ${index} ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT $limit`)
    .all({ ...params, limit: Math.max(1, Math.min(1000, filter.limit ?? 200)) })
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

/** The most recent master of a task (any state), for measuring its self-fixes. The task's rows, never the project's (idx_agents_project_id walked backwards). */
export function lastMaster(db: Db, project: string, task: string): AgentRow | null {
  const r = db.query<Raw, { project: string; task: string }>("SELECT * FROM agents INDEXED BY idx_agents_task WHERE project = $project AND task = $task AND role = 'master' AND session != '' ORDER BY id DESC LIMIT 1").get({ project, task });
  return r ? toRow(r) : null;
}

/** Clear an open attention item (a no-op write-free statement when there is none). */
export function clearAttention(db: Db, project: string, task: string): void {
  db.query("UPDATE tasks SET attention = '' WHERE project = $project AND name = $task AND attention != ''").run({ project, task });
}

/** Where the CLI keeps this run's transcript (set once it is known). */
export function setTranscript(db: Db, id: number, path: string): void {
  db.query("UPDATE agents SET transcript = $path WHERE id = $id AND transcript != $path").run({ id, path });
}

/** Record what a live agent is doing (from its hooks or the pane watcher). Returns false for an agent no longer running. */
export function setActivity(db: Db, id: number, activity: string, note: string, transcript?: string): boolean {
  return (
    db
      .query(
        `UPDATE agents SET activity = $activity, activity_at = $now, activity_note = $note,
           transcript = CASE WHEN $transcript = '' THEN transcript ELSE $transcript END
         WHERE id = $id AND state = 'running'`,
      )
      .run({ id, activity, note: note.slice(0, 4000), transcript: transcript ?? "", now: nowIso() }).changes > 0
  );
}

export function addNudge(db: Db, id: number): void {
  db.query("UPDATE agents SET nudges = nudges + 1, activity = 'working', activity_at = $now WHERE id = $id").run({ id, now: nowIso() });
}

export function setLastLines(db: Db, id: number, lines: string): void {
  db.query("UPDATE agents SET last_lines = $lines WHERE id = $id").run({ id, lines: lines.slice(0, 8000) });
}

/** Ended rows of this title no longer count as "ended since the task changed": an operator asked for a restart. */
export function markRestarted(db: Db, project: string, title: string): number {
  return db.query("UPDATE agents SET restarted = 1 WHERE project = $project AND title = $title AND state != 'running' AND restarted = 0").run({ project, title }).changes;
}

export function agentById(db: Db, id: number): AgentRow | null {
  const r = db.query<Raw, { id: number }>("SELECT * FROM agents WHERE id = $id").get({ id });
  return r ? toRow(r) : null;
}

/** The newest row of a title (any state). */
export function latestAgentByTitle(db: Db, project: string, title: string): AgentRow | null {
  const r = db.query<Raw, { project: string; title: string }>("SELECT * FROM agents WHERE project = $project AND title = $title ORDER BY id DESC LIMIT 1").get({ project, title });
  return r ? toRow(r) : null;
}

/** The newest ended (not restarted) row of a title that ended after `since`, if any: that agent is not restarted automatically. */
export function endedSince(db: Db, project: string, task: string, title: string, since: string): AgentRow | null {
  const r = db
    .query<Raw, { project: string; task: string; title: string; since: string }>(
      "SELECT * FROM agents INDEXED BY idx_agents_task WHERE project = $project AND task = $task AND title = $title AND state IN ('exited', 'failed') AND restarted = 0 AND ended_at > $since ORDER BY id DESC LIMIT 1",
    )
    .get({ project, task, title, since });
  return r ? toRow(r) : null;
}
