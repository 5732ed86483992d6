// Queueing a lifecycle signal: the one implementation behind `kas signal emit` (durable without a
// daemon) and POST /v1/repos/:project/signals. Checks, one transaction, the audit row.
import { canonicalSignalType, normalizePayload } from "../lifecycle/signal-types.ts";
import type { SignalType } from "../lifecycle/types.ts";
import { recordAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { writeTx } from "../store/db.ts";
import { countSignals, enqueueSignal, MAX_PENDING_SIGNALS } from "../store/signals.ts";
import { getTask, normalizeTaskName, taskNameProblem } from "../store/tasks.ts";
import { Refused } from "../util/errors.ts";

export interface EmitSignalInput {
  project: string;
  /** As given: a trailing .md is dropped. */
  task: string;
  /** A signal type or one of its aliases. */
  type: string;
  /** Body text or JSON text ("" = none). */
  payload: string;
  source: "cli" | "api";
  /**
   * Refuse a task the store does not have (the CLI: it would only be failed later). The API queues
   * it and lets processing fail it, as for a signal file.
   */
  knownTaskOnly: boolean;
}

export function emitSignal(db: Db, input: EmitSignalInput): { id: number; task: string; type: SignalType } {
  const canon = canonicalSignalType(input.type);
  if (!canon.ok) throw new Refused("invalid", canon.error);
  const payload = normalizePayload(canon.type, input.payload);
  if (!payload.ok) throw new Refused("invalid", `invalid payload for ${canon.type}: ${payload.error}`);
  const task = normalizeTaskName(input.task);
  const nameProblem = taskNameProblem(task);
  if (nameProblem) throw new Refused("invalid", nameProblem);
  const id = writeTx(db, () => {
    if (input.knownTaskOnly && !getTask(db, input.project, task)) throw new Refused("not_found", `no task ${task} in ${input.project} (see kas task list)`);
    if (countSignals(db, input.project).pending >= MAX_PENDING_SIGNALS) {
      throw new Refused("too_many", `signal queue of ${input.project} is full (${MAX_PENDING_SIGNALS} pending); try again when the daemon has caught up (is it running?)`);
    }
    const id = enqueueSignal(db, { project: input.project, task, type: canon.type, payload: payload.payload, source: input.source });
    recordAudit(db, { kind: "signal_enqueued", project: input.project, task, event: canon.type, signalId: id, message: `${canon.type} queued (${input.source})` });
    return id;
  });
  return { id, task, type: canon.type };
}
