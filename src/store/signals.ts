// The signal queue: pending → processing → done | failed.
// Claims are one UPDATE … WHERE id = (oldest pending) RETURNING * inside an IMMEDIATE transaction,
// so two processes (daemon, CLI, tests) can never claim the same row.
import { type Db, nowIso, writeTx, inList } from "./db.ts";
import { StoreError } from "./errors.ts";
import { normalizeTaskName, projectTaskTerms } from "./tasks.ts";
import { SIGNAL_TYPES, type SignalRowStatus, type SignalType } from "../lifecycle/types.ts";

export const SIGNAL_ROW_STATUSES: readonly SignalRowStatus[] = ["pending", "processing", "done", "failed"];

export interface SignalRow {
  id: number;
  project: string;
  task: string;
  type: SignalType;
  /** Empty or JSON text. */
  payload: string;
  /** Where it came from: "file:<path>", "cli", "api", … */
  source: string;
  /** Optional dedup key ('' = none); at most one pending/processing row per non-empty key. */
  dedupKey: string;
  status: SignalRowStatus;
  createdAt: string;
  claimedAt: string | null;
  claimedBy: string | null;
  processedAt: string | null;
  result: string;
}

export interface EnqueueSignalInput {
  project: string;
  task: string;
  type: SignalType;
  /** Empty string, JSON text, or an object (serialized). */
  payload?: string | Record<string, unknown>;
  source: string;
  /** When a pending/processing row with the same key exists, its id is returned instead of inserting. */
  dedupKey?: string;
}

interface RawSignal {
  id: number;
  project: string;
  task: string;
  signal_type: string;
  payload: string;
  source: string;
  dedup_key: string;
  status: string;
  created_at: string;
  claimed_at: string | null;
  claimed_by: string | null;
  processed_at: string | null;
  result: string;
}

function toSignal(r: RawSignal): SignalRow {
  return {
    id: r.id,
    project: r.project,
    task: r.task,
    type: r.signal_type as SignalType,
    payload: r.payload,
    source: r.source,
    dedupKey: r.dedup_key,
    status: r.status as SignalRowStatus,
    createdAt: r.created_at,
    claimedAt: r.claimed_at,
    claimedBy: r.claimed_by,
    processedAt: r.processed_at,
    result: r.result,
  };
}

/** Insert a pending row; returns its id (or the id of an active row with the same dedupKey). */
export function enqueueSignal(db: Db, input: EnqueueSignalInput): number {
  const project = input.project.trim();
  const task = normalizeTaskName(input.task);
  if (project === "") throw new StoreError("invalid", "signal project must not be empty");
  if (task === "") throw new StoreError("invalid", "signal task must not be empty");
  if (!(SIGNAL_TYPES as readonly string[]).includes(input.type)) throw new StoreError("invalid", `unknown signal type "${input.type}"`);
  const payload = typeof input.payload === "string" ? input.payload : input.payload === undefined ? "" : JSON.stringify(input.payload);
  const dedupKey = input.dedupKey ?? "";
  const params = { project, task, type: input.type, payload, source: input.source, dedupKey, now: nowIso() };
  const insert = () =>
    db
      .query<{ id: number }, typeof params>(
        `INSERT INTO signals (project, task, signal_type, payload, source, dedup_key, status, created_at)
         VALUES ($project, $task, $type, $payload, $source, $dedupKey, 'pending', $now) RETURNING id`,
      )
      .get(params)!.id;
  if (dedupKey === "") return insert();
  return writeTx(db, () => {
    const existing = db
      .query<{ id: number }, { dedupKey: string }>(
        // Spelled like idx_signals_dedup_active's WHERE, so SQLite uses that partial index.
        "SELECT id FROM signals WHERE dedup_key = $dedupKey AND dedup_key <> '' AND status IN ('pending', 'processing') LIMIT 1",
      )
      .get({ dedupKey });
    return existing ? existing.id : insert();
  });
}

const CLAIM_ANY = `UPDATE signals SET status = 'processing', claimed_at = $now, claimed_by = $worker
  WHERE id = (SELECT id FROM signals WHERE status = 'pending' ORDER BY created_at, id LIMIT 1)
  RETURNING *`;
const CLAIM_PROJECT = `UPDATE signals SET status = 'processing', claimed_at = $now, claimed_by = $worker
  WHERE id = (SELECT id FROM signals WHERE project = $project AND status = 'pending' ORDER BY created_at, id LIMIT 1)
  RETURNING *`;

/** Atomically take the oldest pending row (of `project`, or of any project when null). */
export function claimNextSignal(db: Db, project: string | null, worker: string): SignalRow | null {
  const now = nowIso();
  const r = writeTx(db, () =>
    project === null
      ? db.query<RawSignal, { now: string; worker: string }>(CLAIM_ANY).get({ now, worker })
      : db.query<RawSignal, { now: string; worker: string; project: string }>(CLAIM_PROJECT).get({ now, worker, project }),
  );
  return r ? toSignal(r) : null;
}

export interface FinishOptions {
  /** Only finish when the row is still claimed by this worker (guards against a reaper reset + re-claim). */
  worker?: string;
}

/**
 * Mark a processing row done/failed with its result text; sets processed_at.
 * Returns false when the row is not (or no longer) processing; missing row → StoreError("not_found").
 */
export function finishSignal(db: Db, id: number, status: "done" | "failed", result: string, opts: FinishOptions = {}): boolean {
  if (status !== "done" && status !== "failed") throw new StoreError("invalid", `invalid final signal status: ${status}`);
  const params = { id, status, result, now: nowIso(), worker: opts.worker ?? null };
  const res = db
    .query(
      `UPDATE signals SET status = $status, result = $result, processed_at = $now
       WHERE id = $id AND status = 'processing' AND ($worker IS NULL OR claimed_by = $worker)`,
    )
    .run(params);
  if (res.changes > 0) return true;
  if (!db.query("SELECT 1 FROM signals WHERE id = $id").get({ id })) throw new StoreError("not_found", `signal not found: ${id}`);
  return false;
}

/**
 * Put `processing` rows back to `pending` (claim fields cleared). `olderThanMs` > 0 only resets rows
 * claimed longer ago than that; 0 resets every processing row (daemon start). Returns the count.
 */
export function recoverStuckSignals(db: Db, olderThanMs: number): number {
  if (!(olderThanMs > 0)) {
    return db.query("UPDATE signals SET status = 'pending', claimed_at = NULL, claimed_by = NULL WHERE status = 'processing'").run().changes;
  }
  const cutoff = new Date(Date.now() - olderThanMs).toISOString();
  return db
    .query(
      `UPDATE signals SET status = 'pending', claimed_at = NULL, claimed_by = NULL
       WHERE status = 'processing' AND (claimed_at IS NULL OR claimed_at < $cutoff)`,
    )
    .run({ cutoff }).changes;
}

export interface ListSignalsFilter {
  project?: string;
  task?: string;
  /** Restrict to these statuses; an empty array yields no rows. */
  status?: SignalRowStatus[];
  /** Default 100, max 1000. */
  limit?: number;
}

/** Newest first (by insertion). */
export function listSignals(db: Db, filter: ListSignalsFilter = {}): SignalRow[] {
  if (filter.status && filter.status.length === 0) return [];
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  projectTaskTerms(filter, where, params);
  if (filter.status) {
    where.push(`status IN ${inList("s", filter.status, params)}`);
  }
  params.limit = clampLimit(filter.limit, 100, 1000);
  // Insertion order (rowid), newest first: a reverse walk of the table that stops at the limit, where
  // ORDER BY created_at sorted the whole history (no index) on every call.
  const sql = `SELECT * FROM signals ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT $limit`;
  return db.query<RawSignal, Record<string, string | number>>(sql).all(params).map(toSignal);
}

export function getSignal(db: Db, id: number): SignalRow | null {
  const r = db.query<RawSignal, { id: number }>("SELECT * FROM signals WHERE id = $id").get({ id });
  return r ? toSignal(r) : null;
}

/**
 * Signals of `project` that failed after `since` (status, per repo). One range of idx_signals_failed per
 * project: a single GROUP BY over every project walked every failed signal ever stored.
 */
export function failedSignalsSince(db: Db, project: string, since: string): number {
  return (
    db
      .query<{ n: number }, { project: string; since: string }>("SELECT COUNT(*) AS n FROM signals INDEXED BY idx_signals_failed WHERE status = 'failed' AND project = $project AND created_at > $since")
      .get({ project, since })?.n ?? 0
  );
}

/** Row counts by status (all four keys present), optionally for one project. */
export function countSignals(db: Db, project?: string): Record<SignalRowStatus, number> {
  const out: Record<SignalRowStatus, number> = { pending: 0, processing: 0, done: 0, failed: 0 };
  const rows =
    project === undefined
      ? db.query<{ status: string; n: number }, []>("SELECT status, COUNT(*) AS n FROM signals GROUP BY status").all()
      : db
          .query<{ status: string; n: number }, { project: string }>("SELECT status, COUNT(*) AS n FROM signals WHERE project = $project GROUP BY status")
          .all({ project });
  for (const r of rows) {
    if (r.status in out) out[r.status as SignalRowStatus] = r.n;
  }
  return out;
}

function clampLimit(limit: number | undefined, def: number, max: number): number {
  if (limit === undefined || !Number.isFinite(limit) || limit <= 0) return def;
  return Math.min(Math.floor(limit), max);
}

/** Oldest pending row of a project, without claiming it (the daemon resolves git state before claiming). */
export function peekNextPending(db: Db, project: string): SignalRow | null {
  const r = db
    .query<RawSignal, { project: string }>("SELECT * FROM signals WHERE project = $project AND status = 'pending' ORDER BY created_at, id LIMIT 1")
    .get({ project });
  return r ? toSignal(r) : null;
}

/** Claim one specific row if it is still pending (call inside the transaction that processes it). */
export function claimSignalById(db: Db, id: number, worker: string): SignalRow | null {
  const r = db
    .query<RawSignal, { id: number; now: string; worker: string }>(
      "UPDATE signals SET status = 'processing', claimed_at = $now, claimed_by = $worker WHERE id = $id AND status = 'pending' RETURNING *",
    )
    .get({ id, now: nowIso(), worker });
  return r ? toSignal(r) : null;
}

/** The row a given source (e.g. one particular signal file) produced, if any. */
export function findSignalBySource(db: Db, source: string): SignalRow | null {
  // Newest row in JS, not `ORDER BY id DESC LIMIT 1`: measured 10× slower in SQLite for this lookup,
  // which runs once per signal file (there is normally at most one row per source).
  const rows = db.query<RawSignal, { source: string }>("SELECT * FROM signals WHERE source = $source").all({ source });
  if (rows.length === 0) return null;
  let r = rows[0]!;
  for (const x of rows) if (x.id > r.id) r = x;
  return toSignal(r);
}

/** Pending rows per project (for status and scheduling). */
export function pendingProjects(db: Db): string[] {
  return db.query<{ project: string }, []>("SELECT DISTINCT project FROM signals WHERE status = 'pending'").all().map((r) => r.project);
}

/** Up to `limit` oldest pending rows of a project, without claiming them. */
export function peekPending(db: Db, project: string, limit: number): SignalRow[] {
  return db
    .query<RawSignal, { project: string; limit: number }>("SELECT * FROM signals WHERE project = $project AND status = 'pending' ORDER BY created_at, id LIMIT $limit")
    .all({ project, limit })
    .map(toSignal);
}

/**
 * Insert a row directly in its final state (a file signal decided inside the same transaction):
 * one INSERT instead of insert + claim + finish, which matters in bursts.
 */
export function insertFinishedSignal(
  db: Db,
  input: EnqueueSignalInput & { status: "done" | "failed"; result: string },
  worker: string,
): number {
  const project = input.project.trim();
  const task = normalizeTaskName(input.task);
  if (project === "" || task === "") throw new StoreError("invalid", "signal project and task must not be empty");
  if (!(SIGNAL_TYPES as readonly string[]).includes(input.type)) throw new StoreError("invalid", `unknown signal type "${input.type}"`);
  const payload = typeof input.payload === "string" ? input.payload : input.payload === undefined ? "" : JSON.stringify(input.payload);
  const now = nowIso();
  return Number(
    db
      .query<never, { project: string; task: string; type: string; payload: string; source: string; now: string; worker: string; status: string; result: string }>(
        `INSERT INTO signals (project, task, signal_type, payload, source, dedup_key, status, created_at, claimed_at, claimed_by, processed_at, result)
         VALUES ($project, $task, $type, $payload, $source, '', $status, $now, $now, $worker, $now, $result)`,
      )
      .run({ project, task, type: input.type, payload, source: input.source, now, worker, status: input.status, result: input.result }).lastInsertRowid,
  );
}

/** Pending rows one repository may queue: a runaway producer cannot grow the store without bound. */
export const MAX_PENDING_SIGNALS = 10_000;
