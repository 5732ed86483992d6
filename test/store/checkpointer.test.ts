// WAL checkpoints in a worker (src/store/checkpointer.ts) against a real store file: the daemon's own
// connection never checkpoints inside a commit, the worker catches up with what was written, and a
// worker that cannot run hands checkpointing back to the main connection.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Checkpointer, FALLBACK_AUTOCHECKPOINT_PAGES } from "../../src/store/checkpointer.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { recordAudit } from "../../src/store/audit.ts";

let dir = "";
let db: Db;
let cp: Checkpointer | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kckpt-"));
  db = openStore(join(dir, "kasmos.db"));
});
afterEach(() => {
  cp?.stop();
  cp = null;
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const autocheckpoint = (): number => db.query<{ wal_autocheckpoint: number }, []>("PRAGMA wal_autocheckpoint").get()!.wal_autocheckpoint;

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await Bun.sleep(25); // ≤ 5 s
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

function write(rows: number): void {
  db.transaction(() => {
    for (let i = 0; i < rows; i++) recordAudit(db, { kind: "config_reloaded", message: `row ${i} ${"x".repeat(200)}` });
  })();
}

describe("Checkpointer", () => {
  test("the main connection stops checkpointing; the worker checkpoints every frame written", async () => {
    const results: { log: number; checkpointed: number }[] = [];
    cp = Checkpointer.start(db, join(dir, "kasmos.db"), { intervalMs: 20, thresholdBytes: 1024 * 1024, onCheckpoint: (r) => results.push(r) });
    expect(cp.active).toBe(true);
    expect(autocheckpoint()).toBe(0);
    // Far past SQLite's default window of 1,000 pages: with autocheckpoint on, commits would checkpoint.
    for (let i = 0; i < 20; i++) write(500);
    const walBytes = statSync(join(dir, "kasmos.db-wal")).size;
    expect(walBytes).toBeGreaterThan(1000 * 4096);
    await until(() => results.some((r) => r.log > 0 && r.checkpointed === r.log), "a complete checkpoint by the worker");
    expect(cp.checkpoints).toBeGreaterThan(0);
    // Idle WAL: no further checkpoints are run for nothing.
    const n = cp.checkpoints;
    await Bun.sleep(200);
    expect(cp.checkpoints).toBe(n);
    // New writes are picked up again.
    write(100);
    await until(() => cp!.checkpoints > n, "a checkpoint after new writes");
    expect(cp.lastResult?.busy).toBe(0);
  });

  test("a worker that cannot open the store hands checkpointing back to the main connection", async () => {
    // A WAL past the threshold next to a "store" the worker cannot open (a directory).
    const bad = join(dir, "bad.db");
    mkdirSync(bad);
    writeFileSync(`${bad}-wal`, Buffer.alloc(2 * 1024 * 1024));
    const failures: string[] = [];
    cp = Checkpointer.start(db, bad, { intervalMs: 20, thresholdBytes: 1024 * 1024, onFailure: (m) => failures.push(m) });
    await until(() => failures.length > 0, "the failure report");
    expect(cp.active).toBe(false);
    expect(autocheckpoint()).toBe(FALLBACK_AUTOCHECKPOINT_PAGES);
    expect(failures[0]).toMatch(/unable to open|directory|cannot/i);
  });

  test("a WAL under the threshold is left alone: no worker, no checkpoint", async () => {
    cp = Checkpointer.start(db, join(dir, "kasmos.db"), { intervalMs: 20 });
    write(50);
    await Bun.sleep(200);
    expect(cp.workerStarted).toBe(false);
    expect(cp.checkpoints).toBe(0);
    expect(autocheckpoint()).toBe(0);
  });

  test("a WAL past the limit (a writer that never pauses): the main connection checkpoints until it is back under", async () => {
    cp = Checkpointer.start(db, join(dir, "kasmos.db"), { intervalMs: 60_000, thresholdBytes: 256 * 1024, limitBytes: 1024 * 1024 });
    const wal = (): number => statSync(join(dir, "kasmos.db-wal")).size;
    // Stand-in for a worker that never finishes a checkpoint: it is not asked (no ticks) while writing.
    for (let i = 0; i < 10; i++) write(500);
    expect(wal()).toBeGreaterThan(1024 * 1024);
    cp.tick();
    expect(cp.mainCheckpoints).toBe(true);
    expect(autocheckpoint()).toBe(128); // half of 1 MiB in 4 KiB pages
    // The main connection's next commits checkpoint and restart the WAL, cut back to the threshold.
    // The tick also asked the worker: while its checkpoint runs (long on a loaded machine) neither can
    // restart the WAL, so the writes go on until it is back under (bounded in count and time).
    const deadline = Date.now() + 20_000;
    for (let i = 0; i < 400 && Date.now() < deadline && wal() > 1024 * 1024; i++) {
      write(10);
      if (i >= 4) await Bun.sleep(25);
    }
    expect(wal()).toBeLessThanOrEqual(1024 * 1024);
    cp.tick();
    expect(cp.mainCheckpoints).toBe(false);
    expect(autocheckpoint()).toBe(0);
  });

  test("stop ends the worker; the store stays usable", () => {
    cp = Checkpointer.start(db, join(dir, "kasmos.db"), { intervalMs: 20 });
    cp.stop();
    expect(cp.active).toBe(false);
    write(10);
    expect(db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM audit_events").get()!.n).toBeGreaterThanOrEqual(10);
  });
});
