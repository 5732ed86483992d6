// The real pinned CLIs against a loopback model that answers with the APIs' own usage-limit, rate-limit,
// overload and rejected-key responses (model/faults.ts): what each harness reads from the CLI's hook
// reports and from its pane must be the reason the model gave. The CLI runs as kasmos starts it (the
// harness's own command and hook wiring) in a tmux server of the test; its hook reports land in a file.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { harnessOf } from "../../src/agents/harness/index.ts";
import type { Stall } from "../../src/agents/harness/types.ts";
import { activityFromEvent, stallFromPane } from "../../src/agents/supervise.ts";
import { Sandbox, waitFor } from "../helpers/env.ts";
import { agentDaemonEnv, claudeEnv, claudeUser, cliPath, codexUser, opencodeEnv, opencodeUser } from "./helpers.ts";
import { startChatModel } from "./model/chat.ts";
import { startAnthropicModel } from "./model/anthropic.ts";
import { anthropicFault, type FaultKind, type FaultPlan, openaiFault } from "./model/faults.ts";
import { startResponsesModel } from "./model/responses.ts";

let sb: Sandbox;
let stopModel: (() => Promise<void>) | null = null;
beforeEach(() => {
  sb = new Sandbox("klim-");
});
afterEach(async () => {
  await sb.cleanup();
  await stopModel?.();
  stopModel = null;
});

interface Report {
  event: string;
  payload: Record<string, unknown>;
}

/** Start `cli` in the sandbox's tmux server as kasmos would (the harness's command, its hooks → a file). */
async function startCli(cli: "claude" | "codex" | "opencode", env: Record<string, string>, model = ""): Promise<{ pane: () => string; reports: () => Report[] }> {
  const work = join(sb.dir, "work");
  const runDir = join(sb.dir, "run");
  mkdirSync(work, { recursive: true });
  mkdirSync(runDir, { recursive: true });
  const workReal = realpathSync(work);
  const promptFile = join(workReal, "prompt.md");
  writeFileSync(promptFile, "# Task\nSay hello.\n");
  // The hook command records each report: its event (after --event) and its payload (stdin, or the last argument for codex's notify).
  const reportsFile = join(sb.dir, "reports.jsonl");
  const hook = join(sb.dir, "hook.sh");
  writeFileSync(hook, `#!/bin/sh\nevent=$4\nif [ $# -ge 5 ]; then body=$5; else body=$(cat); fi\nprintf '{"event":"%s","payload":%s}\\n' "$event" "$body" >> ${reportsFile}\n`);
  chmodSync(hook, 0o755);
  const h = harnessOf(cli);
  const pre = await h.preflight({ folders: [workReal], skipPermissions: true, env: { ...env, HOME: sb.home }, isRoot: process.getuid?.() === 0, executable: cliPath(cli) });
  expect(pre.ok).toBe(true);
  const pointer = `Read the file ${promptFile} and follow its instructions`;
  const cmd = h.command({ profile: { program: cliPath(cli), flags: [], model, skipPermissions: true }, words: [cliPath(cli)], promptFile, pointer, hookCommand: [hook], runDir });
  for (const [name, text] of Object.entries(cmd.files)) writeFileSync(join(runDir, name), text);
  const all = { ...sb.env, ...env, ...cmd.env };
  const envArgs = Object.entries(all).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const r = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "new-session", "-d", "-s", "agent", "-x", "200", "-y", "50", "-c", workReal, ...envArgs, ...cmd.argv]);
  expect(r.exitCode).toBe(0);
  return {
    pane: () => Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "capture-pane", "-p", "-t", "agent"]).stdout.toString(),
    reports: () =>
      existsSync(reportsFile)
        ? readFileSync(reportsFile, "utf8")
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => JSON.parse(l) as Report)
        : [],
  };
}

/** Wait (bounded) until the pane shows a stall that satisfies `ok`; the last one read. */
async function paneStall(cli: string, pane: () => string, ok: (s: Stall) => boolean, what: string, ms = 120_000): Promise<Stall> {
  let last: Stall | null = null;
  await waitFor(() => {
    last = stallFromPane(harnessOf(cli), pane());
    return last !== null && ok(last);
  }, ms, what);
  return last!;
}

describe("Claude Code, for real, against the API's own errors", () => {
  async function run(kind: FaultKind, plan: Partial<FaultPlan> = {}) {
    const model = await startAnthropicModel({ scenario: { plan: "# p" }, fault: { fault: anthropicFault(kind), ...plan } });
    stopModel = () => model.stop();
    claudeUser(sb.home);
    const cli = await startCli("claude", claudeEnv(model.url));
    return { model, ...cli };
  }

  test.each([
    ["usage_limit", "rate_limit"], // an API key's 429: Claude Code shows it as a rate limit, no reset time
    ["unauthorized", "auth"],
  ] as const)("the model answers %s → StopFailure and the pane both read %s; no retry of its own", async (kind, reason) => {
    const { model, pane, reports } = await run(kind);
    await waitFor(() => reports().some((r) => r.event === "StopFailure"), 120_000, "Claude Code's StopFailure report");
    const failure = reports().find((r) => r.event === "StopFailure")!;
    const read = activityFromEvent("claude", failure.event, failure.payload);
    expect(read?.activity).toBe("idle");
    expect(read?.stall).toMatchObject({ reason, retrying: false });
    const shown = await paneStall("claude", pane, (s) => !s.retrying, "the error on Claude Code's pane", 30_000);
    expect(shown.reason).toBe(reason);
    // One main-loop request: Claude Code does not retry these itself.
    expect(model.requests.filter((q) => typeof q.answered === "number").length).toBe(1);
  }, 200_000);

  test("a 529: the pane shows Claude Code's own retries as overloaded, retrying; once the model recovers the turn goes on", async () => {
    const { model, pane, reports } = await run("overloaded", { count: 4 });
    const retrying = await paneStall("claude", pane, (s) => s.retrying, "Claude Code's retry line");
    expect(retrying.reason).toBe("overloaded");
    expect(retrying.resetAt).not.toBeNull();
    // After four 529s the model answers: the turn runs on (a tool call reported), no StopFailure.
    await waitFor(() => reports().some((r) => r.event === "PreToolUse"), 120_000, "the turn to go on after the 529s");
    expect(model.requests.filter((q) => q.answered === 529).length).toBe(4);
    expect(reports().some((r) => r.event === "StopFailure")).toBe(false);
  }, 200_000);
});

describe("codex, for real, against the API's own errors", () => {
  async function run(kind: FaultKind, resetAt?: number) {
    const model = await startResponsesModel({ scenario: { plan: "# p" }, fault: { fault: openaiFault(kind, resetAt === undefined ? {} : { resetAt }) } });
    stopModel = () => model.stop();
    codexUser(sb.home, model.url);
    return { model, ...(await startCli("codex", agentDaemonEnv())) };
  }

  test("the ChatGPT plan's usage limit: read as usage_limit with the reset time codex prints (to the minute)", async () => {
    const resetAt = Date.now() + 90 * 60_000;
    const { model, pane } = await run("usage_limit", resetAt);
    const s = await paneStall("codex", pane, (x) => x.reason === "usage_limit", "codex's usage-limit line");
    expect(s.retrying).toBe(false);
    expect(Math.abs(s.resetAt! - resetAt)).toBeLessThan(60_000);
    expect(model.requests.filter((q) => q.kind === "turn").length).toBe(1);
  }, 200_000);

  test.each([
    ["unauthorized", "auth"],
    ["rate_limit", "rate_limit"],
  ] as const)("the model answers %s → codex's final error line reads %s", async (kind, reason) => {
    // A reset 2 s ahead: codex honours retry-after between its own retries.
    const { pane } = await run(kind, Date.now() + 2000);
    const s = await paneStall("codex", pane, (x) => !x.retrying, "codex's final error line");
    expect(s.reason).toBe(reason);
  }, 200_000);
});

describe("opencode, for real, against the API's own errors", () => {
  async function run(kind: FaultKind) {
    const model = await startChatModel({ scenario: { plan: "# p" }, fault: { fault: openaiFault(kind, { resetAt: Date.now() + 600_000 }) } });
    stopModel = () => model.stop();
    opencodeUser(sb.home, model.url);
    Bun.spawnSync(["git", "init", "-q", join(sb.dir, "work")]);
    return { model, ...(await startCli("opencode", opencodeEnv(), "loopback/brain")) };
  }

  test("a usage limit: opencode retries it itself (retry-after honoured), read as usage_limit, retrying", async () => {
    const { pane } = await run("usage_limit");
    const s = await paneStall("opencode", pane, (x) => x.retrying, "opencode's retry line");
    expect(s.reason).toBe("usage_limit");
  }, 200_000);

  test("a 401: read as auth, no retry of its own", async () => {
    const { model, pane } = await run("unauthorized");
    const s = await paneStall("opencode", pane, (x) => !x.retrying, "opencode's error line");
    expect(s.reason).toBe("auth");
    expect(model.requests.filter((r) => r.answer === "error:401").length).toBe(1);
  }, 200_000);
});
