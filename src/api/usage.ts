// Usage reports: shapes shared by GET /v1/usage and `kas usage`, and the one aggregation both use.
import * as v from "valibot";
import { costOf, type ModelPrice, priceOf } from "../config/pricing.ts";
import type { UsageRow } from "../store/usage.ts";
import { defineRoute, textParam } from "./route.ts";

export const USAGE_GROUPINGS = ["task", "role", "model", "repo", "day"] as const;
export type UsageGrouping = (typeof USAGE_GROUPINGS)[number];

export const UsageGroup = v.strictObject({
  key: v.string(),
  input: v.number(),
  output: v.number(),
  cache_write: v.number(),
  cache_read: v.number(),
  /** USD; null when none of its tokens has a price. */
  cost_usd: v.nullable(v.number()),
  /** Tokens of models without a price (their cost is unknown, never guessed). */
  unpriced_tokens: v.number(),
  agent_runs: v.number(),
});
export type UsageGroup = v.InferOutput<typeof UsageGroup>;

export const UsageReport = v.strictObject({ by: v.picklist(USAGE_GROUPINGS), since: v.nullable(v.string()), groups: v.array(UsageGroup), total: UsageGroup });
export type UsageReport = v.InferOutput<typeof UsageReport>;

export const usage = defineRoute({
  method: "GET",
  path: "/v1/usage",
  summary: "Tokens and cost, grouped (since: 7d, 24h, 90m or a date)",
  status: 200,
  query: v.object({
    by: v.optional(v.picklist(USAGE_GROUPINGS, `must be one of ${USAGE_GROUPINGS.join(", ")}`), "task"),
    since: v.optional(
      v.pipe(
        v.string(),
        v.transform((raw) => ({ raw, iso: parseSince(raw) })),
        v.check((s) => s.iso !== null, (issue) => `cannot read "${(issue.input as { raw: string }).raw}" (use 7d, 24h, 90m or a date)`),
        v.transform((s) => s.iso ?? undefined),
      ),
    ),
    project: textParam,
    task: textParam,
  }),
  reply: UsageReport,
});

function keyOf(r: UsageRow, by: UsageGrouping): string {
  switch (by) {
    case "task":
      return `${r.project}/${r.task}`;
    case "role":
      return r.role;
    case "model":
      return r.model;
    case "repo":
      return r.project;
    case "day":
      return r.updatedAt.slice(0, 10);
    default: {
      const never: never = by;
      return never;
    }
  }
}

function emptyGroup(key: string): UsageGroup & { runs: Set<number> } {
  return { key, input: 0, output: 0, cache_write: 0, cache_read: 0, cost_usd: null, unpriced_tokens: 0, agent_runs: 0, runs: new Set() };
}

export function summarizeUsage(rows: readonly UsageRow[], by: UsageGrouping, prices: Record<string, ModelPrice>, since: string | null = null): UsageReport {
  const groups = new Map<string, UsageGroup & { runs: Set<number> }>();
  const total = emptyGroup("total");
  for (const r of rows) {
    const k = keyOf(r, by);
    const g = groups.get(k) ?? emptyGroup(k);
    groups.set(k, g);
    const cost = costOf(r, priceOf(r.model, prices));
    for (const x of [g, total]) {
      x.input += r.input;
      x.output += r.output;
      x.cache_write += r.cacheWrite;
      x.cache_read += r.cacheRead;
      x.runs.add(r.agentId);
      if (cost === null) x.unpriced_tokens += r.input + r.output + r.cacheWrite + r.cacheRead;
      else x.cost_usd = (x.cost_usd ?? 0) + cost;
    }
  }
  const out = (g: UsageGroup & { runs: Set<number> }): UsageGroup => {
    const { runs, ...rest } = g;
    return { ...rest, agent_runs: runs.size, cost_usd: rest.cost_usd === null ? null : Math.round(rest.cost_usd * 1e6) / 1e6 };
  };
  return { by, since, groups: [...groups.values()].map(out).sort((a, b) => (b.cost_usd ?? 0) - (a.cost_usd ?? 0) || a.key.localeCompare(b.key)), total: out(total) };
}

/** "7d", "24h", "90m" or an ISO date/time → ISO time; null when it cannot be read. */
export function parseSince(text: string, now = Date.now()): string | null {
  const m = /^(\d+)\s*([dhm])$/.exec(text.trim());
  if (m) {
    const n = Number(m[1]);
    const unit = m[2] === "d" ? 86_400_000 : m[2] === "h" ? 3_600_000 : 60_000;
    return new Date(now - n * unit).toISOString();
  }
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** "$1.23", "$0.0042", or "unknown" (no price for its model). */
export function formatCost(usd: number | null, unpriced = 0): string {
  if (usd === null) return "unknown";
  const s = usd >= 1 ? usd.toFixed(2) : usd >= 0.01 ? usd.toFixed(3) : usd.toFixed(4);
  return `$${s}${unpriced > 0 ? " + unknown" : ""}`;
}
