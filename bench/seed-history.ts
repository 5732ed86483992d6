// Seed a store with a large finished history through the store's own functions (issue 14 measurements):
//   bun bench/seed-history.ts <store.db> <project> [signals=200000]
// Per 4 signals: one done task (plan text ~2 KiB, verified, PR merged), 8 audit rows, 2 ended agents
// with usage. Quick: one transaction per 10 k signals.
import { recordAudit } from "../src/store/audit.ts";
import { endAgent, insertAgent } from "../src/store/agents.ts";
import { openStore, writeTx } from "../src/store/db.ts";
import { insertFinishedSignal } from "../src/store/signals.ts";
import { createTask } from "../src/store/tasks.ts";
import { writeTaskUpdate } from "../src/store/task-update.ts";
import { setAgentUsage } from "../src/store/usage.ts";

const [path, project, n = "200000"] = process.argv.slice(2);
if (!path || !project) throw new Error("usage: bun bench/seed-history.ts <store.db> <project> [signals]");
const total = Number(n);
const db = openStore(path);
const plan = `# Plan\n\n## Wave 1\n\n### Task 1: do it\n\n${"Lorem ipsum dolor sit amet. ".repeat(70)}\n`;
const t0 = performance.now();
for (let base = 0; base < total; base += 10_000) {
  writeTx(db, () => {
    for (let i = base; i < Math.min(total, base + 10_000); i++) {
      const task = `old-${Math.floor(i / 4)}`;
      if (i % 4 === 0) {
        createTask(db, { project, name: task, content: plan });
        writeTaskUpdate(db, project, task, { branch: `plan/${task}`, status: "done", timestampColumn: "done_at", verification: { sha: "a".repeat(40), baseSha: "b".repeat(40), by: "master", origin: "master" }, prUrl: `https://example.invalid/pr/${i}`, prState: "merged", prNumber: i + 1, prCreateState: "created" });
        for (let k = 0; k < 2; k++) {
          const a = insertAgent(db, { project, task, title: `${task}-coder${k}`, role: "coder", session: `s-${task}-${k}`, cwd: "", program: "" });
          setAgentUsage(db, { id: a.id, project, task, role: "coder" }, { "claude-sonnet-4": { input: 1000, output: 200, cacheWrite: 10, cacheRead: 5000 } }, { offset: 1, lastId: "" });
          endAgent(db, a.id, "exited", 0, "done");
        }
      }
      const id = insertFinishedSignal(db, { project, task, type: "implement_finished", source: `file:x#${i}`, status: "done", result: "ok" }, "seed");
      for (let k = 0; k < 2; k++) recordAudit(db, { kind: k ? "plan_transition" : "signal_done", project, task, signalId: id, fromStatus: "implementing", toStatus: "reviewing", event: "implement_finished", message: "seeded" });
    }
  });
}
db.exec("PRAGMA optimize");
db.close();
console.log(`seeded ${total} signals in ${Math.round(performance.now() - t0)} ms`);
