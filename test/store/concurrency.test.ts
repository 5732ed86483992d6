// Several real `bun` processes claim from one SQLite file: every row must be claimed exactly once.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeTx } from "../../src/store/db.ts";
import { countSignals, enqueueSignal } from "../../src/store/signals.ts";
import { tempStore, type TempStore } from "./helpers.ts";

const WORKER = join(import.meta.dir, "fixtures", "claim-worker.ts");
const ROWS = 2000;
const WORKERS = 4;
const CHILD_MAX_MS = 15_000;

let s: TempStore | undefined;
let children: Bun.Subprocess<"ignore", "pipe", "pipe">[] = [];

afterEach(() => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  children = [];
  s?.cleanup();
  s = undefined;
});

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

describe("concurrent claims", () => {
  test(`${WORKERS} processes drain ${ROWS} rows, each claimed exactly once`, async () => {
    const store = tempStore();
    s = store;
    writeTx(store.db, () => {
      for (let i = 0; i < ROWS; i++) {
        enqueueSignal(store.db, { project: i % 3 === 0 ? "a" : "b", task: `t${i}`, type: "plan_start", source: "test" });
      }
    });
    expect(countSignals(store.db).pending).toBe(ROWS);

    const goFile = join(store.dir, "go");
    const readyFiles: string[] = [];
    for (let w = 0; w < WORKERS; w++) {
      const ready = join(store.dir, `ready-${w}`);
      readyFiles.push(ready);
      children.push(
        Bun.spawn([process.execPath, WORKER, store.path, `w${w}`, ready, goFile, String(CHILD_MAX_MS), String(ROWS + 1)], {
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
        }),
      );
    }
    // Start barrier: release every worker at once so claims really contend.
    await waitFor(() => readyFiles.every((f) => existsSync(f)), 10_000, "workers to open the store");
    writeFileSync(goFile, "go");

    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("workers did not finish in time")), CHILD_MAX_MS + 5_000));
    const outputs = await Promise.race([
      Promise.all(
        children.map(async (c) => {
          const [out, err, code] = await Promise.all([new Response(c.stdout).text(), new Response(c.stderr).text(), c.exited]);
          if (code !== 0) throw new Error(`worker exited ${code}: ${err}`);
          return JSON.parse(out.trim()) as { worker: string; ids: number[] };
        }),
      ),
      timeout,
    ]);

    if (process.env.KASMOS_TEST_VERBOSE) console.log(outputs.map((o) => `${o.worker}:${o.ids.length}`).join(" "));
    const all = outputs.flatMap((o) => o.ids);
    expect(all).toHaveLength(ROWS);
    expect(new Set(all).size).toBe(ROWS);
    // More than one worker got rows, i.e. the claims actually raced.
    expect(outputs.filter((o) => o.ids.length > 0).length).toBeGreaterThanOrEqual(2);

    expect(countSignals(store.db)).toEqual({ pending: 0, processing: 0, done: ROWS, failed: 0 });
    const byId = new Map(outputs.flatMap((o) => o.ids.map((id) => [id, o.worker] as const)));
    const rows = store.db
      .query<{ id: number; status: string; claimed_by: string; result: string }, []>("SELECT id, status, claimed_by, result FROM signals")
      .all();
    expect(rows).toHaveLength(ROWS);
    for (const r of rows) {
      expect(r.status).toBe("done");
      expect(r.claimed_by).toBe(byId.get(r.id)!);
      expect(r.result).toBe(`handled by ${r.claimed_by}`);
    }
  }, 30_000);
});
