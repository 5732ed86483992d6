// Commit a processor result: task update, transition audit rows, signal outcome — all inside the
// caller's IMMEDIATE transaction, so a signal's effect and its row's terminal state land together.
import { applyUserEvent } from "../lifecycle/processor.ts";
import type { BranchHead, ProcessorConfig, ProcessResult, TaskSnapshot } from "../lifecycle/model.ts";
import type { FsmEvent } from "../lifecycle/types.ts";
import type { ModelPrice } from "../config/pricing.ts";
import { taskSpend } from "./budget.ts";
import { recordAudit } from "./audit.ts";
import { type Db, writeTx } from "./db.ts";
import { finishSignal } from "./signals.ts";
import { clearAttention } from "./agents.ts";
import type { ExecutionState } from "../lifecycle/types.ts";
import { getTask, type TaskRow } from "./tasks.ts";
import { listSubtasks, setSubtaskStatus, setSubtasks, type SubtaskStatus } from "./subtasks.ts";
import { executionAfterUpdate, writeTaskUpdate, type TaskUpdate } from "./task-update.ts";

export interface CommitContext {
  project: string;
  task: string;
  result: ProcessResult;
  /** The queue row this result answers (finished here), or null for direct CLI/API transitions. */
  signalId: number | null;
  signalType: string;
  /** Who asked: "file:…", "cli", "api", "daemon". */
  source: string;
  worker?: string;
  /** Execution state before this result (from the snapshot the processor saw): spares a read. */
  previousExecution?: ExecutionState;
  /** The row was inserted already in its final state (file signals): do not finish it again. */
  rowFinal?: boolean;
  /** Extra audit detail for the rows this result writes (e.g. which budget limit was crossed). */
  detail?: Record<string, unknown>;
}

/**
 * The processor's view of a task. Subtasks (wave orchestration state) are loaded only when they can
 * matter — a wave phase, or a wave signal — since this runs for every signal of a burst.
 */
export function snapshotOf(db: Db, t: TaskRow, opts: { subtasks?: boolean } = {}): TaskSnapshot {
  const needSubtasks = opts.subtasks ?? (t.execution.phase === "wave_running" || t.execution.phase === "wave_waiting");
  return {
    subtasks: needSubtasks ? listSubtasks(db, t.project, t.name).map((s) => ({ number: s.number, wave: s.wave, title: s.title, status: s.status })) : [],
    name: t.name,
    status: t.status,
    execution: t.execution,
    reviewCycle: t.reviewCycle,
    verifyCycle: t.verifyCycle,
    content: t.content,
    branch: t.branch,
    latestFeedback: t.latestFeedback,
    hold: t.hold,
  };
}

function storeUpdate(r: ProcessResult): TaskUpdate | null {
  const u = r.update;
  const out: TaskUpdate = {};
  if (u.status !== undefined) out.status = u.status;
  if (u.execution !== undefined) out.execution = u.execution;
  if (u.reviewCycle !== undefined) out.reviewCycle = u.reviewCycle;
  if (u.verifyCycle !== undefined) out.verifyCycle = u.verifyCycle;
  if (u.latestFeedback !== undefined) out.latestFeedback = u.latestFeedback;
  if (u.timestamps !== undefined) out.timestamps = u.timestamps;
  if (u.timestampColumn !== undefined && u.timestamps?.[u.timestampColumn] === undefined) out.timestampColumn = u.timestampColumn;
  if (u.hold !== undefined) {
    out.hold = u.hold.reason;
    if (u.hold.base !== undefined) out.budgetBase = JSON.stringify(u.hold.base);
  }
  if (u.verification !== undefined) {
    out.verification = u.verification === null ? null : { sha: u.verification.sha, baseSha: u.verification.baseSha, by: u.verification.by, origin: u.verification.origin, at: u.verification.at };
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** Must run inside writeTx. */
export function commitResult(db: Db, ctx: CommitContext): void {
  const { result } = ctx;
  if (result.outcome === "done") {
    const update = storeUpdate(result);
    // The lifecycle moved: an open attention item (stuck agent, failed wave, cap) is resolved — in
    // the same UPDATE (bursts pay per statement).
    const moved = result.transitions.length > 0 || result.update.subtaskStatus !== undefined || result.update.replaceSubtasks !== undefined || result.update.hold?.reason === "";
    if (moved && update) update.attention = "";
    else if (moved) clearAttention(db, ctx.project, ctx.task);
    // The execution state after the update is derived, not read back: RETURNING * costs as much as the
    // UPDATE. It is needed for a phase change (own audit row) or a transition (carried in its row).
    let after: ExecutionState | null = null;
    if (update) {
      const needsState = update.execution !== undefined || result.transitions.length > 0;
      const before = needsState ? (ctx.previousExecution ?? getTask(db, ctx.project, ctx.task)?.execution ?? null) : null;
      writeTaskUpdate(db, ctx.project, ctx.task, update);
      if (before) {
        after = executionAfterUpdate(before, update.execution);
        // Execution sub-state changes within a status (architecting → wave 1 → wave 2 …) get their own
        // audit row; with a transition, the plan_transition row carries the new execution state.
        if (update.execution && result.transitions.length === 0 && (before.phase !== after.phase || before.agent !== after.agent || before.wave !== after.wave)) {
          const fmt = (e: ExecutionState) => (e.phase || e.agent ? `${e.phase || "-"}/${e.agent || "-"}${e.wave ? ` wave ${e.wave}` : ""}` : "none");
          recordAudit(db, { kind: "phase_changed", project: ctx.project, task: ctx.task, signalId: ctx.signalId, message: `phase ${fmt(before)} → ${fmt(after)}`, detail: { from: before, to: after } });
        }
      }
    }
    // Wave orchestration state: the plan tasks and their statuses, in the same transaction.
    if (result.update.replaceSubtasks) setSubtasks(db, ctx.project, ctx.task, result.update.replaceSubtasks);
    for (const st of result.update.subtaskStatus ?? []) setSubtaskStatus(db, ctx.project, ctx.task, st.number, st.status as SubtaskStatus);
    // A hold or its release keeps the status: its own audit row (budget_exceeded notifies people).
    const hold = result.update.hold;
    if (hold !== undefined) {
      const base = hold.base ? { base: hold.base } : {};
      if (hold.reason !== "") recordAudit(db, { kind: "budget_exceeded", project: ctx.project, task: ctx.task, event: ctx.signalType, message: hold.reason, level: "warn", detail: { source: ctx.source, ...ctx.detail } });
      else recordAudit(db, { kind: "task_resumed", project: ctx.project, task: ctx.task, event: ctx.signalType, message: `resumed by ${ctx.source}: ${result.result}`, detail: { source: ctx.source, ...base, ...ctx.detail } });
    }
    for (const t of result.transitions) {
      recordAudit(db, {
        kind: "plan_transition",
        project: ctx.project,
        task: ctx.task,
        fromStatus: t.from,
        toStatus: t.to,
        event: t.event,
        signalId: ctx.signalId,
        message: `${t.from} → ${t.to} (${t.event}${t.origin ? `, origin ${t.origin}` : ""}; ${ctx.source.replace(/#.*$/, "")})`,
        detail: { source: ctx.source, ...(t.origin ? { origin: t.origin } : {}), ...(after ? { execution: after } : {}) },
      });
    }
  }
  const actions = result.actions.map((a) => a.kind);
  if (ctx.signalId !== null) {
    if (!ctx.rowFinal) finishSignal(db, ctx.signalId, result.outcome, result.result, ctx.worker ? { worker: ctx.worker } : {});
    recordAudit(db, {
      kind: result.outcome === "done" ? "signal_done" : "signal_failed",
      project: ctx.project,
      task: ctx.task,
      event: ctx.signalType,
      signalId: ctx.signalId,
      message: `${ctx.signalType} ${result.outcome}: ${result.result}`,
      detail: { source: ctx.source, actions },
      level: result.outcome === "done" ? "info" : "warn",
    });
  } else if (result.outcome === "failed") {
    recordAudit(db, {
      kind: "fsm_error",
      project: ctx.project,
      task: ctx.task,
      event: ctx.signalType,
      message: `${ctx.signalType} refused (${ctx.source}): ${result.result}`,
      detail: { source: ctx.source },
      level: "warn",
    });
  }
}

/**
 * An operator's event (CLI or API) applied and committed in one write transaction, re-reading the
 * task inside the lock (the daemon may have moved it meanwhile). A resume grants the task a fresh
 * budget allowance from what it has spent so far.
 */
export function applyOperatorEvent(
  db: Db,
  op: { project: string; task: string; event: FsmEvent; cfg: ProcessorConfig; head: BranchHead | null; prices: Record<string, ModelPrice>; source: string; now: string },
): ProcessResult {
  return writeTx(db, () => {
    const t = getTask(db, op.project, op.task);
    const spend = t && op.event === "resume" ? taskSpend(db, op.project, op.task, op.prices) : undefined;
    const result = applyUserEvent(t ? snapshotOf(db, t) : null, op.event, op.cfg, op.head, op.now, op.task, spend);
    commitResult(db, { project: op.project, task: op.task, result, signalId: null, signalType: op.event, source: op.source });
    return result;
  });
}
