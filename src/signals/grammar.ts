// Signal FILE NAME grammar. Pure: the scanner reads directories and file
// bodies; this module only decides what a name means.
//
// Project decisions on top of the reference: a trailing `.md` on the task name is stripped; names the
// grammar rejects get a precise reason (the caller quarantines them into failed/ with that reason,
// never silently drops them); dot-files are reported as "hidden" so the caller can skip them.
import { assertNever } from "../lifecycle/fsm.ts";
import type { SignalType } from "../lifecycle/types.ts";

export type FileSignalKind = "fsm" | "task" | "wave" | "elaborator";

export interface FileSignal {
  kind: FileSignalKind;
  type: SignalType;
  task: string;
  wave?: number;
  taskNumber?: number;
}

export type ParseFileNameResult = { ok: true; signal: FileSignal } | { ok: false; reason: string };

export const HIDDEN = "hidden";
export const MAX_TASK_NAME_LENGTH = 200;

/** Tried in this order; first match wins (so `review-changes-requested-x` targets task `requested-x`). */
const FSM_PREFIXES: readonly (readonly [string, SignalType])[] = [
  ["planner-finished-", "planner_finished"],
  ["implement-finished-", "implement_finished"],
  ["review-approved-", "review_approved"],
  ["review-changes-", "review_changes_requested"],
];
const TASK_PREFIX = "implement-task-finished-";
const WAVE_PREFIX = "implement-wave-";
const ELABORATOR_PREFIX = "elaborator-finished-";

const EXPECTED =
  "expected one of planner-finished-<task>, implement-finished-<task>, review-approved-<task>, review-changes-<task>, " +
  "implement-task-finished-w<N>-t<M>-<task>, implement-wave-<N>-<task>, elaborator-finished-<task>";

/** Names agents plausibly write that are not file signals, with why. */
const KNOWN_NON_SIGNALS: readonly (readonly [string, string])[] = [
  ["cancel-", "agents cannot send cancel"],
  ["reopen-", "agents cannot send reopen"],
  ["start-over-", "agents cannot send start_over"],
  ["reimplement-", "agents cannot send reimplement"],
  ["request-review-", "agents cannot send request_review"],
  ["mark-done-", "agents cannot send mark_done"],
  ["verify-approved-", "verify_approved is only accepted through the signal gateway (kas signal emit verify_approved <task>)"],
  ["verify-failed-", "verify_failed is only accepted through the signal gateway (kas signal emit verify_failed <task>)"],
  ["plan-start-", "plan_start is only accepted through the signal gateway (kas signal emit plan_start <task>)"],
  ["implement-start-", "implement_start is only accepted through the signal gateway (kas signal emit implement_start <task>)"],
  ["coder-finished-", "the coder signal is implement-finished-<task>"],
  ["reviewer-approved-", "the reviewer approval signal is review-approved-<task>"],
  ["reviewer-requested-changes-", "the reviewer changes signal is review-changes-<task>"],
];

/** Quote a name for a reason text; JSON escaping keeps control characters visible. */
function q(name: string): string {
  return JSON.stringify(name);
}

function lastComponent(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? path : path.slice(i + 1);
}

/** Task name from the remainder after a prefix: last path component, `.md` stripped, then sanity-checked. */
function taskName(remainder: string, name: string): { ok: true; task: string } | { ok: false; reason: string } {
  let task = lastComponent(remainder);
  if (task.endsWith(".md")) task = task.slice(0, -3);
  if (task === "") return { ok: false, reason: `signal ${q(name)} has an empty task name` };
  if (task.length > MAX_TASK_NAME_LENGTH) {
    return { ok: false, reason: `signal ${q(name)}: task name is ${task.length} characters; at most ${MAX_TASK_NAME_LENGTH} allowed` };
  }
  // Whitespace or control characters would corrupt the store key and every log line naming it.
  if (/[\s\p{Cc}]/u.test(task)) return { ok: false, reason: `signal ${q(name)}: task name contains whitespace or control characters` };
  if (task.startsWith(".")) return { ok: false, reason: `signal ${q(name)}: task name must not start with "."` };
  return { ok: true, task };
}

/** Strict decimal ≥ 1 (leading zeros tolerated, signs and exponents not). */
function positiveInt(digits: string): number | null {
  if (!/^\d+$/.test(digits)) return null;
  const n = Number(digits);
  return Number.isSafeInteger(n) && n >= 1 ? n : null;
}

function parseName(name: string): ParseFileNameResult {
  for (const [prefix, type] of FSM_PREFIXES) {
    if (!name.startsWith(prefix)) continue;
    const t = taskName(name.slice(prefix.length), name);
    return t.ok ? { ok: true, signal: { kind: "fsm", type, task: t.task } } : t;
  }

  if (name.startsWith(TASK_PREFIX)) {
    const m = /^w([^-]*)-t([^-]*)-(.*)$/s.exec(name.slice(TASK_PREFIX.length));
    if (m === null) return { ok: false, reason: `malformed task signal ${q(name)}: expected implement-task-finished-w<N>-t<M>-<task>` };
    const wave = positiveInt(m[1] ?? "");
    if (wave === null) return { ok: false, reason: `task signal ${q(name)}: wave number "${m[1] ?? ""}" must be a whole number ≥ 1` };
    const taskNumber = positiveInt(m[2] ?? "");
    if (taskNumber === null) return { ok: false, reason: `task signal ${q(name)}: task number "${m[2] ?? ""}" must be a whole number ≥ 1` };
    const t = taskName(m[3] ?? "", name);
    return t.ok ? { ok: true, signal: { kind: "task", type: "implement_task_finished", task: t.task, wave, taskNumber } } : t;
  }

  if (name.startsWith(WAVE_PREFIX)) {
    const m = /^([^-]*)-(.*)$/s.exec(name.slice(WAVE_PREFIX.length));
    if (m === null) return { ok: false, reason: `malformed wave signal ${q(name)}: expected implement-wave-<N>-<task>` };
    const wave = positiveInt(m[1] ?? "");
    if (wave === null) return { ok: false, reason: `wave signal ${q(name)}: wave number "${m[1] ?? ""}" must be a whole number ≥ 1` };
    const t = taskName(m[2] ?? "", name);
    return t.ok ? { ok: true, signal: { kind: "wave", type: "implement_wave", task: t.task, wave } } : t;
  }

  if (name.startsWith(ELABORATOR_PREFIX)) {
    const t = taskName(name.slice(ELABORATOR_PREFIX.length), name);
    return t.ok ? { ok: true, signal: { kind: "elaborator", type: "elaborator_finished", task: t.task } } : t;
  }

  const known = KNOWN_NON_SIGNALS.find(([prefix]) => name.startsWith(prefix));
  const why = known !== undefined ? `: ${known[1]}` : "";
  return { ok: false, reason: `unrecognised signal name ${q(name)}${why}; ${EXPECTED}` };
}

/**
 * Parse a signal file name. A path prefix is tolerated: the name is first matched as given (so the
 * task remainder of `implement-wave-2-nested/path/plan.md` reduces to `plan`), and if that matches no
 * kind, its last path component is tried (so callers may pass full paths).
 */
export function parseSignalFileName(name: string): ParseFileNameResult {
  const base = lastComponent(name);
  if (base.startsWith(".")) return { ok: false, reason: HIDDEN };
  if (base === "") return { ok: false, reason: `empty signal name ${q(name)}` };
  if (!name.includes("/")) return parseName(name);
  const whole = parseName(name);
  if (whole.ok || !whole.reason.startsWith("unrecognised")) return whole;
  return parseName(base);
}

/**
 * Signals whose body is the point (review feedback, the approval summary): an empty one may be a file
 * whose writer has not written yet (`(sleep 0.05; echo …) > review-changes-t` opens it empty first).
 */
export function bodyMatters(name: string): boolean {
  return /^(review-changes|review-approved)-/.test(lastComponent(name));
}

/** Dedup key across repo and worktree signal dirs. */
export function dedupKey(signal: FileSignal): string {
  switch (signal.kind) {
    case "fsm":
      return `${signal.type}:${signal.task}`;
    case "task":
      return `${signal.wave ?? 0}:${signal.taskNumber ?? 0}:${signal.task}`;
    case "wave":
    case "elaborator":
      return `${signal.kind}:${signal.task}`;
    default:
      return assertNever(signal.kind);
  }
}

/** Queue payload for a bridged file signal. Only FSM files carry a body. */
export function fileSignalPayload(signal: FileSignal, body: string): string {
  switch (signal.kind) {
    case "fsm":
      // CRLF (Windows editors, some CLIs) must not reach prompts as stray \r.
      return JSON.stringify({ body: body.replace(/\r\n?/g, "\n").trim() });
    case "task":
      return JSON.stringify({ wave_number: signal.wave ?? 0, task_number: signal.taskNumber ?? 0 });
    case "wave":
      return JSON.stringify({ wave_number: signal.wave ?? 0 });
    case "elaborator":
      return "";
    default:
      return assertNever(signal.kind);
  }
}
