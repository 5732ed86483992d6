// GcRunner (src/engine/gc.ts) in-process: the idle timer collects by itself, runs never overlap (a second
// one queued behind the first finds nothing left), and the daemon log is moved aside past 10 MiB
// (a dry run only reports it).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../../src/config/schema.ts";
import { GcRunner } from "../../src/engine/gc.ts";
import { LOG_ROTATE_BYTES } from "../../src/runtime/daemonize.ts";
import { createDaemonLogger } from "../../src/runtime/log.ts";
import { StoreMetricsReader } from "../../src/engine/metrics.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { seedHistory, seedTask } from "../helpers/history.ts";
import { waitFor } from "../helpers/env.ts";

let dir: string;
let db: Db;

function runner(logFile: string | null = null): GcRunner {
  const config = defaultConfig();
  config.retention.gc_interval_min = 1;
  return new GcRunner({
    db,
    log: createDaemonLogger({ color: false, level: 0 }),
    config: () => config,
    repos: () => [],
    metrics: new StoreMetricsReader(db),
    promptsDir: join(dir, "prompts"),
    runsDir: join(dir, "run"),
    logFile,
    pump: () => {},
  });
}

const gcRows = () => db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'gc'").get()!.n;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kgcr-"));
  db = openStore(join(dir, "s.db"));
  seedTask(db, "p", "old", "done", 200);
  seedHistory(db, "p", "old", 300, 150);
  seedTask(db, "p", "now", "implementing", null);
  seedHistory(db, "p", "now", 1, 0);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("GcRunner", () => {
  test("the idle timer collects without being asked", async () => {
    const gc = runner();
    gc.start();
    try {
      gc.schedule(5);
      await waitFor(() => gcRows() === 1, 10_000, "the idle collection's audit row");
      expect(db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM signals WHERE task = 'old'").get()!.n).toBe(0);
    } finally {
      await gc.stop();
    }
  });

  test("stop ends a run after its current batch, and waits for it", async () => {
    // Ids grow with time: the walk ends at the first young row, so the old rows come first here.
    db.exec("DELETE FROM signals; DELETE FROM audit_events; DELETE FROM agents");
    seedHistory(db, "p", "old", 3000, 150);
    seedHistory(db, "p", "now", 1, 0);
    const gc = runner();
    const run = gc.run({ dryRun: false, full: false, onDemand: true });
    await gc.stop();
    const r = await run;
    expect(r.removed.signals).toBe(500); // one batch of RETENTION_BATCH rows, then it stopped
    expect(db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM signals WHERE task = 'old'").get()!.n).toBe(3000 - 500);
  });

  test("runs queue behind each other", async () => {
    const gc = runner();
    const [a, b] = await Promise.all([gc.run({ dryRun: false, full: false, onDemand: true }), gc.run({ dryRun: false, full: false, onDemand: true })]);
    expect(a.removed.signals).toBe(300);
    expect(b.removed.signals).toBe(0);
  });

  test("the daemon log past the limit is moved to daemon.log.1 (copy + truncate)", async () => {
    const log = join(dir, "daemon.log");
    writeFileSync(log, Buffer.alloc(LOG_ROTATE_BYTES + 100, 0x61));
    const gc = runner(log);
    const dry = await gc.run({ dryRun: true, full: false, onDemand: true });
    expect(dry.removed.log_bytes).toBe(LOG_ROTATE_BYTES + 100);
    expect(statSync(log).size).toBe(LOG_ROTATE_BYTES + 100);
    expect(existsSync(`${log}.1`)).toBe(false);
    const real = await gc.run({ dryRun: false, full: false, onDemand: true });
    expect(real.removed.log_bytes).toBe(LOG_ROTATE_BYTES + 100);
    expect(statSync(log).size).toBe(0);
    expect(statSync(`${log}.1`).size).toBe(LOG_ROTATE_BYTES + 100);
  });

  test("prompt files older than days go unless their agent runs", async () => {
    const prompts = join(dir, "prompts", "p");
    mkdirSync(prompts, { recursive: true });
    const old = (Date.now() - 100 * 86_400_000) / 1000;
    for (const name of ["gone-coder", "live-coder", "fresh-coder"]) writeFileSync(join(prompts, `${name}.md`), "prompt\n");
    for (const name of ["gone-coder", "live-coder"]) utimesSync(join(prompts, `${name}.md`), old, old);
    db.query("INSERT INTO agents (project, task, title, role, session, state, started_at) VALUES ('p', 'now', 'live-coder', 'coder', 's', 'running', '2026-01-01T00:00:00Z')").run();
    const r = await runner().run({ dryRun: false, full: false, onDemand: true });
    expect(r.removed.prompt_files).toBe(1);
    expect(existsSync(join(prompts, "gone-coder.md"))).toBe(false);
    expect(existsSync(join(prompts, "live-coder.md"))).toBe(true);
    expect(existsSync(join(prompts, "fresh-coder.md"))).toBe(true);
  });

  test("agents' run folders not written to for days go unless their agent runs", async () => {
    const runs = join(dir, "run", "p");
    const old = (Date.now() - 100 * 86_400_000) / 1000;
    for (const name of ["gone-coder", "live-coder", "fresh-coder"]) {
      mkdirSync(join(runs, name), { recursive: true });
      writeFileSync(join(runs, name, "exit-status"), "0\n");
    }
    for (const name of ["gone-coder", "live-coder"]) utimesSync(join(runs, name), old, old);
    writeFileSync(join(runs, "stray-file"), "not a folder");
    utimesSync(join(runs, "stray-file"), old, old);
    db.query("INSERT INTO agents (project, task, title, role, session, state, started_at) VALUES ('p', 'now', 'live-coder', 'coder', 's', 'running', '2026-01-01T00:00:00Z')").run();
    const dry = await runner().run({ dryRun: true, full: false, onDemand: true });
    expect(dry.removed.run_folders).toBe(1);
    expect(existsSync(join(runs, "gone-coder"))).toBe(true);
    const r = await runner().run({ dryRun: false, full: false, onDemand: true });
    expect(r.removed.run_folders).toBe(1);
    expect(existsSync(join(runs, "gone-coder"))).toBe(false);
    expect(existsSync(join(runs, "live-coder", "exit-status"))).toBe(true);
    expect(existsSync(join(runs, "fresh-coder"))).toBe(true);
    expect(existsSync(join(runs, "stray-file"))).toBe(true);
  });
});
