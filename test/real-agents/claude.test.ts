// The real Claude Code CLI (pinned, from npm) in every role, driven by the compiled daemon against a
// loopback Anthropic Messages server that plays the model. HOME holds only the user's one-time setup
// (first run done, API key approved, bypass disclaimer accepted) — no folder is ever trusted by the
// test: kasmos's preflight must do it, or the agents would sit at the trust dialog forever.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox } from "../helpers/env.ts";
import { WAVES_PLAN } from "../helpers/agents.ts";
import { claudeEnv, claudeUser, cliPath, mixedConfig } from "./helpers.ts";
import type { Scenario } from "./model/brain.ts";
import { type AnthropicModel, startAnthropicModel } from "./model/anthropic.ts";

let sb: Sandbox;
let model: AnthropicModel | null = null;
beforeEach(() => {
  sb = new Sandbox("kcl-");
});
afterEach(async () => {
  await sb.cleanup();
  await model?.stop();
  model = null;
});

const task = (name: string) => sb.query<{ status: string; attention: string }>("SELECT status, attention FROM tasks WHERE name = ?", name)[0];
const audit = (kind: string, name: string) => sb.query<{ message: string; detail: string }>("SELECT message, detail FROM audit_events WHERE kind = ? AND task = ? ORDER BY id", kind, name);

async function start(scenario: Scenario, roles: Parameters<typeof mixedConfig>[0], opts: { extra?: string; env?: Record<string, string>; fakeEnv?: string } = {}) {
  model = await startAnthropicModel({ scenario });
  const repo = makeGitRepo(sb.dir, "shop");
  const planFile = join(sb.dir, "plan.md");
  writeFileSync(planFile, scenario.plan);
  sb.writeConfig(mixedConfig(roles, opts.fakeEnv ?? `FAKE_PLAN=${planFile} FAKE_REVIEW_ROUNDS=0`, opts.extra ?? ""));
  const daemon = await sb.foreground([], claudeEnv(model.url, opts.env ?? {}));
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
  return { repo, daemon };
}

describe("Claude Code, for real", () => {
  test("a 2-wave, 3-task plan from plan_start to done with claude in every role, from a HOME that never trusted a folder", async () => {
    claudeUser(sb.home);
    const claude = cliPath("claude");
    const { repo, daemon } = await start({ plan: WAVES_PLAN }, { planner: claude, architect: claude, coder: claude, reviewer: claude, fixer: claude, master: claude });
    expect((await sb.run(["task", "create", "feat"], { cwd: repo })).code).toBe(0);
    expect((await sb.run(["task", "transition", "feat", "plan_start"], { cwd: repo })).code).toBe(0);
    await sb.waitFor(() => task("feat")?.status === "done", 240_000, "feat to reach done");
    await sb.waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 0, 60_000, "every agent to be stopped");

    const moves = sb.query<{ from_status: string; to_status: string }>("SELECT from_status, to_status FROM audit_events WHERE kind = 'plan_transition' ORDER BY id").map((r) => `${r.from_status}→${r.to_status}`);
    expect(moves).toEqual(["ready→planning", "planning→ready", "ready→implementing", "implementing→reviewing", "reviewing→verifying", "verifying→done"]);
    const agents = sb.query<{ title: string; harness: string; activity: string; transcript: string }>("SELECT title, harness, activity, transcript FROM agents ORDER BY id");
    expect(agents.map((a) => a.title)).toEqual(["feat-plan", "feat-architect", ...["feat-W1-T1", "feat-W1-T2"].sort(), "feat-W2-T3", "feat-review-1", "feat-verify-1"].map(String));
    expect(agents.every((a) => a.harness === "claude")).toBe(true);
    // Every agent reported itself through its hooks with the transcript Claude Code keeps: its turn's end
    // (Stop → idle) and, as kasmos stopped it, SessionEnd (→ ended) — the last is best effort (the hook
    // runs while the session is torn down; under load the hang-up can win), so idle counts too. Each was
    // stopped only after its turn ended (below).
    for (const a of agents) expect(["idle", "ended"], `${a.title}: ${a.activity}`).toContain(a.activity);
    expect(agents.every((a) => a.transcript.endsWith(".jsonl"))).toBe(true);
    const stops = sb.query<{ detail: string }>("SELECT detail FROM audit_events WHERE kind = 'agent_killed'").map((r) => JSON.parse(r.detail) as { turn_ended: boolean });
    expect(stops.length).toBe(agents.length);
    expect(stops.every((d) => d.turn_ended === true)).toBe(true);
    // Trust came from kasmos's preflight, for exactly its folders.
    const projects = Object.keys((JSON.parse(readFileSync(join(sb.home, ".claude.json"), "utf8")) as { projects: Record<string, unknown> }).projects).sort();
    expect(projects).toEqual([repo, join(repo, ".worktrees", "plan-feat")].sort());
    // The master approved the branch head; every wave's work is on the branch.
    const head = Bun.spawnSync(["git", "-C", repo, "rev-parse", "plan/feat"]).stdout.toString().trim();
    expect(sb.query<{ verified_sha: string }>("SELECT verified_sha FROM tasks WHERE name = 'feat'")[0]!.verified_sha).toBe(head);
    const files = Bun.spawnSync(["git", "-C", repo, "ls-tree", "--name-only", "plan/feat"]).stdout.toString();
    for (const f of ["w1-t1.txt", "w1-t2.txt", "w2-t3.txt"]) expect(files).toContain(f);
    expect(sb.query("SELECT * FROM audit_events WHERE kind IN ('agent_refused', 'agent_failed', 'stuck_detected', 'agent_nudged', 'agent_waiting')")).toEqual([]);
    // No agent was cut off mid-tool-call: none of the panes said "Interrupted".
    expect(sb.query("SELECT * FROM agents WHERE last_lines LIKE '%Interrupted%'")).toEqual([]);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 300_000);

  test("an agent that ends its turn without signalling is nudged once, then signals", async () => {
    claudeUser(sb.home);
    const plan = "# Small\n**Goal:** one\n\n## Wave 1: a\n### Task 1: x\ndo x\n";
    const { repo, daemon } = await start({ plan, scripts: { coder: { silentFirstTurn: true } } }, { coder: cliPath("claude") });
    writeFileSync(join(sb.dir, "small.md"), plan);
    await sb.run(["task", "create", "small", "--plan", join(sb.dir, "small.md")], { cwd: repo });
    await sb.run(["task", "transition", "small", "implement_start"], { cwd: repo });
    await sb.waitFor(() => task("small")?.status === "done", 120_000, "small to reach done");
    const nudges = audit("agent_nudged", "small");
    expect(nudges.length).toBe(1);
    expect(nudges[0]!.message).toContain("small-coder");
    // The reminder named the exact signal command of its prompt.
    expect(JSON.parse(nudges[0]!.detail).text).toContain("touch .kasmos/signals/implement-finished-small");
    expect(sb.query<{ nudges: number }>("SELECT nudges FROM agents WHERE title = 'small-coder'")[0]!.nudges).toBe(1);
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 150_000);

  test("an agent stopped at a permission prompt: attention item with the pane text, nothing typed into it", async () => {
    claudeUser(sb.home);
    const plan = "# Small\n**Goal:** one\n\n## Wave 1: a\n### Task 1: x\ndo x\n";
    const extra = '[agents.coder]\nskip_permissions = false\nflags = ["--permission-mode", "default"]\n';
    const { repo, daemon } = await start({ plan }, {}, { extra: `${extra}program = "${cliPath("claude")}"\n` });
    writeFileSync(join(sb.dir, "small.md"), plan);
    await sb.run(["task", "create", "perm", "--plan", join(sb.dir, "small.md")], { cwd: repo });
    await sb.run(["task", "transition", "perm", "implement_start"], { cwd: repo });
    await sb.waitFor(() => audit("agent_waiting", "perm").some((r) => r.message.includes("is waiting")), 90_000, "a waiting attention item");
    const att = task("perm")!.attention;
    expect(att).toContain("perm-coder is waiting");
    const waiting = audit("agent_waiting", "perm").find((r) => r.message.includes("is waiting"))!;
    expect(JSON.parse(waiting.detail).pane.join("\n")).toContain("Do you want to proceed?");
    // kasmos typed nothing: the prompt is still there and no nudge was sent.
    const pane = await sb.run(["agent", "capture", "perm-coder", "--lines", "30"], { cwd: repo });
    expect(pane.stdout).toContain("Do you want to proceed?");
    expect(audit("agent_nudged", "perm")).toEqual([]);
    expect(task("perm")!.status).toBe("implementing");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 150_000);

  test("an agent exiting with an error: status and task show give the reason from its last lines", async () => {
    claudeUser(sb.home);
    const extra = `[agents.planner]\nprogram = "${cliPath("claude")}"\nflags = ["--bogus-flag"]\n`;
    const { repo, daemon } = await start({ plan: WAVES_PLAN }, {}, { extra });
    await sb.run(["task", "create", "bad"], { cwd: repo });
    await sb.run(["task", "transition", "bad", "plan_start"], { cwd: repo });
    await sb.waitFor(() => audit("stuck_detected", "bad").length > 0, 60_000, "the planner's exit to be diagnosed");
    expect(task("bad")!.attention).toContain("unknown option '--bogus-flag'");
    const show = await sb.run(["task", "show", "bad"], { cwd: repo });
    expect(show.stdout).toContain("unknown option '--bogus-flag'");
    const status = await sb.run(["daemon", "status"]);
    expect(status.stdout).toContain("unknown option '--bogus-flag'");
    const row = sb.query<{ last_lines: string; exit_status: number }>("SELECT last_lines, exit_status FROM agents WHERE title = 'bad-plan'")[0]!;
    expect(row.exit_status).toBe(1);
    expect(row.last_lines).toContain("--bogus-flag");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 90_000);

  test.skipIf(process.getuid?.() !== 0)('unsandboxed (mode = "off"), as root without IS_SANDBOX: the spawn is refused with the reason and the fix, never a silent exit', async () => {
    claudeUser(sb.home);
    // Sandboxed, Claude Code runs without the bypass flag and this gate does not apply (sandboxed.test.ts).
    const { repo, daemon } = await start({ plan: WAVES_PLAN }, { planner: cliPath("claude") }, { env: { IS_SANDBOX: "" }, extra: '[sandbox]\nmode = "off"\n' });
    await sb.run(["task", "create", "root"], { cwd: repo });
    await sb.run(["task", "transition", "root", "plan_start"], { cwd: repo });
    await sb.waitFor(() => audit("agent_refused", "root").length > 0, 30_000, "the refusal");
    expect(audit("agent_refused", "root")[0]!.message).toContain("refuses --dangerously-skip-permissions when run as root");
    expect(task("root")!.attention).toContain("IS_SANDBOX=1");
    expect(sb.query("SELECT * FROM agents WHERE task = 'root' AND session != ''")).toEqual([]); // nothing was started
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);

  test("kas agent restart brings back a failed wave coder once its config is fixed; earlier phases are not re-run", async () => {
    claudeUser(sb.home);
    const claude = cliPath("claude");
    const { repo, daemon } = await start({ plan: WAVES_PLAN }, {}, { extra: `[agents.coder]\nprogram = "${claude}"\n` });
    // The repo's own config breaks its coders (a typo'd flag).
    Bun.spawnSync(["mkdir", "-p", join(repo, ".kasmos")]);
    writeFileSync(join(repo, ".kasmos", "config.toml"), '[agents.coder]\nflags = ["--bogus-flag"]\n');
    // Approved by the user (flags a repo's file names run only then): the typo is theirs to find.
    expect((await sb.run(["daemon", "trust", repo])).code).toBe(0);
    writeFileSync(join(sb.dir, "p.md"), WAVES_PLAN);
    await sb.run(["task", "create", "feat", "--plan", join(sb.dir, "p.md")], { cwd: repo });
    await sb.run(["task", "transition", "feat", "implement_start"], { cwd: repo });
    await sb.waitFor(() => task("feat")!.attention.includes("wave 1 needs a decision"), 60_000, "wave 1 to fail");
    writeFileSync(join(repo, ".kasmos", "config.toml"), "");
    const r = await sb.run(["agent", "restart", "feat-W1-T1", "--json"], { cwd: repo });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { restarted: string[] }).restarted.sort()).toEqual(["feat-W1-T1", "feat-W1-T2"]);
    await sb.waitFor(() => task("feat")?.status === "done", 180_000, "feat to reach done after the restart");
    // The architect ran once; the planner never (the plan was given).
    expect(sb.query("SELECT * FROM agents WHERE title = 'feat-architect'").length).toBe(1);
    expect(sb.query("SELECT * FROM agents WHERE title = 'feat-plan'").length).toBe(0);
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 240_000);
});
