// Usage numbers that no model produces (1e308, 1e999 = Infinity, negative, fractional, strings) are
// rejected where they are read — logged and audited, never counted, never a budget hold — and
// garbage already in the store (an earlier version kept it) cannot poison costs, holds or resumes.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createConsola } from "consola";
import { Tmux } from "../../src/agents/tmux.ts";
import { parseClaudeLines } from "../../src/agents/harness/claude.ts";
import { parseCodexLines } from "../../src/agents/harness/codex.ts";
import { EMPTY_CURSOR } from "../../src/agents/usage.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import { AgentRunner } from "../../src/runner/runner.ts";
import { EventHub } from "../../src/engine/events.ts";
import { insertAgent } from "../../src/store/agents.ts";
import { holdOf, taskSpend } from "../../src/store/budget.ts";
import { createTask } from "../../src/store/tasks.ts";
import { writeTaskUpdate } from "../../src/store/task-update.ts";
import { listUsage, setAgentUsage, usageOfAgent } from "../../src/store/usage.ts";
import { tempStore, type TempStore } from "../store/helpers.ts";

let s: TempStore;
const savedConfigDir = process.env.CLAUDE_CONFIG_DIR;
beforeEach(() => {
  s = tempStore();
  process.env.CLAUDE_CONFIG_DIR = s.dir;
});
afterEach(() => {
  if (savedConfigDir === undefined) delete process.env.CLAUDE_CONFIG_DIR;
  else process.env.CLAUDE_CONFIG_DIR = savedConfigDir;
  s.cleanup();
});

const line = (id: string, usage: unknown) => JSON.stringify({ type: "assistant", message: { id, model: "claude-sonnet-4-5", usage } });
const good = { input_tokens: 1000, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

function setup(limits: { task_tokens?: number; task_usd?: number }) {
  createTask(s.db, { project: "p", name: "t", branch: "plan/t", content: "# plan\n" });
  writeTaskUpdate(s.db, "p", "t", { status: "implementing" });
  const cfg = defaultConfig();
  cfg.budget = { task_usd: limits.task_usd ?? 0, task_tokens: limits.task_tokens ?? 0, day_usd: 0 };
  const runner = new AgentRunner({ db: s.db, log: createConsola({ level: -999 }), hub: new EventHub(s.db), tmux: new Tmux({ socketName: `kt-unused-${process.pid}` }), config: () => cfg, binDir: "/nonexistent" });
  const a = insertAgent(s.db, { project: "p", task: "t", title: "t-coder", role: "coder", session: "kas_x", cwd: "/tmp", program: "claude", harness: "claude" });
  return { runner, a };
}

test("readers reject unbelievable counts (with the reason) and count the rest", () => {
  const lines = [line("m1", { ...good, input_tokens: 1e308 }), '{"type":"assistant","message":{"id":"m2","model":"claude-sonnet-4-5","usage":{"input_tokens":1e999}}}', line("m3", { ...good, output_tokens: -5 }), line("m4", { ...good, cache_read_input_tokens: 12.5 }), line("m5", { ...good, input_tokens: "7" }), line("m6", good)];
  const r = parseClaudeLines(lines, EMPTY_CURSOR, {});
  expect(r.totals).toEqual({ "claude-sonnet-4-5": { input: 1000, output: 10, cacheWrite: 0, cacheRead: 0 } });
  expect(r.rejected.length).toBe(5);
  expect(r.rejected[0]).toContain("input_tokens");
  const tc = (t: unknown) => JSON.stringify({ type: "event_msg", payload: { type: "token_count", info: { total_token_usage: t } } });
  const c = parseCodexLines([tc({ input_tokens: 4000, cached_input_tokens: 800, output_tokens: 200 }), tc({ input_tokens: 1e308, output_tokens: 1 })], EMPTY_CURSOR, {});
  expect(c.totals).toEqual({ unknown: { input: 3200, output: 200, cacheWrite: 0, cacheRead: 800 } });
  expect(c.rejected).toEqual([expect.stringContaining("input_tokens")]);
});

test("a transcript claiming 1e308 tokens: not counted, audited, the task is not held", async () => {
  const { runner } = setup({ task_tokens: 1_000_000 });
  mkdirSync(join(s.dir, "projects", "p"), { recursive: true });
  const transcript = join(s.dir, "projects", "p", "t.jsonl");
  writeFileSync(transcript, `${line("m1", { ...good, input_tokens: 1e308 })}\n${line("m2", good)}\n`);
  runner.onAgentEvent({ project: "p", title: "t-coder", cli: "claude", event: "Stop", payload: { transcript_path: transcript } });
  const deadline = Date.now() + 5000;
  while (listUsage(s.db).length === 0 && Date.now() < deadline) await Bun.sleep(20);
  expect(listUsage(s.db).map((r) => r.input)).toEqual([1000]);
  expect(holdOf(s.db, "p", "t")?.hold).toBe("");
  const audit = s.db.query<{ message: string }, []>("SELECT message FROM audit_events WHERE kind = 'usage_rejected'").all();
  expect(audit.length).toBe(1);
  expect(audit[0]!.message).toContain("input_tokens");
});

test("garbage stored by an earlier version reads as 0: no $Infinity, no hold; a resume base of 1e308 does not lift the limit", async () => {
  const { runner, a } = setup({ task_tokens: 5000, task_usd: 1 });
  setAgentUsage(s.db, { id: a.id, project: "p", task: "t", role: "coder" }, { "claude-sonnet-4-5": { input: 1e308, output: 1e308, cacheWrite: 0, cacheRead: 0 } }, EMPTY_CURSOR);
  expect(usageOfAgent(s.db, a.id)["claude-sonnet-4-5"]).toEqual({ input: 0, output: 0, cacheWrite: 0, cacheRead: 0 });
  expect(taskSpend(s.db, "p", "t", {})).toEqual({ usd: 0, tokens: 0 });
  expect(runner.enforceBudget("p", "t")).toBe(false);
  // A resume taken while garbage was counted stored a base of 1e308: real spend past the limit still holds.
  writeTaskUpdate(s.db, "p", "t", { budgetBase: JSON.stringify({ usd: 1e308, tokens: 1e308, at: "2026-12-01T00:00:00Z", day: "" }) });
  setAgentUsage(s.db, { id: a.id, project: "p", task: "t", role: "coder" }, { "claude-sonnet-4-5": { input: 6000, output: 0, cacheWrite: 0, cacheRead: 0 } }, EMPTY_CURSOR);
  expect(runner.enforceBudget("p", "t")).toBe(true);
  expect(holdOf(s.db, "p", "t")?.hold).toContain("task_tokens");
  // The hold stops the agent in the background: let that finish before the store closes.
  const deadline = Date.now() + 15_000;
  while (s.db.query<{ state: string }, [number]>("SELECT state FROM agents WHERE id = ?").get(a.id)?.state === "running" && Date.now() < deadline) await Bun.sleep(20);
});
