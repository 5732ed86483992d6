// Retention (src/store/retention.ts): old history of long-finished tasks goes in batches, the history of
// active or recently finished tasks and unfinished signals never does, /v1/metrics counters survive the
// delete (in this reader and in one started afterwards), and incremental vacuum shrinks the store.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StoreMetricsReader } from "../../src/engine/metrics.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { pruneHistory, reclaimSpace, storeSize, taskAtRest } from "../../src/store/retention.ts";
import { daysAgo, seedHistory, seedTask } from "../helpers/history.ts";

const NOW = Date.parse("2026-06-01T00:00:00Z");
const ago = (days: number) => daysAgo(days, NOW);
const task = (db: Db, name: string, status: string, finished: number | null) => seedTask(db, "p", name, status, finished, NOW);
const history = (db: Db, t: string, n: number, age: number, status = "done") => seedHistory(db, "p", t, n, age, { status, nowMs: NOW });

const count = (db: Db, sql: string): number => db.query<{ n: number }, []>(sql).get()?.n ?? 0;

function seeded(): Db {
  const db = openStore(":memory:");
  task(db, "old", "done", 200);
  task(db, "gone", "cancelled", 120);
  task(db, "active", "implementing", null);
  task(db, "recent", "done", 10);
  history(db, "old", 1200, 150);
  history(db, "gone", 10, 130);
  history(db, "active", 50, 300);
  history(db, "recent", 20, 100);
  // Unfinished signals of a long-finished task (a stray file after the end) stay queued.
  history(db, "old", 3, 150, "pending");
  // Daemon-level audit (no task): goes by age alone.
  db.query("INSERT INTO audit_events (kind, timestamp, message) VALUES ('daemon_started', $a, 'old'), ('daemon_started', $b, 'new')").run({ a: ago(100), b: ago(1) });
  // The newest row of a table is never deleted (ids would be reused): make those the active task's.
  db.query("INSERT INTO agents (project, task, title, role, session, state, started_at) VALUES ('p', 'active', 'active-coder2', 'coder', 's', 'running', $at)").run({ at: ago(1) });
  return db;
}

describe("pruneHistory", () => {
  test("removes the old history of long-finished tasks only, in batches", async () => {
    const db = seeded();
    try {
      const dry = await pruneHistory(db, { days: 90, nowMs: NOW, dryRun: true, batch: 100 });
      expect(dry.counts).toEqual({ signals: 1210, audit: 1214, agents: 3 });
      expect(count(db, "SELECT COUNT(*) AS n FROM signals")).toBe(1283); // nothing deleted by a dry run
      const r = await pruneHistory(db, { days: 90, nowMs: NOW, batch: 100 });
      expect(r.counts).toEqual(dry.counts);
      expect(r.batches).toBeGreaterThan(20); // 100 rows per transaction
      expect(count(db, "SELECT COUNT(*) AS n FROM signals WHERE task IN ('old', 'gone') AND status = 'done'")).toBe(0);
      expect(count(db, "SELECT COUNT(*) AS n FROM signals WHERE status = 'pending'")).toBe(3);
      // The active task's 300-day-old history and the recently done task's are all there.
      expect(count(db, "SELECT COUNT(*) AS n FROM signals WHERE task = 'active'")).toBe(50);
      expect(count(db, "SELECT COUNT(*) AS n FROM audit_events WHERE task = 'active'")).toBe(50);
      expect(count(db, "SELECT COUNT(*) AS n FROM audit_events WHERE task = 'recent'")).toBe(20);
      expect(count(db, "SELECT COUNT(*) AS n FROM agents")).toBe(3);
      expect(count(db, "SELECT COUNT(*) AS n FROM audit_events WHERE task = ''")).toBe(1);
      expect(count(db, "SELECT COUNT(*) AS n FROM tasks")).toBe(4); // tasks themselves are kept
      // A second pass finds nothing more.
      expect((await pruneHistory(db, { days: 90, nowMs: NOW })).counts).toEqual({ signals: 0, audit: 0, agents: 0 });
    } finally {
      db.close();
    }
  });

  test("taskAtRest: done or cancelled and no agent running", () => {
    const db = seeded();
    try {
      expect(taskAtRest(db, "p", "old")).toBe(true);
      expect(taskAtRest(db, "p", "gone")).toBe(true);
      expect(taskAtRest(db, "p", "active")).toBe(false);
      expect(taskAtRest(db, "p", "missing")).toBe(false);
      db.query("INSERT INTO agents (project, task, title, role, session, state, started_at) VALUES ('p', 'old', 'old-again', 'coder', 's', 'running', $at)").run({ at: ago(0) });
      expect(taskAtRest(db, "p", "old")).toBe(false);
    } finally {
      db.close();
    }
  });

  test("days = 0 keeps everything", async () => {
    const db = seeded();
    try {
      expect((await pruneHistory(db, { days: 0, nowMs: NOW })).counts).toEqual({ signals: 0, audit: 0, agents: 0 });
    } finally {
      db.close();
    }
  });

  test("metrics counters do not go backwards: in the running reader and in a fresh one (daemon restart)", async () => {
    const db = seeded();
    try {
      const live = new StoreMetricsReader(db);
      const before = live.read();
      const total = (m: ReturnType<StoreMetricsReader["read"]>) => ({
        signals: m.signals.reduce((a, r) => a + r.n, 0),
        transitions: m.transitions.reduce((a, r) => a + r.n, 0),
      });
      // Rows arriving after the reader's last scrape and deleted by the same prune are counted too.
      history(db, "old", 10, 150);
      const r = await pruneHistory(db, { days: 90, nowMs: NOW, batch: 64, beforeDelete: () => live.sync() });
      expect(r.counts.signals).toBe(1219); // the newest row stays (ids are never reused)
      const after = total(live.read());
      expect(after).toEqual({ signals: total(before).signals + 10, transitions: total(before).transitions + 5 });
      expect(total(new StoreMetricsReader(db).read())).toEqual(after);
      // A second prune after more history keeps both in step.
      history(db, "gone", 4, 130);
      const r2 = await pruneHistory(db, { days: 90, nowMs: NOW, beforeDelete: () => live.sync() });
      expect(r2.counts.signals).toBe(4);
      expect(total(live.read())).toEqual({ signals: after.signals + 4, transitions: after.transitions + 2 });
      expect(total(new StoreMetricsReader(db).read())).toEqual(total(live.read()));
    } finally {
      db.close();
    }
  });

  test("a new store returns the freed pages (incremental vacuum); an old one switches with a full VACUUM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kret-"));
    try {
      const file = join(dir, "s.db");
      const db = openStore(file);
      expect(storeSize(db).autoVacuum).toBe(2);
      task(db, "old", "done", 200);
      history(db, "old", 3000, 150);
      db.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
      const before = storeSize(db).bytes;
      await pruneHistory(db, { days: 90, nowMs: NOW });
      expect(await reclaimSpace(db, { full: false, stepPages: 100 })).toBe("incremental");
      const after = storeSize(db).bytes;
      expect(after).toBeLessThan(before / 4);
      expect(statSync(file).size).toBe(after);
      db.close();

      // A store made before migration 11 (auto_vacuum none): idle gc leaves the file, on demand it is rewritten once.
      const oldFile = join(dir, "old.db");
      const raw = new (await import("bun:sqlite")).Database(oldFile, { create: true });
      raw.exec("CREATE TABLE t (x)");
      raw.close();
      const db2 = openStore(oldFile);
      expect(storeSize(db2).autoVacuum).toBe(0);
      expect(await reclaimSpace(db2, { full: false })).toBe("none");
      expect(await reclaimSpace(db2, { full: true })).toBe("full");
      expect(storeSize(db2).autoVacuum).toBe(2);
      db2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
