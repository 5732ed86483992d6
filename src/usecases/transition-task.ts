// An operator event on a task (transition, resume): the one implementation behind `kas task
// transition`, `kas task resume` and POST /v1/repos/:project/tasks/:name/transition. The event's
// checks, the processor, its effects and audit rows are committed in one transaction
// (applyOperatorEvent); the caller says what a refusal means to it.
import { resolveBranchHead } from "../agents/git.ts";
import { repoProcessorConfig } from "../config/processor.ts";
import type { DaemonConfig } from "../config/schema.ts";
import { eventNames, parseEventName } from "../lifecycle/fsm.ts";
import type { ProcessResult } from "../lifecycle/model.ts";
import type { FsmEvent } from "../lifecycle/types.ts";
import { nowIso } from "../store/db.ts";
import type { Db } from "../store/db.ts";
import { applyOperatorEvent } from "../store/effects.ts";
import { requireTask, type TaskRow } from "../store/tasks.ts";
import { Refused } from "../util/errors.ts";

export interface TransitionTaskInput {
  project: string;
  repoPath: string;
  name: string;
  /** An event name or alias (implement-start, implement_start). */
  event: string;
  /** The config whose auto_* flags and prices apply (with the repo's own .kasmos/config.toml). */
  config: DaemonConfig;
  /** Who asked, for the audit log ("api", "cli", …). */
  source: string;
}

/** The event as read (its canonical name), what the processor made of it, and the task after it. */
export async function transitionTask(db: Db, input: TransitionTaskInput): Promise<{ event: FsmEvent; result: ProcessResult; task: TaskRow }> {
  const event = parseEventName(input.event);
  if (!event) throw new Refused("invalid", `unknown event "${input.event}"; valid events: ${eventNames().join(", ")}`);
  const before = requireTask(db, input.project, input.name);
  const head = before.branch ? await resolveBranchHead(input.repoPath, before.branch) : null;
  const result = applyOperatorEvent(db, { project: input.project, task: before.name, event, cfg: repoProcessorConfig(input.config, input.repoPath), head, prices: input.config.pricing, source: input.source, now: nowIso() });
  return { event, result, task: requireTask(db, input.project, before.name) };
}
