// Task lifecycle state machine (the newest generation of the table, plus `ready + mark_done`).
// Pure: no I/O, no clock. Every switch is exhaustive with a `never` check so adding a status or an
// event to types.ts fails to compile here until its edges are decided.
import {
  EMPTY_EXECUTION,
  TASK_STATUSES,
  USER_ONLY_EVENTS,
  DAEMON_ONLY_EVENTS,
  HOLD_EVENTS,
  type ExecutionState,
  type FsmEvent,
  type PhaseTimestampColumn,
  type TaskStatus,
} from "./types.ts";

export type TransitionResult = { ok: true; to: TaskStatus } | { ok: false; reason: string };

/** Compile-time exhaustiveness guard for switches over string-literal unions. */
export function assertNever(x: never): never {
  throw new Error(`unhandled value: ${String(x)}`);
}

/** The G3 table. `null` = no edge. */
function nextStatus(status: TaskStatus, event: FsmEvent): TaskStatus | null {
  switch (status) {
    case "ready":
      switch (event) {
        case "plan_start":
          return "planning";
        case "implement_start":
          return "implementing";
        case "mark_done":
          return "done";
        case "cancel":
          return "cancelled";
        case "planner_finished":
        case "implement_finished":
        case "review_approved":
        case "review_changes_requested":
        case "verify_approved":
        case "verify_failed":
        case "request_review":
        case "start_over":
        case "reimplement":
        case "reopen":
        case "verification_stale":
          return null;
        case "budget_hold": // a hold keeps the status (HOLD_EVENTS)
        case "resume":
          return "ready";
        default:
          return assertNever(event);
      }
    case "planning":
      switch (event) {
        case "plan_start": // restart after a crashed/interrupted planner
          return "planning";
        case "planner_finished": // lands in ready (planned), never straight in implementing
          return "ready";
        case "cancel":
          return "cancelled";
        case "implement_start":
        case "implement_finished":
        case "review_approved":
        case "review_changes_requested":
        case "verify_approved":
        case "verify_failed":
        case "request_review":
        case "start_over":
        case "reimplement":
        case "reopen":
        case "mark_done":
        case "verification_stale":
          return null;
        case "budget_hold": // a hold keeps the status (HOLD_EVENTS)
        case "resume":
          return "planning";
        default:
          return assertNever(event);
      }
    case "implementing":
      switch (event) {
        case "implement_finished":
          return "reviewing";
        case "cancel":
          return "cancelled";
        case "plan_start":
        case "planner_finished":
        case "implement_start":
        case "review_approved":
        case "review_changes_requested":
        case "verify_approved":
        case "verify_failed":
        case "request_review":
        case "start_over":
        case "reimplement":
        case "reopen":
        case "mark_done":
        case "verification_stale":
          return null;
        case "budget_hold": // a hold keeps the status (HOLD_EVENTS)
        case "resume":
          return "implementing";
        default:
          return assertNever(event);
      }
    case "reviewing":
      switch (event) {
        case "review_approved":
          return "verifying";
        case "review_changes_requested":
          return "implementing";
        case "cancel":
          return "cancelled";
        case "plan_start":
        case "planner_finished":
        case "implement_start":
        case "implement_finished":
        case "verify_approved":
        case "verify_failed":
        case "request_review":
        case "start_over":
        case "reimplement":
        case "reopen":
        case "mark_done":
        case "verification_stale":
          return null;
        case "budget_hold": // a hold keeps the status (HOLD_EVENTS)
        case "resume":
          return "reviewing";
        default:
          return assertNever(event);
      }
    case "verifying":
      switch (event) {
        case "verify_approved":
          return "done";
        case "verify_failed":
          return "implementing";
        case "cancel":
          return "cancelled";
        case "plan_start":
        case "planner_finished":
        case "implement_start":
        case "implement_finished":
        case "review_approved":
        case "review_changes_requested":
        case "request_review":
        case "start_over":
        case "reimplement":
        case "reopen":
        case "mark_done":
        case "verification_stale":
          return null;
        case "budget_hold": // a hold keeps the status (HOLD_EVENTS)
        case "resume":
          return "verifying";
        default:
          return assertNever(event);
      }
    case "done":
      switch (event) {
        case "verification_stale": // the verified commit is no longer the branch head (daemon-only)
          return "verifying";
        case "start_over":
          return "planning";
        case "reimplement": // resume on the existing branch
          return "implementing";
        case "request_review": // re-review an unmerged branch
          return "reviewing";
        case "cancel":
          return "cancelled";
        case "plan_start":
        case "planner_finished":
        case "implement_start":
        case "implement_finished":
        case "review_approved":
        case "review_changes_requested":
        case "verify_approved":
        case "verify_failed":
        case "reopen":
        case "mark_done":
          return null;
        case "budget_hold": // a finished task has no agents to hold
        case "resume":
          return null;
        default:
          return assertNever(event);
      }
    case "cancelled":
      switch (event) {
        case "reopen":
          return "planning";
        case "plan_start":
        case "planner_finished":
        case "implement_start":
        case "implement_finished":
        case "review_approved":
        case "review_changes_requested":
        case "verify_approved":
        case "verify_failed":
        case "request_review":
        case "start_over":
        case "reimplement":
        case "cancel":
        case "mark_done":
        case "verification_stale":
          return null;
        case "budget_hold": // a finished task has no agents to hold
        case "resume":
          return null;
        default:
          return assertNever(event);
      }
    default:
      return assertNever(status);
  }
}

export function transition(status: TaskStatus, event: FsmEvent): TransitionResult {
  const to = nextStatus(status, event);
  if (to === null) return { ok: false, reason: `invalid transition: "${status}" + "${event}"` };
  return { ok: true, to };
}

/**
 * The single status an event leads to (every status-changing event has exactly one target in the
 * table); null for the hold events, which keep whatever status the task has.
 * Used to recognise pre-applied signals whose task already sits where the event would put it.
 */
export function eventTarget(event: FsmEvent): TaskStatus | null {
  switch (event) {
    case "plan_start":
    case "start_over":
    case "reopen":
      return "planning";
    case "planner_finished":
      return "ready";
    case "implement_start":
    case "review_changes_requested":
    case "verify_failed":
    case "reimplement":
      return "implementing";
    case "implement_finished":
    case "request_review":
      return "reviewing";
    case "review_approved":
    case "verification_stale":
      return "verifying";
    case "verify_approved":
    case "mark_done":
      return "done";
    case "cancel":
      return "cancelled";
    case "budget_hold":
    case "resume":
      return null;
    default:
      return assertNever(event);
  }
}

const STATUS_SET: ReadonlySet<string> = new Set(TASK_STATUSES);

export function isTaskStatus(s: string): s is TaskStatus {
  return STATUS_SET.has(s);
}

/** Read-boundary mapping of legacy persisted values; null = not a status at all. */
export function mapLegacyStatus(s: string): TaskStatus | null {
  if (isTaskStatus(s)) return s;
  switch (s) {
    case "in_progress":
      return "implementing";
    case "completed":
    case "finished":
      return "done";
    default:
      return null;
  }
}

export function isUserOnly(event: FsmEvent): boolean {
  return USER_ONLY_EVENTS.includes(event);
}

export function isDaemonOnly(event: FsmEvent): boolean {
  return DAEMON_ONLY_EVENTS.includes(event);
}

export function isHoldEvent(event: FsmEvent): boolean {
  return HOLD_EVENTS.includes(event);
}

/**
 * Public token of each event. A Record over FsmEvent so a new event cannot compile without a name.
 * `review_changes` is the published token; the wire name is accepted as an alias.
 */
const PRIMARY_EVENT_NAMES: Record<FsmEvent, string> = {
  plan_start: "plan_start",
  planner_finished: "planner_finished",
  implement_start: "implement_start",
  implement_finished: "implement_finished",
  review_approved: "review_approved",
  review_changes_requested: "review_changes",
  verify_approved: "verify_approved",
  verify_failed: "verify_failed",
  request_review: "request_review",
  start_over: "start_over",
  reimplement: "reimplement",
  cancel: "cancel",
  reopen: "reopen",
  mark_done: "mark_done",
  verification_stale: "verification_stale",
  budget_hold: "budget_hold",
  resume: "resume",
};

const EVENT_ALIASES: Readonly<Record<string, FsmEvent>> = {
  review_changes_requested: "review_changes_requested",
};

const EVENT_BY_NAME: ReadonlyMap<string, FsmEvent> = new Map<string, FsmEvent>([
  ...(Object.entries(PRIMARY_EVENT_NAMES) as [FsmEvent, string][]).map(([ev, name]): [string, FsmEvent] => [name, ev]),
  ...Object.entries(EVENT_ALIASES),
]);

/** CLI/HTTP event names: trimmed, `-` → `_`, primary tokens or aliases. */
export function parseEventName(raw: string): FsmEvent | null {
  const key = raw.trim().replaceAll("-", "_");
  if (key === "") return null;
  return EVENT_BY_NAME.get(key) ?? null;
}

/** Sorted primary names an operator can send, for help and error text (aliases and daemon-only events excluded). */
export function eventNames(): string[] {
  return (Object.entries(PRIMARY_EVENT_NAMES) as [FsmEvent, string][])
    .filter(([ev]) => !isDaemonOnly(ev))
    .map(([, name]) => name)
    .sort();
}

/** Public token for an event (e.g. review_changes_requested → review_changes). */
export function eventName(event: FsmEvent): string {
  return PRIMARY_EVENT_NAMES[event];
}

export function isWavePhase(phase: string): boolean {
  return phase === "wave_running" || phase === "wave_waiting";
}

export function isSingleAgentPhase(phase: string): boolean {
  return phase === "single_agent_implementing" || phase === "fixing";
}

/** Loose input shape: stored rows may hold stray phase strings that normalization must clear. */
export interface RawExecution {
  phase: string;
  agent: string;
  wave: number;
}

function cleared(): ExecutionState {
  return { ...EMPTY_EXECUTION };
}

/** Normalize execution sub-state for a status: what the status cannot carry is cleared. */
export function normalizeExecution(status: TaskStatus, exec: RawExecution): ExecutionState {
  const phase = exec.phase.trim();
  const agent = exec.agent.trim();
  const wave = Number.isFinite(exec.wave) && exec.wave > 0 ? Math.floor(exec.wave) : 0;
  switch (status) {
    case "ready":
      return phase === "planned" ? { phase: "planned", agent: "", wave: 0 } : cleared();
    case "implementing": {
      if (agent === "") return cleared(); // every implementing phase names its agent
      switch (phase) {
        case "architecting":
        case "single_agent_implementing":
        case "fixing":
          return { phase, agent, wave: 0 };
        case "wave_running":
        case "wave_waiting":
          return wave > 0 ? { phase, agent, wave } : cleared();
        default:
          return cleared();
      }
    }
    case "reviewing":
      return phase === "reviewing" && agent !== "" ? { phase: "reviewing", agent, wave: 0 } : cleared();
    case "verifying":
      // "verifying" is a UI word, not a stored phase: only the agent survives.
      return (phase === "" || phase === "verifying") && agent !== "" ? { phase: "", agent, wave: 0 } : cleared();
    case "planning":
    case "done":
    case "cancelled":
      return cleared();
    default:
      return assertNever(status);
  }
}

/** Execution state written by a transition: empty, except a finished plan is `planned`. */
export function executionAfterTransition(event: FsmEvent, to: TaskStatus): ExecutionState {
  if (event === "planner_finished" && to === "ready") return { phase: "planned", agent: "", wave: 0 };
  return cleared();
}

/** Timestamp column stamped on entering a status; ready/cancelled carry none. */
export function phaseTimestampColumn(to: TaskStatus): PhaseTimestampColumn | null {
  switch (to) {
    case "planning":
      return "planning_at";
    case "implementing":
      return "implementing_at";
    case "reviewing":
      return "reviewing_at";
    case "verifying":
      return "verifying_at";
    case "done":
      return "done_at";
    case "ready":
    case "cancelled":
      return null;
    default:
      return assertNever(to);
  }
}
