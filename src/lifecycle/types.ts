// Shared vocabulary of the task lifecycle. Pure types and constant lists only: no I/O.

/** Persisted task statuses (newest generation, with `verifying`). */
export const TASK_STATUSES = ["ready", "planning", "implementing", "reviewing", "verifying", "done", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Timestamp columns of the statuses that carry one (set on every entry; ready and cancelled carry none). */
export const PHASE_TIMESTAMP_COLUMNS = ["planning_at", "implementing_at", "reviewing_at", "verifying_at", "done_at"] as const;
export type PhaseTimestampColumn = (typeof PHASE_TIMESTAMP_COLUMNS)[number];

/** Statuses counted as an "active plan" in daemon status. */
export const ACTIVE_STATUSES: readonly TaskStatus[] = ["planning", "implementing", "reviewing", "verifying"];

/** FSM events (wire names). */
export const FSM_EVENTS = [
  "plan_start",
  "planner_finished",
  "implement_start",
  "implement_finished",
  "review_approved",
  "review_changes_requested",
  "verify_approved",
  "verify_failed",
  "request_review",
  "start_over",
  "reimplement",
  "cancel",
  "reopen",
  "mark_done",
  "verification_stale",
  "budget_hold",
  "resume",
] as const;
export type FsmEvent = (typeof FSM_EVENTS)[number];

/** Events only a human (CLI / HTTP admin) may send; never accepted from agent signals. */
export const USER_ONLY_EVENTS: readonly FsmEvent[] = ["request_review", "start_over", "reimplement", "cancel", "reopen", "mark_done", "resume"];

/** Events only the daemon raises (a done task whose verified commit is no longer the branch head). */
export const DAEMON_ONLY_EVENTS: readonly FsmEvent[] = ["verification_stale", "budget_hold"];

/**
 * Events that keep the task's status and execution state: they put a task on hold (a budget was
 * crossed: its agents stop, nothing starts) or lift the hold (operator `kas task resume`, or the
 * daemon once the limit was raised). The hold is task state beside the status, so a held task
 * resumes exactly where it stopped.
 */
export const HOLD_EVENTS: readonly FsmEvent[] = ["budget_hold", "resume"];

/** Execution sub-state phases. Empty string = no phase. */
export const EXECUTION_PHASES = [
  "planned",
  "architecting",
  "wave_running",
  "wave_waiting",
  "single_agent_implementing",
  "fixing",
  "reviewing",
] as const;
export type ExecutionPhase = (typeof EXECUTION_PHASES)[number] | "";

export interface ExecutionState {
  phase: ExecutionPhase;
  agent: string; // active agent type ("coder", "reviewer", "master", …) or ""
  wave: number; // active wave, 0 = none
}

export const EMPTY_EXECUTION: ExecutionState = { phase: "", agent: "", wave: 0 };

/** Canonical signal (gateway) types. */
export const SIGNAL_TYPES = [
  "plan_start",
  "planner_finished",
  "planner_draft_finished",
  "implement_start",
  "implement_finished",
  "review_approved",
  "review_changes_requested",
  "implement_task_finished",
  "implement_wave",
  "elaborator_finished",
  "verify_approved",
  "verify_failed",
  "advance_wave",
  "retry_wave",
] as const;
export type SignalType = (typeof SIGNAL_TYPES)[number];

/** Signal queue row status. */
export type SignalRowStatus = "pending" | "processing" | "done" | "failed";
