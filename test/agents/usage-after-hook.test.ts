// A CLI may write its usage records a moment after its hook fires (Claude Code's transcript line for
// the answer that asked for the tool): the runner reads usage at the report and once more shortly
// after, so that answer is counted before the next one (a budget warns at 80 % before it holds).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createConsola } from "consola";
import { Tmux } from "../../src/agents/tmux.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import { AgentRunner } from "../../src/runner/runner.ts";
import { EventHub } from "../../src/engine/events.ts";
import { insertAgent } from "../../src/store/agents.ts";
import { createTask } from "../../src/store/tasks.ts";
import { writeTaskUpdate } from "../../src/store/task-update.ts";
import { usageOfAgent } from "../../src/store/usage.ts";
import { tempStore, type TempStore } from "../store/helpers.ts";

let s: TempStore;
const savedConfigDir = process.env.CLAUDE_CONFIG_DIR;
beforeEach(() => {
  s = tempStore();
  process.env.CLAUDE_CONFIG_DIR = s.dir; // the transcript lives in Claude's own projects folder
});
afterEach(() => {
  if (savedConfigDir === undefined) delete process.env.CLAUDE_CONFIG_DIR;
  else process.env.CLAUDE_CONFIG_DIR = savedConfigDir;
  s.cleanup();
});

const usage = { input_tokens: 1234, output_tokens: 56, cache_creation_input_tokens: 78, cache_read_input_tokens: 910 };
const answer = (id: string) => `${JSON.stringify({ type: "assistant", message: { id, model: "claude-loopback", usage } })}\n`;

test("an answer written to the transcript just after its hook report is counted without another report", async () => {
  createTask(s.db, { project: "p", name: "t", branch: "plan/t", content: "# plan\n" });
  writeTaskUpdate(s.db, "p", "t", { status: "implementing" });
  const runner = new AgentRunner({ db: s.db, log: createConsola({ level: -999 }), hub: new EventHub(s.db), tmux: new Tmux({ socketName: `kt-unused-${process.pid}` }), config: () => defaultConfig(), binDir: "/nonexistent" });
  const a = insertAgent(s.db, { project: "p", task: "t", title: "t-coder", role: "coder", session: "kas_x", cwd: "/tmp", program: "claude", harness: "claude" });
  mkdirSync(join(s.dir, "projects", "p"), { recursive: true });
  const transcript = join(s.dir, "projects", "p", "t.jsonl");
  writeFileSync(transcript, `${JSON.stringify({ type: "user", message: { content: "go" } })}\n`);
  const input = () => usageOfAgent(s.db, a.id)["claude-loopback"]?.input ?? 0;

  expect(runner.onAgentEvent({ project: "p", title: "t-coder", cli: "claude", event: "PreToolUse", payload: { transcript_path: transcript } })).toEqual({ activity: "working" });
  expect(input()).toBe(0); // nothing in the transcript yet
  appendFileSync(transcript, answer("m1")); // the CLI writes the answer after the hook fired
  const deadline = Date.now() + 3000;
  while (input() === 0 && Date.now() < deadline) await Bun.sleep(20);
  expect(input()).toBe(1234);
});
