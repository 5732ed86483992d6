// Why an operator's restart or retry cannot start anything for a task (checked before anything is
// marked restarted or audited): a finished task needs no agent, and a held one starts none until resumed.
import type { TaskRow } from "../store/tasks.ts";
import { KasmosError } from "../util/errors.ts";

/** A restart the task's state does not allow (HTTP status for the API). */
export class RestartRefused extends KasmosError {
  override name = "RestartRefused";
  readonly code: "not_found" | "conflict";
  constructor(status: 404 | 409, message: string) {
    super(message);
    this.code = status === 404 ? "not_found" : "conflict";
  }
}

/**
 * The refusal for `kas agent restart` / `kas task retry` on task `t`, or null when its state allows
 * starting agents. `held()` says whether a budget hold still stands (the daemon re-checks the limits:
 * a raised limit releases it on the spot).
 */
export function restartRefusal(t: TaskRow, held: () => boolean): string | null {
  if (t.status === "done" || t.status === "cancelled") return `task ${t.name} is ${t.status}: no agent runs for it (kas task show ${t.name})`;
  if (t.hold !== "" && held()) return `task ${t.name} is on budget hold (${t.hold}): nothing starts until kas task resume ${t.name} (or a raised limit and kas daemon reload)`;
  return null;
}

/** Throw the refusal (409, after `prefix`) when nothing can start for task `t`. */
export function refuseIfNothingCanStart(t: TaskRow, held: () => boolean, prefix: string): void {
  const why = restartRefusal(t, held);
  if (why) throw new RestartRefused(409, `${prefix}: ${why}`);
}
