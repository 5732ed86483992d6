// Budgets with the real Claude Code: the loopback model charges a known price per answer; a small
// task_usd warns once at 80 %, holds the task at the crossing (its agent stopped, nothing restarted,
// an attention item with the way out), `kas task resume` starts it again with a fresh allowance, and
// raising the budget with a reload releases a hold by itself.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox } from "../helpers/env.ts";
import { claudeEnv, claudeUser, cliPath, mixedConfig } from "./helpers.ts";
import { type AnthropicModel, startAnthropicModel } from "./model/anthropic.ts";

let sb: Sandbox;
let model: AnthropicModel | null = null;
beforeEach(() => {
  sb = new Sandbox("kbu-");
});
afterEach(async () => {
  await sb.cleanup();
  await model?.stop();
  model = null;
});

const SMALL = "# Small\n**Goal:** one\n\n## Wave 1: a\n### Task 1: x\ndo x\n";
const PRICING = '[pricing."claude-loopback"]\ninput = 3\noutput = 15\ncache_write = 3.75\ncache_read = 0.3\n';
// 1234·3 + 56·15 + 78·3.75 + 910·0.3 = 5107.5 µ$ per answer: 0.006 = warning after the first, hold after the second.
const task = (n: string) => sb.query<{ status: string; attention: string; hold: string }>("SELECT status, attention, hold FROM tasks WHERE name = ?", n)[0];
const audit = (kind: string) => sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = ? ORDER BY id", kind);

describe("budgets, for real", () => {
  test("task_usd: warning at 80 %, hold at the crossing, resume gives a fresh allowance, a raised budget releases the hold", async () => {
    // Answers 300 ms apart, as a real model's are seconds apart: the 80 % between two answers is seen.
    model = await startAnthropicModel({ scenario: { plan: SMALL }, usage: { input_tokens: 1234, output_tokens: 56, cache_creation_input_tokens: 78, cache_read_input_tokens: 910 }, model: "claude-loopback", latencyMs: 300 });
    claudeUser(sb.home);
    const repo = makeGitRepo(sb.dir, "shop");
    writeFileSync(join(sb.dir, "p.md"), SMALL);
    const config = (usd: number) => mixedConfig({ coder: cliPath("claude") }, "FAKE_REVIEW_ROUNDS=0", `${PRICING}\n[budget]\ntask_usd = ${usd}\n`);
    sb.writeConfig(config(0.006));
    const daemon = await sb.foreground([], claudeEnv(model.url));
    await sb.run(["daemon", "add", repo]);
    await sb.run(["task", "create", "b", "--plan", join(sb.dir, "p.md")], { cwd: repo });
    await sb.run(["task", "transition", "b", "implement_start"], { cwd: repo });

    await sb.waitFor(() => (task("b")?.hold ?? "") !== "", 90_000, "the budget hold");
    expect(audit("budget_warning").map((r) => r.message)).toEqual([expect.stringContaining("is at 85 % of its budget task_usd = $0.0060")]);
    expect(audit("budget_exceeded")[0]!.message).toContain("reached its budget task_usd = $0.0060");
    expect(task("b")!.attention).toContain("kas task resume b");
    await sb.waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 0, 30_000, "the coder to stop");
    expect(sb.query<{ reason: string }>("SELECT reason FROM agents WHERE title = 'b-coder'")[0]!.reason).toBe("budget");
    await Bun.sleep(1500); // several passes: nothing is started while held
    expect(sb.query("SELECT * FROM agents WHERE title = 'b-coder'").length).toBe(1);
    expect(task("b")!.status).toBe("implementing");

    // The operator resumes: a new coder starts; with a fresh 0.006 allowance it is held again at its second answer.
    const r = await sb.run(["task", "resume", "b"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("resumed shop/b");
    await sb.waitFor(() => sb.query("SELECT * FROM agents WHERE title = 'b-coder'").length === 2, 30_000, "a second coder");
    await sb.waitFor(() => audit("budget_exceeded").length === 2, 90_000, "the second hold");
    expect((await sb.run(["task", "resume", "nope"], { cwd: repo })).code).toBe(1);

    // Raising the budget (reload) releases the hold by itself; the task runs to done.
    sb.writeConfig(config(10));
    expect((await sb.run(["daemon", "reload"])).code).toBe(0);
    await sb.waitFor(() => task("b")?.status === "done", 120_000, "b to reach done after the raise");
    expect(audit("task_resumed").map((x) => x.message)).toEqual([expect.stringContaining("resumed by operator"), expect.stringContaining("the limit was raised")]);
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 300_000);
});
