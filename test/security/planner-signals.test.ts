// A sandboxed planner works in the repo root, which it may write: its signals folder there is its own
// task's (a folder of the daemon's, bound over <repo>/.kasmos/signals inside), so a signal file it
// writes for another task is quarantined with that reason, while its own planner-finished still
// advances its task. A link or FIFO where that folder goes refuses the start; the folder goes with its task.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPlanned, fakeAgentConfig, SMALL_PLAN } from "../helpers/agents.ts";
import { makeGitRepo, ROOT, Sandbox, waitFor } from "../helpers/env.ts";

const HOSTILE_PLANNER = join(ROOT, "test", "fixtures", "hostile-planner.sh");

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox("kps-");
});
afterEach(async () => {
  await sb.cleanup();
});

const task = (name: string) => sb.query<{ status: string; attention: string }>("SELECT status, attention FROM tasks WHERE name = ?", name)[0];

/** A daemon whose planner is the hostile one and whose coders wait forever (the victim stays implementing). */
async function start(): Promise<{ repo: string; daemon: Bun.Subprocess<"ignore", "pipe", "pipe"> }> {
  const repo = makeGitRepo(sb.dir, "shop");
  const planFile = join(sb.dir, "plan.md");
  writeFileSync(planFile, SMALL_PLAN);
  sb.writeConfig(
    fakeAgentConfig(
      "FAKE_REVIEW_ROUNDS=0",
      [
        "[agents.planner]",
        `program = "env OTHER_TASK=other FAKE_PLAN=${planFile} ${HOSTILE_PLANNER}"`,
        "[agents.coder]",
        'program = "tail -f /dev/null"',
        "[sandbox]",
        'mode = "bwrap"',
        `read = ["${planFile}"]`,
      ].join("\n"),
    ),
  );
  const daemon = await sb.foreground();
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
  // The victim: implementing, its coder running (and never finishing on its own).
  await createPlanned(sb, repo, "other", SMALL_PLAN);
  await waitFor(() => sb.query("SELECT 1 FROM agents WHERE task = 'other' AND role = 'coder' AND state = 'running'").length > 0, 30_000, "other's coder to run");
  return { repo, daemon };
}

describe("a sandboxed planner signals only for its own task", () => {
  test("its signal for another task is quarantined with the reason; .kasmos cannot be swapped; its own planner-finished advances its task; its folder goes with the task", async () => {
    const { repo, daemon } = await start();
    expect((await sb.run(["task", "create", "feat"], { cwd: repo })).code).toBe(0);
    expect((await sb.run(["task", "transition", "feat", "plan_start"], { cwd: repo })).code).toBe(0);
    // Its own signal: feat leaves planning with the stored plan (auto_advance takes it on to implementing).
    await waitFor(() => ["ready", "implementing"].includes(task("feat")?.status ?? ""), 60_000, "feat to leave planning");
    // The other task's signal: quarantined with the reason, the other task untouched.
    await waitFor(() => sb.query("SELECT 1 FROM audit_events WHERE kind = 'signal_quarantined' AND message LIKE '%implement-finished-other%'").length > 0, 30_000, "the quarantine");
    const q = sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'signal_quarantined'").map((r) => r.message);
    expect(q.some((m) => m.includes("implement-finished-other") && m.includes("task feat's own signals folder") && m.includes("an agent signals only for its own task"))).toBe(true);
    expect(task("other")!.status).toBe("implementing");
    expect(sb.query("SELECT 1 FROM signals WHERE task = 'other' AND signal_type = 'implement_finished'")).toEqual([]);
    // Nor could it swap .kasmos or its signals folder for one of its own, or reach another task's folder.
    const log = readFileSync(join(repo, "planner-escape.log"), "utf8");
    expect(log).toContain("escape attempts done");
    for (const k of ["rename_kasmos", "rename_signals", "other_task_folder"]) expect(log, k).toMatch(new RegExp(`^${k}: BLOCKED`, "m"));
    // The repo's own signals folder got nothing from it; the quarantined file waits in the task's folder.
    expect(readdirSync(join(repo, ".kasmos", "signals")).filter((n) => !n.startsWith(".") && n !== "failed" && n !== "processing")).toEqual([]);
    expect(readdirSync(join(repo, ".kasmos", "signals", "failed"))).toEqual([]);
    const own = join(sb.configDir, "task-signals", "shop", "feat");
    expect(lstatSync(own).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(own, "failed"))).toContain("implement-finished-other");
    // The task ends: its folder is removed.
    expect((await sb.run(["task", "transition", "feat", "cancel"], { cwd: repo })).code).toBe(0);
    await waitFor(() => !existsSync(own), 30_000, "feat's signals folder to be removed");
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 150_000);

  test("a link or a FIFO standing where its task's signals folder goes refuses the start; nothing is written through it", async () => {
    const { repo, daemon } = await start();
    // Pointed at the repo's real signals folder: were it followed, the planner would write there again.
    const projectDir = join(sb.configDir, "task-signals", "shop");
    mkdirSync(projectDir, { recursive: true });
    symlinkSync(join(repo, ".kasmos", "signals"), join(projectDir, "feat"));
    expect(Bun.spawnSync(["mkfifo", join(projectDir, "pipe")]).exitCode).toBe(0);
    for (const name of ["feat", "pipe"]) {
      expect((await sb.run(["task", "create", name], { cwd: repo })).code).toBe(0);
      expect((await sb.run(["task", "transition", name, "plan_start"], { cwd: repo })).code).toBe(0);
    }
    await waitFor(() => (task("feat")?.attention ?? "") !== "" && (task("pipe")?.attention ?? "") !== "", 30_000, "the refusals");
    expect(task("feat")!.attention).toContain("is a symbolic link");
    expect(task("pipe")!.attention).toContain("is not a folder");
    for (const name of ["feat", "pipe"]) {
      expect(task(name)!.status).toBe("planning");
      expect(sb.query("SELECT 1 FROM agents WHERE task = ? AND session != ''", name)).toEqual([]); // nothing started
    }
    expect(existsSync(join(repo, "planner-escape.log"))).toBe(false);
    expect(lstatSync(join(projectDir, "feat")).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(projectDir, "pipe")).isFIFO()).toBe(true);
    expect(task("other")!.status).toBe("implementing");
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 90_000);
});
