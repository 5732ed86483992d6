import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openStore, schemaVersion } from "../../src/store/db.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { createTask, getTask } from "../../src/store/tasks.ts";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "kasmos-mig-"));
  dirs.push(dir);
  return join(dir, "sub", "kasmos.db");
}

function tables(db: Database): string[] {
  return db
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((r) => r.name);
}
function indexes(db: Database): string[] {
  return db
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((r) => r.name);
}

describe("migrations", () => {
  test("an empty file migrates to the latest version with every table and index", () => {
    const path = tempPath();
    const db = openStore(path);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(MIGRATIONS.length).toBeGreaterThanOrEqual(2);
    expect(tables(db)).toEqual(["agent_usage", "agents", "audit_events", "metrics_folded", "pr_create_runs", "pr_reactions", "pr_reviews", "project_paths", "repo_config_trust", "repos", "signals", "store_meta", "subtasks", "task_counts", "task_plans", "tasks", "usage_totals"]);
    expect(indexes(db)).toEqual(
      expect.arrayContaining(["idx_signals_pending", "idx_signals_processing", "idx_signals_failed", "idx_tasks_may_need_agent", "idx_audit_project_ts", "idx_audit_task_id", "idx_signals_dedup_active", "idx_agent_usage_task"]),
    );
    // Migration 12 replaced (task, timestamp) with (project, task, id): a task's newest rows without a sort.
    expect(indexes(db)).not.toContain("idx_audit_task_ts");
    expect(indexes(db)).toEqual(expect.arrayContaining(["idx_tasks_open", "idx_tasks_attention", "idx_tasks_pr_todo", "idx_tasks_pr_open", "idx_tasks_branch", "idx_tasks_folder", "idx_pr_runs_retry"]));
    // Migration 7 replaced the full-table signal indexes with partial ones.
    expect(indexes(db)).not.toContain("idx_signals_claim");
    expect(indexes(db)).not.toContain("idx_signals_status");
    const claimIdx = db.query<{ name: string }, []>("PRAGMA index_info(idx_signals_pending)").all().map((r) => r.name);
    expect(claimIdx).toEqual(["project", "created_at", "id"]);
    expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()!.journal_mode).toBe("wal");
    // A new store returns freed pages incrementally (retention); set before the first table.
    expect(db.query<{ auto_vacuum: number }, []>("PRAGMA auto_vacuum").get()!.auto_vacuum).toBe(2);
    expect(db.query<{ timeout: number }, []>("PRAGMA busy_timeout").get()!.timeout).toBe(30000);
    expect(db.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()!.foreign_keys).toBe(1);
    db.close();
  });

  test("reopening is idempotent and keeps data", () => {
    const path = tempPath();
    const db1 = openStore(path);
    createTask(db1, { project: "p", name: "foo", content: "# plan" });
    db1.close();
    const db2 = openStore(path);
    expect(schemaVersion(db2)).toBe(MIGRATIONS.length);
    migrate(db2); // no-op
    expect(schemaVersion(db2)).toBe(MIGRATIONS.length);
    expect(getTask(db2, "p", "foo")?.content).toBe("# plan");
    db2.close();
  });

  test("a version-1 file is upgraded to version 2 without losing repos", () => {
    const path = tempPath();
    openStore(path).close(); // create dir + latest schema, then rebuild a v1-only file
    rmSync(path);
    const raw = new Database(path, { create: true, strict: true });
    MIGRATIONS[0]!(raw);
    raw.exec("PRAGMA user_version = 1");
    raw.query("INSERT INTO repos (project, path, added_at) VALUES ('p', '/x', 'now')").run();
    raw.close();
    const db = openStore(path);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.query("SELECT project FROM repos").all()).toEqual([{ project: "p" }]);
    expect(tables(db)).toContain("tasks");
    db.close();
  });

  test("migration 12 moves plan text out of the task rows, with the usage totals of the runs so far", () => {
    const path = tempPath();
    openStore(path).close();
    rmSync(path);
    const raw = new Database(path, { create: true, strict: true });
    raw.exec("PRAGMA foreign_keys = ON");
    for (let i = 0; i < 11; i++) MIGRATIONS[i]!(raw);
    raw.exec("PRAGMA user_version = 11");
    raw.query("INSERT INTO tasks (project, name, content, created_at, updated_at) VALUES ('p', 'a', '# plan a', 'now', 'now'), ('p', 'b', '', 'now', 'now')").run();
    raw.query("INSERT INTO subtasks (project, task, number, title) VALUES ('p', 'b', 1, 'one')").run();
    raw.query("INSERT INTO agent_usage (agent_id, project, task, role, model, input, output, updated_at) VALUES (1, 'p', 'a', 'coder', 'm', 10, 1, 'now'), (2, 'p', 'a', 'coder', 'm', 5, 2, 'now')").run();
    raw.close();
    const db = openStore(path);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.query("SELECT name, content FROM tasks ORDER BY name").all()).toEqual([{ name: "a", content: "" }, { name: "b", content: "" }]);
    expect(getTask(db, "p", "a")?.content).toBe("# plan a");
    expect(getTask(db, "p", "b")?.content).toBe("");
    expect(db.query("SELECT project, role, model, input, output FROM usage_totals").all()).toEqual([{ project: "p", role: "coder", model: "m", input: 15, output: 3 }]);
    // The plan goes with its task; the rebuilt table kept its rows, indexes and the references to it.
    db.query("DELETE FROM tasks WHERE name = 'a'").run();
    expect(db.query("SELECT COUNT(*) AS n FROM task_plans").get()).toEqual({ n: 0 });
    expect(db.query("SELECT title FROM subtasks").all()).toEqual([{ title: "one" }]);
    expect(indexes(db)).toEqual(expect.arrayContaining(["idx_tasks_project_status", "idx_tasks_may_need_agent", "idx_tasks_open"]));
    expect(db.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()!.foreign_keys).toBe(1);
    db.query("DELETE FROM tasks WHERE name = 'b'").run();
    expect(db.query("SELECT COUNT(*) AS n FROM subtasks").get()).toEqual({ n: 0 });
    db.close();
  });
});
