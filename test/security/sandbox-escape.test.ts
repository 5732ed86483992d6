// The escape suite: a hostile coder (test/fixtures/escape-agent.sh), started by the compiled daemon
// like any agent, tries to read the user's secrets, other repos, worktrees and prompts, to write
// outside its worktree, to drive the daemon for other tasks and repos, and to kill the daemon and
// the tmux server. Sandboxed, every attempt fails, those that reach kasmos are audited with the
// agent's identity, and its own hooks and signals still take its task to done. The same agent with
// mode = "off" documents what is open then.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";
import { createPlanned, fakeAgentConfig, SMALL_PLAN } from "../helpers/agents.ts";
import { ROOT } from "../helpers/env.ts";

const ESCAPE_AGENT = join(ROOT, "test", "fixtures", "escape-agent.sh");
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY----- escape-test";
const WEBHOOK_SECRET = "webhook-secret-escape-test";
const GITHUB_TOKEN = "ghp_escape_test_token";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox("kse-");
});
afterEach(async () => {
  await sb.cleanup();
});

interface Run {
  outcome: Map<string, { open: boolean; text: string }>;
  shop: string;
  other: string;
  daemon: Bun.Subprocess<"ignore", "pipe", "pipe">;
  coder: string;
}

async function escape(mode: "bwrap" | "off"): Promise<Run> {
  mkdirSync(join(sb.home, ".ssh"), { recursive: true });
  writeFileSync(join(sb.home, ".ssh", "id_ed25519"), `${SSH_KEY}\n`, { mode: 0o600 });
  const shop = makeGitRepo(sb.dir, "shop");
  const other = makeGitRepo(sb.dir, "other");
  writeFileSync(join(other, "private.txt"), "other repo's private file\n");
  // Another task's folder under .worktrees/ (the task "idle" of the same repo).
  const otherWorktree = join(shop, ".worktrees", "plan-idle");
  mkdirSync(otherWorktree, { recursive: true });
  writeFileSync(join(otherWorktree, "secret.txt"), "another task's work\n");
  // Another agent's prompt, where kasmos keeps them.
  mkdirSync(join(sb.configDir, "prompts", "other"), { recursive: true });
  writeFileSync(join(sb.configDir, "prompts", "other", "victim-coder.md"), "victim's prompt escape-test\n");
  const pidDir = join(sb.dir, "pid");
  mkdirSync(pidDir);
  const knobs = [`OTHER_REPO=${other}`, `OTHER_WORKTREE=${otherWorktree}`, `CONTROL_SOCKET=${sb.socket}`, `PID_DIR=${pidDir}`, `TMUX_NAME=${sb.tmuxSocket}`, ...(mode === "off" ? ["NO_HARM=1"] : [])];
  sb.writeConfig(
    fakeAgentConfig(
      "FAKE_REVIEW_ROUNDS=0",
      [
        "[agents.coder]",
        `program = "env ${knobs.join(" ")} ${ESCAPE_AGENT}"`,
        "[notify]",
        `webhook = "http://127.0.0.1:9/hook?token=${WEBHOOK_SECRET}"`,
        'kinds = ["budget"]',
        "[sandbox]",
        `mode = "${mode}"`,
        // The daemon's pid, for the kill attempt (the pid file itself lives with kasmos's state, out of sight).
        `read = ["${pidDir}"]`,
      ].join("\n"),
    ),
  );
  const daemon = await sb.foreground([], { GITHUB_TOKEN });
  writeFileSync(join(pidDir, "daemon.pid"), String(daemon.pid));
  expect((await sb.run(["daemon", "add", shop])).code).toBe(0);
  expect((await sb.run(["daemon", "add", other])).code).toBe(0);
  expect((await sb.run(["task", "create", "victim"], { cwd: other })).code).toBe(0);
  expect((await sb.run(["task", "create", "idle"], { cwd: shop })).code).toBe(0);
  await createPlanned(sb, shop, "feat", SMALL_PLAN);
  await waitFor(() => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = 'feat'")[0]?.status === "done", 90_000, "feat to reach done");
  const log = readFileSync(join(shop, ".worktrees", "plan-feat", "escape.log"), "utf8");
  expect(log).toContain("escape attempts done");
  const outcome = new Map<string, { open: boolean; text: string }>();
  for (const line of log.split("\n")) {
    const m = /^(\w+): (OPEN|BLOCKED) ?(.*)$/.exec(line);
    if (m) outcome.set(m[1]!, { open: m[2] === "OPEN", text: m[3]! });
  }
  const coder = sb.query<{ title: string }>("SELECT title FROM agents WHERE role = 'coder' AND task = 'feat'")[0]!.title;
  return { outcome, shop, other, daemon, coder };
}

function opened(r: Run): string[] {
  return [...r.outcome].filter(([, o]) => o.open).map(([k]) => k).sort();
}

describe("a hostile agent in the sandbox", () => {
  test("reads, writes and commands nothing but its own; what reaches kasmos is refused and audited; its task reaches done", async () => {
    const r = await escape("bwrap");
    // Inside, $HOME is an empty folder of the sandbox's own: a write there lands nowhere real.
    expect(opened(r).filter((k) => k !== "write_home")).toEqual(["own_hook", "own_ping", "own_task_show"]);
    expect(r.outcome.get("own_task_show")!.text).toContain("task shop/feat");
    for (const k of ["ssh_key", "webhook_secret", "github_token_env", "daemon_environ", "daemon_environ_by_pid", "other_repo", "other_worktree", "other_prompts", "store", "write_other_repo", "write_etc", "git_config", "git_hook", "git_link", "git_commondir", "git_other_admin", "control_socket", "api_transition_other_repo", "api_cancel_sibling", "api_signal_sibling", "api_agent_send", "api_reload", "api_usage", "cli_agent_send", "cli_daemon_remove", "cli_gc", "cli_task_show_sibling", "kill_daemon", "kill_tmux"]) {
      expect(r.outcome.get(k), k).toBeDefined();
      expect(r.outcome.get(k)!.open, `${k}: ${r.outcome.get(k)!.text}`).toBe(false);
      expect(r.outcome.get(k)!.text).not.toContain("escape-test");
    }
    for (const k of ["api_transition_other_repo", "api_cancel_sibling", "api_signal_sibling", "api_agent_send", "api_reload", "api_usage"]) expect(r.outcome.get(k)!.text, k).toBe("403");
    expect(r.outcome.get("api_forged_token")!.text).toBe("401");
    expect(existsSync(join(sb.home, "pwned"))).toBe(false);
    expect(existsSync(join(r.other, "pwned.txt"))).toBe(false);
    expect(existsSync("/etc/kasmos-pwned")).toBe(false);

    // Nothing of theirs changed: the other tasks stand, the other repo is registered, daemon and tmux live.
    expect(sb.query<{ name: string; status: string }>("SELECT name, status FROM tasks WHERE name IN ('victim', 'idle') ORDER BY name")).toEqual([
      { name: "idle", status: "ready" },
      { name: "victim", status: "ready" },
    ]);
    expect(sb.query("SELECT * FROM repos WHERE path = ?", r.other).length).toBe(1);
    expect(r.daemon.exitCode).toBeNull();
    expect(Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "list-sessions"]).exitCode).toBe(0);

    // Every request that reached kasmos is on record with the agent's identity.
    const refused = sb.query<{ project: string; task: string; detail: string }>("SELECT project, task, detail FROM audit_events WHERE kind = 'agent_forbidden'");
    expect(refused.length).toBeGreaterThanOrEqual(8);
    for (const a of refused) {
      expect(a.project).toBe("shop");
      expect(a.task).toBe("feat");
      expect((JSON.parse(a.detail) as { title: string }).title).toBe(r.coder);
    }
    const paths = refused.map((a) => (JSON.parse(a.detail) as { path: string }).path);
    // kas daemon remove asks for the repo list first: refused there already.
    for (const p of ["/v1/repos/other/tasks/victim/transition", "/v1/repos/shop/tasks/idle/transition", "/v1/repos", "/v1/gc", "/v1/reload", "/v1/repos/shop/tasks/idle"]) expect(paths).toContain(p);
    // Its signal file for another task, written in its own worktree: quarantined with that reason.
    const quarantined = sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'signal_quarantined'").map((q) => q.message);
    expect(quarantined.some((m) => m.includes("implement-finished-idle") && m.includes("another task's worktree"))).toBe(true);
    // It ran under the sandbox, and the record says with which policy.
    const spawned = sb.query<{ detail: string }>("SELECT detail FROM audit_events WHERE kind = 'agent_spawned' AND message LIKE ?", `%${r.coder}%`);
    expect((JSON.parse(spawned[0]!.detail) as { sandbox: { mode: string } }).sandbox.mode).toBe("bwrap");
    r.daemon.kill("SIGTERM");
    expect(await r.daemon.exited).toBe(0);
  }, 150_000);

  test('with mode = "off" the same agent reaches the user\'s secrets, other repos and the control socket (what the sandbox closes)', async () => {
    const r = await escape("off");
    for (const k of ["ssh_key", "webhook_secret", "daemon_environ", "daemon_environ_by_pid", "other_repo", "other_worktree", "other_prompts", "store", "write_home", "write_other_repo", "control_socket", "api_transition_other_repo", "api_cancel_sibling", "api_reload", "api_usage"]) {
      expect(r.outcome.get(k)?.open, `${k}: ${r.outcome.get(k)?.text}`).toBe(true);
    }
    expect(r.outcome.get("ssh_key")!.text).toContain("escape-test");
    expect(r.outcome.get("webhook_secret")!.text).toContain(WEBHOOK_SECRET);
    // kasmos never hands GITHUB_TOKEN to an agent, sandbox or not — but the daemon's environ shows it.
    expect(r.outcome.get("github_token_env")!.open).toBe(false);
    expect(r.outcome.get("daemon_environ_by_pid")!.text).toContain(GITHUB_TOKEN);
    expect(existsSync(join(r.other, "pwned.txt"))).toBe(true);
    expect(sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = 'victim'")[0]!.status).toBe("cancelled");
    expect(sb.query("SELECT * FROM audit_events WHERE kind = 'agent_forbidden'")).toEqual([]);
    r.daemon.kill("SIGTERM");
    expect(await r.daemon.exited).toBe(0);
  }, 150_000);
});
