// The queries that run per signal or per scan pass must stay index lookups: a full scan there costs
// O(history) on every pass. This captures the SQL the store functions actually run and asserts on
// SQLite's plan for it, so an edited query (or a partial index whose WHERE no longer matches) fails here.
import { describe, expect, test } from "bun:test";
import { type Db, openStore } from "../../src/store/db.ts";
import { claimNextSignal, enqueueSignal, findSignalBySource, peekPending, pendingProjects, recoverStuckSignals } from "../../src/store/signals.ts";
import { createTask, projectsMaybeNeedingAgents } from "../../src/store/tasks.ts";
import { endedSince, insertAgent, listAgents, liveAgentByTitle, liveAgents } from "../../src/store/agents.ts";
import { agentTitlesOf, batchSql, deleteSql, RETENTION_TABLES, taskAtRest, tasksFinishedBefore } from "../../src/store/retention.ts";

/** The SQL statements `fn` prepares (via db.query), each with SQLite's plan for it. */
function plansOf(db: Db, fn: () => unknown): { sql: string; plan: string }[] {
  const seen: string[] = [];
  const original = db.query.bind(db);
  const spy = ((sql: string) => {
    seen.push(sql);
    return original(sql);
  }) as typeof db.query;
  db.query = spy;
  try {
    fn();
  } finally {
    db.query = original;
  }
  return [...new Set(seen)]
    .filter((sql) => /^\s*(SELECT|UPDATE|INSERT|DELETE)/i.test(sql))
    .map((sql) => ({ sql, plan: original(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => (r as { detail: string }).detail).join(" | ") }));
}

function store(): Db {
  const db = openStore(":memory:");
  createTask(db, { project: "p", name: "t1", content: "" });
  for (let i = 0; i < 50; i++) enqueueSignal(db, { project: "p", task: "t1", type: "implement_finished", source: `file:x#${i}` });
  for (let i = 0; i < 50; i++) insertAgent(db, { project: i % 2 ? "p" : "q", task: `t${i % 5}`, title: `t${i % 5}-x${i}`, role: "coder", session: `s${i}`, cwd: "", program: "" });
  db.exec("ANALYZE");
  return db;
}

describe("per-signal and per-pass queries use their indexes", () => {
  const cases: [string, (db: Db) => unknown, RegExp][] = [
    ["findSignalBySource (once per signal file)", (db) => findSignalBySource(db, "file:x#1"), /USING INDEX idx_signals_source/],
    ["peekPending (every pass)", (db) => peekPending(db, "p", 200), /idx_signals_pending/],
    ["pendingProjects (every timer pass)", (db) => pendingProjects(db), /idx_signals_pending/],
    ["claimNextSignal for a project", (db) => claimNextSignal(db, "p", "w"), /idx_signals_pending/],
    ["recoverStuckSignals (start)", (db) => recoverStuckSignals(db, 60_000), /idx_signals_processing/],
    ["enqueue with a dedup key", (db) => enqueueSignal(db, { project: "p", task: "t1", type: "implement_finished", source: "cli", dedupKey: "k1" }), /idx_signals_dedup_active/],
    ["projectsMaybeNeedingAgents (every pass)", (db) => projectsMaybeNeedingAgents(db), /SCAN tasks USING INDEX idx_tasks_may_need_agent/],
    // Agent lookups run per repo per pass and per missing agent: never a scan of every agent ever stored.
    ["liveAgents of a project (every pass)", (db) => liveAgents(db, { project: "p" }), /USING (COVERING )?INDEX idx_agents_(task|live_title)/],
    ["liveAgents of a task", (db) => liveAgents(db, { project: "p", task: "t1" }), /USING (COVERING )?INDEX idx_agents_task/],
    ["listAgents of a task", (db) => listAgents(db, { project: "p", task: "t1", limit: 50 }), /USING (COVERING )?INDEX idx_agents_task/],
    ["liveAgentByTitle (before every start)", (db) => liveAgentByTitle(db, "p", "t1-plan"), /USING INDEX idx_agents_live_title/],
    ["endedSince (per missing agent)", (db) => endedSince(db, "p", "t1", "t1-plan", "2026-01-01"), /USING INDEX idx_agents_task/],
  ];
  for (const [name, fn, want] of cases) {
    test(name, () => {
      const db = store();
      try {
        const plans = plansOf(db, () => fn(db));
        expect(plans.length).toBeGreaterThan(0);
        const hit = plans.find((p) => want.test(p.plan));
        if (!hit) throw new Error(`no statement used ${want}; plans:\n${plans.map((p) => `${p.sql.replace(/\s+/g, " ")}\n  → ${p.plan}`).join("\n")}`);
        // No statement of these functions scans the signals table itself.
        for (const p of plans) expect(p.plan).not.toMatch(/SCAN (signals|agents)(?! USING)/);
      } finally {
        db.close();
      }
    });
  }
});

describe("retention batches (src/store/retention.ts) use the primary key and the tasks key", () => {
  for (const table of RETENTION_TABLES) {
    test(`batch of ${table.name}`, () => {
      const db = store();
      try {
        const plan = db.query(`EXPLAIN QUERY PLAN ${batchSql(table)}`).all().map((r) => (r as { detail: string }).detail).join(" | ");
        // The walk is a range of the primary key; the per-row task lookup is the (project, name) key.
        expect(plan).toMatch(new RegExp(`SEARCH r USING INTEGER PRIMARY KEY \\(rowid>\\?\\)`));
        expect(plan).toMatch(/SEARCH t USING INDEX sqlite_autoindex_tasks_1 \(project=\? AND name=\?\)/);
        expect(plan).not.toMatch(/SCAN (r|t)\b/);
        const del = db.query(`EXPLAIN QUERY PLAN ${deleteSql(table)}`).all().map((r) => (r as { detail: string }).detail).join(" | ");
        expect(del).toMatch(new RegExp(`SEARCH ${table.name} USING INTEGER PRIMARY KEY \\(rowid`));
        expect(del).not.toMatch(new RegExp(`SCAN ${table.name}\\b`));
      } finally {
        db.close();
      }
    });
  }
  test("finished tasks of a project (worktree retention)", () => {
    const db = store();
    try {
      const plans = plansOf(db, () => {
        tasksFinishedBefore(db, "p", "2026-01-01");
        agentTitlesOf(db, "p", "t1");
        taskAtRest(db, "p", "t1");
      });
      expect(plans.length).toBe(3);
      expect(plans[0]!.plan).toMatch(/USING INDEX idx_tasks_project_status/);
      expect(plans[1]!.plan).toMatch(/USING INDEX idx_agents_task/);
      expect(plans[2]!.plan).toMatch(/SEARCH tasks USING INDEX sqlite_autoindex_tasks_1/);
      expect(plans[2]!.plan).toMatch(/SEARCH agents USING (COVERING )?INDEX idx_agents_(task|live_title)/);
      for (const p of plans) expect(p.plan).not.toMatch(/SCAN (tasks|agents)\b/);
    } finally {
      db.close();
    }
  });
});
