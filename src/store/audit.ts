// Audit log: one row per lifecycle transition, signal outcome and operator action.
// recordAudit is a plain synchronous insert that runs inside the caller's transaction, so errors
// propagate (and roll the whole effect back) instead of being swallowed.
import { type Db, nowIso, inList } from "./db.ts";
import { StoreError } from "./errors.ts";
import { normalizeTaskName, projectTaskTerms } from "./tasks.ts";

export const AUDIT_KINDS = [
  // tasks / lifecycle
  "task_created",
  "task_deleted",
  "task_content",
  "plan_transition",
  "manual_override",
  "verification_cleared",
  // signals
  "signal_enqueued",
  "signal_done",
  "signal_failed",
  "signal_quarantined",
  "signals_recovered",
  // agents / waves
  "agent_spawned",
  "agent_finished",
  "agent_killed",
  "agent_failed",
  "stuck_detected",
  "attention",
  "agent_nudged",
  "agent_waiting",
  "agent_refused",
  "agent_restarted",
  "agent_preflight",
  "agent_forbidden",
  "agent_paused",
  "agent_resumed",
  "budget_warning",
  "budget_exceeded",
  "usage_rejected",
  "task_resumed",
  "notify_sent",
  "notify_failed",
  "prompt_sent",
  "phase_changed",
  "wave_started",
  "wave_completed",
  "wave_failed",
  // ops
  "git_push",
  "pr_created",
  "pr_failed",
  "pr_skipped",
  "hook_failed",
  "repo_added",
  "repo_removed",
  "repo_config_trusted",
  "config_reloaded",
  "daemon_started",
  "daemon_stopped",
  "gc",
  "worktree_removed",
  "worktree_kept",
  "worktree_prepared",
  "worktree_teardown",
  "fsm_error",
  "error",
  // web dashboard
  "web_login",
  "web_login_failed",
  "terminal_takeover",
  "terminal_released",
  "terminal_input",
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export const AUDIT_LEVELS = ["info", "warn", "error"] as const;
export type AuditLevel = (typeof AUDIT_LEVELS)[number];

export interface AuditInput {
  kind: AuditKind;
  project?: string;
  task?: string;
  fromStatus?: string;
  toStatus?: string;
  event?: string;
  signalId?: number | null;
  message: string;
  /** Serialized as JSON text. */
  detail?: Record<string, unknown> | null;
  /** Default "info". */
  level?: AuditLevel;
  /** Default now (ISO UTC). */
  timestamp?: string;
}

export interface AuditRow {
  id: number;
  kind: AuditKind;
  timestamp: string;
  project: string;
  task: string;
  fromStatus: string;
  toStatus: string;
  event: string;
  signalId: number | null;
  message: string;
  /** Parsed JSON object; non-object/non-JSON text comes back as `{ detail: text }`; null when absent. */
  detail: Record<string, unknown> | null;
  level: AuditLevel;
}

interface RawAudit {
  id: number;
  kind: string;
  timestamp: string;
  project: string;
  task: string;
  from_status: string;
  to_status: string;
  event: string;
  signal_id: number | null;
  message: string;
  detail: string | null;
  level: string;
}

function parseDetail(text: string | null): Record<string, unknown> | null {
  if (text === null || text === "") return null;
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through: keep plain text under `detail`
  }
  return { detail: text };
}

function toAudit(r: RawAudit): AuditRow {
  return {
    id: r.id,
    kind: r.kind as AuditKind,
    timestamp: r.timestamp,
    project: r.project,
    task: r.task,
    fromStatus: r.from_status,
    toStatus: r.to_status,
    event: r.event,
    signalId: r.signal_id,
    message: r.message,
    detail: parseDetail(r.detail),
    level: r.level as AuditLevel,
  };
}

/** Insert one audit row; returns its id. Throws on invalid kind/level or any SQLite error. */
export function recordAudit(db: Db, input: AuditInput): number {
  if (!(AUDIT_KINDS as readonly string[]).includes(input.kind)) throw new StoreError("invalid", `unknown audit kind: ${input.kind}`);
  const level = input.level ?? "info";
  if (!(AUDIT_LEVELS as readonly string[]).includes(level)) throw new StoreError("invalid", `invalid audit level: ${level}`);
  const params = {
    kind: input.kind,
    timestamp: input.timestamp ?? nowIso(),
    project: input.project ?? "",
    task: input.task === undefined ? "" : normalizeTaskName(input.task),
    fromStatus: input.fromStatus ?? "",
    toStatus: input.toStatus ?? "",
    event: input.event ?? "",
    signalId: input.signalId ?? null,
    message: input.message,
    detail: input.detail == null ? null : JSON.stringify(input.detail),
    level,
  };
  // run() + lastInsertRowid rather than RETURNING: measurably cheaper, and this runs twice per signal.
  return Number(
    db
      .query<never, typeof params>(
        `INSERT INTO audit_events (kind, timestamp, project, task, from_status, to_status, event, signal_id, message, detail, level)
         VALUES ($kind, $timestamp, $project, $task, $fromStatus, $toStatus, $event, $signalId, $message, $detail, $level)`,
      )
      .run(params).lastInsertRowid,
  );
}

export const AUDIT_MAX_LIMIT = 500;

export interface ListAuditFilter {
  project?: string;
  task?: string;
  kinds?: AuditKind[];
  /** Replay mode: only ids > afterId, OLDEST first (SSE catch-up). */
  afterId?: number;
  /** Only ids < beforeId (newest-first paging). */
  beforeId?: number;
  /** Default and max 500. */
  limit?: number;
}

/** Newest first (by id); with `afterId`, oldest first. An empty `kinds` array yields no rows. */
export function listAudit(db: Db, filter: ListAuditFilter = {}): AuditRow[] {
  if (filter.kinds && filter.kinds.length === 0) return [];
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  projectTaskTerms(filter, where, params);
  if (filter.kinds) {
    where.push(`kind IN ${inList("k", filter.kinds, params)}`);
  }
  if (filter.afterId !== undefined) {
    where.push("id > $afterId");
    params.afterId = filter.afterId;
  }
  if (filter.beforeId !== undefined) {
    where.push("id < $beforeId");
    params.beforeId = filter.beforeId;
  }
  const lim = filter.limit;
  params.limit = lim === undefined || !Number.isFinite(lim) || lim <= 0 ? AUDIT_MAX_LIMIT : Math.min(Math.floor(lim), AUDIT_MAX_LIMIT);
  const order = filter.afterId !== undefined ? "ASC" : "DESC";
  const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id ${order} LIMIT $limit`;
  return db.query<RawAudit, Record<string, string | number>>(sql).all(params).map(toAudit);
}

/** How many audit rows one task has (a walk of idx_audit_task_id; no row is read). */
export function countTaskAudit(db: Db, project: string, task: string): number {
  return db
    .query<{ n: number }, { project: string; task: string }>("SELECT COUNT(*) AS n FROM audit_events WHERE project = $project AND task = $task")
    .get({ project, task: normalizeTaskName(task) })?.n ?? 0;
}

/** Highest audit id (0 when empty): the starting cursor for an SSE stream. */
export function lastAuditId(db: Db): number {
  return db.query<{ id: number | null }, []>("SELECT MAX(id) AS id FROM audit_events").get()?.id ?? 0;
}
