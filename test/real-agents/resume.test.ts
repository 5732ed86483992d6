// Resume, not restart: when Claude Code must be started again — the tmux server killed mid-turn and
// the daemon restarted, or `kas agent restart` — it continues its session (`--resume <session>`), so
// the model receives the earlier conversation; `kas agent restart --fresh` starts a new one. codex
// continues its thread the same way (`codex resume <thread>`), opencode its session (`--session <id>`,
// the id read from its database with the run's usage).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox } from "../helpers/env.ts";
import { agentDaemonEnv, claudeEnv, claudeUser, cliPath, codexUser, mixedConfig, opencodeEnv, opencodeUser } from "./helpers.ts";
import { decodeMessages, startChatModel } from "./model/chat.ts";
import { startResponsesModel } from "./model/responses.ts";
import { type AnthropicModel, startAnthropicModel } from "./model/anthropic.ts";
import type { Scenario } from "./model/brain.ts";

const SMALL = "# Small\n**Goal:** one\n\n## Wave 1: a\n### Task 1: x\ndo x\n";

let sb: Sandbox;
let model: AnthropicModel | null = null;
beforeEach(() => {
  sb = new Sandbox("kres-");
});
afterEach(async () => {
  await sb.cleanup();
  await model?.stop();
  model = null;
});

const status = (t: string) => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = ?", t)[0]?.status ?? "";
const coders = () => sb.query<{ id: number; state: string; program: string; transcript: string; reason: string }>("SELECT id, state, program, transcript, reason FROM agents WHERE title = 'k-coder' ORDER BY id");
/** Main-loop requests the model answered (a step, not a side request). */
const answered = () => (model?.requests ?? []).filter((r) => typeof r.answered === "object");

async function start(scenario: Scenario): Promise<{ repo: string; daemon: Awaited<ReturnType<Sandbox["foreground"]>> }> {
  model = await startAnthropicModel({ scenario, latencyMs: 600 });
  claudeUser(sb.home);
  const repo = makeGitRepo(sb.dir, "shop");
  writeFileSync(join(sb.dir, "small.md"), SMALL);
  sb.writeConfig(mixedConfig({ coder: cliPath("claude") }, "FAKE_REVIEW_ROUNDS=0"));
  const daemon = await sb.foreground([], claudeEnv(model.url));
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
  expect((await sb.run(["task", "create", "k", "--plan", join(sb.dir, "small.md")], { cwd: repo })).code).toBe(0);
  expect((await sb.run(["task", "transition", "k", "implement_start"], { cwd: repo })).code).toBe(0);
  return { repo, daemon };
}

describe("Claude Code resumes its session", () => {
  test("SIGKILL of the tmux server mid-turn, daemon restarted: the coder continues its session, the task is done, nothing runs twice", async () => {
    const { daemon } = await start({ plan: SMALL });
    // Mid-turn: it has read its prompt and run its first command; the model is answering the next.
    await sb.waitFor(() => answered().length >= 2 && coders()[0]?.transcript !== "", 90_000, "the coder mid-turn");
    const before = answered().length;
    daemon.kill("SIGKILL");
    await daemon.exited;
    const server = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "display-message", "-p", "#{pid}"]).stdout.toString().trim();
    expect(server).toMatch(/^\d+$/);
    process.kill(Number(server), "SIGKILL");
    const session = /([0-9a-f-]{36})\.jsonl$/.exec(coders()[0]!.transcript)?.[1];
    expect(session).toBeDefined();
    const again = await sb.foreground([], claudeEnv(model!.url));
    await sb.waitFor(() => status("k") === "done", 180_000, "k done after the restart");
    const rows = coders();
    expect(rows.length).toBe(2);
    expect(rows[0]!.reason).toContain("continuing its session");
    expect(rows[1]!.program).toContain(`--resume ${session}`);
    // The first request of the resumed session carried the earlier conversation: the tool results of before.
    const resumed = answered().slice(before).find((r) => JSON.stringify(r.body).includes("tool_result"));
    expect(resumed).toBeDefined();
    const spawned = sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'agent_spawned' AND task = 'k' AND message LIKE 'coder k-coder %' ORDER BY id");
    expect(spawned.length).toBe(2);
    expect(spawned[1]!.message).toContain(`continuing its claude session ${session}`);
    // The coder's work ran once: one commit of its file on the branch.
    const log = Bun.spawnSync(["git", "-C", join(sb.dir, "shop"), "log", "--oneline", "plan/k", "--", "implementation.txt"]).stdout.toString().trim().split("\n").filter((l) => l !== "");
    expect(log.length).toBe(1);
    again.kill("SIGTERM");
    expect(await again.exited).toBe(0);
  }, 300_000);

  test("kas agent restart continues the session; --fresh starts a new one", async () => {
    const { repo, daemon } = await start({ plan: SMALL, scripts: { coder: { neverSignal: true } } });
    await sb.waitFor(() => (sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = 'k'")[0]?.attention ?? "").includes("without its signal"), 120_000, "the coder flagged for not signalling");
    const session = /([0-9a-f-]{36})\.jsonl$/.exec(coders()[0]!.transcript)?.[1];
    expect(session).toBeDefined();
    const before = answered().length;
    expect((await sb.run(["agent", "restart", "k-coder"], { cwd: repo })).code).toBe(0);
    await sb.waitFor(() => coders().length === 2 && answered().length > before, 90_000, "the restarted coder to ask the model");
    expect(coders()[1]!.program).toContain(`--resume ${session}`);
    expect(JSON.stringify(answered()[before]!.body)).toContain("tool_result"); // the earlier conversation came along
    expect((await sb.run(["agent", "restart", "k-coder", "--fresh"], { cwd: repo })).code).toBe(0);
    await sb.waitFor(() => coders().length === 3, 60_000, "the fresh coder");
    expect(coders()[2]!.program).not.toContain("--resume");
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 300_000);
});

describe("codex resumes its thread", () => {
  test("kas agent restart: `codex resume <thread>`, and the model's next turn carries the earlier conversation", async () => {
    const responses = await startResponsesModel({ scenario: { plan: SMALL, scripts: { coder: { neverSignal: true } } } });
    const stop = () => responses.stop();
    try {
      codexUser(sb.home, responses.url);
      const repo = makeGitRepo(sb.dir, "shop");
      writeFileSync(join(sb.dir, "small.md"), SMALL);
      sb.writeConfig(mixedConfig({ coder: cliPath("codex") }, "FAKE_REVIEW_ROUNDS=0"));
      const daemon = await sb.foreground([], agentDaemonEnv());
      expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
      expect((await sb.run(["task", "create", "k", "--plan", join(sb.dir, "small.md")], { cwd: repo })).code).toBe(0);
      expect((await sb.run(["task", "transition", "k", "implement_start"], { cwd: repo })).code).toBe(0);
      await sb.waitFor(() => (sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = 'k'")[0]?.attention ?? "").includes("without its signal"), 120_000, "the coder flagged for not signalling");
      const thread = /([0-9a-f-]{36})\.jsonl$/.exec(coders()[0]!.transcript)?.[1];
      expect(thread).toBeDefined();
      const turns = () => responses.requests.filter((r) => r.kind === "turn");
      const before = turns().length;
      expect((await sb.run(["agent", "restart", "k-coder"], { cwd: repo })).code).toBe(0);
      await sb.waitFor(() => coders().length === 2 && turns().length > before, 90_000, "the resumed coder to ask the model");
      expect(coders()[1]!.program).toContain(`resume ${thread}`);
      // The resumed thread's first turn carries the first run's tool outputs.
      expect((turns()[before]!.events ?? []).some((e) => e.kind === "tool_result")).toBe(true);
      daemon.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
    } finally {
      await stop();
    }
  }, 300_000);
});

describe("opencode resumes its session", () => {
  test("kas agent restart: `opencode --session <id>`, and the model's next request carries the earlier conversation", async () => {
    const chat = await startChatModel({ scenario: { plan: SMALL, scripts: { coder: { neverSignal: true } } } });
    try {
      opencodeUser(sb.home, chat.url);
      const repo = makeGitRepo(sb.dir, "shop");
      writeFileSync(join(sb.dir, "small.md"), SMALL);
      sb.writeConfig(mixedConfig({}, "FAKE_REVIEW_ROUNDS=0", `[agents.coder]\nprogram = "${cliPath("opencode")}"\nmodel = "loopback/brain"\n`));
      const daemon = await sb.foreground([], opencodeEnv());
      expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
      expect((await sb.run(["task", "create", "k", "--plan", join(sb.dir, "small.md")], { cwd: repo })).code).toBe(0);
      expect((await sb.run(["task", "transition", "k", "implement_start"], { cwd: repo })).code).toBe(0);
      // The session id is read from opencode's database with the run's usage (no hook names it).
      const completions = () => chat.requests.filter((r) => r.path.endsWith("/chat/completions") && r.answer !== "side");
      // The first run has read its prompt and run a command (tool results in its session) …
      await sb.waitFor(() => completions().filter((r) => r.answer.startsWith("tool:")).length >= 2, 180_000, "the first run to use its tools");
      // … and its session id was read from opencode's database with the run's usage (no hook names it).
      await sb.waitFor(() => /^ses_/.test(coders()[0]?.transcript ?? ""), 60_000, "the coder's opencode session to be known");
      const session = coders()[0]!.transcript;
      const before = completions().length;
      expect((await sb.run(["agent", "restart", "k-coder"], { cwd: repo })).code).toBe(0);
      await sb.waitFor(() => coders().length === 2 && completions().length > before, 120_000, "the resumed coder to ask the model");
      expect(coders()[1]!.program).toContain(`--session ${session}`);
      expect(sb.query("SELECT * FROM audit_events WHERE kind = 'prompt_sent' AND message LIKE 'first message typed into k-coder%'").length).toBe(1);
      // The resumed session's first request carries the first run's tool outputs.
      const first = completions()[before]!.body as { messages?: unknown };
      expect(decodeMessages(first.messages).some((e) => e.kind === "tool_result")).toBe(true);
      daemon.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
    } finally {
      await chat.stop();
    }
  }, 300_000);
});
