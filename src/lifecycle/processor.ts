// Signal → outcome processor.
// Pure: the caller loads the task snapshot, resolves the branch HEAD, persists `update` and executes
// `actions`. Nothing here touches the store, git, agents or the clock.
//
// An event goes: source checks → the transition table (fsm.ts) → the edge's guard (guards.ts) → the
// event's handler (event-handlers.ts), which takes the edge and lists the reactions. Wave signals go
// to their own handlers (wave-signals.ts). This file holds the entry points.
import { assertNever, eventTarget, isDaemonOnly, isUserOnly, isWavePhase, mapLegacyStatus, transition, type GuardName } from "./fsm.ts";
import { parsePlan, type ParsePlanResult } from "./plan-parser.ts";
import { settleWaveTask } from "./waves.ts";
import { GUARD_CHECKS } from "./guards.ts";
import { EVENT_HANDLERS } from "./event-handlers.ts";
import { finishImplementation, processWaveSignal } from "./wave-signals.ts";
import { fixerReaction } from "./reactions.ts";
import { done, failed, newAcc, step, takeEdge } from "./outcome.ts";
import { emptyPayload } from "./signal-types.ts";
import type { Spend } from "./budget.ts";
import { NOOP_REASONS, type BranchHead, type EventContext, type EventInput, type ProcessInput, type ProcessorConfig, type ProcessResult, type TaskSnapshot } from "./model.ts";
import type { FsmEvent, TaskStatus } from "./types.ts";

export function processEvent(input: EventInput, cfg: ProcessorConfig): ProcessResult {
  const { task, event, payload, source, now } = input;
  const status = mapLegacyStatus(task.status);
  if (status === null) return failed(`no transitions defined for status "${task.status}"`);
  if (source === "agent" && isUserOnly(event)) return failed(`"${event}" is a user-only event; agents cannot send it`);
  if (source !== "daemon" && isDaemonOnly(event)) return failed(`"${event}" is raised by the daemon only (when a verified commit is no longer the branch head)`);

  const acc = newAcc();
  // Pre-applied: the producer already wrote the status; only the reactions remain to be run.
  const preApplied = payload.fsmApplied && eventTarget(event) !== null && status === eventTarget(event);
  if (preApplied) acc.notes.push(`pre-applied ${event}: task already ${status}`);

  // The edge the event takes: none when pre-applied (the status is already where it leads).
  let edge: { to: TaskStatus; guard: GuardName | null } | null = null;
  if (!preApplied) {
    // Wave orchestration owns implementing → reviewing while waves run.
    if (event === "implement_finished" && source === "agent" && isWavePhase(task.execution.phase)) {
      return { outcome: "done", result: NOOP_REASONS.implementFinishedSuppressed, transitions: [], update: {}, actions: [] };
    }
    if ((event === "verify_approved" || event === "verify_failed") && status !== "verifying") return failed(NOOP_REASONS.outsideVerifying);
    const t = transition(status, event);
    if (!t.ok) return failed(t.reason);
    edge = t;
  }
  let plan: ParsePlanResult | null = null;
  const c: EventContext = {
    input,
    task,
    status,
    cfg,
    acc,
    preApplied,
    enter: (origin) => {
      if (edge !== null) takeEdge(acc, status, event, edge.to, now, origin);
    },
    plan: () => (plan ??= parsePlan(task.content)),
  };
  if (edge?.guard) {
    const refusal = GUARD_CHECKS[edge.guard](c);
    if (refusal !== null) return failed(refusal);
  }
  return EVENT_HANDLERS[event](c);
}

export function processSignal(input: ProcessInput, cfg: ProcessorConfig): ProcessResult {
  const task = input.task;
  if (task === null) return failed(`unknown task: ${input.taskName ?? ""}`);
  switch (input.type) {
    case "plan_start":
    case "planner_finished":
    case "implement_start":
    case "implement_finished":
    case "review_approved":
    case "review_changes_requested":
    case "verify_approved": {
      // The master's own fixes are bounded: over the ceiling its approval counts as a failure.
      const max = cfg.readinessSelfFixMaxLines ?? 0;
      const lines = input.masterSelfFixLines ?? null;
      if (input.source === "agent" && max > 0 && lines !== null && lines > max) {
        const body = `master self-fix changed ${lines} lines, over readiness_self_fix_max_lines ${max}${input.payload.body ? `: ${input.payload.body}` : ""}`;
        return processEvent({ task, event: "verify_failed", payload: { ...input.payload, body }, source: input.source, head: input.head, now: input.now }, cfg);
      }
      return processEvent({ task, event: input.type, payload: input.payload, source: input.source, head: input.head, now: input.now }, cfg);
    }
    case "verify_failed":
      return processEvent({ task, event: input.type, payload: input.payload, source: input.source, head: input.head, now: input.now }, cfg);
    case "elaborator_finished":
    case "implement_task_finished":
    case "implement_wave":
    case "advance_wave":
    case "retry_wave":
      return processWaveSignal(task, { ...input, type: input.type }, cfg);
    case "planner_draft_finished":
      return failed(NOOP_REASONS.plannerDraft);
    default:
      return assertNever(input.type);
  }
}

/**
 * Operator transitions (CLI / HTTP): user-only events allowed; verify approvals bind as "operator".
 * `spend` (the task's spend so far) is what a resume grants a fresh allowance from.
 */
export function applyUserEvent(
  task: TaskSnapshot | null,
  event: FsmEvent,
  cfg: ProcessorConfig,
  head: BranchHead | null,
  now: string,
  taskName?: string,
  spend?: Spend,
): ProcessResult {
  if (task === null) return failed(`unknown task: ${taskName ?? ""}`);
  return processEvent({ task, event, payload: emptyPayload(), source: "user", head, now, ...(spend ? { spend } : {}) }, cfg);
}

/** A task crossed a budget (daemon): it goes on hold in its current status and its agents stop. */
export function holdTask(task: TaskSnapshot, reason: string, cfg: ProcessorConfig, now: string): ProcessResult {
  return processEvent({ task, event: "budget_hold", payload: emptyPayload(), source: "daemon", head: null, now, holdReason: reason }, cfg);
}

/** The limit that held a task was raised (daemon): the hold is lifted, its allowance unchanged. */
export function releaseRaisedHold(task: TaskSnapshot, cfg: ProcessorConfig, now: string): ProcessResult {
  return processEvent({ task, event: "resume", payload: emptyPayload(), source: "daemon", head: null, now }, cfg);
}

/** The branch moved after verification (found when the PR is made): done → verifying, a fresh master runs. */
export function verificationStale(task: TaskSnapshot, reason: string, cfg: ProcessorConfig, now: string): ProcessResult {
  const r = processEvent({ task, event: "verification_stale", payload: emptyPayload(), source: "daemon", head: null, now }, cfg);
  if (r.outcome === "done") r.result = `${r.result}: ${reason}`;
  return r;
}

/** A wave coder's session ended without its task-finished signal: the task fails (daemon monitor). */
export function failWaveTask(task: TaskSnapshot, wave: number, taskNumber: number, reason: string, cfg: ProcessorConfig, now: string): ProcessResult {
  const subtasks = task.subtasks ?? [];
  const sub = subtasks.find((s) => s.number === taskNumber && s.wave === wave);
  if (mapLegacyStatus(task.status) !== "implementing" || task.execution.phase !== "wave_running" || task.execution.wave !== wave || !sub || sub.status !== "running") {
    return failed(`${NOOP_REASONS.implementTaskFinished} (not a running task of the active wave)`);
  }
  const acc = newAcc([`wave ${wave} task ${taskNumber} failed: ${reason}`]);
  const next = settleWaveTask(acc, subtasks, wave, taskNumber, "failed", cfg);
  return next === "review" ? finishImplementation(acc, task, now) : done(acc);
}

/**
 * A human's PR review asked for changes (PR monitor): back to implementing through the edge the
 * current status has (done: reimplement, reviewing: review_changes_requested, verifying:
 * verify_failed), with the review as feedback and a fixer (auto_review_fix, capped).
 */
export function applyPrReview(task: TaskSnapshot, feedback: string, cfg: ProcessorConfig, now: string): ProcessResult {
  const status = mapLegacyStatus(task.status);
  const event: FsmEvent | null = status === "done" ? "reimplement" : status === "reviewing" ? "review_changes_requested" : status === "verifying" ? "verify_failed" : null;
  if (status === null || event === null) return failed(`PR review ignored: task is ${task.status}`);
  const acc = newAcc(["PR review requested changes"]);
  const r = step(acc, status, event, now, "pr_review");
  if (!r.ok) return failed(r.reason);
  acc.update.verification = null; // the reviewed commit is no longer the one to ship
  acc.update.latestFeedback = feedback.trim();
  fixerReaction(acc, task, cfg, feedback.trim());
  return done(acc);
}

