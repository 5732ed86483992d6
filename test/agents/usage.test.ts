// Usage readers on real-shaped records (pure + temp files), prices and the report aggregation.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatCost, parseSince, summarizeUsage } from "../../src/api/usage.ts";
import { costOf, normaliseModel, priceOf } from "../../src/config/pricing.ts";
import { readClaudeTranscript } from "../../src/agents/harness/claude.ts";
import { findCodexRollout, readCodexRollout } from "../../src/agents/harness/codex.ts";
import { EMPTY_CURSOR } from "../../src/agents/usage.ts";
import type { UsageRow } from "../../src/store/usage.ts";
import { Database } from "bun:sqlite";
import { loadConfig } from "../../src/config/load.ts";
import { checkPrices, observedModels } from "../../src/doctor/pricing.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kusage-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const usage = { input_tokens: 1234, output_tokens: 56, cache_creation_input_tokens: 78, cache_read_input_tokens: 910 };
const assistant = (id: string, model = "claude-sonnet-4-5-20250929") => `${JSON.stringify({ type: "assistant", message: { id, model, usage } })}\n`;

describe("Claude Code transcript", () => {
  test("one count per message id (a message is written once per content block), incremental, partial lines wait", async () => {
    const f = join(dir, "t.jsonl");
    writeFileSync(f, `${JSON.stringify({ type: "user", message: { content: "hi" } })}\n${assistant("m1")}${assistant("m1")}${assistant("m2")}`);
    let r = await readClaudeTranscript(f, EMPTY_CURSOR, {}, [dir]);
    expect(r.totals).toEqual({ "claude-sonnet-4-5-20250929": { input: 2468, output: 112, cacheWrite: 156, cacheRead: 1820 } });
    // m2's second block arrives in the next read, then m3 — half written.
    appendFileSync(f, `${assistant("m2")}${assistant("m3").slice(0, 20)}`);
    r = await readClaudeTranscript(f, r.cursor, r.totals, [dir]);
    expect(r.totals["claude-sonnet-4-5-20250929"]!.input).toBe(2468);
    appendFileSync(f, assistant("m3").slice(20));
    r = await readClaudeTranscript(f, r.cursor, r.totals, [dir]);
    expect(r.totals["claude-sonnet-4-5-20250929"]!.input).toBe(3702);
    // Nothing new: same totals, same cursor.
    expect(await readClaudeTranscript(f, r.cursor, r.totals, [dir])).toEqual(r);
  });
});

describe("codex rollout", () => {
  test("the newest cumulative token_count is the total; input excludes the cached part; model from turn_context", async () => {
    const f = join(dir, "rollout.jsonl");
    const tc = (input: number, cached: number, output: number) => `${JSON.stringify({ type: "event_msg", payload: { type: "token_count", info: { total_token_usage: { input_tokens: input, cached_input_tokens: cached, output_tokens: output, reasoning_output_tokens: 3, total_tokens: input + output } } } })}\n`;
    writeFileSync(f, `${JSON.stringify({ type: "turn_context", payload: { model: "gpt-5-codex" } })}\n${tc(1000, 200, 50)}${tc(4000, 800, 200)}`);
    const r = await readCodexRollout(f, EMPTY_CURSOR, {}, [dir]);
    expect(r.totals).toEqual({ "gpt-5-codex": { input: 3200, output: 200, cacheWrite: 0, cacheRead: 800 } });
    appendFileSync(f, tc(9000, 1000, 400));
    expect((await readCodexRollout(f, r.cursor, r.totals, [dir])).totals).toEqual({ "gpt-5-codex": { input: 8000, output: 400, cacheWrite: 0, cacheRead: 1000 } });
  });

  test("the rollout of a thread is found under sessions/YYYY/MM/DD", async () => {
    const now = new Date("2026-12-02T10:00:00Z");
    const d = join(dir, "sessions", "2026", "12", "02");
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "rollout-2026-12-02T09-00-00-01a2-abc.jsonl"), "");
    expect(await findCodexRollout(dir, "01a2-abc", now)).toBe(join(d, "rollout-2026-12-02T09-00-00-01a2-abc.jsonl"));
    expect(await findCodexRollout(dir, "nope-0000", now)).toBeNull();
    expect(await findCodexRollout(dir, "../../etc", now)).toBeNull();
  });
});

describe("prices and reports", () => {
  test("prefix match of dated ids, user table first, unknown models have no price", () => {
    expect(priceOf("claude-sonnet-4-5-20250929", {})?.input).toBe(3);
    expect(priceOf("claude-opus-4-5-20251101", {})?.output).toBe(25);
    expect(priceOf("claude-opus-4-1-20250805", {})?.output).toBe(75);
    expect(priceOf("loopback-model", {})).toBeNull();
    expect(priceOf("loopback-model", { "loopback-model": { input: 1, output: 2, cache_write: 0, cache_read: 0 } })?.output).toBe(2);
    expect(costOf({ input: 1_000_000, output: 1_000_000, cacheWrite: 0, cacheRead: 0 }, priceOf("claude-sonnet-4-5", {}))).toBe(18);
    expect(costOf({ input: 5, output: 0, cacheWrite: 0, cacheRead: 0 }, null)).toBeNull();
  });

  test("grouping, totals, unknown cost never guessed", () => {
    const row = (agentId: number, task: string, model: string, input: number): UsageRow => ({ agentId, project: "p", task, role: "coder", model, input, output: 0, cacheWrite: 0, cacheRead: 0, updatedAt: "2026-12-01T10:00:00Z" });
    const r = summarizeUsage([row(1, "a", "claude-sonnet-4-5", 1_000_000), row(2, "a", "mystery", 10), row(3, "b", "claude-sonnet-4-5", 2_000_000)], "task", {});
    expect(r.groups.map((g) => [g.key, g.cost_usd, g.unpriced_tokens, g.agent_runs])).toEqual([["p/b", 6, 0, 1], ["p/a", 3, 10, 2]]);
    expect(r.total).toMatchObject({ input: 3_000_010, cost_usd: 9, unpriced_tokens: 10, agent_runs: 3 });
    expect(summarizeUsage([row(2, "a", "mystery", 10)], "model", {}).total.cost_usd).toBeNull();
    expect(formatCost(null)).toBe("unknown");
    expect(formatCost(3, 10)).toBe("$3.00 + unknown");
    expect(parseSince("7d", Date.parse("2026-12-08T00:00:00Z"))).toBe("2026-12-01T00:00:00.000Z");
    expect(parseSince("yesterday-ish")).toBeNull();
  });
});

describe("model names as the CLIs store them", () => {
  test("provider prefixes, dated/-latest/-v1 suffixes, Bedrock and Vertex forms find the shipped price", () => {
    expect(normaliseModel("anthropic/claude-sonnet-4-5")).toBe("claude-sonnet-4-5");
    expect(normaliseModel("openrouter/anthropic/claude-sonnet-4.5")).toBe("claude-sonnet-4-5");
    expect(normaliseModel("us.anthropic.claude-opus-4-1-20250805-v1:0")).toBe("claude-opus-4-1");
    expect(normaliseModel("claude-opus-4-5@20251101")).toBe("claude-opus-4-5");
    expect(normaliseModel("claude-3-7-sonnet-latest")).toBe("claude-3-7-sonnet");
    expect(normaliseModel("openai/gpt-5.5-2026-04-23")).toBe("gpt-5.5");
    expect(priceOf("anthropic/claude-sonnet-4-5", {})?.input).toBe(3); // opencode's usage rows
    expect(priceOf("openai/gpt-5.4", {})?.output).toBe(15);
  });

  test("the pinned CLIs' default models have a price", () => {
    expect(priceOf("claude-opus-5-5", {})).toEqual({ input: 4, output: 20, cache_write: 5, cache_read: 0.2 }); // Claude Code 2.1.328
    expect(priceOf("gpt-6.1-sol", {})?.input).toBe(2); // codex 0.169.0 (priority 1 in its catalog)
    expect(priceOf("anthropic/claude-sonnet-4-6", {})?.input).toBe(3); // opencode with an Anthropic key
  });

  test("the shipped table is not matched by prefix: an unknown newer model stays unpriced", () => {
    expect(priceOf("gpt-5.7-sol", {})).toBeNull();
    expect(priceOf("claude-opus-4-9", {})).toBeNull();
    expect(priceOf("gpt-6.1-terra", {})).toBeNull(); // no published price found
  });

  test("the user's table: exact, normalised, then by prefix; it wins over the shipped one", () => {
    const mine = { input: 1, output: 1, cache_write: 0, cache_read: 0 };
    expect(priceOf("anthropic/claude-sonnet-4-5", { "claude-sonnet-4-5": mine })).toBe(mine);
    expect(priceOf("local-llm-7b-q4", { "local-llm": mine })).toBe(mine);
  });
});

describe("doctor's prices check", () => {
  test("models seen in the store count: an unpriced one warns when a budget in dollars is set", () => {
    {
      const path = join(dir, "store.db");
      const db = new Database(path);
      db.run("CREATE TABLE agent_usage (agent_id INTEGER, model TEXT)");
      db.run("INSERT INTO agent_usage VALUES (1, 'anthropic/claude-sonnet-4-5'), (2, 'loopback-model')");
      db.close();
      const seen = observedModels(path);
      expect(seen).toEqual(["anthropic/claude-sonnet-4-5", "loopback-model"]);
      const loaded = { ...loadConfig(join(dir, "none.toml")) };
      loaded.config = { ...loaded.config, budget: { task_usd: 0, task_tokens: 0, day_usd: 20 } };
      const r = checkPrices({ loaded, error: null }, seen);
      expect(r.ok).toBe(false);
      expect(r.detail).toBe("no price for loopback-model (seen): the budget (day_usd = 20) counts their tokens as $0 and cannot hold");
      expect(observedModels(join(dir, "absent.db"))).toEqual([]);
    }
  });
});
