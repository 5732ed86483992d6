// `kas agent restart` / `kas task retry` refuse, with the way on and a non-zero exit, what cannot start
// anything: a task on budget hold (resume it), a done or cancelled task, an unknown task or title, an
// empty or malformed name (said as such, not as an unknown route). Compiled daemon, real tmux.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
let repo: string;
let daemon: Bun.Subprocess<"ignore", "pipe", "pipe">;

const row = (name: string) => sb.query<{ status: string; hold: string }>("SELECT status, hold FROM tasks WHERE name = ?", name)[0];
const restarts = () => sb.query("SELECT id FROM audit_events WHERE kind = 'agent_restarted'").length;

function write(sql: string, ...params: (string | number)[]): void {
  const db = new Database(join(sb.configDir, "kasmos.db"));
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.query(sql).run(...params);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  sb = new Sandbox();
  repo = makeGitRepo(sb.dir, "held");
  // Agents idle (the generic adapter appends the prompt file: $0); a budget of 1000 tokens per task.
  sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "sh -c 'exec sleep 600'"\n[budget]\ntask_tokens = 1000\n`);
  daemon = await sb.foreground();
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
}, 60_000);

afterAll(async () => {
  daemon?.kill("SIGTERM");
  await daemon?.exited;
  await sb?.cleanup();
});

describe("restart and retry refusals", () => {
  test("a task on budget hold: restart and retry refuse with kas task resume, start nothing, audit nothing", async () => {
    await sb.run(["task", "create", "h"], { cwd: repo });
    await sb.run(["task", "transition", "h", "plan_start"], { cwd: repo });
    await waitFor(() => sb.query("SELECT id FROM agents WHERE task = 'h' AND state = 'running'").length === 1, 30_000, "the planner to start");
    const id = sb.query<{ id: number }>("SELECT id FROM agents WHERE task = 'h'")[0]!.id;
    // The planner "spent" 2000 tokens and the task is held for it (as the daemon does when it reads usage;
    // a generic CLI reports none): the spend stays over the limit, so the hold stands.
    write("INSERT INTO agent_usage (agent_id, project, task, role, model, input, output, updated_at) VALUES (?, 'held', 'h', 'planner', 'm', 2000, 0, ?)", id, new Date().toISOString());
    write("UPDATE tasks SET hold = 'task tokens 2000 reached its budget task_tokens = 1000' WHERE name = 'h'");
    await waitFor(() => sb.query("SELECT id FROM agents WHERE task = 'h' AND state = 'running'").length === 0, 30_000, "the held task's agent to stop");
    for (const args of [["agent", "restart", "h-plan"], ["task", "retry", "h"]]) {
      const r = await sb.run(args, { cwd: repo });
      expect(r.code, `${args.join(" ")}: ${r.stdout}`).not.toBe(0);
      expect(r.stderr).toContain("budget hold");
      expect(r.stderr).toContain("kas task resume h");
      expect(r.stdout).not.toContain("restarting");
    }
    expect(restarts()).toBe(0);
    await Bun.sleep(600); // three passes: nothing started for the held task
    expect(sb.query("SELECT id FROM agents WHERE task = 'h' AND state = 'running'").length).toBe(0);
  }, 90_000);

  test("done and cancelled tasks: nothing runs for them, said as such", async () => {
    await sb.run(["task", "create", "c"], { cwd: repo });
    expect((await sb.run(["task", "transition", "c", "cancel"], { cwd: repo })).code).toBe(0);
    await sb.run(["task", "create", "d"], { cwd: repo });
    write("UPDATE tasks SET status = 'done' WHERE name = 'd'");
    for (const [t, state] of [["c", "cancelled"], ["d", "done"]] as const) {
      const retry = await sb.run(["task", "retry", t], { cwd: repo });
      expect(retry.code).not.toBe(0);
      expect(retry.stderr).toContain(`task ${t} is ${state}`);
      expect(retry.stderr).not.toContain("running");
      const restart = await sb.run(["agent", "restart", `${t}-plan`], { cwd: repo });
      expect(restart.code).not.toBe(0);
      expect(restart.stderr).toContain(`task ${t} is ${state}`);
    }
    expect(restarts()).toBe(0);
  }, 60_000);

  test("a task that needs no agent now (ready): retry says so, not that its agents are running", async () => {
    await sb.run(["task", "create", "r"], { cwd: repo });
    const retry = await sb.run(["task", "retry", "r"], { cwd: repo });
    expect(retry.code).not.toBe(0);
    expect(retry.stderr).toContain("its current state (ready) needs no agent");
    expect(retry.stderr).not.toContain("running");
  }, 60_000);

  test("unknown and malformed names get a clear message, not a route", async () => {
    const unknown = await sb.run(["task", "retry", "nope"], { cwd: repo });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("task not found: nope");
    const unknownTitle = await sb.run(["agent", "restart", "nope-plan"], { cwd: repo });
    expect(unknownTitle.code).not.toBe(0);
    expect(unknownTitle.stderr).toContain("no agent or task for nope-plan");
    for (const args of [["agent", "restart", ""], ["agent", "capture", ""], ["agent", "kill", " "], ["agent", "send", "", "hi"], ["task", "retry", ""], ["agent", "restart", "a/b"]]) {
      const r = await sb.run(args, { cwd: repo });
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).not.toContain("/v1/");
      expect(r.stderr, args.join(" ")).toMatch(/(agent title|task name) is required|invalid (agent title|task name)/);
    }
  }, 60_000);
});
