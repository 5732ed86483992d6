// The real opencode CLI (pinned, from npm) as the wave coders of a 2-wave plan — two of them started
// together in a project opencode has never opened — driven by the compiled daemon against a loopback
// OpenAI-compatible chat server that plays the model. opencode reports no turns itself: the pane
// watcher sees it work, and it is stopped once its pane went quiet after its signal.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox } from "../helpers/env.ts";
import { WAVES_PLAN } from "../helpers/agents.ts";
import { cliPath, mixedConfig, opencodeEnv, opencodeUser } from "./helpers.ts";
import { type ChatModel, startChatModel } from "./model/chat.ts";

let sb: Sandbox;
let model: ChatModel | null = null;
beforeEach(() => {
  sb = new Sandbox("ko-");
});
afterEach(async () => {
  await sb.cleanup();
  await model?.stop();
  model = null;
});

const status = (task: string) => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = ?", task)[0]?.status;

describe("opencode, for real", () => {
  test("opencode wave coders (two at once in a fresh project, then one): signals from the real CLI, task done", async () => {
    model = await startChatModel({ scenario: { plan: WAVES_PLAN }, usage: { prompt_tokens: 1234, completion_tokens: 56, cached_tokens: 7 } });
    opencodeUser(sb.home, model.url);
    const repo = makeGitRepo(sb.dir, "shop");
    writeFileSync(join(sb.dir, "p.md"), WAVES_PLAN);
    sb.writeConfig(mixedConfig({}, "FAKE_REVIEW_ROUNDS=0", `[agents.coder]\nprogram = "${cliPath("opencode")}"\nmodel = "loopback/brain"\n`));
    const daemon = await sb.foreground([], opencodeEnv());
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    expect((await sb.run(["task", "create", "feat", "--plan", join(sb.dir, "p.md")], { cwd: repo })).code).toBe(0);
    expect((await sb.run(["task", "transition", "feat", "implement_start"], { cwd: repo })).code).toBe(0);
    await sb.waitFor(() => status("feat") === "done", 280_000, "feat to reach done");

    const files = Bun.spawnSync(["git", "-C", repo, "ls-tree", "--name-only", "plan/feat"]).stdout.toString();
    for (const f of ["w1-t1.txt", "w1-t2.txt", "w2-t3.txt"]) expect(files).toContain(f);
    const coders = sb.query<{ title: string; harness: string; started_at: string }>("SELECT title, harness, started_at FROM agents WHERE role = 'coder' ORDER BY id");
    expect(coders.map((c) => c.title).sort()).toEqual(["feat-W1-T1", "feat-W1-T2", "feat-W2-T3"]);
    expect(coders.every((c) => c.harness === "opencode")).toBe(true);
    // The two wave-1 coders did not start at the same instant in the fresh project.
    const [a, b] = coders.filter((c) => c.title.startsWith("feat-W1")).map((c) => Date.parse(c.started_at));
    expect(Math.abs(a! - b!)).toBeGreaterThanOrEqual(2900);
    expect(sb.query("SELECT * FROM audit_events WHERE kind IN ('agent_refused', 'agent_failed', 'stuck_detected', 'agent_waiting')")).toEqual([]);
    // Each was stopped once its pane had gone quiet after its signal (its turn ended), not mid-turn.
    await sb.waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 0, 60_000, "the coders to be stopped");
    const stops = sb.query<{ detail: string }>("SELECT detail FROM audit_events WHERE kind = 'agent_killed'").map((r) => JSON.parse(r.detail) as { title: string; turn_ended: boolean | null });
    expect(stops.filter((d) => d.title.startsWith("feat-W")).map((d) => d.turn_ended)).toEqual([true, true, true]);
    // The model was really used by opencode: reads and shell commands through its own tools.
    expect(model.requests.length).toBeGreaterThanOrEqual(9);
    // Usage from opencode's own session records equals what the server reported (title requests aside;
    // opencode counts input without the cached part).
    const n = model.requests.filter((r) => r.path.endsWith("/chat/completions") && r.answer !== "side" && !r.answer.startsWith("error")).length;
    const u = sb.query<{ model: string; input: number; output: number; cache_read: number; runs: number }>("SELECT model, SUM(input) AS input, SUM(output) AS output, SUM(cache_read) AS cache_read, COUNT(*) AS runs FROM agent_usage WHERE task = 'feat' GROUP BY model");
    expect(u).toEqual([{ model: "loopback/brain", input: n * 1227, output: n * 56, cache_read: n * 7, runs: 3 }]);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 300_000);
});
