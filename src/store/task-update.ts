// The one generic task write: a partial update of a task's metadata (status, execution state,
// counters, phase timestamps, verification binding, PR fields, hold). Never `content`: a plan is
// written by createTask/setContent only, so an update can never wipe one.
import { type Db, nowIso } from "./db.ts";
import { StoreError } from "./errors.ts";
import { notFound, requireKey, toTask, WITH_PLAN, type RawTask, type TaskRow, type Verification } from "./tasks.ts";
import { EXECUTION_PHASES, PHASE_TIMESTAMP_COLUMNS, TASK_STATUSES, type ExecutionState, type PhaseTimestampColumn, type TaskStatus } from "../lifecycle/types.ts";

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
