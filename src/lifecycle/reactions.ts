// Agent reactions shared by several events: start a reviewer, a master, or a fixer (with the
// review-fix cap).
import type { Acc, ProcessorConfig, TaskSnapshot } from "./model.ts";
import type { ExecutionState } from "./types.ts";

const REVIEWER: ExecutionState = { phase: "reviewing", agent: "reviewer", wave: 0 };
const FIXER: ExecutionState = { phase: "fixing", agent: "fixer", wave: 0 };
const MASTER: ExecutionState = { phase: "", agent: "master", wave: 0 };

/** The reviewer starts its next round, with the latest feedback. */
export function startReviewer(acc: Acc, task: TaskSnapshot): void {
  acc.update.execution = REVIEWER;
  acc.actions.push({ kind: "spawn_reviewer", round: task.reviewCycle + 1, feedback: task.latestFeedback });
}

/** A master starts the next verify round. */
export function startMaster(acc: Acc, task: TaskSnapshot): void {
  acc.update.execution = MASTER;
  acc.actions.push({ kind: "spawn_master", round: task.verifyCycle + 1 });
}

/** Fixer loop shared by review changes and failed verification, with the review-fix cap. */
export function fixerReaction(acc: Acc, task: TaskSnapshot, cfg: ProcessorConfig, feedback: string): void {
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
