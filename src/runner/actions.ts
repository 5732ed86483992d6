// What a committed result asks of the agents beside the store: attention items and forced respawns.
import type { Action } from "../lifecycle/model.ts";
import { type AgentRow, liveAgents } from "../store/agents.ts";
import { type RunnerDeps, raiseAttention } from "./context.ts";

/** Attention items and forced respawns from a committed result's actions. */
export function applyActions(deps: RunnerDeps, stop: (a: AgentRow, reason: string, replaced: boolean) => void, project: string, task: string, actions: Action[]): void {
  for (const act of actions) {
    switch (act.kind) {
      case "review_cycle_limit":
        raiseAttention(deps, project, task, `review-fix cycle limit reached (${act.cycle}/${act.limit}): fix by hand or raise max_review_fix_cycles`);
        break;
      case "wave_failed":
        raiseAttention(deps, project, task, `wave ${act.wave} needs a decision (${act.failed} of ${act.total} tasks failed): retry_wave, implement_wave or cancel`);
        break;
      case "pause_agent":
        // A rejected master approval: stop that master; a fresh one starts (same round).
        for (const a of liveAgents(deps.db, { project, task })) if (a.role === act.agent) stop(a, "approval rejected", true);
        break;
      default:
        break;
    }
  }
}
