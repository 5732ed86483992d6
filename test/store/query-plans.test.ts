// The queries that run per signal or per scan pass must stay index lookups: a full scan there costs
// O(history) on every pass. This captures the SQL the store functions actually run and asserts on
// SQLite's plan for it, so an edited query (or a partial index whose WHERE no longer matches) fails here.
import { describe, expect, test } from "bun:test";
import { type Db, openStore } from "../../src/store/db.ts";
import { claimNextSignal, enqueueSignal, failedSignalsSince, findSignalBySource, insertFinishedSignal, peekPending, pendingProjects, recoverStuckSignals } from "../../src/store/signals.ts";
import { createTask, deleteTask, listTaskLines, listTasks } from "../../src/store/tasks.ts";
import { writeTaskUpdate } from "../../src/store/task-update.ts";
import { activeTaskSummaries, countTasksByProject, countTasksByStatus, liveWorktreeFolders, projectsMaybeNeedingAgents, taskFolders, tasksNeedingPrAll, tasksWithOpenPr } from "../../src/store/task-queries.ts";
import { endAgent, endedSince, insertAgent, lastMaster, listAgents, liveAgentByTitle, liveAgents } from "../../src/store/agents.ts";
import { countTaskAudit, listAudit, recordAudit } from "../../src/store/audit.ts";
import { listPrRetriesDue } from "../../src/github/store.ts";
import { listUsage, setAgentUsage, usageOfTasks, usageTotals } from "../../src/store/usage.ts";
import { writeTx } from "../../src/store/db.ts";
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
  // A finished history: many done tasks with plan text, merged PRs and audit rows (the shape that made
  // status, the GitHub sweep and task show cost O(history)). ANALYZE then sees mostly finished tasks.
  writeTx(db, () => {
    for (let i = 0; i < 400; i++) {
      createTask(db, { project: "p", name: `old${i}`, content: "# plan\n".repeat(50) });
      writeTaskUpdate(db, "p", `old${i}`, { branch: `plan/old${i}`, status: "done", verification: { sha: "a", baseSha: "b", by: "m", origin: "master" }, prUrl: `u${i}`, prState: "merged", prNumber: i + 1, prCreateState: "created" });
      for (let k = 0; k < 3; k++) recordAudit(db, { kind: "plan_transition", project: "p", task: `old${i}`, message: "x" });
    }
  });
  db.exec("ANALYZE");
  // As in a store migrated to 12 whose statistics predate it: the new indexes have none (this is the
  // shape in which SQLite once walked idx_tasks_folder over every task of a project).
  db.exec("DELETE FROM sqlite_stat1 WHERE idx IN ('idx_tasks_open', 'idx_tasks_attention', 'idx_tasks_pr_todo', 'idx_tasks_pr_open', 'idx_tasks_branch', 'idx_tasks_folder', 'idx_pr_runs_retry', 'idx_audit_task_id'); ANALYZE sqlite_schema");
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
    // Issue 14: status, task list / show, the GitHub sweep, metrics and event replay cost the same
    // however long the finished history is.
    ["activeTaskSummaries (GET /v1/status)", (db) => activeTaskSummaries(db), /idx_tasks_active.*idx_tasks_attention|idx_tasks_attention.*idx_tasks_active/],
    ["countTasksByProject (GET /v1/status)", (db) => countTasksByProject(db), /task_counts/],
    ["listTasks of a project (task list)", (db) => listTasks(db, { project: "p", withoutContent: true }), /SEARCH tasks USING (COVERING )?INDEX \w+ \(project=\?\)/],
    ["listTasks of every project (task list --all)", (db) => listTasks(db, { withoutContent: true }), /SCAN tasks USING INDEX sqlite_autoindex_tasks_1/],
    ["listTasks as a table (task list --all)", (db) => listTaskLines(db), /SCAN tasks USING INDEX sqlite_autoindex_tasks_1/],
    ["task show: newest history of a task", (db) => listAudit(db, { project: "p", task: "old7", limit: 10 }), /SEARCH audit_events USING INDEX idx_audit_task_id \(project=\? AND task=\?\)$/],
    ["task show: history total", (db) => countTaskAudit(db, "p", "old7"), /USING COVERING INDEX idx_audit_task_id/],
    ["GitHub sweep: tasks needing a PR, every repo", (db) => tasksNeedingPrAll(db), /SCAN tasks USING INDEX idx_tasks_pr_todo/],
    ["GitHub sweep: PR retries due, every repo", (db) => listPrRetriesDue(db, Date.now(), 5), /SEARCH r USING INDEX idx_pr_runs_retry/],
    ["GitHub sweep: PR retries due", (db) => listPrRetriesDue(db, Date.now(), 5, "p"), /SEARCH r USING INDEX idx_pr_runs_retry/],
    ["PR monitor: tasks with an open PR", (db) => tasksWithOpenPr(db, "p", ["done", "reviewing", "verifying"]), /USING INDEX idx_tasks_pr_open/],
    ["worktree folders of live tasks (every scan)", (db) => liveWorktreeFolders(db, "p"), /USING INDEX idx_tasks_open/],
    ["worktree folders that belong to tasks", (db) => taskFolders(db, "p", ["plan-old1", "notes"]), /USING (COVERING )?INDEX idx_tasks_folder/],
    ["metrics usage series", (db) => usageTotals(db), /usage_totals/],
    ["event replay page", (db) => listAudit(db, { afterId: 100, limit: 500 }), /SEARCH audit_events USING INTEGER PRIMARY KEY \(rowid>\?\)/],
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
        for (const p of plans) expect(p.plan).not.toMatch(/SCAN (signals|agents|tasks|audit_events|agent_usage|t|r)\b(?! USING)/);
        // Nor every task of a project (a project holds its whole finished history), but for a listing of it.
        if (!name.startsWith("listTasks")) for (const p of plans) expect(p.plan).not.toMatch(/SEARCH (tasks|t) USING (COVERING )?INDEX (idx_tasks_project_status|sqlite_autoindex_tasks_1|idx_tasks_folder|idx_tasks_branch) \(project=\?\)/);
        // No plan text on these paths: never `SELECT *` of tasks, never the content column.
        for (const p of plans) if (/\bFROM tasks\b/.test(p.sql)) expect(p.sql).not.toMatch(/SELECT \*|(?<!'' AS )\bcontent\b/);
      } finally {
        db.close();
      }
    });
  }
});

/**
 * A store with agent, signal and audit history all at once (thousands of ended agents, finished and
 * failed signals, audit rows) and a few live agents, with statistics (ANALYZE) or without them: SQLite
 * plans differently in each, and a hot path must use an index in both.
 */
function historyStore(stats: boolean): Db {
  const db = openStore(":memory:");
  writeTx(db, () => {
    for (let i = 0; i < 40; i++) createTask(db, { project: `p${i % 4}`, name: `t${i}`, content: "" });
    for (let i = 0; i < 4000; i++) {
      const a = insertAgent(db, { project: `p${i % 4}`, task: `t${i % 40}`, title: `t${i % 40}-x${i}`, role: "coder", session: `s${i}`, cwd: "", program: "" });
      if (i < 3980) endAgent(db, a.id, i % 9 ? "exited" : "failed", 0, "");
    }
    for (let i = 0; i < 4000; i++) insertFinishedSignal(db, { project: `p${i % 4}`, task: `t${i % 40}`, type: "implement_finished", source: `file:h#${i}`, status: i % 5 ? "done" : "failed", result: "x" }, "w");
    for (let i = 0; i < 20; i++) enqueueSignal(db, { project: `p${i % 4}`, task: `t${i % 40}`, type: "implement_finished", source: `cli#${i}` });
    for (let i = 0; i < 4000; i++) recordAudit(db, { kind: "plan_transition", project: `p${i % 4}`, task: `t${i % 40}`, message: "x" });
  });
  if (stats) db.exec("ANALYZE");
  return db;
}

describe("hot paths use an index on a store with agent, signal and audit history (with and without statistics)", () => {
  // [name, call, the plan wanted] — status, kas daemon status, agent list (--all), instances?all=1, the
  // per-pass and per-signal lookups, event replay.
  const cases: [string, (db: Db) => unknown, RegExp][] = [
    ["live agents of every project (GET /v1/status)", (db) => liveAgents(db), /SCAN agents USING INDEX idx_agents_live_title/],
    ["live agents of a project (every pass, agent list)", (db) => liveAgents(db, { project: "p1" }), /SEARCH agents USING INDEX idx_agents_live_title \(project=\?\)/],
    ["live agents of a task", (db) => liveAgents(db, { project: "p1", task: "t1" }), /SEARCH agents USING INDEX idx_agents_task \(project=\? AND task=\? AND state=\?\)/],
    ["agents of a project, newest first (agent list --all, instances?all=1)", (db) => listAgents(db, { project: "p1", limit: 500 }), /^SEARCH agents USING INDEX idx_agents_project_id \(project=\?\)$/],
    ["agents of a task, newest first (agent list --all --task)", (db) => listAgents(db, { project: "p1", task: "t1", limit: 500 }), /SEARCH agents USING INDEX idx_agents_task \(project=\? AND task=\?\)/],
    ["liveAgentByTitle (before every start)", (db) => liveAgentByTitle(db, "p1", "t1-x1"), /SEARCH agents USING INDEX idx_agents_live_title \(project=\? AND title=\?\)/],
    ["endedSince (per missing agent)", (db) => endedSince(db, "p1", "t1", "t1-x1", "2026-01-01"), /SEARCH agents USING INDEX idx_agents_task/],
    ["lastMaster (per review signal)", (db) => lastMaster(db, "p1", "t1"), /SEARCH agents USING INDEX idx_agents_task \(project=\? AND task=\?\)/],
    ["failed signals of the last day (GET /v1/status)", (db) => failedSignalsSince(db, "p1", "2026-01-01"), /SEARCH signals USING COVERING INDEX idx_signals_failed \(project=\? AND created_at>\?\)/],
    ["active tasks (GET /v1/status)", (db) => activeTaskSummaries(db), /idx_tasks_active/],
    ["task counts (GET /v1/status)", (db) => countTasksByProject(db), /task_counts/],
    ["usage of the active tasks (GET /v1/status)", (db) => usageOfTasks(db, "p1", ["t1", "t5"]), /SEARCH agent_usage USING INDEX idx_agent_usage_task \(project=\? AND task=\?\)/],
    ["findSignalBySource (once per signal file)", (db) => findSignalBySource(db, "file:h#1"), /USING INDEX idx_signals_source/],
    ["peekPending (every pass)", (db) => peekPending(db, "p1", 200), /idx_signals_pending/],
    ["pendingProjects (every timer pass)", (db) => pendingProjects(db), /idx_signals_pending/],
    ["task show: newest history of a task", (db) => listAudit(db, { project: "p1", task: "t1", limit: 10 }), /SEARCH audit_events USING INDEX idx_audit_task_id \(project=\? AND task=\?\)$/],
    ["event replay page", (db) => listAudit(db, { afterId: 100, limit: 500 }), /SEARCH audit_events USING INTEGER PRIMARY KEY \(rowid>\?\)/],
  ];
  for (const stats of [false, true]) {
    for (const [name, fn, want] of cases) {
      test(`${name}${stats ? " (ANALYZE)" : " (no statistics)"}`, () => {
        const db = historyStore(stats);
        try {
          const plans = plansOf(db, () => fn(db));
          expect(plans.length).toBeGreaterThan(0);
          const hit = plans.find((p) => want.test(p.plan));
          if (!hit) throw new Error(`no statement used ${want}; plans:\n${plans.map((p) => `${p.sql.replace(/\s+/g, " ")}\n  → ${p.plan}`).join("\n")}`);
          for (const p of plans) {
            // Never a walk of a history table or of a whole project's rows in a non-partial index.
            expect(p.plan).not.toMatch(/SCAN (signals|agents|tasks|audit_events|agent_usage)\b(?! USING (COVERING )?INDEX (idx_agents_live_title|idx_signals_pending|idx_tasks_active|idx_tasks_attention))/);
            expect(p.plan).not.toMatch(/SEARCH agents USING (COVERING )?INDEX idx_agents_task \(project=\?\)/);
          }
        } finally {
          db.close();
        }
      });
    }
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

describe("usage totals (metrics) follow agent_usage through its triggers", () => {
  test("insert, update and delete keep usage_totals equal to a GROUP BY of agent_usage", () => {
    const db = store();
    try {
      const group = () =>
        db.query("SELECT project, role, model, SUM(input) AS input, SUM(output) AS output, SUM(cache_write) AS cache_write, SUM(cache_read) AS cache_read FROM agent_usage GROUP BY project, role, model ORDER BY project, role, model").all();
      const agents = listAgents(db, { project: "p", limit: 10 });
      for (const [i, a] of agents.entries()) {
        setAgentUsage(db, { id: a.id, project: a.project, task: a.task, role: i % 2 ? "coder" : "reviewer" }, { m1: { input: i, output: 2 * i, cacheWrite: 1, cacheRead: 3 }, m2: { input: 5, output: 0, cacheWrite: 0, cacheRead: i } }, { offset: 0, lastId: "" });
      }
      expect(usageTotals(db)).toEqual(group() as ReturnType<typeof usageTotals>);
      // A reader replaces an agent's totals (absolute): the sums move by the difference only.
      setAgentUsage(db, { id: agents[0]!.id, project: "p", task: agents[0]!.task, role: "reviewer" }, { m1: { input: 100, output: 1, cacheWrite: 1, cacheRead: 1 } }, { offset: 1, lastId: "" });
      endAgent(db, agents[0]!.id, "exited", 0, "");
      expect(usageTotals(db)).toEqual(group() as ReturnType<typeof usageTotals>);
      db.query("DELETE FROM agent_usage WHERE agent_id = ?").run(agents[1]!.id);
      expect(usageTotals(db).filter((r) => r.input + r.output + r.cache_write + r.cache_read > 0)).toEqual(group() as ReturnType<typeof usageTotals>);
      expect(listUsage(db, { project: "p" }).length).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });
});

describe("GitHub sweep candidates", () => {
  test("only done, verified tasks without a PR attempt: none of the finished history", () => {
    const db = store();
    try {
      for (const [name, verified, prState] of [["owed1", true, ""], ["owed2", true, ""], ["unverified", false, ""], ["failed", true, "failed"]] as const) {
        createTask(db, { project: "p", name, content: "# plan" });
        writeTaskUpdate(db, "p", name, { status: "done", ...(verified ? { verification: { sha: "s", baseSha: "b", by: "m", origin: "master" } } : {}), prCreateState: prState });
      }
      expect(tasksNeedingPrAll(db)).toEqual([
        { project: "p", name: "owed1" },
        { project: "p", name: "owed2" },
      ]);
      // The PR monitor's set: open PRs only (the 400 merged ones are not read).
      writeTaskUpdate(db, "p", "owed1", { prNumber: 7, prState: "open", prUrl: "u" });
      expect(tasksWithOpenPr(db, "p", ["done"]).map((t) => [t.name, t.content])).toEqual([["owed1", ""]]);
    } finally {
      db.close();
    }
  });
});

describe("task counts (status, metrics) follow the tasks through their triggers", () => {
  test("create, status changes, a rename of the project and delete keep task_counts equal to a GROUP BY of tasks", () => {
    const db = store();
    try {
      const group = () => db.query("SELECT project, status, COUNT(*) AS n FROM tasks GROUP BY project, status ORDER BY project, status").all();
      expect(countTasksByProject(db)).toEqual(group() as ReturnType<typeof countTasksByProject>);
      createTask(db, { project: "q", name: "n1" });
      writeTaskUpdate(db, "p", "old1", { status: "implementing" });
      writeTaskUpdate(db, "p", "old2", { description: "no status change" });
      db.query("UPDATE tasks SET project = 'r' WHERE name = 'old3'").run();
      deleteTask(db, "p", "old4");
      expect(countTasksByProject(db)).toEqual(group() as ReturnType<typeof countTasksByProject>);
      expect(countTasksByStatus(db, "p").implementing).toBe(1);
      expect(countTasksByStatus(db).ready).toBe(2);
    } finally {
      db.close();
    }
  });
});
