// Token usage per agent run and model (migration 9). Totals are absolute per (agent, model): a reader
// replaces them, so reading a transcript twice never counts twice.
import type { TokenTotals, UsageByModel, UsageCursor } from "../agents/usage.ts";
import { storedCount } from "../agents/usage-values.ts";
import { type Db, nowIso } from "./db.ts";
import { projectTaskTerms } from "./tasks.ts";

export interface UsageRow extends TokenTotals {
  agentId: number;
  project: string;
  task: string;
  role: string;
  model: string;
  updatedAt: string;
}

interface Raw {
  agent_id: number;
  project: string;
  task: string;
  role: string;
  model: string;
  input: number;
  output: number;
  cache_write: number;
  cache_read: number;
  updated_at: string;
}

// Counts an earlier version stored unchecked (1e308, Infinity) read as 0: never a cost or a hold.
const toRow = (r: Raw): UsageRow => ({ agentId: r.agent_id, project: r.project, task: r.task, role: r.role, model: r.model, input: storedCount(r.input), output: storedCount(r.output), cacheWrite: storedCount(r.cache_write), cacheRead: storedCount(r.cache_read), updatedAt: r.updated_at });

export function usageOfAgent(db: Db, agentId: number): UsageByModel {
  const out: UsageByModel = {};
  for (const r of db.query<Raw, { id: number }>("SELECT * FROM agent_usage WHERE agent_id = $id").all({ id: agentId })) out[r.model] = { input: storedCount(r.input), output: storedCount(r.output), cacheWrite: storedCount(r.cache_write), cacheRead: storedCount(r.cache_read) };
  return out;
}

/** Store an agent's absolute totals and its reader's cursor (one transaction by the caller). Returns whether anything changed. */
export function setAgentUsage(db: Db, agent: { id: number; project: string; task: string; role: string }, totals: UsageByModel, cursor: UsageCursor): boolean {
  let changed = false;
  const now = nowIso();
  for (const [model, t] of Object.entries(totals)) {
    changed =
      db
        .query(
          `INSERT INTO agent_usage (agent_id, project, task, role, model, input, output, cache_write, cache_read, updated_at)
           VALUES ($id, $project, $task, $role, $model, $input, $output, $cw, $cr, $now)
           ON CONFLICT (agent_id, model) DO UPDATE SET input = $input, output = $output, cache_write = $cw, cache_read = $cr, updated_at = $now
           WHERE input != $input OR output != $output OR cache_write != $cw OR cache_read != $cr`,
        )
        .run({ id: agent.id, project: agent.project, task: agent.task, role: agent.role, model, input: t.input, output: t.output, cw: t.cacheWrite, cr: t.cacheRead, now }).changes > 0 || changed;
  }
  db.query("UPDATE agents SET usage_cursor = $c WHERE id = $id").run({ id: agent.id, c: JSON.stringify(cursor) });
  return changed;
}

export function cursorOf(raw: string): UsageCursor {
  try {
    const c = JSON.parse(raw) as Partial<UsageCursor>;
    return { offset: storedCount(c.offset), lastId: typeof c.lastId === "string" ? c.lastId : "" };
  } catch {
    return { offset: 0, lastId: "" };
  }
}

export interface UsageFilter {
  project?: string;
  task?: string;
  /** ISO time: rows updated since (an agent run's usage counts on the day it was last read). */
  since?: string;
}

export function listUsage(db: Db, filter: UsageFilter = {}): UsageRow[] {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  projectTaskTerms(filter, where, params);
  if (filter.since !== undefined) {
    where.push("updated_at >= $since");
    params.since = filter.since;
  }
  return db
    .query<Raw, Record<string, string | number>>(`SELECT * FROM agent_usage ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY agent_id`)
    .all(params)
    .map(toRow);
}

/** Token totals per model of the given tasks of a project (status: each active task's spend). */
export function usageOfTasks(db: Db, project: string, tasks: readonly string[]): UsageRow[] {
  if (tasks.length === 0) return [];
  const params: Record<string, string> = { project };
  const list = tasks.map((t, i) => {
    params[`t${i}`] = t;
    return `$t${i}`;
  });
  return db
    .query<Raw, Record<string, string>>(`SELECT * FROM agent_usage WHERE project = $project AND task IN (${list.join(", ")})`)
    .all(params)
    .map(toRow);
}

export type UsageTotal = Omit<Raw, "agent_id" | "task" | "updated_at">;

/** Usage summed per (repo, role, model): the usage_totals rows triggers keep current (migration 12). */
export function usageTotals(db: Db): UsageTotal[] {
  return db
    .query<UsageTotal, []>("SELECT project, role, model, input, output, cache_write, cache_read FROM usage_totals ORDER BY project, role, model")
    .all()
    .map((t) => ({ ...t, input: storedCount(t.input), output: storedCount(t.output), cache_write: storedCount(t.cache_write), cache_read: storedCount(t.cache_read) }));
}
