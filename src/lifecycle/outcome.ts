// Building a processor result: the accumulator, edges taken into it, and the two endings.
import { executionAfterTransition, normalizeExecution, phaseTimestampColumn, transition } from "./fsm.ts";
import type { Acc, Action, ProcessResult } from "./model.ts";
import type { FsmEvent, TaskStatus } from "./types.ts";

export function newAcc(notes: string[] = []): Acc {
  return { notes, transitions: [], update: {}, actions: [] };
}

export function failed(reason: string, actions: Action[] = []): ProcessResult {
  return { outcome: "failed", result: reason, transitions: [], update: {}, actions };
}

function describe(acc: Acc): string {
  const parts = [...acc.notes];
  for (const t of acc.transitions) parts.push(`${t.from} → ${t.to} (${t.event}${t.origin ? `, origin ${t.origin}` : ""})`);
  parts.push(acc.actions.length > 0 ? `actions: ${acc.actions.map((a) => a.kind).join(", ")}` : "no actions");
  return parts.join("; ");
}

export function done(acc: Acc): ProcessResult {
  return { outcome: "done", result: describe(acc), transitions: acc.transitions, update: acc.update, actions: acc.actions };
}

/** Record an edge already known to be valid: status, reset execution, phase timestamp. */
export function takeEdge(acc: Acc, from: TaskStatus, event: FsmEvent, to: TaskStatus, now: string, origin?: string): void {
  acc.transitions.push(origin === undefined ? { from, to, event } : { from, to, event, origin });
  acc.update.status = to;
  acc.update.execution = normalizeExecution(to, executionAfterTransition(event, to));
  const col = phaseTimestampColumn(to);
  if (col !== null) {
    acc.update.timestampColumn = col;
    acc.update.timestamps = { ...acc.update.timestamps, [col]: now };
  }
}

/** Apply one FSM edge the processor chains on its own (no guard: the event it follows was checked). */
export function step(acc: Acc, from: TaskStatus, event: FsmEvent, now: string, origin?: string): { ok: true } | { ok: false; reason: string } {
  const t = transition(from, event);
  if (!t.ok) return t;
  takeEdge(acc, from, event, t.to, now, origin);
  return { ok: true };
}
