// Shared by the agent end-to-end tests: the fake agent (test/fixtures/fake-agent.sh) and a daemon
// config that runs it for every role with the auto flags on.
import { expect } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, type Sandbox } from "./env.ts";

export const FAKE_AGENT = join(ROOT, "test", "fixtures", "fake-agent.sh");

/** Three tasks (> blueprint_skip_threshold 2): architect, then wave 1 (two coders), then wave 2. */
export const WAVES_PLAN = `# Feature
**Goal:** two waves

## Wave 1: base
### Task 1: storage
make storage
### Task 2: config
make config

## Wave 2: api
### Task 3: endpoint
serve it
`;

/** One task: at or under blueprint_skip_threshold, so a single coder implements it. */
export const SMALL_PLAN = "# Small\n**Goal:** one change\n\n## Wave 1: a\n### Task 1: x\ndo x\n";

/**
 * daemon.toml: fast polling, auto flags on, the fake agent (with `extraEnv` knobs) as every role's
 * program; `agent` is where the fake agent is (a copy another account can read, say).
 */
export function fakeAgentConfig(extraEnv: string, extra = "", agent = FAKE_AGENT): string {
  return [
    "poll_interval_sec = 0.2",
    "auto_advance = true",
    "auto_review_fix = true",
    "auto_readiness_review = true",
    `default_program = "env ${extraEnv} ${agent}"`,
    extra,
    /^\s*\[sandbox\]/m.test(extra) ? "" : fakeAgentSandbox(extraEnv),
  ].join("\n");
}

/**
 * `[sandbox]` for the fake agent's knobs: the files its FAKE_* variables name (a plan it stores, logs it
 * appends to) are outside everything a sandboxed agent sees, so the test names them, as a user would
 * name a build cache. Log files are created here: a bind needs something to bind.
 */
export function fakeAgentSandbox(extraEnv: string): string {
  const read: string[] = [];
  const write: string[] = [];
  for (const m of extraEnv.matchAll(/\b(FAKE_[A-Z_]+)=(\/\S+)/g)) {
    const [, name, path] = m as unknown as [string, string, string];
    if (name.endsWith("_LOG")) {
      if (!existsSync(path)) writeFileSync(path, "");
      write.push(path);
    } else read.push(path);
  }
  return ["[sandbox]", `read = ${JSON.stringify(read)}`, `write = ${JSON.stringify(write)}`, ""].join("\n");
}

/** Create a task with a stored plan in `repo` (registered already) and start implementing it (no planner). */
export async function createPlanned(sb: Sandbox, repo: string, name: string, plan: string): Promise<void> {
  const planFile = join(sb.dir, `${name}.md`);
  writeFileSync(planFile, plan);
  const c = await sb.run(["task", "create", name, "--plan", planFile], { cwd: repo });
  expect(c.code, c.stderr).toBe(0);
  const t = await sb.run(["task", "transition", name, "implement_start"], { cwd: repo });
  expect(t.code, t.stderr).toBe(0);
}
