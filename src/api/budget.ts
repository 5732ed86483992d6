// GET /v1/budget: the [budget] limits in force, today's spend against the daily one, and the tasks on
// hold with their spend (the dashboard's Usage page; any client may ask).
import * as v from "valibot";
import { defineRoute } from "./route.ts";

export const BudgetReport = v.strictObject({
  /** Daemon-wide limits (0 = none); a repo's .kasmos/config.toml may set its own task limits. */
  limits: v.strictObject({ task_usd: v.number(), task_tokens: v.number(), day_usd: v.number() }),
  /** Spend since 00:00 UTC across every repo, at the configured prices (unpriced models count 0). */
  today: v.strictObject({ date: v.string(), usd: v.number() }),
  holds: v.array(v.strictObject({ project: v.string(), task: v.string(), hold: v.string(), usd: v.nullable(v.number()), tokens: v.number() })),
});
export type BudgetReport = v.InferOutput<typeof BudgetReport>;

export const budget = defineRoute({ method: "GET", path: "/v1/budget", summary: "Budget limits in force, today's spend and the tasks on hold", status: 200, reply: BudgetReport });
