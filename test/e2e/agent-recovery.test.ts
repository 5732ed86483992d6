// Operator recovery and agent environment, end to end with scripted agents (compiled daemon, real tmux):
// `kas task retry` / `kas agent restart` bring back an agent that died, once its cause is fixed, without
// re-running earlier phases; a restart that the task's state does not need is refused with what it
// needs; each agent gets the daemon's environment explicitly, never a stale one from the tmux server.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FAKE_AGENT } from "../helpers/agents.ts";
import { makeGitRepo, ROOT, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const task = (name: string) => sb.query<{ status: string; attention: string }>("SELECT status, attention FROM tasks WHERE name = ?", name)[0];
const SMALL = "## Wave 1: a\n### Task 1: x\ny\n";

describe("agent recovery", () => {
  test("an agent that died: kas task retry starts it again once fixed; a restart the task does not need is refused", async () => {
    const repo = makeGitRepo(sb.dir, "web");
    const ok = join(sb.dir, "fixed");
    // The agent dies until the operator "fixes" it (creates the marker); the generic adapter appends the prompt file ($0).
    // Unsandboxed: the agent's "fixed" marker is a file of the test's, which a sandbox would hide (recovery is the subject here).
    sb.writeConfig(`poll_interval_sec = 0.2\nauto_review_fix = true\nauto_readiness_review = false\ndefault_program = "sh -c 'test -e ${ok} && exec env FAKE_REVIEW_ROUNDS=0 ${FAKE_AGENT} \\"$0\\" || exit 3'"\n[sandbox]\nmode = "off"\n`);
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    writeFileSync(join(sb.dir, "small.md"), SMALL);
    await sb.run(["task", "create", "b", "--plan", join(sb.dir, "small.md")], { cwd: repo });
    await sb.run(["task", "transition", "b", "implement_start"], { cwd: repo });
    await waitFor(() => task("b")!.attention.includes("without its signal"), 30_000, "the coder's death to be noticed");
    expect(task("b")!.attention).toContain("kas agent restart b-coder");

    // Nothing to restart that the task does not need: refused with what it needs.
    const wrong = await sb.run(["agent", "restart", "b-review-1"], { cwd: repo });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("not needed in the task's current state");
    expect(wrong.stderr).toContain("b-coder");

    writeFileSync(ok, "");
    const r = await sb.run(["task", "retry", "b", "--json"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ task: "b", restarted: ["b-coder"], note: "" });
    // Moved on, and the agent its new state needs runs (a retry in between would start that one: it is missing).
    const reviewerRuns = () => sb.query("SELECT 1 FROM agents WHERE role = 'reviewer' AND state = 'running' AND task = 'b'").length > 0;
    await waitFor(() => task("b")?.status === "done" || (task("b")?.status === "reviewing" && reviewerRuns()), 30_000, "b to move on after the retry");
    expect(sb.query("SELECT * FROM audit_events WHERE kind = 'agent_restarted' AND task = 'b'").length).toBe(1);
    // Retrying a task whose agents all run (or that needs none) restarts nothing and says so.
    const again = await sb.run(["task", "retry", "b"], { cwd: repo });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("nothing to retry for b");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 90_000);

  test("a CLI alive on a fatal error screen: attention at once quoting the error, capture shows it, task retry restarts it", async () => {
    const repo = makeGitRepo(sb.dir, "cx");
    // A stand-in "codex" that shows the screen the pinned codex shows without its provider's key variable, and stays alive.
    const bin = join(sb.dir, "bin");
    mkdirSync(bin, { recursive: true });
    const screen = join(ROOT, "test", "fixtures", "codex-missing-key.screen");
    writeFileSync(join(bin, "codex"), `#!/bin/sh\necho started >> "${join(sb.dir, "starts")}"\ncat "${screen}"\nexec sleep 600\n`);
    chmodSync(join(bin, "codex"), 0o755);
    mkdirSync(join(sb.home, ".codex"), { recursive: true });
    writeFileSync(join(sb.home, ".codex", "config.toml"), 'model_provider = "standin"\n[model_providers.standin]\nbase_url = "http://127.0.0.1:9/v1"\nenv_key = "STANDIN_API_KEY"\n');
    // Unsandboxed: the stand-in CLI writes its starts and reads its screen in the test's folder (a sandbox would hide it).
    sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "${join(bin, "codex")}"\n[supervision]\nstart_timeout_sec = 600\n[sandbox]\nmode = "off"\n`);
    const daemon = await sb.foreground([], { STANDIN_API_KEY: "set" }); // preflight passes; the stand-in shows the screen anyway
    await sb.run(["daemon", "add", repo]);
    writeFileSync(join(sb.dir, "small.md"), SMALL);
    await sb.run(["task", "create", "b", "--plan", join(sb.dir, "small.md")], { cwd: repo });
    await sb.run(["task", "transition", "b", "implement_start"], { cwd: repo });
    await waitFor(() => task("b")!.attention.includes("fatal error"), 30_000, "the error screen to be noticed (long before start_timeout_sec)");
    expect(task("b")!.attention).toContain('"Missing environment variable: `STANDIN_API_KEY`."');
    expect(task("b")!.attention).toContain("kas task retry b");
    const cap = await sb.run(["agent", "capture", "b-coder", "--lines", "5"], { cwd: repo });
    expect(cap.stdout).toContain("Missing environment variable");
    const r = await sb.run(["task", "retry", "b", "--json"], { cwd: repo });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ task: "b", restarted: ["b-coder"], note: "" });
    await waitFor(() => { try { return readFileSync(join(sb.dir, "starts"), "utf8").split("\n").length > 2; } catch { return false; } }, 30_000, "the stuck coder to be started again");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 90_000);

  test("agents get the daemon's environment explicitly: a variable the tmux server kept from an earlier daemon does not reach them", async () => {
    const repo = makeGitRepo(sb.dir, "env");
    // The agent writes its environment next to its prompt file, then idles.
    // Unsandboxed: this is about the tmux server's environment (a sandbox keeps only its allow-list, and hides the prompt folder written to here).
    sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "sh -c 'env > \\"$0.env\\"; exec sleep 600'"\n[sandbox]\nmode = "off"\n`);
    let daemon = await sb.foreground([], { OLD_ONLY: "from-the-first-daemon", KASMOS_E2E_MARK: "one" });
    await sb.run(["daemon", "add", repo]);
    await sb.run(["task", "create", "e1"], { cwd: repo });
    await sb.run(["task", "transition", "e1", "plan_start"], { cwd: repo });
    const envFile = (title: string) => join(sb.configDir, "prompts", "env", `${title}.md.env`);
    await waitFor(() => { try { return readFileSync(envFile("e1-plan"), "utf8").includes("KASMOS_TASK=e1"); } catch { return false; } }, 20_000, "the first agent's environment");
    expect(readFileSync(envFile("e1-plan"), "utf8")).toContain("OLD_ONLY=from-the-first-daemon");
    daemon.kill("SIGTERM");
    await daemon.exited;
    // A new daemon without OLD_ONLY; the tmux server (started by the first) lives on with it in its global env.
    daemon = await sb.foreground([], { NEW_ONLY: "from-the-second-daemon" });
    await sb.run(["task", "create", "e2"], { cwd: repo });
    await sb.run(["task", "transition", "e2", "plan_start"], { cwd: repo });
    await waitFor(() => { try { return readFileSync(envFile("e2-plan"), "utf8").includes("KASMOS_TASK=e2"); } catch { return false; } }, 20_000, "the second agent's environment");
    const env = readFileSync(envFile("e2-plan"), "utf8");
    expect(env).toContain("NEW_ONLY=from-the-second-daemon");
    expect(env).not.toContain("OLD_ONLY");
    expect(env).toContain(`KASMOS_SOCKET=${sb.socket}`);
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);
});

describe("agent identity", () => {
  test("tasks a-b and a.b run side by side: neither agent is killed or taken for the other", async () => {
    const repo = makeGitRepo(sb.dir, "web");
    sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "sh -c 'exec sleep 600'"\n`);
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    for (const t of ["a-b", "a.b"]) {
      expect((await sb.run(["task", "create", t], { cwd: repo })).code).toBe(0);
      expect((await sb.run(["task", "transition", t, "plan_start"], { cwd: repo })).code).toBe(0);
    }
    await waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 2, 20_000, "both planners");
    await Bun.sleep(1500); // several passes
    const rows = sb.query<{ title: string; session: string; state: string }>("SELECT title, session, state FROM agents ORDER BY id");
    expect(rows.map((r) => r.state)).toEqual(["running", "running"]);
    expect(new Set(rows.map((r) => r.session)).size).toBe(2);
    const panes = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "list-sessions", "-F", "#{session_name}"]).stdout.toString().trim().split("\n");
    expect(panes.sort()).toEqual(rows.map((r) => r.session).sort());
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);
});

describe("agent capture", () => {
  test("--lines N prints the last N lines of output, not the whole screen", async () => {
    const repo = makeGitRepo(sb.dir, "cap");
    sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "sh -c 'seq 1 100; exec sleep 600'"\n`);
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    await sb.run(["task", "create", "t"], { cwd: repo });
    await sb.run(["task", "transition", "t", "plan_start"], { cwd: repo });
    await waitFor(async () => (await sb.run(["agent", "capture", "t-plan"], { cwd: repo })).stdout.includes("100"), 20_000, "the output");
    const r = await sb.run(["agent", "capture", "t-plan", "--lines", "3"], { cwd: repo });
    expect(r.stdout).toBe("98\n99\n100\n");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);
});
