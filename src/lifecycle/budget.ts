// Budgets (pure): what a task (and the day, across every repo) has spent against the configured
// limits. A task crossing a limit is put on hold; at 80 % a warning is raised once. An operator's
// resume grants the task a fresh allowance from what it had spent then (and lifts a day hold for the
// rest of that day).
import type { BudgetConfig } from "../config/schema.ts";

export type BudgetLimit = "task_usd" | "task_tokens" | "day_usd";

export interface Spend {
  /** USD at the configured prices; null when none of its tokens has a price. */
  usd: number | null;
  tokens: number;
}

/** What a resume granted past: the spend then, and the UTC day whose day budget it lifted. */
export interface BudgetBase {
  usd: number;
  tokens: number;
  at: string;
  day: string;
}

export const NO_BASE: BudgetBase = { usd: 0, tokens: 0, at: "", day: "" };

export type BudgetVerdict = { state: "ok" } | { state: "warn" | "over"; limit: BudgetLimit; text: string };

const WARN_AT = 0.8;

function usd(n: number): string {
  return `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
}

export function checkBudget(task: Spend, base: BudgetBase, day: { usd: number; date: string }, limits: BudgetConfig): BudgetVerdict {
  const verdicts: BudgetVerdict[] = [];
  const judge = (limit: BudgetLimit, used: number, max: number, fmt: (n: number) => string, what: string): void => {
    // A spend that is not a number (NaN, Infinity: garbage that slipped past the readers) never holds a task.
    if (!(max > 0) || !Number.isFinite(used)) return;
    if (used >= max) verdicts.push({ state: "over", limit, text: `${what} ${fmt(used)} reached its budget ${limit} = ${fmt(max)}` });
    else if (used >= WARN_AT * max) verdicts.push({ state: "warn", limit, text: `${what} ${fmt(used)} is at ${Math.floor((used / max) * 100)} % of its budget ${limit} = ${fmt(max)}` });
  };
  if (task.usd !== null) judge("task_usd", task.usd - base.usd, limits.task_usd, usd, "task spend");
  judge("task_tokens", task.tokens - base.tokens, limits.task_tokens, (n) => `${n} tokens`, "task usage");
  if (base.day !== day.date) judge("day_usd", day.usd, limits.day_usd, usd, `spend today (${day.date}, all repos)`);
  return verdicts.find((v) => v.state === "over") ?? verdicts[0] ?? { state: "ok" };
}

/** Above this a spend figure (USD or tokens) is garbage, not spend. */
const MAX_SPEND = 1e12;

/** A spend figure to keep: a number from 0 to MAX_SPEND, else 0 (a resume base of 1e308 would lift every later limit). */
export function spendFigure(n: unknown): number {
  return typeof n === "number" && Number.isFinite(n) && n >= 0 && n <= MAX_SPEND ? n : 0;
}

export function parseBase(raw: string): BudgetBase {
  try {
    const b = JSON.parse(raw) as Partial<BudgetBase>;
    return { usd: spendFigure(b.usd), tokens: spendFigure(b.tokens), at: typeof b.at === "string" ? b.at : "", day: typeof b.day === "string" ? b.day : "" };
  } catch {
    return NO_BASE;
  }
}

export function utcDay(iso: string): string {
  return iso.slice(0, 10);
}
