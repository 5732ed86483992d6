// The guards named in the transition table (fsm.ts GUARDS), as checks: null = the edge may be
// taken, else the reason the event is refused. A Record over the names, so a guard added to the
// table cannot compile without its check.
import type { GuardName } from "./fsm.ts";
import type { EventContext } from "./model.ts";

/** Why plan_start is refused for a task that already has a plan, and the ways on. */
function planAlreadyGiven(task: string, waves: number): string {
  return `task already has a plan (${waves} wave${waves === 1 ? "" : "s"}); a planner would replace it: start it with implement_start (kas task transition ${task} implement_start), or to have a planner write a new one, first clear the plan (kas task plan ${task} --draft --file - < /dev/null)`;
}

export function notYetPlanned(error: string): string {
  return `task is not yet planned: run plan_start first (${error})`;
}

export function planNotReady(error: string): string {
  return `plan is not implementation-ready: ${error}`;
}

export const GUARD_CHECKS: Readonly<Record<GuardName, (c: EventContext) => string | null>> = {
  // A planner would overwrite a plan the operator gave (task create --plan, task plan).
  plan_not_given: (c) => {
    const given = c.plan();
    return given.ok ? planAlreadyGiven(c.task.name, given.plan.waves.length) : null;
  },
  planned: (c) => {
    const plan = c.plan();
    return plan.ok ? null : notYetPlanned(plan.error);
  },
  plan_ready: (c) => {
    const plan = c.plan();
    return plan.ok ? null : planNotReady(plan.error);
  },
  holdable: (c) => {
    if ((c.input.holdReason ?? "").trim() === "") return "budget_hold needs a reason";
    const held = c.task.hold ?? "";
    return held === "" ? null : `task is already on hold (${held})`;
  },
  held: (c) => ((c.task.hold ?? "") === "" ? "task is not on hold" : null),
};
