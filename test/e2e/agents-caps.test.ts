// Agent orchestration at its limits, end to end: the compiled daemon, real tmux, real git worktrees
// and fake agents (test/fixtures/fake-agent.sh). Covers the review-fix cap, verify force-promotion,
// a stale master approval being replaced, and a daemon SIGKILLed in the middle of a wave.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { alive, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";
import { createPlanned, fakeAgentConfig, SMALL_PLAN, WAVES_PLAN } from "../helpers/agents.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

interface TaskRow {
  status: string;
  execution_phase: string;
  active_agent: string;
  review_cycle: number;
  verify_cycle: number;
  verified_sha: string;
  verify_origin: string;
  attention: string;
}
const task = (name: string): TaskRow | undefined =>
  sb.query<TaskRow>("SELECT status, execution_phase, active_agent, review_cycle, verify_cycle, verified_sha, verify_origin, attention FROM tasks WHERE name = ?", name)[0];

interface AgentRow {
  id: number;
  title: string;
  role: string;
  state: string;
  session: string;
  started_at: string;
  ended_at: string | null;
}
const agents = (t: string): AgentRow[] => sb.query<AgentRow>("SELECT id, title, role, state, session, started_at, ended_at FROM agents WHERE task = ? ORDER BY id", t);

function branchHead(repo: string, t: string): string {
  return Bun.spawnSync(["git", "-C", repo, "rev-parse", `plan/${t}`]).stdout.toString().trim();
}

/** Per title, agent lifetimes never overlap: each earlier row ended before the next one started. */
function expectNoOverlap(rows: AgentRow[]): void {
  const byTitle = new Map<string, AgentRow[]>();
  for (const r of rows) byTitle.set(r.title, [...(byTitle.get(r.title) ?? []), r]);
  for (const [title, list] of byTitle) {
    expect(list.filter((r) => r.state === "running").length, `${title}: running rows`).toBeLessThanOrEqual(1);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      expect(prev.ended_at, `${title}#${prev.id} must have ended before #${list[i]!.id} started`).not.toBeNull();
      expect(prev.ended_at! <= list[i]!.started_at, `${title}: #${prev.id} ended ${prev.ended_at} after #${list[i]!.id} started ${list[i]!.started_at}`).toBe(true);
    }
  }
}

/** Register the repo, create a task with a stored plan and start implementing it (no planner). */
async function startPlanned(repo: string, name: string, plan: string): Promise<void> {
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
  await createPlanned(sb, repo, name, plan);
}

describe("agents at their limits", () => {
  test("max_review_fix_cycles = 1: the second change request hits the cap, no second fixer", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=5", "max_review_fix_cycles = 1"));
    const daemon = await sb.foreground();
    await startPlanned(repo, "cap", SMALL_PLAN);

    await waitFor(() => (task("cap")?.attention ?? "") !== "", 60_000, "attention for the review-fix cap");
    const t = task("cap")!;
    expect(t.attention).toContain("review-fix cycle limit reached (2/1)");
    expect(t.status).toBe("implementing");
    expect(t.review_cycle).toBe(1);
    expect(t.execution_phase).toBe("");
    // Give the reconciler a few passes: nothing may start for a capped task.
    await Bun.sleep(1500);
    expect(task("cap")!.status).toBe("implementing");
    expect(agents("cap").map((a) => a.title)).toEqual(["cap-coder", "cap-review-1", "cap-fix-1", "cap-review-2"]);
    expect(agents("cap").filter((a) => a.state === "failed")).toEqual([]);
    expect(sb.query("SELECT * FROM audit_events WHERE kind = 'attention' AND task = 'cap' AND message LIKE '%cycle limit%'").length).toBe(1);

    const moves = sb.query<{ from_status: string; to_status: string }>("SELECT from_status, to_status FROM audit_events WHERE kind = 'plan_transition' ORDER BY id").map((r) => `${r.from_status}→${r.to_status}`);
    expect(moves).toEqual(["ready→implementing", "implementing→reviewing", "reviewing→implementing", "implementing→reviewing", "reviewing→implementing"]);
    // The superseded reviewer is stopped; nothing of this task keeps running.
    await waitFor(() => agents("cap").every((a) => a.state !== "running"), 20_000, "agents of cap to stop");
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 90_000);

  test("readiness_max_verify_cycles = 2: two failed verify rounds go back to a fixer, the third is force-promoted", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0 FAKE_VERIFY_FAILS=5", "readiness_max_verify_cycles = 2"));
    const daemon = await sb.foreground();
    await startPlanned(repo, "fp", SMALL_PLAN);

    await waitFor(() => task("fp")?.status === "done", 90_000, "fp to reach done");
    const t = task("fp")!;
    expect(t.verify_origin).toBe("force_promoted");
    expect(t.verify_cycle).toBe(2);
    expect(t.review_cycle).toBe(2);
    expect(t.verified_sha).toBe(branchHead(repo, "fp")); // force-promotion binds to the head
    expect(agents("fp").map((a) => a.title)).toEqual([
      "fp-coder",
      "fp-review-1",
      "fp-verify-1",
      "fp-fix-1",
      "fp-review-2",
      "fp-verify-2",
      "fp-fix-2",
      "fp-review-3",
      "fp-verify-3",
    ]);
    const moves = sb.query<{ from_status: string; to_status: string; message: string }>("SELECT from_status, to_status, message FROM audit_events WHERE kind = 'plan_transition' AND task = 'fp' ORDER BY id");
    expect(moves.map((r) => `${r.from_status}→${r.to_status}`).slice(-3)).toEqual(["implementing→reviewing", "reviewing→verifying", "verifying→done"]);
    expect(moves.filter((r) => r.message.includes("force_promoted")).map((r) => r.message)).toEqual([expect.stringContaining("verifying → done (verify_approved, origin force_promoted")]);
    expect(moves.filter((r) => r.from_status === "verifying" && r.to_status === "implementing").length).toBe(2);
    const files = Bun.spawnSync(["git", "-C", repo, "ls-tree", "--name-only", "plan/fp"]).stdout.toString();
    for (const f of ["all.txt", "fix-fp-fix-1.txt", "fix-fp-fix-2.txt"]) expect(files).toContain(f);
    await waitFor(() => agents("fp").every((a) => a.state !== "running"), 20_000, "agents of fp to stop");
    expectNoOverlap(agents("fp"));
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 120_000);

  test("a stale master approval is rejected, that master is replaced, the fresh one's approval completes the task", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0 FAKE_MASTER_STALE=1"));
    const daemon = await sb.foreground();
    await startPlanned(repo, "st", SMALL_PLAN);

    await waitFor(() => task("st")?.status === "done", 60_000, "st to reach done");
    const t = task("st")!;
    expect(t.verify_origin).toBe("master");
    expect(t.verified_sha).toBe(branchHead(repo, "st"));
    expect(t.verify_cycle).toBe(0);

    const rejected = sb.query<{ status: string; result: string }>("SELECT status, result FROM signals WHERE task = 'st' AND signal_type = 'verify_approved' ORDER BY id");
    expect(rejected.length).toBe(2);
    expect(rejected[0]!.status).toBe("failed");
    expect(rejected[0]!.result).toStartWith("stale_master_approval");
    expect(rejected[1]!.status).toBe("done");
    expect(sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'signal_failed' AND task = 'st'").map((r) => r.message)).toEqual([expect.stringContaining("stale_master_approval")]);

    const masters = agents("st").filter((a) => a.title === "st-verify-1");
    expect(masters.length).toBe(2);
    expect(masters[0]!.state).toBe("killed");
    expect(sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'agent_killed' AND task = 'st'").map((r) => r.message)).toContain("master st-verify-1 stopped: approval rejected");
    expect(agents("st").map((a) => a.title)).toEqual(["st-coder", "st-review-1", "st-verify-1", "st-verify-1"]);
    await waitFor(() => agents("st").every((a) => a.state !== "running"), 20_000, "agents of st to stop");
    expectNoOverlap(agents("st"));
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 90_000);

  test("a daemon SIGKILLed mid-wave adopts the running coders on restart; the wave completes once", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0 FAKE_SLOW_WAVE=3"));
    const first = await sb.foreground();
    await startPlanned(repo, "mw", WAVES_PLAN);

    const coders = () => agents("mw").filter((a) => a.role === "coder" && a.state === "running");
    await waitFor(() => coders().length === 2, 30_000, "both wave-1 coders to run");
    const wave1 = coders();
    expect(wave1.map((a) => a.title).sort()).toEqual(["mw-W1-T1", "mw-W1-T2"]);
    // Neither coder has signalled yet (they sleep 3 s first).
    expect(sb.query("SELECT * FROM audit_events WHERE task = 'mw' AND kind = 'signal_done' AND message LIKE 'implement_task_finished%'")).toEqual([]);

    const pid = first.pid;
    const killedAt = new Date().toISOString();
    process.kill(pid, "SIGKILL");
    await first.exited;
    expect(alive(pid)).toBe(false);
    const hasSession = (name: string) => Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "has-session", "-t", `=${name}`]).exitCode === 0;
    for (const a of wave1) expect(hasSession(a.session), `${a.session} survives the daemon`).toBe(true);

    const second = await sb.foreground();
    // Adopted, not restarted: still one row per coder, both still running in their old sessions.
    await Bun.sleep(600);
    expect(agents("mw").filter((a) => a.title.startsWith("mw-W1-")).map((a) => `${a.id}:${a.title}`).sort()).toEqual(wave1.map((a) => `${a.id}:${a.title}`).sort());

    await waitFor(() => task("mw")?.status === "done", 90_000, "mw to reach done");
    const t = task("mw")!;
    expect(t.verify_origin).toBe("master");
    expect(t.verified_sha).toBe(branchHead(repo, "mw"));

    const rows = agents("mw");
    const titles = rows.map((a) => a.title);
    for (const title of ["mw-architect", "mw-W1-T1", "mw-W1-T2", "mw-W2-T3", "mw-review-1", "mw-verify-1"]) expect(titles.filter((x) => x === title).length, title).toBe(1);
    expect(rows.filter((a) => a.state === "failed")).toEqual([]);
    // Each wave-1 coder was spawned once (before the kill) and finished its task once.
    expect(sb.query("SELECT * FROM audit_events WHERE task = 'mw' AND kind = 'agent_spawned' AND message LIKE 'coder mw-W1-%'").length).toBe(2);
    expect(sb.query("SELECT * FROM audit_events WHERE task = 'mw' AND kind = 'agent_spawned' AND message LIKE 'coder mw-W2-T3 %'").length).toBe(1);
    const finished = sb.query<{ timestamp: string }>("SELECT timestamp FROM audit_events WHERE task = 'mw' AND kind = 'signal_done' AND message LIKE 'implement_task_finished%' ORDER BY id");
    expect(finished.length).toBe(3);
    for (const f of finished) expect(f.timestamp > killedAt).toBe(true); // all handled by the restarted daemon
    // The restarted daemon stopped the adopted coders when their wave completed.
    for (const a of rows.filter((r) => r.title.startsWith("mw-W1-"))) expect(a.state).toBe("killed");
    expect(sb.query("SELECT * FROM audit_events WHERE task = 'mw' AND kind = 'stuck_detected'")).toEqual([]);
    const files = Bun.spawnSync(["git", "-C", repo, "ls-tree", "--name-only", "plan/mw"]).stdout.toString();
    for (const f of ["w1-t1.txt", "w1-t2.txt", "w2-t3.txt"]) expect(files).toContain(f);

    await waitFor(() => agents("mw").every((a) => a.state !== "running"), 20_000, "agents of mw to stop");
    expectNoOverlap(agents("mw"));
    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 150_000);
});
