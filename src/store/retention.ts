// Retention ([retention] days): history rows kasmos no longer needs are deleted in small batches
// (one short write transaction each, the event loop gets a turn in between), and the freed pages are
// handed back to the file system with incremental vacuum.
//
// What goes, once older than the cutoff (created / timestamp / ended_at before now − days):
//   - finished signal rows (done, failed; never pending or processing),
//   - audit rows,
//   - ended agent rows (never running ones; their token usage in agent_usage is kept),
// and only when the row belongs to no task, to a task that no longer exists, or to a task done or
// cancelled before the cutoff too: the history of a task still in progress (or finished recently)
// is never touched, however old. Tasks themselves (and their plans) are kept.
//
// Rows are walked in id order (the primary key: no extra index on the hot insert path) and the walk
// stops at the first row younger than the cutoff (ids grow with time). The newest row of each table is
// never deleted, so ids keep growing (SQLite reuses the highest id once it is gone) and id cursors stay valid. Counters /v1/metrics reports
// from these rows are added to metrics_folded in the same transaction as the delete.
import { type Db, writeTx } from "./db.ts";

export const RETENTION_BATCH = 500;
export const DAY_MS = 86_400_000;

export interface PruneOptions {
  /** [retention] days; 0 = keep forever (nothing is pruned). */
  days: number;
  nowMs: number;
  /** Count what would go, delete nothing. */
  dryRun?: boolean;
  /** Rows per transaction (default RETENTION_BATCH). */
  batch?: number;
  /** Run inside each delete transaction, before the delete (the daemon folds its metrics there). */
  beforeDelete?: () => void;
  /** Stop between batches (daemon shutdown): what is deleted so far stays deleted, consistently. */
  signal?: AbortSignal;
}

export interface PruneCounts {
  signals: number;
  audit: number;
  agents: number;
}

export interface PruneResult {
  counts: PruneCounts;
  /** Transactions that deleted something. */
  batches: number;
}

/** ISO time before which history may go (null: keep forever). */
export function retentionCutoff(days: number, nowMs: number): string | null {
  return days > 0 ? new Date(nowMs - days * DAY_MS).toISOString() : null;
}

/**
 * SQL: the row (alias `r`, with project and task columns) belongs to no task, a deleted task, or a task
 * done or cancelled before $cutoff. One correlated lookup on the tasks (project, name) key per row.
 */
function finishedBefore(r: string): string {
  return `(${r}.task = '' OR NOT EXISTS (SELECT 1 FROM tasks t WHERE t.project = ${r}.project AND t.name = ${r}.task
    AND NOT (t.status IN ('done', 'cancelled') AND COALESCE(t.done_at, t.updated_at) < $cutoff)))`;
}

interface Table {
  name: "signals" | "audit_events" | "agents";
  /** Column holding the row's time. */
  time: string;
  /** SQL condition (alias r) on top of age and task: which rows may go at all. */
  extra: string;
  /** metrics_folded family of the rows counted by /v1/metrics (and which of them count), or null. */
  fold: { family: string; where: (row: BatchRow) => boolean } | null;
  key: keyof PruneCounts;
}

/** One row of a batch: its time, two labels (see labelColumns) and whether it may go. */
interface BatchRow {
  id: number;
  t: string | null;
  a: string;
  b: string;
  old: number;
}

const TABLES: Table[] = [
  {
    name: "signals",
    time: "r.created_at",
    extra: "r.status IN ('done', 'failed')",
    fold: { family: "signals", where: () => true },
    key: "signals",
  },
  {
    name: "audit_events",
    time: "r.timestamp",
    extra: "1",
    fold: { family: "transitions", where: (row) => row.b !== "\u0000" },
    key: "audit",
  },
  { name: "agents", time: "r.ended_at", extra: "r.state <> 'running' AND r.ended_at IS NOT NULL", fold: null, key: "agents" },
];

function labelColumns(key: keyof PruneCounts): string {
  switch (key) {
    case "signals":
      return "r.signal_type AS a, r.status AS b";
    case "audit":
      // Only plan_transition rows are counted (by event and target status); others fold to nothing.
      return "r.event AS a, CASE WHEN r.kind = 'plan_transition' THEN r.to_status ELSE char(0) END AS b";
    case "agents":
      return "r.project AS a, r.title AS b";
    default: {
      const never: never = key;
      throw new Error(`unknown table ${String(never)}`);
    }
  }
}

/** The SQL of one batch of `table` (exported for the query-plan test). */
export function batchSql(table: Table): string {
  return `SELECT r.id AS id, ${table.time} AS t, ${labelColumns(table.key)},
    (${table.time} < $cutoff AND ${table.extra} AND ${finishedBefore("r")}) AS old
    FROM ${table.name} r WHERE r.id > $after ORDER BY r.id LIMIT $batch`;
}

/** The delete of one batch: a primary-key range (the planner must not scan the table for the id list). */
export function deleteSql(table: Table): string {
  return `DELETE FROM ${table.name} WHERE id >= $lo AND id <= $hi AND id IN (SELECT value FROM json_each($ids))`;
}

export const RETENTION_TABLES: readonly Table[] = TABLES;

/** Delete (or count, dryRun) old history in batches. */
export async function pruneHistory(db: Db, opts: PruneOptions): Promise<PruneResult> {
  const counts: PruneCounts = { signals: 0, audit: 0, agents: 0 };
  const cutoff = retentionCutoff(opts.days, opts.nowMs);
  let batches = 0;
  if (cutoff === null) return { counts, batches };
  const batch = Math.max(1, opts.batch ?? RETENTION_BATCH);
  for (const table of TABLES) {
    const read = db.query<BatchRow, { after: number; cutoff: string; batch: number }>(batchSql(table));
    let after = 0;
    // Bounded: each round advances `after` past `batch` rows, or ends.
    for (let round = 0; round < 100_000_000; round++) {
      const step = () => {
        const rows = read.all({ after, cutoff, batch });
        // Ids grow with time: the first row younger than the cutoff ends the walk.
        const young = rows.findIndex((r) => r.t !== null && r.t >= cutoff && table.key !== "agents");
        const scanned = young === -1 ? rows : rows.slice(0, young);
        // The newest row of a table always stays: a row id is reused once it is the highest and deleted,
        // and readers keep cursors by id (metrics folding, the audit event stream).
        const maxId = db.query<{ id: number | null }, []>(`SELECT MAX(id) AS id FROM ${table.name}`).get()?.id ?? 0;
        const gone = scanned.filter((r) => r.old === 1 && r.id !== maxId);
        if (scanned.length > 0) after = scanned[scanned.length - 1]!.id;
        counts[table.key] += gone.length;
        if (gone.length > 0 && !opts.dryRun) {
          opts.beforeDelete?.();
          if (table.fold) foldRows(db, table.fold.family, gone.filter(table.fold.where));
          db.query<never, { lo: number; hi: number; ids: string }>(deleteSql(table)).run({ lo: gone[0]!.id, hi: gone[gone.length - 1]!.id, ids: JSON.stringify(gone.map((r) => r.id)) });
          batches++;
        }
        return young !== -1 || rows.length < batch;
      };
      // A dry run only reads; a real one reads and deletes under one write lock (rows cannot change between).
      const done = opts.dryRun ? db.transaction(step).deferred() : writeTx(db, step);
      if (done || opts.signal?.aborted) break;
      await Bun.sleep(0);
      if (!opts.dryRun) {
        checkpoint(db);
        await Bun.sleep(0);
      }
    }
  }
  return { counts, batches };
}

function foldRows(db: Db, family: string, rows: BatchRow[]): void {
  const sums = new Map<string, { a: string; b: string; n: number }>();
  for (const r of rows) {
    const k = `${r.a}\u0000${r.b}`;
    const cur = sums.get(k);
    if (cur) cur.n++;
    else sums.set(k, { a: r.a, b: r.b, n: 1 });
  }
  const up = db.query<never, { family: string; a: string; b: string; n: number }>(
    "INSERT INTO metrics_folded (family, a, b, n) VALUES ($family, $a, $b, $n) ON CONFLICT (family, a, b) DO UPDATE SET n = n + excluded.n",
  );
  for (const s of sums.values()) up.run({ family, ...s });
}

/**
 * A checkpoint after each write step keeps each one small: left to the automatic one (every 1000 WAL
 * pages, inside a commit), a step now and then took ~200 ms instead of ~10.
 */
function checkpoint(db: Db): void {
  db.query("PRAGMA wal_checkpoint(PASSIVE)").get();
}

export interface StoreSize {
  /** page_count × page_size: the database's size (the file, once the WAL is checkpointed). */
  bytes: number;
  /** Free pages inside it, reusable or returnable by vacuum. */
  freeBytes: number;
  /** 0 none, 1 full, 2 incremental. */
  autoVacuum: number;
}

export function storeSize(db: Db): StoreSize {
  const one = (pragma: string): number => {
    const row = db.query<Record<string, number>, []>(`PRAGMA ${pragma}`).get();
    return row ? Number(Object.values(row)[0] ?? 0) : 0;
  };
  const pageSize = one("page_size");
  return { bytes: one("page_count") * pageSize, freeBytes: one("freelist_count") * pageSize, autoVacuum: one("auto_vacuum") };
}

/**
 * Give free pages back to the file system. An incremental store does it in steps of `stepPages` (256
 * pages = 1 MiB at the default page size, ~10 ms; the event loop gets a turn in between); `full`
 * switches any other store to incremental with a one-time VACUUM (rewrites the whole file: on demand
 * only). Returns what was done.
 */
export async function reclaimSpace(db: Db, opts: { full: boolean; stepPages?: number; signal?: AbortSignal }): Promise<"none" | "incremental" | "full"> {
  let how: "none" | "incremental" | "full" = "none";
  if (storeSize(db).autoVacuum !== 2) {
    if (!opts.full) return how;
    db.exec("PRAGMA auto_vacuum = INCREMENTAL");
    db.exec("VACUUM");
    how = "full";
  }
  const step = Math.max(1, opts.stepPages ?? 256);
  for (let i = 0; i < 1_000_000 && storeSize(db).freeBytes > 0 && !opts.signal?.aborted; i++) {
    db.exec(`PRAGMA incremental_vacuum(${step})`);
    if (how === "none") how = "incremental";
    await Bun.sleep(0);
    checkpoint(db);
    await Bun.sleep(0);
  }
  // The WAL holds the shrunk pages until a checkpoint; TRUNCATE also empties the -wal file.
  db.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
  return how;
}

export interface FinishedTask {
  name: string;
  branch: string;
  status: string;
}

/** Tasks of a project done or cancelled before `beforeIso` that have a branch (their worktrees may go). */
export function tasksFinishedBefore(db: Db, project: string, beforeIso: string): FinishedTask[] {
  return db
    .query<FinishedTask, { project: string; before: string }>(
      "SELECT name, branch, status FROM tasks WHERE project = $project AND status IN ('done', 'cancelled') AND branch <> '' AND COALESCE(done_at, updated_at) < $before ORDER BY id",
    )
    .all({ project, before: beforeIso });
}

/** Agent titles of a task, and whether any of them still runs. */
export function agentTitlesOf(db: Db, project: string, task: string): { titles: string[]; running: boolean } {
  const rows = db.query<{ title: string; state: string }, { project: string; task: string }>("SELECT title, state FROM agents WHERE project = $project AND task = $task").all({ project, task });
  return { titles: [...new Set(rows.map((r) => r.title))], running: rows.some((r) => r.state === "running") };
}

/** The task is still done or cancelled and none of its agents runs (checked again right before its worktree goes). */
export function taskAtRest(db: Db, project: string, task: string): boolean {
  const row = db
    .query<{ n: number }, { project: string; task: string }>(
      `SELECT (SELECT COUNT(*) FROM tasks WHERE project = $project AND name = $task AND status IN ('done', 'cancelled'))
        - (SELECT COUNT(*) FROM agents WHERE project = $project AND task = $task AND state = 'running') AS n`,
    )
    .get({ project, task });
  return row?.n === 1;
}
