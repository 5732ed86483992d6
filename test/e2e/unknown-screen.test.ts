// A screen no harness knows: a stand-in "claude" (the claude harness by its name, so a CLI that reports
// its turns) that shows a screen of an imagined newer Claude Code and then stands still. Within
// unknown_screen_sec the task gets an attention item quoting it; a screen that keeps changing (a
// working CLI's spinner) does not.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox } from "../helpers/env.ts";
import { ANTHROPIC_KEY, agentDaemonEnv, claudeUser, mixedConfig } from "../real-agents/helpers.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox("kunk-");
});
afterEach(() => sb.cleanup());

const SMALL = "# Small\n**Goal:** one\n\n## Wave 1: a\n### Task 1: x\ndo x\n";
const attention = (t: string) => sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = ?", t)[0]?.attention ?? "";

/** A stand-in claude that prints `screen`, then (with `spin`) rewrites a clock every 0.3 s, or stands still. */
function standIn(screen: string, spin: boolean): string {
  const bin = join(sb.dir, spin ? "bin-spin" : "bin");
  mkdirSync(bin, { recursive: true });
  const script = join(bin, "claude");
  const loop = spin ? `i=0; while [ $i -lt 2000 ]; do i=$((i+1)); printf '\\r✻ Working… (%ss)' "$i"; sleep 0.3; done` : "exec sleep 600";
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' ${JSON.stringify(screen)}\n${loop}\n`);
  chmodSync(script, 0o755);
  return script;
}

async function run(program: string, task: string): Promise<string> {
  claudeUser(sb.home);
  const repo = makeGitRepo(sb.dir, "shop");
  writeFileSync(join(sb.dir, "small.md"), SMALL);
  sb.writeConfig(mixedConfig({ coder: program }, "FAKE_REVIEW_ROUNDS=0").replace("[supervision]\n", "[supervision]\nunknown_screen_sec = 3\nstart_timeout_sec = 120\n"));
  await sb.foreground([], agentDaemonEnv({ ANTHROPIC_API_KEY: ANTHROPIC_KEY }));
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
  expect((await sb.run(["task", "create", task, "--plan", join(sb.dir, "small.md")], { cwd: repo })).code).toBe(0);
  expect((await sb.run(["task", "transition", task, "implement_start"], { cwd: repo })).code).toBe(0);
  return repo;
}

test("an unchanged screen no harness knows: an attention item with its text within unknown_screen_sec", async () => {
  const screen = "╭──────────────────────────────────╮\n│ ✻ Welcome to Claude Code 3.0!    │\n│ Pick your new workspace layout:  │\n│   ▸ Classic    Focus    Split    │\n╰──────────────────────────────────╯";
  await run(standIn(screen, false), "k");
  await sb.waitFor(() => attention("k").includes("shows a screen kasmos does not know"), 30_000, "the unknown-screen attention item");
  expect(attention("k")).toContain("k-coder shows a screen kasmos does not know, unchanged for 3 s");
  expect(attention("k")).toContain("Welcome to Claude Code 3.0!");
  expect(attention("k")).toContain("kas agent capture k-coder");
  const item = sb.query<{ detail: string }>("SELECT detail FROM audit_events WHERE kind = 'stuck_detected' AND task = 'k'");
  expect(item.length).toBe(1);
  expect((JSON.parse(item[0]!.detail) as { pane: string[] }).pane.join("\n")).toContain("Pick your new workspace layout:");
}, 60_000);

test("a screen that keeps changing (a working CLI's clock) is no unknown screen", async () => {
  await run(standIn("Claude Code, busy", true), "w");
  // The agent has been up well past unknown_screen_sec (3 s) with its clock running.
  await sb.waitFor(() => sb.query("SELECT id FROM agents WHERE title = 'w-coder' AND state = 'running' AND started_at < ?", new Date(Date.now() - 8000).toISOString()).length === 1, 30_000, "w-coder up for 8 s");
  expect(attention("w")).toBe("");
  expect(sb.query("SELECT * FROM audit_events WHERE kind = 'stuck_detected'")).toEqual([]);
}, 60_000);
