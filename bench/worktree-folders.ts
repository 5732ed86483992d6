// Signal latency in a repo with many old worktree folders (issue 14): N folders of done tasks under
// .worktrees/ (each with a `.git` file and a signals folder, as kasmos leaves them) plus one task
// bounced implementing ⇄ reviewing by signals in the root folder. Reports p50/p90 of write → commit
// (the plan_transition row's timestamp), the daemon's inotify watch count and folders left out.
//   bun bench/worktree-folders.ts [folders=0,500,2000] [samples=100]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../src/store/db.ts";
import { createTask } from "../src/store/tasks.ts";
import { writeTaskUpdate } from "../src/store/task-update.ts";
import { percentile, Sandbox } from "./lib.ts";
import { EventStream, getJson, registerRepo, seedTasks, signalsDir, storeFile, wallMs, writeConfig, writeSignalAtomic } from "./signal-lib.ts";

const counts = (process.argv[2] ?? "0,500,2000").split(",").map(Number);
const samples = Number(process.argv[3] ?? "100");

for (const n of counts) {
  const sb = new Sandbox("kwf-");
  try {
    writeConfig(sb, { poll_interval_sec: 2, auto_review_fix: false });
    const repo = sb.makeGitRepo("wf");
    seedTasks(sb, "wf", ["t"], "implementing");
    const db = openStore(storeFile(sb));
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        createTask(db, { project: "wf", name: `old${i}`, content: "# plan" });
        writeTaskUpdate(db, "wf", `old${i}`, { branch: `plan/old${i}`, status: "done" });
        const dir = join(repo, ".worktrees", `plan-old${i}`);
        mkdirSync(join(dir, ".kasmos", "signals"), { recursive: true });
        writeFileSync(join(dir, ".git"), `gitdir: ${join(repo, ".git", "worktrees", `plan-old${i}`)}\n`);
      }
    }).immediate();
    db.close();
    const d = await sb.startDaemon();
    await registerRepo(d.socket, repo);
    const es = await EventStream.open(d.socket, "kinds=plan_transition");
    const lat: number[] = [];
    let toReviewing = true;
    for (let i = 0; i < samples + 10; i++) {
      await Bun.sleep(20 + Math.random() * 10);
      writeSignalAtomic(signalsDir(repo), toReviewing ? "implement-finished-t" : "review-changes-t");
      const w = wallMs();
      const ev = await es.next(5000);
      if (i >= 10) lat.push(Date.parse(ev.timestamp) - w);
      toReviewing = !toReviewing;
    }
    const st = await getJson<{ repos: { watched_folders?: number; worktrees_left_out?: number }[] }>(d.socket, "/v1/status");
    lat.sort((a, b) => a - b);
    console.log(`${n} old worktree folders: p50 ${percentile(lat, 50).toFixed(1)} ms, p90 ${percentile(lat, 90).toFixed(1)} ms (${samples} signals); watched folders ${st.repos[0]?.watched_folders ?? "?"}, left out ${st.repos[0]?.worktrees_left_out ?? "?"}`);
    es.close();
  } finally {
    await sb.cleanup();
  }
}
