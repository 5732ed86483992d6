// A task's budget hold (migration 10): why it is held ("" = not held) and the spend a resume granted past.
// Holds are written only through the processor's budget_hold / resume events (store/effects.ts).
import { type BudgetBase, parseBase } from "../lifecycle/budget.ts";
import { summarizeUsage } from "../api/usage.ts";
import type { ModelPrice } from "../config/pricing.ts";
import type { Db } from "./db.ts";
import { listUsage } from "./usage.ts";

export function holdOf(db: Db, project: string, task: string): { hold: string; base: BudgetBase } | null {
  const r = db.query<{ hold: string; budget_base: string }, { project: string; task: string }>("SELECT hold, budget_base FROM tasks WHERE project = $project AND name = $task").get({ project, task });
  return r ? { hold: r.hold, base: parseBase(r.budget_base) } : null;
}

/** What a task has spent so far (all its agent runs). */
export function taskSpend(db: Db, project: string, task: string, prices: Record<string, ModelPrice>): { usd: number | null; tokens: number } {
  const t = summarizeUsage(listUsage(db, { project, task }), "task", prices).total;
  return { usd: t.cost_usd, tokens: t.input + t.output + t.cache_write + t.cache_read };
}

/** USD spent on the given UTC day across every repository (an agent run counts on the day it was last read). */
export function daySpend(db: Db, day: string, prices: Record<string, ModelPrice>): number {
  return summarizeUsage(listUsage(db, { since: `${day}T00:00:00.000Z` }), "repo", prices).total.cost_usd ?? 0;
}

/** Whether a budget warning naming `limit` was recorded for the task since `since` (ISO; "" = ever). */
export function budgetWarnedSince(db: Db, project: string, task: string, limit: string, since: string): boolean {
  const row = db
    .query<{ n: number }, { project: string; task: string; like: string; since: string }>("SELECT COUNT(*) AS n FROM audit_events WHERE project = $project AND task = $task AND kind = 'budget_warning' AND message LIKE $like AND timestamp >= $since")
    .get({ project, task, like: `%${limit}%`, since: since || "0" });
  return (row?.n ?? 0) > 0;
}

/** Tasks on budget hold, with why (a walk of the tasks table: holds are few, asked for by a page). */
export function heldTasks(db: Db): { project: string; task: string; hold: string }[] {
  return db.query<{ project: string; task: string; hold: string }, []>("SELECT project, name AS task, hold FROM tasks WHERE hold != '' ORDER BY project, name").all();
}
