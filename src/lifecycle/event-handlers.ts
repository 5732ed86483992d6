// What each FSM event does once its edge is allowed: one handler per event. The processor has
// already checked the edge and its guard (or found the event pre-applied); a handler takes the edge
// (`c.enter`), sets what the new state carries and lists the agents to start or stop.
import { startImplementation } from "./waves.ts";
import { approve, bindMaster, bindToHead } from "./verification.ts";
import { fixerReaction, startMaster, startReviewer } from "./reactions.ts";
import { notYetPlanned, planNotReady } from "./guards.ts";
import { done, failed, step } from "./outcome.ts";
import { spendFigure, utcDay, type BudgetBase, type Spend } from "./budget.ts";
import type { EventContext, ProcessResult, VerificationRecord } from "./model.ts";
import type { VerifyOrigin } from "./signal-types.ts";
import type { FsmEvent } from "./types.ts";

export type EventHandler = (c: EventContext) => ProcessResult;

function resumeBase(hold: string, spend: Spend, now: string): BudgetBase {
  return { usd: spendFigure(spend.usd), tokens: spendFigure(spend.tokens), at: now, day: hold.includes("spend today") ? utcDay(now) : "" };
}

/** A Record over every event, so an event added to types.ts cannot compile without its handler. */
export const EVENT_HANDLERS: Readonly<Record<FsmEvent, EventHandler>> = {
  plan_start: (c) => {
    c.enter();
    c.acc.actions.push({ kind: "spawn_planner" });
    return done(c.acc);
  },
  planner_finished: (c) => {
    c.enter();
    c.acc.actions.push({ kind: "planner_complete" });
    if (c.cfg.autoAdvance) c.acc.actions.push({ kind: "auto_implement" });
    return done(c.acc);
  },
  implement_start: (c) => {
    // The edge's guard checked the plan; a pre-applied start took no edge, and the coders need it.
    const plan = c.plan();
    if (!plan.ok) return failed(notYetPlanned(plan.error));
    c.enter();
    startImplementation(c.acc, plan.plan, c.cfg);
    return done(c.acc);
  },
  implement_finished: (c) => {
    c.enter();
    startReviewer(c.acc, c.task);
    return done(c.acc);
  },
  review_approved: (c) => {
    const { acc, input } = c;
    c.enter();
    const body = input.payload.body.trim();
    acc.actions.push({ kind: "review_approved", body });
    if (c.cfg.autoReadinessReview) {
      startMaster(acc, c.task);
      return done(acc);
    }
    // No readiness gate: chain verify_approved (origin auto) in the same result.
    const chained = step(acc, "verifying", "verify_approved", input.now, "auto");
    if (!chained.ok) return failed(chained.reason);
    approve(acc, bindToHead(input.head, "auto", input.now), "auto", body);
    return done(acc);
  },
  review_changes_requested: (c) => {
    c.enter();
    const feedback = c.input.payload.body.trim();
    c.acc.update.latestFeedback = feedback;
    c.acc.actions.push({ kind: "review_changes", feedback });
    fixerReaction(c.acc, c.task, c.cfg, feedback);
    return done(c.acc);
  },
  verify_approved: (c) => {
    const { acc, input } = c;
    let verification: VerificationRecord | null;
    let origin: VerifyOrigin;
    if (input.source === "user") {
      origin = "operator";
      verification = bindToHead(input.head, origin, input.now);
    } else {
      // Agents cannot claim operator/auto/force_promoted: anything but master is downgraded.
      if (input.payload.origin !== "" && input.payload.origin !== "master") acc.notes.push(`agent-claimed origin "${input.payload.origin}" downgraded`);
      origin = "master";
      const bound = bindMaster(input.payload.reviewedSha, input.head, input.now);
      if (!bound.ok) {
        return failed(bound.reason, [
          { kind: "pause_agent", agent: "master" },
          { kind: "spawn_master", round: c.task.verifyCycle + 1 },
        ]);
      }
      verification = bound.verification;
    }
    c.enter(origin);
    approve(acc, verification, origin, input.payload.body.trim());
    return done(acc);
  },
  verify_failed: (c) => {
    const { acc, input, task } = c;
    const feedback = input.payload.body.trim();
    const cap = c.cfg.readinessMaxVerifyCycles;
    // Product page: after `cap` failed verify rounds the next failure ships anyway. Operator
    // verdicts and pre-applied rows are never rewritten.
    if (!c.preApplied && input.source === "agent" && cap > 0 && task.verifyCycle >= cap) {
      acc.notes.push(`verify_failed force-promoted to verify_approved after ${task.verifyCycle} failed verify rounds (cap ${cap})`);
      const promoted = step(acc, c.status, "verify_approved", input.now, "force_promoted");
      if (!promoted.ok) return failed(promoted.reason);
      acc.update.latestFeedback = feedback;
      approve(acc, bindToHead(input.head, "force_promoted", input.now), "force_promoted", feedback);
      return done(acc);
    }
    c.enter();
    acc.update.verifyCycle = task.verifyCycle + 1;
    acc.update.latestFeedback = feedback;
    acc.actions.push({ kind: "verify_failed", feedback });
    fixerReaction(acc, task, c.cfg, feedback);
    return done(acc);
  },
  request_review: (c) => {
    c.enter();
    c.acc.update.verification = null; // leaving done: the old binding no longer describes the work
    startReviewer(c.acc, c.task);
    return done(c.acc);
  },
  reimplement: (c) => {
    // As implement_start: a pre-applied reimplement took no edge, and the coders need the plan.
    const plan = c.plan();
    if (!plan.ok) return failed(planNotReady(plan.error));
    c.enter();
    c.acc.update.verification = null;
    startImplementation(c.acc, plan.plan, c.cfg);
    return done(c.acc);
  },
  start_over: (c) => replan(c),
  reopen: (c) => replan(c),
  cancel: (c) => finish(c),
  mark_done: (c) => finish(c),
  budget_hold: (c) => {
    // Status and execution state stay: a resume picks up exactly where the hold stopped the task.
    const reason = (c.input.holdReason ?? "").trim();
    c.acc.notes.push(`on hold: ${reason}`);
    c.acc.update.hold = { reason };
    c.acc.actions.push({ kind: "stop_agents" });
    return done(c.acc);
  },
  resume: (c) => {
    const held = c.task.hold ?? "";
    c.acc.notes.push(`hold lifted (${held})`);
    // An operator's resume grants a fresh allowance from the spend so far (and lifts a day hold for
    // the rest of that day); the daemon lifts a hold whose limit was raised, keeping the allowance.
    c.acc.update.hold = c.input.spend ? { reason: "", base: resumeBase(held, c.input.spend, c.input.now) } : { reason: "" };
    c.acc.actions.push({ kind: "resume_agents" });
    return done(c.acc);
  },
  verification_stale: (c) => {
    // The verified commit is no longer what would ship: verify again with a fresh master.
    c.enter();
    c.acc.update.verification = null;
    startMaster(c.acc, c.task);
    return done(c.acc);
  },
};

/** start_over / reopen: back to planning, and a fresh plan starts fresh review/verify accounting. */
function replan(c: EventContext): ProcessResult {
  c.enter();
  c.acc.update.verification = null;
  c.acc.update.reviewCycle = 0;
  c.acc.update.verifyCycle = 0;
  c.acc.update.latestFeedback = "";
  c.acc.actions.push({ kind: "spawn_planner" });
  return done(c.acc);
}

/** cancel / mark_done: the task left the active lifecycle, so nothing holds it and its agents stop. */
function finish(c: EventContext): ProcessResult {
  c.enter();
  if ((c.task.hold ?? "") !== "") c.acc.update.hold = { reason: "" };
  c.acc.actions.push({ kind: "stop_agents" });
  return done(c.acc);
}
