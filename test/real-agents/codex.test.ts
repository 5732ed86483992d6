// The real codex CLI (pinned, from npm) as the wave coders of a 2-wave plan, driven by the compiled
// daemon against a loopback Responses API server that plays the model. From a CODEX_HOME where no
// folder was ever trusted: kasmos's preflight trusts its own folders, codex runs one process per agent
// (no shared app-server), prompts name kasmos by absolute path, and notify reports turn ends.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox } from "../helpers/env.ts";
import { WAVES_PLAN } from "../helpers/agents.ts";
import { agentDaemonEnv, cliPath, codexUser, LOOPBACK_KEY_ENV, mixedConfig } from "./helpers.ts";
import { type ResponsesModel, startResponsesModel } from "./model/responses.ts";

let sb: Sandbox;
let model: ResponsesModel | null = null;
beforeEach(() => {
  sb = new Sandbox("kc-");
});
afterEach(async () => {
  await sb.cleanup();
  await model?.stop();
  model = null;
});

const status = (task: string) => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = ?", task)[0]?.status;

describe("codex, for real", () => {
  test("two codex wave coders in parallel, then a third: trusted by preflight, signals from the real CLI, task done", async () => {
    model = await startResponsesModel({ scenario: { plan: WAVES_PLAN } });
    codexUser(sb.home, model.url);
    const repo = makeGitRepo(sb.dir, "shop");
    const planFile = join(sb.dir, "plan.md");
    writeFileSync(planFile, WAVES_PLAN);
    sb.writeConfig(mixedConfig({ coder: cliPath("codex") }, `FAKE_PLAN=${planFile} FAKE_REVIEW_ROUNDS=0`));
    const daemon = await sb.foreground([], agentDaemonEnv());
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    expect((await sb.run(["task", "create", "feat"], { cwd: repo })).code).toBe(0);
    expect((await sb.run(["task", "transition", "feat", "plan_start"], { cwd: repo })).code).toBe(0);
    await sb.waitFor(() => status("feat") === "done", 150_000, "feat to reach done");

    // Each codex coder committed its own task's file on the task branch.
    const files = Bun.spawnSync(["git", "-C", repo, "ls-tree", "--name-only", "plan/feat"]).stdout.toString();
    for (const f of ["w1-t1.txt", "w1-t2.txt", "w2-t3.txt"]) expect(files).toContain(f);
    // The last coder may signal mid-turn: the task can be done before codex's notify ends that turn
    // (its stop waits for it). Every coder ends once its turn did.
    const coderRows = () => sb.query<{ title: string; harness: string; activity: string; state: string }>("SELECT title, harness, activity, state FROM agents WHERE role = 'coder' ORDER BY id");
    await sb.waitFor(() => coderRows().every((c) => c.state !== "running"), 60_000, "every codex coder stopped");
    const coders = coderRows();
    expect(coders.map((c) => c.title).sort()).toEqual(["feat-W1-T1", "feat-W1-T2", "feat-W2-T3"]);
    expect(coders.every((c) => c.harness === "codex")).toBe(true);
    // Each was stopped after codex's notify said its turn ended (the last activity it reported).
    expect(coders.map((c) => c.activity)).toEqual(["idle", "idle", "idle"]);
    // One codex process per agent: no shared background app-server was installed or started.
    expect(existsSync(join(sb.home, ".codex", "packages", "app-server-daemon"))).toBe(false);
    // Trust was written by kasmos for exactly its folders (repo root and the task worktree).
    const cfg = readFileSync(join(sb.home, ".codex", "config.toml"), "utf8");
    expect(cfg).toContain(`[projects."${repo}"]`);
    expect(cfg).toContain(`[projects."${join(repo, ".worktrees", "plan-feat")}"]`);
    // notify reported turn ends to the daemon (idle), and nobody was nudged.
    expect(sb.query("SELECT * FROM audit_events WHERE kind = 'agent_nudged'")).toEqual([]);
    expect(sb.query("SELECT * FROM audit_events WHERE kind IN ('agent_refused', 'agent_failed', 'stuck_detected')")).toEqual([]);
    // The model saw turn requests from three different codex processes (one thread each).
    const turns = model.requests.filter((r) => r.kind === "turn");
    expect(turns.length).toBeGreaterThanOrEqual(3 * 3);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 200_000);

  test("turn ended without the signal: nudged once (typed into codex), then it signals; one that ignores the reminder gets an attention item", async () => {
    const small = "# Small\n**Goal:** one\n\n## Wave 1: a\n### Task 1: x\ndo x\n";
    model = await startResponsesModel({ scenario: { plan: small, scripts: { quiet: { silentFirstTurn: true }, deaf: { neverSignal: true } } } });
    codexUser(sb.home, model.url);
    const repo = makeGitRepo(sb.dir, "shop");
    writeFileSync(join(sb.dir, "small.md"), small);
    sb.writeConfig(mixedConfig({ coder: cliPath("codex") }, "FAKE_REVIEW_ROUNDS=0"));
    const daemon = await sb.foreground([], agentDaemonEnv());
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    for (const t of ["quiet", "deaf"]) {
      expect((await sb.run(["task", "create", t, "--plan", join(sb.dir, "small.md")], { cwd: repo })).code).toBe(0);
      expect((await sb.run(["task", "transition", t, "implement_start"], { cwd: repo })).code).toBe(0);
    }
    const attention = (t: string) => sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = ?", t)[0]?.attention ?? "";
    await sb.waitFor(() => status("quiet") === "done" && attention("deaf").includes("without its signal"), 120_000, "quiet done and deaf flagged");
    const nudged = (t: string) => sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'agent_nudged' AND task = ?", t);
    expect(nudged("quiet").length).toBe(1);
    expect(nudged("deaf").length).toBe(1);
    expect(attention("deaf")).toContain("deaf-coder ended its turn without its signal (reminded 1 time)");
    expect(attention("deaf")).toContain("kas agent restart deaf-coder");
    expect(status("deaf")).toBe("implementing");
    // The reminder reached codex as a user message naming the signal command.
    const reminded = model.requests.some((r) => (r.events ?? []).some((e) => e.kind === "user" && e.text.includes("touch .kasmos/signals/implement-finished-quiet")));
    expect(reminded).toBe(true);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 180_000);

  test("the daemon lacks the provider's env_key variable: the start is refused naming it (codex would sit on its error screen); with it, task retry starts codex", async () => {
    const small = "# Small\n**Goal:** one\n\n## Wave 1: a\n### Task 1: x\ndo x\n";
    model = await startResponsesModel({ scenario: { plan: small } });
    codexUser(sb.home, model.url);
    const repo = makeGitRepo(sb.dir, "shop");
    writeFileSync(join(sb.dir, "small.md"), small);
    sb.writeConfig(mixedConfig({ coder: cliPath("codex") }, "FAKE_REVIEW_ROUNDS=0"));
    const env = agentDaemonEnv();
    delete env[LOOPBACK_KEY_ENV];
    let daemon = await sb.foreground([], env);
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    expect((await sb.run(["task", "create", "k", "--plan", join(sb.dir, "small.md")], { cwd: repo })).code).toBe(0);
    expect((await sb.run(["task", "transition", "k", "implement_start"], { cwd: repo })).code).toBe(0);
    const attention = () => sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = 'k'")[0]?.attention ?? "";
    await sb.waitFor(() => attention().includes(LOOPBACK_KEY_ENV), 30_000, "the refusal naming the variable");
    expect(attention()).toContain(`reads its key from ${LOOPBACK_KEY_ENV}, which is not set`);
    expect(model.requests.length).toBe(0);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    daemon = await sb.foreground([], agentDaemonEnv());
    expect((await sb.run(["task", "retry", "k"], { cwd: repo })).code).toBe(0);
    await sb.waitFor(() => status("k") === "done", 120_000, "k done once the daemon has the key");
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 200_000);
});
