// Agent orchestration end to end: the compiled daemon, real tmux, real git worktrees and fake agents
// (test/fixtures/fake-agent.sh) that read their prompt, commit and emit the right signal.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";
import { fakeAgentConfig, WAVES_PLAN } from "../helpers/agents.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe("agents", () => {
  test("planning → waves (2 coders in parallel) → review ⇄ fixer → master with the right SHA → done", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    const planFile = join(sb.dir, "plan.md");
    writeFileSync(planFile, WAVES_PLAN);
    const niceLog = join(sb.dir, "nice.log");
    sb.writeConfig(fakeAgentConfig(`FAKE_PLAN=${planFile} FAKE_REVIEW_ROUNDS=1 FAKE_NICE_LOG=${niceLog}`));
    const daemon = await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    expect((await sb.run(["task", "create", "feat"], { cwd: repo })).code).toBe(0);
    expect((await sb.run(["task", "transition", "feat", "plan_start"], { cwd: repo })).code).toBe(0);

    await waitFor(() => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = 'feat'")[0]?.status === "done", 90_000, "feat to reach done");

    const moves = sb.query<{ from_status: string; to_status: string }>("SELECT from_status, to_status FROM audit_events WHERE kind = 'plan_transition' ORDER BY id").map((r) => `${r.from_status}→${r.to_status}`);
    expect(moves).toEqual([
      "ready→planning",
      "planning→ready",
      "ready→implementing",
      "implementing→reviewing",
      "reviewing→implementing",
      "implementing→reviewing",
      "reviewing→verifying",
      "verifying→done",
    ]);
    const spawned = sb.query<{ title: string }>("SELECT title FROM agents WHERE state != 'failed' ORDER BY id").map((r) => r.title);
    expect(spawned.slice(0, 2)).toEqual(["feat-plan", "feat-architect"]);
    expect(spawned.slice(2, 4).sort()).toEqual(["feat-W1-T1", "feat-W1-T2"]);
    expect(spawned.slice(4)).toEqual(["feat-W2-T3", "feat-review-1", "feat-fix-1", "feat-review-2", "feat-verify-1"]);
    expect(sb.query("SELECT * FROM agents WHERE state = 'failed'")).toEqual([]);

    // Wave 1 ran in parallel: both coders started before either finished its task.
    const ev = sb.query<{ kind: string; message: string; id: number }>("SELECT id, kind, message FROM audit_events ORDER BY id");
    const started = (t: string) => ev.find((e) => e.kind === "agent_spawned" && e.message.includes(` ${t} `))!.id;
    const firstDone = ev.find((e) => e.kind === "signal_done" && e.message.startsWith("implement_task_finished"))!.id;
    expect(started("feat-W1-T1")).toBeLessThan(firstDone);
    expect(started("feat-W1-T2")).toBeLessThan(firstDone);
    // Every agent ran at the default [resources] agent_nice, below the daemon's priority.
    const nices = sb.query<{ detail: string }>("SELECT detail FROM audit_events WHERE kind = 'agent_spawned'").map((r) => (JSON.parse(r.detail) as { nice?: number }).nice);
    expect(nices.length).toBe(9);
    expect(new Set(nices)).toEqual(new Set([10]));
    // …and really did: the process (relative to this test's own niceness) and its session's autogroup.
    const own = Number(Bun.spawnSync(["nice"]).stdout.toString().trim());
    const lines = readFileSync(niceLog, "utf8").trim().split("\n");
    expect(lines.length).toBe(9);
    for (const line of lines) {
      const [title, nice, ...group] = line.split(" ");
      expect(`${title} ${nice}`).toBe(`${title} ${Math.min(19, own + 10)}`);
      if (group[0] !== "none") expect(`${title} ${group.join(" ")}`).toMatch(/ nice 10$/);
    }

    // The verification is bound to the branch head the master reviewed; all work is on the branch.
    const head = Bun.spawnSync(["git", "-C", repo, "rev-parse", "plan/feat"]).stdout.toString().trim();
    const t = sb.query<{ verified_sha: string; verify_origin: string; review_cycle: number }>("SELECT verified_sha, verify_origin, review_cycle FROM tasks WHERE name = 'feat'")[0]!;
    expect(t).toEqual({ verified_sha: head, verify_origin: "master", review_cycle: 1 });
    const files = Bun.spawnSync(["git", "-C", repo, "ls-tree", "--name-only", "plan/feat"]).stdout.toString();
    for (const f of ["w1-t1.txt", "w1-t2.txt", "w2-t3.txt", "fix-feat-fix-1.txt"]) expect(files).toContain(f);

    // Superseded agents are stopped; at the end nothing of this task runs.
    await waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 0, 20_000, "agents to stop");
    const list = await sb.run(["agent", "list", "--all", "--json"], { cwd: repo });
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(9);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 120_000);

  test("a missing agent program and an agent that dies without signalling leave an attention item", async () => {
    const repo = makeGitRepo(sb.dir, "web");
    sb.writeConfig(fakeAgentConfig("FAKE_MODE=die", '[agents.planner]\nprogram = "no-such-agent-program"'));
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    await sb.run(["task", "create", "a"], { cwd: repo });
    await sb.run(["task", "transition", "a", "plan_start"], { cwd: repo });
    await waitFor(() => sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = 'a'")[0]?.attention !== "", 20_000, "attention for the missing program");
    expect(sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = 'a'")[0]!.attention).toContain("agent program not found: no-such-agent-program");
    const show = await sb.run(["task", "show", "a"], { cwd: repo });
    expect(show.stdout).toContain("ATTENTION:");

    // A single-coder task whose agent exits at once: stuck_detected + attention, no respawn loop.
    writeFileSync(join(sb.dir, "small.md"), "## Wave 1: a\n### Task 1: x\ny\n");
    await sb.run(["task", "create", "b", "--plan", join(sb.dir, "small.md")], { cwd: repo });
    await sb.run(["task", "transition", "b", "implement_start"], { cwd: repo });
    await waitFor(() => sb.query("SELECT * FROM audit_events WHERE kind = 'stuck_detected' AND task = 'b'").length === 1, 30_000, "stuck_detected for b");
    await Bun.sleep(1000);
    expect(sb.query("SELECT * FROM agents WHERE task = 'b'").length).toBe(1); // not restarted
    expect(sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = 'b'")[0]!.attention).toContain("without its signal");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);
});
