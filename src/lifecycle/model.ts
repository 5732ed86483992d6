// Shared model of the lifecycle processor: what it reads (task snapshot, signal, configuration),
// what it produces (an update of the task and the actions to run) and the accumulator its handlers
// fill. Types and constant texts only, so the processor's files (processor, event handlers, wave
// signals, waves) all depend on this one and never on each other's types.
import type { BudgetBase, Spend } from "./budget.ts";
import type { ParsePlanResult } from "./plan-parser.ts";
import type { DecodedPayload, VerifyOrigin } from "./signal-types.ts";
import type { ExecutionState, FsmEvent, PhaseTimestampColumn, SignalType, TaskStatus } from "./types.ts";

export interface ProcessorConfig {
  autoAdvance: boolean;
  autoReviewFix: boolean;
  autoReadinessReview: boolean;
  /** 0 = unlimited. */
  maxReviewFixCycles: number;
  /** Failed verify rounds after which the next verify_failed is force-promoted; 0 = never promote. */
  readinessMaxVerifyCycles: number;
  /** Start the next wave when one completes (default true). */
  autoAdvanceWaves?: boolean;
  /** A master may change at most this many lines itself before approving (0 = no limit). */
  readinessSelfFixMaxLines?: number;
  /** Plans with at most this many tasks skip the architect and waves: one coder (default 2). */
  blueprintSkipThreshold?: number;
  /** Wave tasks running at once (0 = unlimited, default). */
  maxParallelWaveTasks?: number;
}

/** A plan task as persisted (store subtasks). */
export interface SubtaskSnapshot {
  number: number;
  wave: number;
  title: string;
  status: string;
}

export interface TaskSnapshot {
  name: string;
  /** As stored; legacy values (in_progress, completed, finished) are mapped before use. */
  status: string;
  execution: ExecutionState;
  reviewCycle: number;
  verifyCycle: number;
  content: string;
  branch: string;
  latestFeedback: string;
  /** Persisted plan tasks (wave orchestration state); absent = none. */
  subtasks?: SubtaskSnapshot[];
  /** Why the task is on hold ("" or absent = not held): its agents are stopped, none start. */
  hold?: string;
}

export interface BranchHead {
  sha: string;
  baseSha: string;
}

/** Who sends an event: an agent's signal, an operator (CLI/HTTP), or the daemon itself. */
export type SignalSource = "agent" | "user" | "daemon";

export interface ProcessInput {
  task: TaskSnapshot | null;
  /** Only used to name the task when `task` is null. */
  taskName?: string;
  type: SignalType;
  payload: DecodedPayload;
  /** Rows pre-applied by the operator (HTTP admin / CLI) should be processed as "user". */
  source: SignalSource;
  /** Live branch HEAD resolved by the caller; null when it could not be resolved. */
  head: BranchHead | null;
  /** ISO time stamped into timestamps and verification records. */
  now: string;
  /** verify_approved from a master: lines it changed itself since it started (null = unknown). */
  masterSelfFixLines?: number | null;
}

export interface VerificationRecord {
  sha: string;
  baseSha: string;
  by: string;
  at: string;
  origin: VerifyOrigin;
}

/** What a processed event changes on the task (store/effects.ts writes it as one store TaskUpdate). */
export interface LifecycleUpdate {
  status?: TaskStatus;
  execution?: ExecutionState;
  reviewCycle?: number;
  verifyCycle?: number;
  latestFeedback?: string;
  /** Column of the final status entered; set to `now`. */
  timestampColumn?: PhaseTimestampColumn;
  /** Every phase column entered by this result (a chained approval enters verifying and done). */
  timestamps?: Partial<Record<PhaseTimestampColumn, string>>;
  /** Record (object) or clear (null) the verification binding; absent = leave as is. */
  verification?: VerificationRecord | null;
  /** Status changes of plan tasks (wave orchestration). */
  subtaskStatus?: { number: number; status: string }[];
  /** Replace the plan tasks (the architect re-planned). */
  replaceSubtasks?: { number: number; title: string; wave: number }[];
  /** Put on hold (reason) or lift the hold (""); `base` = the spend a resume grants past. */
  hold?: { reason: string; base?: BudgetBase };
}

export type Action =
  | { kind: "spawn_planner" }
  | { kind: "planner_complete" }
  /** Caller applies implement_start (applyUserEvent) and then starts implementation. */
  | { kind: "auto_implement" }
  /** Plans at or under blueprint_skip_threshold tasks: one coder implements everything. */
  | { kind: "spawn_coder"; mode: "single"; tasks: number }
  | { kind: "spawn_coder"; mode: "wave"; wave: number; taskNumber: number; title: string; peers: number }
  | { kind: "spawn_architect"; tasks: number }
  /** Stop the coders of a finished wave. */
  | { kind: "kill_wave_agents"; wave: number }
  | { kind: "wave_completed"; wave: number; next: "next_wave" | "review" | "wait" }
  /** A wave ended with failed tasks: it waits for retry_wave / implement_wave / cancel. */
  | { kind: "wave_failed"; wave: number; failed: number; total: number }
  | { kind: "spawn_reviewer"; round: number; feedback: string }
  | { kind: "review_approved"; body: string }
  | { kind: "review_changes"; feedback: string }
  | { kind: "spawn_master"; round: number }
  | { kind: "pause_agent"; agent: string }
  | { kind: "spawn_fixer"; round: number; feedback: string }
  | { kind: "review_cycle_limit"; cycle: number; limit: number }
  | { kind: "verify_approved"; body: string; origin: VerifyOrigin }
  | { kind: "verify_failed"; feedback: string }
  | { kind: "create_pr"; body: string }
  /** Task left the active lifecycle (cancel / mark_done) or went on hold: stop every agent working on it. */
  | { kind: "stop_agents" }
  /** The hold was lifted: the task's agents may start again. */
  | { kind: "resume_agents" };

export interface TransitionRecord {
  from: TaskStatus;
  to: TaskStatus;
  event: FsmEvent;
  origin?: string;
}

export interface ProcessResult {
  outcome: "done" | "failed";
  /** Human text for the queue row and the audit log. */
  result: string;
  transitions: TransitionRecord[];
  update: LifecycleUpdate;
  actions: Action[];
}

/** No-op outcomes for signals the processor cannot act on. */
export const NOOP_REASONS = {
  implementFinishedSuppressed: "suppressed implement-finished signal",
  implementTaskFinished: "no active orchestrator / wrong wave / already-finished task",
  implementWave: "processor could not start the requested wave",
  elaboratorFinished: "no active architect pass to resume",
  plannerDraft: "planner draft signal rejected outside draft mode",
  outsideVerifying: "signal rejected outside verifying state",
  rejected: "signal rejected by processor",
} as const;

/** What a result is built from while an event is processed; failed results discard it. */
export interface Acc {
  notes: string[];
  transitions: TransitionRecord[];
  update: LifecycleUpdate;
  actions: Action[];
}

/** Any FSM event from any source; processSignal and applyUserEvent are the usual entry points. */
export interface EventInput {
  task: TaskSnapshot;
  event: FsmEvent;
  payload: DecodedPayload;
  source: SignalSource;
  head: BranchHead | null;
  now: string;
  /** budget_hold: why. */
  holdReason?: string;
  /** resume by an operator: what the task has spent so far (its budget counts again from there). */
  spend?: Spend;
}

/** What an event's handler (and the guards of its edge) sees. */
export interface EventContext {
  input: EventInput;
  task: TaskSnapshot;
  /** The task's status, legacy values mapped. */
  status: TaskStatus;
  cfg: ProcessorConfig;
  acc: Acc;
  /** The producer already wrote the status the event leads to: only the reactions remain. */
  preApplied: boolean;
  /** Take the event's edge (checked valid before the handler runs); nothing when pre-applied. */
  enter(origin?: string): void;
  /** The stored plan, parsed once per event. */
  plan(): ParsePlanResult;
}
