// Helpers shared by the agent benches (agent-latency, agent-load): daemon.toml with an agent program,
// the sandbox's own tmux server (listed, and killed at the end), read-only store queries, and a
// sandbox wrapper that always kills the daemon by PID and the sandbox's tmux server by socket name.
import { Database } from "bun:sqlite";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, ROOT, Sandbox } from "./lib.ts";
import { configDir, storeFile } from "./signal-lib.ts";

/** The protocol-obeying fake agent used by the e2e tests. */
export const FAKE_AGENT = join(ROOT, "test", "fixtures", "fake-agent.sh");

/**
 * An agent that does nothing: `sh -c 'exec sleep 600' <promptFile>` (the generic adapter appends the
 * prompt file, which becomes $0). It never signals and dies on the C-c the daemon sends when stopping it.
 */
export const IDLE_AGENT = "sh -c 'exec sleep 600'";

/** daemon.toml for the review ⇄ fix loop the start benches drive by hand (watch mode, no auto advance, no master). */
export const REVIEW_FIX_LOOP = ["poll_interval_sec = 2.0", "watch_signals = true", "auto_advance = false", "auto_review_fix = true", "auto_readiness_review = false"];

/**
 * A `git` wrapper for fake agents, written into the sandbox. The fake wave coders of one task `git add`
 * + `git commit` in the same worktree at about the same time; unguarded, two of them at the same instant
 * fail on index.lock (exit 128, no signal), and serialising single git calls is not enough (a coder's
 * commit can take a peer's staged file, leaving the peer "nothing to commit", exit 1). So every git call
 * runs under `flock` on a lock file of the working directory and `commit` gets `--allow-empty`. A race
 * of the fixture, not of the daemon. Returns the directory to put first on the agents' PATH.
 */
export function gitShimDir(sb: Sandbox): string {
  const real = Bun.which("git");
  const flock = Bun.which("flock");
  if (!real || !flock) throw new Error("git and flock are needed on PATH");
  const dir = join(sb.dir, "shim");
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, "git");
  const lock = ".kasmos/.bench-git.lock";
  writeFileSync(
    shim,
    [
      "#!/bin/sh",
      "mkdir -p .kasmos 2>/dev/null",
      `if [ "\${1:-}" = commit ]; then shift; exec ${flock} ${lock} ${real} commit --allow-empty "$@"; fi`,
      `exec ${flock} ${lock} ${real} "$@"`,
      "",
    ].join("\n"),
  );
  chmodSync(shim, 0o755);
  return dir;
}

/** Write `$HOME/.config/kasmos/daemon.toml` from `key = value` lines (values already TOML-encoded). */
export function writeDaemonToml(sb: Sandbox, lines: string[]): void {
  mkdirSync(configDir(sb), { recursive: true, mode: 0o700 });
  writeFileSync(join(configDir(sb), "daemon.toml"), `${lines.join("\n")}\n`);
}

/** TOML basic string. */
export function tomlString(s: string): string {
  return JSON.stringify(s);
}

export function tmuxSocket(sb: Sandbox): string {
  const s = sb.env.KASMOS_TMUX_SOCKET;
  if (!s) throw new Error("sandbox has no KASMOS_TMUX_SOCKET");
  return s;
}

/** `tmux -L <sock> <args>` (bounded, 5 s). */
export function tmux(sb: Sandbox, args: string[]): { code: number; stdout: string } {
  const r = Bun.spawnSync(["tmux", "-L", tmuxSocket(sb), ...args], { stdout: "pipe", stderr: "ignore", stdin: "ignore", timeout: 5_000 });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString() };
}

/** Does a session with exactly this name exist (and is its pane alive)? */
export function hasSession(sb: Sandbox, name: string): boolean {
  return tmux(sb, ["has-session", "-t", `=${name}`]).code === 0;
}

/** kas_* sessions (of `project`, when given) whose pane is still running. */
export function liveSessions(sb: Sandbox, project?: string): number {
  const r = tmux(sb, ["list-panes", "-a", "-F", "#{session_name}\t#{pane_dead}"]);
  if (r.code !== 0) return 0;
  const prefix = project === undefined ? "kas_" : `kas_${project}--`;
  return r.stdout.split("\n").filter((l) => l.startsWith(prefix) && l.endsWith("\t0")).length;
}

/** Kill the sandbox's tmux server (agents included) and remove its socket file. */
export function killTmuxServer(sb: Sandbox): void {
  Bun.spawnSync(["tmux", "-L", tmuxSocket(sb), "kill-server"], { stdout: "ignore", stderr: "ignore", stdin: "ignore", timeout: 5_000 });
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  rmSync(`/tmp/tmux-${uid}/${tmuxSocket(sb)}`, { force: true });
}

/** Run `fn` in a fresh sandbox; afterwards the daemon (by PID) and the sandbox's tmux server are always gone. */
export async function withAgentSandbox<T>(prefix: string, fn: (sb: Sandbox) => Promise<T>): Promise<T> {
  const sb = new Sandbox(prefix);
  try {
    return await fn(sb);
  } finally {
    killTmuxServer(sb); // agents first: they must not signal into a repo that is being deleted
    await sb.cleanup(); // SIGTERM (then SIGKILL) the daemon by PID, remove the temp dir
    killTmuxServer(sb); // a pass still running at SIGTERM may have started one more session
  }
}

/** Read-only query against the daemon's store (WAL: never blocks the daemon's writer). */
export function query<T>(sb: Sandbox, sql: string, ...params: (string | number)[]): T[] {
  const db = new Database(storeFile(sb), { readonly: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    return db.query(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** A stand-in for Claude Code: output every second, hook reports like a CLI in a loop of turns. */
export function fakeClaude(dir: string, hooksLog: string, ignoreInterrupt = false): string {
  const file = join(dir, "claude");
  writeFileSync(
    file,
    [
      "#!/bin/sh",
      "# argv: claude [--settings <file>] … <pointer>; behaves like a CLI working in turns",
      `hook() { echo '{"hook_event_name":"'"$1"'","transcript_path":"/dev/null"}' | env -u BUN_OPTIONS ${BIN} agent hook --cli claude --event "$1"; echo "$1" >> ${hooksLog}; }`,
      // Claude Code does not exit on one C-c ("press Ctrl-C again to exit"): a stop takes the daemon's full grace.
      ...(ignoreInterrupt ? ["trap '' INT"] : []),
      "hook SessionStart",
      "i=0",
      "while [ $i -lt 100000 ]; do",
      "  i=$((i + 1))",
      "  hook PreToolUse",
      "  n=$(( (i % 3) + 2 ))",
      '  while [ $n -gt 0 ]; do echo "working on step $i ($n)"; sleep 1; n=$((n - 1)); done',
      "  hook Stop",
      "done",
      "",
    ].join("\n"),
  );
  chmodSync(file, 0o755);
  return file;
}

/**
 * A sandbox ready for fake Claude Code agents (agents-live, fleet-agents): the fake CLI, the user's
 * one-time Claude Code setup (credentials, first run done; no folder trusted) and the daemon.toml lines
 * that make it every coder (hooks on, no nudges), with `extra` lines added. `ignoreInterrupt`: the
 * fake ignores C-c like the real CLI, so each stop waits out the grace and ends on the hangup.
 */
export function fakeClaudeSetup(sb: Sandbox, opts: { extra?: string[]; ignoreInterrupt?: boolean } = {}): { claude: string; hooksLog: string; toml: string[] } {
  const bin = join(sb.dir, "fakecli");
  mkdirSync(bin, { recursive: true });
  const hooksLog = join(sb.dir, "hooks.log");
  writeFileSync(hooksLog, "");
  const claude = fakeClaude(bin, hooksLog, opts.ignoreInterrupt);
  writeFileSync(join(sb.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));
  mkdirSync(join(sb.home, ".claude"), { recursive: true });
  writeFileSync(join(sb.home, ".claude", ".credentials.json"), "{}");
  // Sandboxed by default like any agent: the fake's hook log is named writable. BENCH_SANDBOX=off (or
  // bwrap) compares (issue 23: fleet-agents sandboxed vs not).
  const sandbox = ["[sandbox]", `mode = ${tomlString(process.env.BENCH_SANDBOX ?? "auto")}`, `write = [${tomlString(hooksLog)}]`];
  const toml = ["poll_interval_sec = 2.0", "watch_signals = true", "auto_review_fix = true", "auto_readiness_review = false", ...(opts.extra ?? []), "[agents.coder]", `program = ${tomlString(claude)}`, "skip_permissions = false", ...sandbox, "[supervision]", "nudges = 0"];
  return { claude, hooksLog, toml };
}
