// Burst handling in watch mode, end to end with the compiled daemon: a burst of signal files is drained
// by back-to-back scans with the repo's inotify watches paused, then the watches are re-armed. The poll
// interval is 60 s here, so the single signal after the burst can only be seen through a re-armed watch.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../src/store/db.ts";
import { createTask } from "../../src/store/tasks.ts";
import { applyTaskUpdate } from "../../src/store/task-update.ts";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

const BURST = 300;

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

function drop(dir: string, name: string, body = ""): void {
  const tmp = join(dir, `.tmp-${name}`);
  writeFileSync(tmp, body);
  renameSync(tmp, join(dir, name));
}

describe("signal bursts in watch mode", () => {
  test("300 files: all applied once, the watches come back, a later single signal is seen without the poll", async () => {
    const repo = makeGitRepo(sb.dir, "burst");
    const sig = join(repo, ".kasmos", "signals");
    mkdirSync(sig, { recursive: true });
    sb.writeConfig(["watch_signals = true", "poll_interval_sec = 60.0", "auto_review_fix = false"].join("\n"));
    // Tasks seeded straight into the store (creating 301 through the CLI would take most of the test).
    const store = openStore(join(sb.configDir, "kasmos.db"));
    store.transaction(() => {
      for (let i = 0; i <= BURST; i++) {
        createTask(store, { project: "burst", name: `t${i}`, branch: `plan/t${i}`, content: "## Wave 1: a\n### Task 1: one\ndo it\n" });
        applyTaskUpdate(store, "burst", `t${i}`, { status: "reviewing" });
      }
    })();
    store.close();

    const daemon = await sb.foreground();
    let log = "";
    const decoder = new TextDecoder();
    const draining = (async () => {
      for await (const chunk of daemon.stderr) log += decoder.decode(chunk, { stream: true });
    })();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);

    const db = new Database(join(sb.configDir, "kasmos.db"), { readonly: true });
    try {
      const done = (): number => db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM signals WHERE status = 'done'").get()!.n;
      for (let i = 1; i <= BURST; i++) drop(sig, `review-changes-t${i}`, "please fix");
      await waitFor(() => done() === BURST, 30_000, `${BURST} signals to be applied`);
      // On a loaded machine the 300 files can arrive as more than one burst: each one ends drained.
      const lines = () => log.split("\n").filter((l) => l.includes("burst: burst"));
      await waitFor(() => lines().length > 0 && lines().at(-1)!.includes("burst drained"), 10_000, "the burst to be reported drained");
      const burstLines = lines();
      expect(burstLines[0]).toContain("burst: burst of signal files: scanning back to back until quiet (watches paused)");
      expect(burstLines[burstLines.length - 1]).toMatch(/burst: burst drained: \d+ signal files in \d+ scans, \d+ ms; watching again$/);

      // Every file applied exactly once, nothing left behind.
      const transitions = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'plan_transition' AND project = 'burst'").get()!.n;
      expect(transitions).toBe(BURST);
      const implementing = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM tasks WHERE project = 'burst' AND status = 'implementing'").get()!.n;
      expect(implementing).toBe(BURST);
      expect(readdirSync(sig).filter((n) => !n.startsWith(".") && n !== "failed" && n !== "processing")).toEqual([]);

      // The watches are back: one more signal is applied long before the 60 s poll could find it.
      drop(sig, "review-changes-t0", "one more");
      await waitFor(() => done() === BURST + 1, 10_000, "the single signal after the burst (watch re-armed)");
    } finally {
      db.close();
      daemon.kill("SIGTERM");
      await daemon.exited;
      await draining;
    }
  }, 60_000);
});
