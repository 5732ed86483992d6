// The real CLIs (pinned) inside kasmos's sandbox, the default: each takes a task from plan_start to
// done against its loopback model, from a HOME that never accepted any one-time disclaimer, as root
// without IS_SANDBOX (no bypass flag: each CLI's own non-interactive permission settings). In each run
// the scripted model also asks the CLI's shell tool to read the planted ~/.ssh/id_ed25519 once: the
// command fails (the key is not there inside), no prompt blocks the agent, the lifecycle finishes.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox } from "../helpers/env.ts";
import { SMALL_PLAN } from "../helpers/agents.ts";
import { agentDaemonEnv, claudeEnv, claudeUser, cliPath, codexUser, mixedConfig, opencodeEnv, opencodeUser } from "./helpers.ts";
import type { Scenario } from "./model/brain.ts";
import { startAnthropicModel } from "./model/anthropic.ts";
import { startChatModel } from "./model/chat.ts";
import { startResponsesModel } from "./model/responses.ts";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY----- sandboxed-cli-test";
// Printed only when the read fails; split in the command so the command text itself never holds it.
const PROBE = 'cat ~/.ssh/id_ed25519 || echo "key-not""-readable"';
const SCENARIO: Scenario = { plan: SMALL_PLAN, scripts: { "*": { probe: [PROBE] } } };
const ROLES = ["planner", "architect", "coder", "reviewer", "fixer", "master"] as const;

let sb: Sandbox;
let stop: (() => Promise<void>) | null = null;
beforeEach(() => {
  sb = new Sandbox("ksx-");
  mkdirSync(join(sb.home, ".ssh"), { recursive: true });
  writeFileSync(join(sb.home, ".ssh", "id_ed25519"), `${KEY}\n`, { mode: 0o600 });
});
afterEach(async () => {
  await sb.cleanup();
  await stop?.();
  stop = null;
});

const status = (task: string) => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = ?", task)[0]?.status;

/** The daemon's environment without IS_SANDBOX (the tests' helpers set it for the unsandboxed runs). */
function withoutIsSandbox(env: Record<string, string>): Record<string, string> {
  const { IS_SANDBOX: _dropped, ...rest } = env;
  return rest;
}

async function planToDone(program: string, roles: readonly string[], env: Record<string, string>, extra = "", realRoles = roles.length): Promise<void> {
  const repo = makeGitRepo(sb.dir, "shop");
  const byRole: Record<string, string> = {};
  for (const r of roles) byRole[r] = program;
  const planFile = join(sb.dir, "plan.md");
  writeFileSync(planFile, SMALL_PLAN);
  sb.writeConfig(mixedConfig(byRole, `FAKE_PLAN=${planFile} FAKE_REVIEW_ROUNDS=0`, extra));
  const daemon = await sb.foreground([], env);
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
  expect((await sb.run(["task", "create", "feat"], { cwd: repo })).code).toBe(0);
  expect((await sb.run(["task", "transition", "feat", "plan_start"], { cwd: repo })).code).toBe(0);
  await sb.waitFor(() => status("feat") === "done", 240_000, "feat to reach done");
  const agents = sb.query<{ title: string; detail: string }>("SELECT message AS title, detail FROM audit_events WHERE kind = 'agent_spawned'");
  expect(agents.length).toBeGreaterThanOrEqual(realRoles > 1 ? 4 : 1);
  for (const a of agents) expect((JSON.parse(a.detail) as { sandbox: { mode: string } }).sandbox.mode, a.title).toBe("bwrap");
  expect(sb.query("SELECT * FROM audit_events WHERE kind IN ('agent_refused', 'agent_failed', 'stuck_detected', 'agent_waiting')")).toEqual([]);
  daemon.kill("SIGTERM");
  expect(await daemon.exited).toBe(0);
}

/** Every run's probe failed inside (the model saw the fallback text, never the key). */
function probeFailed(bodies: string): void {
  expect(bodies).toContain("key-not-readable");
  expect(bodies).not.toContain("sandboxed-cli-test");
}

describe("real CLIs sandboxed, as root, no IS_SANDBOX, no disclaimer ever accepted", () => {
  test("Claude Code in every role", async () => {
    if (process.getuid?.() === 0) expect(process.env.IS_SANDBOX ?? "").not.toBe("1");
    claudeUser(sb.home, { disclaimer: false });
    const model = await startAnthropicModel({ scenario: SCENARIO });
    stop = () => model.stop();
    await planToDone(cliPath("claude"), ROLES, withoutIsSandbox(claudeEnv(model.url)));
    probeFailed(JSON.stringify(model.requests.map((r) => r.body)));
  }, 300_000);

  test("Claude Code with [sandbox] network = a host list: its model reached only through kasmos's proxy", async () => {
    claudeUser(sb.home, { disclaimer: false });
    const model = await startAnthropicModel({ scenario: SCENARIO });
    stop = () => model.stop();
    await planToDone(cliPath("claude"), ROLES, withoutIsSandbox(claudeEnv(model.url)), '[sandbox]\nnetwork = ["127.0.0.1"]\n');
    probeFailed(JSON.stringify(model.requests.map((r) => r.body)));
    // Every model request came through the proxy (absolute-form, from the bridge inside).
    expect(model.requests.length).toBeGreaterThan(0);
  }, 300_000);

  test("codex in every role", async () => {
    const model = await startResponsesModel({ scenario: SCENARIO });
    stop = () => model.stop();
    codexUser(sb.home, model.url);
    await planToDone(cliPath("codex"), ROLES, withoutIsSandbox(agentDaemonEnv()));
    probeFailed(JSON.stringify(model.requests.map((r) => r.body)));
  }, 300_000);

  test("opencode in every role", async () => {
    const model = await startChatModel({ scenario: SCENARIO });
    stop = () => model.stop();
    opencodeUser(sb.home, model.url);
    const everyRole = ROLES.map((r) => `[agents.${r}]\nprogram = "${cliPath("opencode")}"\nmodel = "loopback/brain"\n`).join("\n");
    await planToDone(cliPath("opencode"), [], withoutIsSandbox(opencodeEnv()), everyRole, ROLES.length);
    probeFailed(JSON.stringify(model.requests.map((r) => r.body)));
  }, 300_000);
});
