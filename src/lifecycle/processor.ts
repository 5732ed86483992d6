// Signal → outcome processor.
// Pure: the caller loads the task snapshot, resolves the branch HEAD, persists `update` and executes
// `actions`. Nothing here touches the store, git, agents or the clock.
import {
  assertNever,
  eventTarget,
  executionAfterTransition,
  isUserOnly,
  isDaemonOnly,
  isWavePhase,
  mapLegacyStatus,
  normalizeExecution,
  phaseTimestampColumn,
  transition,
} from "./fsm.ts";
import { parsePlan } from "./plan-parser.ts";
import { currentSubtasks, jumpToWave, settleWaveTask, startImplementation, startWave, waveNumbers } from "./waves.ts";
import { emptyPayload, type DecodedPayload, type VerifyOrigin } from "./signal-types.ts";
import { spendFigure, utcDay, type BudgetBase, type Spend } from "./budget.ts";
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

export interface TaskUpdate {
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
  update: TaskUpdate;
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

interface Acc {
  notes: string[];
  transitions: TransitionRecord[];
  update: TaskUpdate;
  actions: Action[];
}

function failed(reason: string, actions: Action[] = []): ProcessResult {
  return { outcome: "failed", result: reason, transitions: [], update: {}, actions };
}

function describe(acc: Acc): string {
  const parts = [...acc.notes];
  for (const t of acc.transitions) parts.push(`${t.from} → ${t.to} (${t.event}${t.origin ? `, origin ${t.origin}` : ""})`);
  parts.push(acc.actions.length > 0 ? `actions: ${acc.actions.map((a) => a.kind).join(", ")}` : "no actions");
  return parts.join("; ");
}

function done(acc: Acc): ProcessResult {
  return { outcome: "done", result: describe(acc), transitions: acc.transitions, update: acc.update, actions: acc.actions };
}

/** Apply one FSM edge into the accumulator: status, reset execution, phase timestamp. */
function step(acc: Acc, from: TaskStatus, event: FsmEvent, now: string, origin?: string): { ok: true } | { ok: false; reason: string } {
  const t = transition(from, event);
  if (!t.ok) return t;
  acc.transitions.push(origin === undefined ? { from, to: t.to, event } : { from, to: t.to, event, origin });
  acc.update.status = t.to;
  acc.update.execution = normalizeExecution(t.to, executionAfterTransition(event, t.to));
  const col = phaseTimestampColumn(t.to);
  if (col !== null) {
    acc.update.timestampColumn = col;
    acc.update.timestamps = { ...acc.update.timestamps, [col]: now };
  }
  return { ok: true };
}

const REVIEWER: ExecutionState = { phase: "reviewing", agent: "reviewer", wave: 0 };
const FIXER: ExecutionState = { phase: "fixing", agent: "fixer", wave: 0 };
const MASTER: ExecutionState = { phase: "", agent: "master", wave: 0 };

function short(sha: string): string {
  return sha.slice(0, 7);
}

function verifiedBy(origin: VerifyOrigin): string {
  switch (origin) {
    case "master":
      return "master";
    case "operator":
      return "operator";
    case "auto":
      return "reviewer"; // no readiness gate: the reviewer's approval is the verification
    case "force_promoted":
      return "daemon";
    default:
      return assertNever(origin);
  }
}

/** Operator/auto/force-promoted approvals bind to whatever HEAD is; unknown HEAD → unbound (null). */
function bindToHead(head: BranchHead | null, origin: VerifyOrigin, now: string): VerificationRecord | null {
  if (head === null || head.sha.trim() === "") return null;
  return { sha: head.sha.trim().toLowerCase(), baseSha: head.baseSha.trim().toLowerCase(), by: verifiedBy(origin), at: now, origin };
}

/** A master approval is only valid for the exact commit it reviewed. */
function bindMaster(
  reviewedSha: string,
  head: BranchHead | null,
  now: string,
): { ok: true; verification: VerificationRecord } | { ok: false; reason: string } {
  if (head === null) return { ok: false, reason: "unbound_verification: head resolver unavailable" };
  const headSha = head.sha.trim().toLowerCase();
  if (headSha === "") return { ok: false, reason: "head_unresolvable: branch HEAD could not be resolved" };
  if (reviewedSha === "") return { ok: false, reason: "unbound_master_approval: master approved without reviewed_sha" };
  if (reviewedSha.toLowerCase() !== headSha) {
    return { ok: false, reason: `stale_master_approval: master reviewed ${short(reviewedSha)} but head is ${short(headSha)}` };
  }
  return { ok: true, verification: { sha: headSha, baseSha: head.baseSha.trim().toLowerCase(), by: "master", at: now, origin: "master" } };
}

/** Side effects of reaching done through verification: binding, approval, PR. */
function approve(acc: Acc, verification: VerificationRecord | null, origin: VerifyOrigin, body: string): void {
  acc.update.verification = verification;
  if (verification === null) acc.notes.push("verification unbound: branch HEAD unknown");
  acc.actions.push({ kind: "verify_approved", body, origin }, { kind: "create_pr", body });
}

/** Fixer loop shared by review changes and failed verification, with the review-fix cap. */
function fixerReaction(acc: Acc, task: TaskSnapshot, cfg: ProcessorConfig, feedback: string): void {
  if (!cfg.autoReviewFix) return;
  const next = task.reviewCycle + 1;
  if (cfg.maxReviewFixCycles > 0 && next > cfg.maxReviewFixCycles) {
    // Task stays in implementing with feedback stored and no agent: a human decides.
    acc.notes.push(`review-fix cycle limit reached (${next}/${cfg.maxReviewFixCycles})`);
    acc.actions.push({ kind: "review_cycle_limit", cycle: next, limit: cfg.maxReviewFixCycles });
    return;
  }
  acc.update.reviewCycle = next;
  acc.update.execution = FIXER;
  acc.actions.push({ kind: "spawn_fixer", round: next, feedback });
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

/** Why plan_start is refused for a task that already has a plan, and the ways on. */
export function planAlreadyGiven(task: string, waves: number): string {
  return `task already has a plan (${waves} wave${waves === 1 ? "" : "s"}); a planner would replace it: start it with implement_start (kas task transition ${task} implement_start), or to have a planner write a new one, first clear the plan (kas task plan ${task} --draft --file - < /dev/null)`;
}

export function processEvent(input: EventInput, cfg: ProcessorConfig): ProcessResult {
  const { task, event, payload, source, head, now } = input;
  const status = mapLegacyStatus(task.status);
  if (status === null) return failed(`no transitions defined for status "${task.status}"`);
  if (source === "agent" && isUserOnly(event)) return failed(`"${event}" is a user-only event; agents cannot send it`);
  if (source !== "daemon" && isDaemonOnly(event)) return failed(`"${event}" is raised by the daemon only (when a verified commit is no longer the branch head)`);

  const acc: Acc = { notes: [], transitions: [], update: {}, actions: [] };
  // Pre-applied: the producer already wrote the status; only the reactions remain to be run.
  const preApplied = payload.fsmApplied && eventTarget(event) !== null && status === eventTarget(event);
  if (preApplied) acc.notes.push(`pre-applied ${event}: task already ${status}`);

  if (!preApplied) {
    // Wave orchestration owns implementing → reviewing while waves run.
    if (event === "implement_finished" && source === "agent" && isWavePhase(task.execution.phase)) {
      return { outcome: "done", result: NOOP_REASONS.implementFinishedSuppressed, transitions: [], update: {}, actions: [] };
    }
    if ((event === "verify_approved" || event === "verify_failed") && status !== "verifying") return failed(NOOP_REASONS.outsideVerifying);
    const t = transition(status, event);
    if (!t.ok) return failed(t.reason);
  }
  const enter = (origin?: string): { ok: true } | { ok: false; reason: string } =>
    preApplied ? { ok: true } : step(acc, status, event, now, origin);

  switch (event) {
    case "plan_start": {
      // A planner would overwrite a plan the operator gave (task create --plan, task plan).
      const given = status === "ready" && !preApplied ? parsePlan(task.content) : null;
      if (given?.ok) return failed(planAlreadyGiven(task.name, given.plan.waves.length));
      const r = enter();
      if (!r.ok) return failed(r.reason);
      acc.actions.push({ kind: "spawn_planner" });
      return done(acc);
    }
    case "planner_finished": {
      if (!preApplied) {
        const plan = parsePlan(task.content);
        if (!plan.ok) return failed(`plan is not implementation-ready: ${plan.error}`);
      }
      const r = enter();
      if (!r.ok) return failed(r.reason);
      acc.actions.push({ kind: "planner_complete" });
      if (cfg.autoAdvance) acc.actions.push({ kind: "auto_implement" });
      return done(acc);
    }
    case "implement_start": {
      const plan = parsePlan(task.content);
      if (!plan.ok) return failed(`task is not yet planned: run plan_start first (${plan.error})`);
      const r = enter();
      if (!r.ok) return failed(r.reason);
      startImplementation(acc, plan.plan, cfg);
      return done(acc);
    }
    case "implement_finished": {
      const r = enter();
      if (!r.ok) return failed(r.reason);
      acc.update.execution = REVIEWER;
      acc.actions.push({ kind: "spawn_reviewer", round: task.reviewCycle + 1, feedback: task.latestFeedback });
      return done(acc);
    }
    case "review_approved": {
      const r = enter();
      if (!r.ok) return failed(r.reason);
      const body = payload.body.trim();
      acc.actions.push({ kind: "review_approved", body });
      if (cfg.autoReadinessReview) {
        acc.update.execution = MASTER;
        acc.actions.push({ kind: "spawn_master", round: task.verifyCycle + 1 });
        return done(acc);
      }
      // No readiness gate: chain verify_approved (origin auto) in the same result.
      const chained = step(acc, "verifying", "verify_approved", now, "auto");
      if (!chained.ok) return failed(chained.reason);
      approve(acc, bindToHead(head, "auto", now), "auto", body);
      return done(acc);
    }
    case "review_changes_requested": {
      const r = enter();
      if (!r.ok) return failed(r.reason);
      const feedback = payload.body.trim();
      acc.update.latestFeedback = feedback;
      acc.actions.push({ kind: "review_changes", feedback });
      fixerReaction(acc, task, cfg, feedback);
      return done(acc);
    }
    case "verify_approved": {
      let verification: VerificationRecord | null;
      let origin: VerifyOrigin;
      if (source === "user") {
        origin = "operator";
        verification = bindToHead(head, origin, now);
      } else {
        // Agents cannot claim operator/auto/force_promoted: anything but master is downgraded.
        if (payload.origin !== "" && payload.origin !== "master") acc.notes.push(`agent-claimed origin "${payload.origin}" downgraded`);
        origin = "master";
        const bound = bindMaster(payload.reviewedSha, head, now);
        if (!bound.ok) {
          return failed(bound.reason, [
            { kind: "pause_agent", agent: "master" },
            { kind: "spawn_master", round: task.verifyCycle + 1 },
          ]);
        }
        verification = bound.verification;
      }
      const r = enter(origin);
      if (!r.ok) return failed(r.reason);
      approve(acc, verification, origin, payload.body.trim());
      return done(acc);
    }
    case "verify_failed": {
      const feedback = payload.body.trim();
      const cap = cfg.readinessMaxVerifyCycles;
      // Product page: after `cap` failed verify rounds the next failure ships anyway. Operator
      // verdicts and pre-applied rows are never rewritten.
      if (!preApplied && source === "agent" && cap > 0 && task.verifyCycle >= cap) {
        acc.notes.push(`verify_failed force-promoted to verify_approved after ${task.verifyCycle} failed verify rounds (cap ${cap})`);
        const promoted = step(acc, status, "verify_approved", now, "force_promoted");
        if (!promoted.ok) return failed(promoted.reason);
        acc.update.latestFeedback = feedback;
        approve(acc, bindToHead(head, "force_promoted", now), "force_promoted", feedback);
        return done(acc);
      }
      const r = enter();
      if (!r.ok) return failed(r.reason);
      acc.update.verifyCycle = task.verifyCycle + 1;
      acc.update.latestFeedback = feedback;
      acc.actions.push({ kind: "verify_failed", feedback });
      fixerReaction(acc, task, cfg, feedback);
      return done(acc);
    }
    case "request_review": {
      const r = enter();
      if (!r.ok) return failed(r.reason);
      acc.update.verification = null; // leaving done: the old binding no longer describes the work
      acc.update.execution = REVIEWER;
      acc.actions.push({ kind: "spawn_reviewer", round: task.reviewCycle + 1, feedback: task.latestFeedback });
      return done(acc);
    }
    case "reimplement": {
      const plan = parsePlan(task.content);
      if (!plan.ok) return failed(`plan is not implementation-ready: ${plan.error}`);
      const r = enter();
      if (!r.ok) return failed(r.reason);
      acc.update.verification = null;
      startImplementation(acc, plan.plan, cfg);
      return done(acc);
    }
    case "start_over":
    case "reopen": {
      const r = enter();
      if (!r.ok) return failed(r.reason);
      // A fresh plan starts fresh review/verify accounting.
      acc.update.verification = null;
      acc.update.reviewCycle = 0;
      acc.update.verifyCycle = 0;
      acc.update.latestFeedback = "";
      acc.actions.push({ kind: "spawn_planner" });
      return done(acc);
    }
    case "cancel":
    case "mark_done": {
      const r = enter();
      if (!r.ok) return failed(r.reason);
      if ((task.hold ?? "") !== "") acc.update.hold = { reason: "" }; // a finished task is not held
      acc.actions.push({ kind: "stop_agents" });
      return done(acc);
    }
    case "budget_hold": {
      // Status and execution state stay: a resume picks up exactly where the hold stopped the task.
      const reason = (input.holdReason ?? "").trim();
      if (reason === "") return failed("budget_hold needs a reason");
      if ((task.hold ?? "") !== "") return failed(`task is already on hold (${task.hold})`);
      acc.notes.push(`on hold: ${reason}`);
      acc.update.hold = { reason };
      acc.actions.push({ kind: "stop_agents" });
      return done(acc);
    }
    case "resume": {
      const held = task.hold ?? "";
      if (held === "") return failed("task is not on hold");
      acc.notes.push(`hold lifted (${held})`);
      // An operator's resume grants a fresh allowance from the spend so far (and lifts a day hold for
      // the rest of that day); the daemon lifts a hold whose limit was raised, keeping the allowance.
      acc.update.hold = input.spend ? { reason: "", base: resumeBase(held, input.spend, now) } : { reason: "" };
      acc.actions.push({ kind: "resume_agents" });
      return done(acc);
    }
    case "verification_stale": {
      // The verified commit is no longer what would ship: verify again with a fresh master.
      const r = enter();
      if (!r.ok) return failed(r.reason);
      acc.update.verification = null;
      acc.update.execution = MASTER;
      acc.actions.push({ kind: "spawn_master", round: task.verifyCycle + 1 });
      return done(acc);
    }
    default:
      return assertNever(event);
  }
}

function resumeBase(hold: string, spend: Spend, now: string): BudgetBase {
  return { usd: spendFigure(spend.usd), tokens: spendFigure(spend.tokens), at: now, day: hold.includes("spend today") ? utcDay(now) : "" };
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

type WaveSignal = "elaborator_finished" | "implement_task_finished" | "implement_wave" | "advance_wave" | "retry_wave";

/** All waves done: implementing → reviewing and the reviewer starts. */
function finishImplementation(acc: Acc, task: TaskSnapshot, now: string): ProcessResult {
  const r = step(acc, "implementing", "implement_finished", now);
  if (!r.ok) return failed(r.reason);
  acc.update.execution = REVIEWER;
  acc.actions.push({ kind: "spawn_reviewer", round: task.reviewCycle + 1, feedback: task.latestFeedback });
  return done(acc);
}

/** Wave orchestration signals. State lives in subtasks + execution state, so restarts lose nothing. */
function processWaveSignal(task: TaskSnapshot, input: ProcessInput & { type: WaveSignal }, cfg: ProcessorConfig): ProcessResult {
  const status = mapLegacyStatus(task.status);
  const subtasks = task.subtasks ?? [];
  const exec = task.execution;
  const acc: Acc = { notes: [], transitions: [], update: {}, actions: [] };
  if (status !== "implementing") {
    const reason = input.type === "elaborator_finished" ? NOOP_REASONS.elaboratorFinished : input.type === "implement_task_finished" ? NOOP_REASONS.implementTaskFinished : NOOP_REASONS.implementWave;
    return failed(`${reason} (task is ${task.status}, not implementing)`);
  }
  switch (input.type) {
    case "elaborator_finished": {
      if (exec.phase !== "architecting") return failed(`${NOOP_REASONS.elaboratorFinished} (phase is ${exec.phase || "none"})`);
      // The architect may have rewritten the plan: parse what is stored now.
      const plan = parsePlan(task.content);
      if (!plan.ok) return failed(`plan is not implementation-ready: ${plan.error}`);
      acc.update.replaceSubtasks = plan.plan.waves.flatMap((w) => w.tasks.map((t) => ({ number: t.number, title: t.title, wave: w.number })));
      const first = waveNumbers(currentSubtasks([], acc))[0];
      if (first === undefined) return failed("plan has no tasks");
      startWave(acc, [], first, cfg);
      return done(acc);
    }
    case "implement_task_finished": {
      const w = input.payload.waveNumber ?? 0;
      const t = input.payload.taskNumber ?? 0;
      if (exec.phase !== "wave_running" || exec.wave !== w) return failed(`${NOOP_REASONS.implementTaskFinished} (active: ${exec.phase || "none"} wave ${exec.wave})`);
      const sub = subtasks.find((s) => s.number === t && s.wave === w);
      if (!sub || sub.status !== "running") return failed(`${NOOP_REASONS.implementTaskFinished} (task ${t} of wave ${w} is ${sub ? sub.status : "unknown"})`);
      const next = settleWaveTask(acc, subtasks, w, t, "complete", cfg);
      acc.notes.unshift(`wave ${w} task ${t} complete`);
      return next === "review" ? finishImplementation(acc, task, input.now) : done(acc);
    }
    case "implement_wave": {
      const n = input.payload.waveNumber ?? 0;
      if (exec.phase === "wave_running" && exec.wave === n) return failed(`${NOOP_REASONS.implementWave} (wave ${n} is already running)`);
      if (exec.phase === "architecting") return failed(`${NOOP_REASONS.implementWave} (the architect is still working)`);
      const r = jumpToWave(acc, subtasks, n, cfg);
      if (!r.ok) return failed(`${NOOP_REASONS.implementWave}: ${r.reason}`);
      return done(acc);
    }
    case "retry_wave": {
      if (exec.wave < 1) return failed(`${NOOP_REASONS.rejected}: no active wave to retry`);
      const retry = subtasks.filter((s) => s.wave === exec.wave && s.status === "failed");
      if (retry.length === 0) return failed(`${NOOP_REASONS.rejected}: wave ${exec.wave} has no failed tasks`);
      acc.update.subtaskStatus = retry.map((s) => ({ number: s.number, status: "pending" }));
      startWave(acc, subtasks, exec.wave, cfg);
      return done(acc);
    }
    case "advance_wave": {
      if (exec.phase !== "wave_waiting") return failed(`${NOOP_REASONS.rejected}: no wave is waiting (phase ${exec.phase || "none"})`);
      const current = subtasks.filter((s) => s.wave === exec.wave);
      const failedCount = current.filter((s) => s.status === "failed").length;
      if (failedCount > 0) return failed(`${NOOP_REASONS.rejected}: wave ${exec.wave} has ${failedCount} failed task(s); retry_wave or implement_wave`);
      const later = waveNumbers(subtasks).filter((w) => w > exec.wave);
      if (later.length === 0) return finishImplementation(acc, task, input.now);
      startWave(acc, subtasks, later[0]!, cfg);
      return done(acc);
    }
    default:
      return assertNever(input.type);
  }
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
  const acc: Acc = { notes: [`wave ${wave} task ${taskNumber} failed: ${reason}`], transitions: [], update: {}, actions: [] };
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
  const acc: Acc = { notes: ["PR review requested changes"], transitions: [], update: {}, actions: [] };
  const r = step(acc, status, event, now, "pr_review");
  if (!r.ok) return failed(r.reason);
  acc.update.verification = null; // the reviewed commit is no longer the one to ship
  acc.update.latestFeedback = feedback.trim();
  fixerReaction(acc, task, cfg, feedback.trim());
  return done(acc);
}
