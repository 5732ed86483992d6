// Task lifecycle state machine (the newest generation of the table, plus `ready + mark_done`).
// Pure: no I/O, no clock. The lifecycle is data — TRANSITIONS, status × event → next status and the
// guard the processor checks before taking the edge — and `transition` only looks it up.
import {
  EMPTY_EXECUTION,
  TASK_STATUSES,
  USER_ONLY_EVENTS,
  DAEMON_ONLY_EVENTS,
  HOLD_EVENTS,
  FSM_EVENTS,
  type ExecutionState,
  type FsmEvent,
  type PhaseTimestampColumn,
  type TaskStatus,
} from "./types.ts";

/**
 * Checks an edge needs beyond its existence, each named here and implemented by the processor
 * (lifecycle/guards.ts), which refuses the event with the guard's reason when it fails. An event
 * whose status the producer already wrote (pre-applied) takes no edge, so no guard runs for it.
 */
export const GUARDS = {
  plan_not_given: "the task has no plan yet (a planner would replace the one the operator gave)",
  planned: "the task has a plan that parses into waves (else: not yet planned, run plan_start first)",
  plan_ready: "the stored plan parses into waves (implementation-ready)",
  holdable: "a hold reason is given and the task is not on hold already",
  held: "the task is on hold",
} as const;
export type GuardName = keyof typeof GUARDS;

export interface Edge {
  to: TaskStatus;
  guard?: GuardName;
}

/**
 * The transition table. A (status, event) pair not listed is an invalid transition. Hold events
 * (budget_hold, resume) are self-edges: they keep the status and execution state of a task that can
 * still have agents; finished tasks have none to hold.
 */
export const TRANSITIONS: Readonly<Record<TaskStatus, Readonly<Partial<Record<FsmEvent, Edge>>>>> = {
  ready: {
    plan_start: { to: "planning", guard: "plan_not_given" },
    implement_start: { to: "implementing", guard: "planned" },
    mark_done: { to: "done" },
    cancel: { to: "cancelled" },
    budget_hold: { to: "ready", guard: "holdable" },
    resume: { to: "ready", guard: "held" },
  },
  planning: {
    plan_start: { to: "planning" }, // restart after a crashed/interrupted planner
    planner_finished: { to: "ready", guard: "plan_ready" }, // lands in ready (planned), never straight in implementing
    cancel: { to: "cancelled" },
    budget_hold: { to: "planning", guard: "holdable" },
    resume: { to: "planning", guard: "held" },
  },
  implementing: {
    implement_finished: { to: "reviewing" },
    cancel: { to: "cancelled" },
    budget_hold: { to: "implementing", guard: "holdable" },
    resume: { to: "implementing", guard: "held" },
  },
  reviewing: {
    review_approved: { to: "verifying" },
    review_changes_requested: { to: "implementing" },
    cancel: { to: "cancelled" },
    budget_hold: { to: "reviewing", guard: "holdable" },
    resume: { to: "reviewing", guard: "held" },
  },
  verifying: {
    verify_approved: { to: "done" },
    verify_failed: { to: "implementing" },
    cancel: { to: "cancelled" },
    budget_hold: { to: "verifying", guard: "holdable" },
    resume: { to: "verifying", guard: "held" },
  },
  done: {
    verification_stale: { to: "verifying" }, // the verified commit is no longer the branch head (daemon-only)
    start_over: { to: "planning" },
    reimplement: { to: "implementing", guard: "plan_ready" }, // resume on the existing branch
    request_review: { to: "reviewing" }, // re-review an unmerged branch
    cancel: { to: "cancelled" },
  },
  cancelled: {
    reopen: { to: "planning" },
  },
};

export interface TransitionRow {
  from: TaskStatus;
  event: FsmEvent;
  to: TaskStatus;
  guard: GuardName | null;
}

/** The table as rows, statuses and events in their declared order (for docs and tests). */
export function transitionRows(): TransitionRow[] {
  const rows: TransitionRow[] = [];
  for (const from of TASK_STATUSES) {
    for (const event of FSM_EVENTS) {
      const edge = TRANSITIONS[from][event];
      if (edge) rows.push({ from, event, to: edge.to, guard: edge.guard ?? null });
    }
  }
  return rows;
}

export type TransitionResult = { ok: true; to: TaskStatus; guard: GuardName | null } | { ok: false; reason: string };

/** Compile-time exhaustiveness guard for switches over string-literal unions. */
export function assertNever(x: never): never {
  throw new Error(`unhandled value: ${String(x)}`);
}

export function transition(status: TaskStatus, event: FsmEvent): TransitionResult {
  const edge = TRANSITIONS[status][event];
  if (edge === undefined) return { ok: false, reason: `invalid transition: "${status}" + "${event}"` };
  return { ok: true, to: edge.to, guard: edge.guard ?? null };
}

/** Each status-changing event's one target status, read off the table (a second target is a table error). */
function eventTargets(): ReadonlyMap<FsmEvent, TaskStatus> {
  const targets = new Map<FsmEvent, TaskStatus>();
  for (const row of transitionRows()) {
    if (HOLD_EVENTS.includes(row.event)) continue;
    const seen = targets.get(row.event);
    if (seen !== undefined && seen !== row.to) throw new Error(`transition table: ${row.event} leads to both ${seen} and ${row.to}`);
    targets.set(row.event, row.to);
  }
  return targets;
}
const EVENT_TARGETS = eventTargets();

/**
 * The single status an event leads to (every status-changing event has exactly one target in the
 * table); null for the hold events, which keep whatever status the task has.
 * Used to recognise pre-applied signals whose task already sits where the event would put it.
 */
export function eventTarget(event: FsmEvent): TaskStatus | null {
  return EVENT_TARGETS.get(event) ?? null;
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

/** Timestamp column stamped on entering each status; ready/cancelled carry none. */
const PHASE_TIMESTAMP: Readonly<Record<TaskStatus, PhaseTimestampColumn | null>> = {
  ready: null,
  planning: "planning_at",
  implementing: "implementing_at",
  reviewing: "reviewing_at",
  verifying: "verifying_at",
  done: "done_at",
  cancelled: null,
};

export function phaseTimestampColumn(to: TaskStatus): PhaseTimestampColumn | null {
  return PHASE_TIMESTAMP[to];
}
