// Usage from the agents' own records, end to end with the real CLIs: the loopback model servers report
// known token counts on every answer, and after the lifecycle kasmos's totals per agent, task and model
// equal what the servers sent — exactly, with a daemon restart in the middle of an agent's work.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox } from "../helpers/env.ts";
import { agentDaemonEnv, claudeEnv, claudeUser, cliPath, codexUser, mixedConfig } from "./helpers.ts";
import { type AnthropicModel, startAnthropicModel } from "./model/anthropic.ts";
import { type ResponsesModel, startResponsesModel } from "./model/responses.ts";

let sb: Sandbox;
const stops: (() => Promise<void>)[] = [];
beforeEach(() => {
  sb = new Sandbox("kus-");
});
afterEach(async () => {
  await sb.cleanup();
  for (const s of stops.splice(0)) await s();
});

const SMALL = "# Small\n**Goal:** one\n\n## Wave 1: a\n### Task 1: x\ndo x\n";
interface Sum {
  model: string;
  input: number;
  output: number;
  cache_write: number;
  cache_read: number;
}
const usageOf = (task: string) => sb.query<Sum>("SELECT model, SUM(input) AS input, SUM(output) AS output, SUM(cache_write) AS cache_write, SUM(cache_read) AS cache_read FROM agent_usage WHERE task = ? GROUP BY model", task);
const status = (task: string) => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = ?", task)[0]?.status;

describe("usage, for real", () => {
  test("Claude Code coder across a daemon restart: stored tokens equal the server's, per model; kas usage, task show, /v1/usage and metrics agree", async () => {
    const U = { input_tokens: 1234, output_tokens: 56, cache_creation_input_tokens: 78, cache_read_input_tokens: 910 };
    const model: AnthropicModel = await startAnthropicModel({ scenario: { plan: SMALL, scripts: { u: { silentFirstTurn: true } } }, usage: U, model: "claude-loopback" });
    stops.push(() => model.stop());
    claudeUser(sb.home);
    const repo = makeGitRepo(sb.dir, "shop");
    writeFileSync(join(sb.dir, "p.md"), SMALL);
    sb.writeConfig(mixedConfig({ coder: cliPath("claude") }, "FAKE_REVIEW_ROUNDS=0", '[pricing."claude-loopback"]\ninput = 3\noutput = 15\ncache_write = 3.75\ncache_read = 0.3\n').replace("nudge_after_sec = 1", "nudge_after_sec = 6"));
    const env = claudeEnv(model.url);
    let daemon = await sb.foreground([], env);
    await sb.run(["daemon", "add", repo]);
    await sb.run(["task", "create", "u", "--plan", join(sb.dir, "p.md")], { cwd: repo });
    await sb.run(["task", "transition", "u", "implement_start"], { cwd: repo });
    // The coder's first turn ends without its signal; the daemon goes down before the nudge is due.
    await sb.waitFor(() => sb.query<{ activity: string }>("SELECT activity FROM agents WHERE title = 'u-coder'")[0]?.activity === "idle", 90_000, "the first turn to end");
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    daemon = await sb.foreground([], env);
    await sb.waitFor(() => status("u") === "done", 120_000, "u to reach done after the restart");
    await sb.waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 0, 60_000, "agents to stop");

    const main = model.requests.filter((r) => r.answered !== undefined && r.answered !== "side");
    expect(model.requests.filter((r) => r.answered === "side")).toEqual([]); // nothing the transcript would not show
    const n = main.length;
    expect(n).toBeGreaterThanOrEqual(4); // read, commit, (nudge) signal, final text
    expect(usageOf("u")).toEqual([{ model: "claude-loopback", input: n * 1234, output: n * 56, cache_write: n * 78, cache_read: n * 910 }]);
    expect(sb.query("SELECT * FROM audit_events WHERE kind = 'agent_nudged'").length).toBe(1);

    // Every view agrees. Cost at the configured price: (1234·3 + 56·15 + 78·3.75 + 910·0.3) / 1e6 per answer.
    const perAnswer = (1234 * 3 + 56 * 15 + 78 * 3.75 + 910 * 0.3) / 1_000_000;
    const rep = JSON.parse((await sb.run(["usage", "--by", "model", "--json"])).stdout) as { total: { input: number; cost_usd: number; agent_runs: number } };
    expect(rep.total.input).toBe(n * 1234);
    expect(rep.total.cost_usd).toBeCloseTo(n * perAnswer, 5); // reports round to 1e-6 USD
    expect(rep.total.agent_runs).toBe(1);
    const viaApi = (await api(sb.socket, "GET", "/v1/usage?by=task")).json as { groups: { key: string; output: number }[] };
    expect(viaApi.groups).toEqual([expect.objectContaining({ key: "shop/u", output: n * 56 })]);
    expect((await sb.run(["task", "show", "u"], { cwd: repo })).stdout).toContain(`spend:         $${(n * perAnswer).toFixed(3)}`);
    const metrics = await (await fetch("http://kasmos/v1/metrics", { unix: sb.socket })).text();
    expect(metrics).toContain(`kasmos_tokens_total{project="shop",role="coder",model="claude-loopback",kind="input"} ${n * 1234}`);
    const table = (await sb.run(["usage"])).stdout;
    expect(table).toContain("shop/u");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 300_000);

  test("codex wave coders: stored tokens equal the server's (input without the cached part), per agent run", async () => {
    const model: ResponsesModel = await startResponsesModel({ scenario: { plan: SMALL }, usage: { input_tokens: 4000, output_tokens: 200, cached_input_tokens: 800 } });
    stops.push(() => model.stop());
    codexUser(sb.home, model.url);
    const repo = makeGitRepo(sb.dir, "shop");
    const plan = "## Wave 1: a\n### Task 1: x\nx\n### Task 2: y\ny\n### Task 3: z\nz\n";
    writeFileSync(join(sb.dir, "p.md"), plan);
    sb.writeConfig(mixedConfig({ coder: cliPath("codex") }, "FAKE_REVIEW_ROUNDS=0"));
    const daemon = await sb.foreground([], agentDaemonEnv());
    await sb.run(["daemon", "add", repo]);
    await sb.run(["task", "create", "c", "--plan", join(sb.dir, "p.md")], { cwd: repo });
    await sb.run(["task", "transition", "c", "implement_start"], { cwd: repo });
    await sb.waitFor(() => status("c") === "done", 150_000, "c to reach done");
    await sb.waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 0, 60_000, "agents to stop");
    const n = model.requests.filter((r) => r.kind === "turn").length;
    expect(n).toBeGreaterThanOrEqual(9);
    expect(usageOf("c")).toEqual([{ model: "loopback-model", input: n * 3200, output: n * 200, cache_write: 0, cache_read: n * 800 }]);
    // One row per coder run, each with its own share.
    const perRun = sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM agent_usage WHERE task = 'c' AND role = 'coder'")[0]!.n;
    expect(perRun).toBe(3);
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 240_000);
});
