// Cost flat in history (issue 14), end to end with the compiled binary: a replay of the whole event
// log from 0 arrives complete and in order while the daemon keeps answering, and worktree folders of
// finished tasks are neither scanned nor watched (a re-opened task's folder is watched again).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { recordAudit } from "../../src/store/audit.ts";
import { openStore, writeTx } from "../../src/store/db.ts";
import { createTask } from "../../src/store/tasks.ts";
import { writeTaskUpdate } from "../../src/store/task-update.ts";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

/** The sandbox's store, seeded through the store's own functions before the daemon starts. */
function seed(fn: (db: ReturnType<typeof openStore>) => void): void {
  mkdirSync(sb.configDir, { recursive: true });
  const db = openStore(join(sb.configDir, "kasmos.db"));
  try {
    writeTx(db, () => fn(db));
  } finally {
    db.close();
  }
}

interface RepoStatusJson {
  project: string;
  watched_folders: number;
  worktrees_left_out: number;
}

async function repoStatus(project: string): Promise<RepoStatusJson> {
  const r = await api(sb.socket, "GET", "/v1/status");
  return (r.json.repos as RepoStatusJson[]).find((x) => x.project === project)!;
}

describe("event replay from 0", () => {
  test("60 k events: every one arrives exactly once, in order, exit 0; status answers meanwhile", async () => {
    const N = 60_000;
    seed((db) => {
      for (let i = 0; i < N; i++) recordAudit(db, { kind: "signal_done", project: "p", task: `t${i % 97}`, message: `seeded ${i}` });
    });
    sb.writeConfig("poll_interval_sec = 1\n");
    const daemon = await sb.foreground();
    const proc = Bun.spawn([join(import.meta.dir, "..", "..", "dist", "kas"), "daemon", "events", "--since", "0", "--json", "--count", String(N)], {
      env: sb.env,
      cwd: sb.dir,
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    sb.track(proc.pid);
    const hang = setTimeout(() => proc.kill("SIGKILL"), 120_000);
    const out = new Response(proc.stdout).text();
    // While the replay runs the daemon keeps answering (no assertion on how fast).
    let answeredDuring = 0;
    for (let i = 0; i < 2000 && proc.exitCode === null; i++) {
      const st = await api(sb.socket, "GET", "/v1/status");
      expect(st.status).toBe(200);
      if (proc.exitCode === null) answeredDuring++;
      await Bun.sleep(10);
    }
    const code = await proc.exited;
    clearTimeout(hang);
    const text = await out;
    expect(code).toBe(0);
    const ids = text
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids.length).toBe(N);
    for (let i = 0; i < N; i++) if (ids[i] !== i + 1) throw new Error(`event ${i}: id ${ids[i]}, expected ${i + 1}`);
    expect(answeredDuring).toBeGreaterThan(0);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 180_000);
});

describe("worktree folders of finished tasks", () => {
  test("not watched or scanned; an active task's folder is; a re-opened task's folder is watched again", async () => {
    const repo = makeGitRepo(sb.dir, "wt");
    const OLD = 60;
    // Worktree folders as kasmos makes them (a `.git` file), for tasks long done, one active task and one done task to re-open.
    const folder = (name: string) => {
      const dir = join(repo, ".worktrees", `plan-${name}`);
      mkdirSync(join(dir, ".kasmos", "signals"), { recursive: true });
      writeFileSync(join(dir, ".git"), `gitdir: ${join(repo, ".git", "worktrees", `plan-${name}`)}\n`);
      return join(dir, ".kasmos", "signals");
    };
    const names = [...Array.from({ length: OLD }, (_, i) => `old${i}`), "live", "back"];
    const sigs = Object.fromEntries(names.map((n) => [n, folder(n)]));
    seed((db) => {
      for (const n of names) {
        createTask(db, { project: "wt", name: n, content: "## Wave 1: a\n### Task 1: x\ny\n" });
        const open = n === "live";
        writeTaskUpdate(db, "wt", n, { branch: `plan/${n}`, status: open ? "implementing" : "done" });
      }
    });
    sb.writeConfig("poll_interval_sec = 0.5\nauto_review_fix = false\n");
    const daemon = await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    const row = (n: string) => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = ?", n)[0]!.status;

    // Root signals folder, .worktrees itself and the live task's folder: nothing of the 61 done tasks.
    await waitFor(async () => (await repoStatus("wt")).worktrees_left_out === OLD + 1, 10_000, "done tasks' folders left out");
    expect((await repoStatus("wt")).watched_folders).toBe(3);

    // A signal in the active task's worktree is processed.
    const drop = (dir: string, name: string) => {
      writeFileSync(join(dir, `.tmp-${name}`), "");
      renameSync(join(dir, `.tmp-${name}`), join(dir, name));
    };
    drop(sigs.live!, "implement-finished-live");
    await waitFor(() => row("live") === "reviewing", 10_000, "the live task's signal");

    // Re-opened (from the CLI, straight into the store): its folder is watched and scanned again.
    const reopened = await sb.run(["task", "transition", "back", "reimplement", "--repo", repo]);
    expect(`${reopened.code} ${reopened.stderr}`).toBe("0 ");
    await waitFor(async () => (await repoStatus("wt")).watched_folders === 4, 10_000, "the re-opened task's folder watched");
    expect((await repoStatus("wt")).worktrees_left_out).toBe(OLD);
    drop(sigs.back!, "implement-finished-back");
    await waitFor(() => row("back") === "reviewing", 10_000, "the re-opened task's signal");

    // task show: the newest entries and how many there are; task history pages back with --before.
    const show = JSON.parse((await sb.run(["task", "show", "back", "--repo", repo, "--json", "--history", "2"])).stdout) as { history: { id: number }[]; history_total: number };
    expect(show.history).toHaveLength(2);
    expect(show.history_total).toBeGreaterThan(2);
    const older = JSON.parse((await sb.run(["task", "history", "back", "--repo", repo, "--json", "--before", String(show.history[1]!.id)])).stdout) as { id: number }[];
    expect(older.length).toBe(show.history_total - 2);
    expect(older.every((h) => h.id < show.history[1]!.id)).toBe(true);

    // A signal left in a finished task's folder stays there (that folder is not scanned).
    drop(sigs.old3!, "implement-finished-old3");
    await Bun.sleep(1500);
    expect(row("old3")).toBe("done");
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 60_000);
});
