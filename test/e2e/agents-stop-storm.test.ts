// A storm of stops, end to end (compiled daemon, real tmux, fake agents): 20 wave coders of one task
// run, the task is cancelled, and an unrelated signal lands in another repo meanwhile. Every coder
// ends and leaves no session, the unrelated transition is applied, and no title is started while it is
// being stopped. Stops run on a bounded worker beside the scan loop (src/runner/stopper.ts).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";
import { createPlanned, fakeAgentConfig, SMALL_PLAN } from "../helpers/agents.ts";

const CODERS = 20;
const STORM_PLAN = `# Storm\n**Goal:** many coders\n\n## Wave 1: all\n${Array.from({ length: CODERS }, (_, i) => `### Task ${i + 1}: part ${i + 1}\ndo part ${i + 1}\n`).join("\n")}`;

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

/** kas_* session names on the sandbox's tmux server starting with `prefix`. */
function sessions(prefix: string): string[] {
  const r = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "list-sessions", "-F", "#{session_name}"], { stdout: "pipe", stderr: "ignore", timeout: 5_000 });
  return r.stdout
    .toString()
    .split("\n")
    .filter((n) => n.startsWith(prefix));
}

describe("a storm of stops", () => {
  test("20 coders of a cancelled task all end, no session is left, an unrelated signal is applied meanwhile", async () => {
    const big = makeGitRepo(sb.dir, "big");
    const other = makeGitRepo(sb.dir, "other");
    // Wave coders that keep working (sleep) until stopped; the other repo's agents idle.
    // All 20 at once (0 = no cap): the machine-sized default would start only a few.
    sb.writeConfig(fakeAgentConfig("FAKE_SLOW_WAVE=600", "[orchestration]\nmax_parallel_wave_tasks = 0"));
    mkdirSync(join(other, ".kasmos"), { recursive: true });
    writeFileSync(join(other, ".kasmos", "config.toml"), `default_program = "sh -c 'exec sleep 600'"\n`);
    const daemon = await sb.foreground();
    for (const r of [big, other]) expect((await sb.run(["daemon", "add", r])).code).toBe(0);
    // The user approves the repo's own program (a repo's file does not choose what runs until then).
    expect((await sb.run(["daemon", "trust", "other"])).code).toBe(0);
    await createPlanned(sb, big, "storm", STORM_PLAN);
    await createPlanned(sb, other, "probe", SMALL_PLAN);
    const running = (task: string): number => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM agents WHERE task = ? AND state = 'running'", task)[0]!.n;
    const coders = (task: string): number => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM agents WHERE task = ? AND role = 'coder' AND state = 'running'", task)[0]!.n;
    // Coders, not agents: a plan of 20 tasks has an architect first, whose row may still be running
    // (being stopped) while the last coder is yet to start.
    await waitFor(() => coders("storm") === CODERS && running("storm") === CODERS && running("probe") === 1, 60_000, `${CODERS} coders (alone) and the probe's coder running`).catch((e: unknown) => {
      console.log(JSON.stringify(sb.query("SELECT task, title, state, reason FROM agents"), null, 1), JSON.stringify(sb.query("SELECT name, status, execution_phase, attention FROM tasks")));
      throw e;
    });
    expect(sessions("kas_big--")).toHaveLength(CODERS);

    const c = await sb.run(["task", "transition", "storm", "cancel"], { cwd: big });
    expect(c.code, c.stderr).toBe(0);
    // The unrelated signal, written while the 20 stops run.
    const dir = join(other, ".kasmos", "signals");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, ".tmp-probe"), "");
    renameSync(join(dir, ".tmp-probe"), join(dir, "implement-finished-probe"));

    await waitFor(() => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = 'probe'")[0]?.status === "reviewing", 30_000, "the probe's signal to be applied");
    await waitFor(() => running("storm") === 0, 60_000, "every coder of the cancelled task to end");
    await waitFor(() => sessions("kas_big--").length === 0, 20_000, "no session of the cancelled task left");

    const rows = sb.query<{ title: string; state: string; reason: string }>("SELECT title, state, reason FROM agents WHERE task = 'storm' AND role = 'coder' ORDER BY id");
    if (rows.length !== CODERS) console.log(JSON.stringify(sb.query("SELECT id, task, title, role, state, reason, started_at, ended_at FROM agents ORDER BY id"), null, 1));
    expect(rows).toHaveLength(CODERS); // none started again while (or after) it was stopped
    for (const r of rows) expect(r, r.title).toMatchObject({ state: "killed", reason: "task no longer active" });
    const killed = sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'agent_killed' AND task = 'storm' AND message LIKE '%task no longer active%'")[0]!.n;
    expect(killed).toBe(CODERS);
    const moves = sb.query<{ m: string }>("SELECT from_status || '→' || to_status AS m FROM audit_events WHERE kind = 'plan_transition' AND task = 'probe' ORDER BY id").map((r) => r.m);
    expect(moves).toEqual(["ready→implementing", "implementing→reviewing"]);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 150_000);
});
