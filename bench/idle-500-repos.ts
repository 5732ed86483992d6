// Idle cost at fleet size: 500 registered repos holding 5,000 tasks (10 per repo, mixed statuses:
// ready, done, cancelled — none needs an agent), seeded through the store's own code before the daemon
// starts; the daemon at default settings, idle CPU % of one core over 30 s and RSS (idle-100-repos's
// measurement, `idleRepos`). Target: ≤ 1 % of one core.
// Sizes: KASMOS_BENCH_REPOS (500), KASMOS_BENCH_TASKS_PER_REPO (10), KASMOS_BENCH_IDLE_SEC (30).
import { openStore } from "../src/store/db.ts";
import { createTask } from "../src/store/tasks.ts";
import { applyTaskUpdate } from "../src/store/task-update.ts";
import type { TaskStatus } from "../src/lifecycle/types.ts";
import { idleRepos } from "./idle-100-repos.ts";
import { type BenchResult, envInt } from "./lib.ts";
import { PLAN, storeFile } from "./signal-lib.ts";

const STATUSES: TaskStatus[] = ["done", "ready", "done", "cancelled", "done", "ready", "done", "done", "cancelled", "ready"];

export function run(): Promise<BenchResult> {
  const repos = envInt("KASMOS_BENCH_REPOS", 500);
  const perRepo = envInt("KASMOS_BENCH_TASKS_PER_REPO", 10);
  return idleRepos({
    name: "idle-500-repos",
    repos,
    idleMs: envInt("KASMOS_BENCH_IDLE_SEC", 30) * 1000,
    targetCpuPct: 1,
    seed: (sb, projects) => {
      const t0 = performance.now();
      const db = openStore(storeFile(sb));
      try {
        db.transaction(() => {
          for (const project of projects) {
            for (let i = 0; i < perRepo; i++) {
              const name = `t${String(i).padStart(3, "0")}`;
              createTask(db, { project, name, branch: `plan/${name}`, content: PLAN });
              const status = STATUSES[i % STATUSES.length]!;
              if (status !== "ready") applyTaskUpdate(db, project, name, { status });
            }
          }
        }).immediate();
      } finally {
        db.close();
      }
      const counts = STATUSES.slice(0, Math.min(perRepo, STATUSES.length)).reduce<Record<string, number>>((acc, st) => ({ ...acc, [st]: (acc[st] ?? 0) + 1 }), {});
      return `${(projects.length * perRepo).toLocaleString("en-US")} tasks (${perRepo} per repo: ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ")}) seeded with createTask / applyTaskUpdate in one transaction in ${((performance.now() - t0) / 1000).toFixed(1)} s, before the daemon started`;
    },
  });
}
