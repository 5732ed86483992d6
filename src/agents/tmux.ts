// Agent sessions on kasmos's own tmux server (`tmux -L <socket>`), so a user's tmux is never touched.
// Every tmux call is a bounded child process; failures surface as TmuxError carrying tmux's stderr.
import { agentVisibleEnv } from "./private-env.ts";
import { type OffThreadResult, runOffThread } from "../util/spawn-off-thread.ts";
import { createHash, randomUUID } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { groupExists, processAlive } from "../util/process.ts";
import { stat } from "node:fs/promises";
import type { Gate } from "../util/limiter.ts";
import { paneWrapper, statusFromFile } from "./pane-wrapper.ts";

export class TmuxError extends Error {
  constructor(
    message: string,
    readonly args: string[] = [],
    readonly stderr = "",
    readonly exitCode: number | null = null,
  ) {
    super(message);
    this.name = "TmuxError";
  }
}

/** A session that another daemon started (its recorded owner differs): left alone. */
export class ForeignSessionError extends TmuxError {
  constructor(name: string, owner: string, socket: string) {
    super(`tmux session ${name} on socket ${socket} belongs to another kasmos daemon (owner ${owner}): left alone; give each daemon its own socket (KASMOS_TMUX_SOCKET) or stop the other one`);
    this.name = "ForeignSessionError";
  }
}

export interface TmuxOptions {
  /** `tmux -L` socket name; "kasmos" in production, unique per test file. */
  socketName?: string;
  tmuxBin?: string;
  /** Config read when the server starts. Default /dev/null: user plugins, hooks and options must not change agent behaviour. */
  configFile?: string;
  /** Bound for each tmux invocation. */
  timeoutMs?: number;
  /**
   * Who starts sessions through this instance (the daemon's store identity), recorded in each as
   * @kasmos_owner. Another daemon of the same user can share the tmux socket: a session recorded for
   * another owner is never killed, interrupted, captured or typed into (a session with no owner, from a
   * version before owners, counts as anyone's). Absent: no checks (tests, tools).
   */
  owner?: string;
}

export interface SpawnOptions {
  title: string;
  cwd: string;
  argv: string[];
  env: Record<string, string>;
  width?: number;
  height?: number;
  /**
   * Niceness (1–19) for the agent: the pane runs under `nice -n`, so everything it starts inherits
   * it, and its session's autogroup gets the same value (with autogroups on, the kernel shares CPU
   * between sessions first, so a per-process nice alone would change nothing). 0/absent: unchanged.
   */
  nice?: number;
  /**
   * Where the pane's shell writes the program's exit status (a decimal line; 128+N for signal N) when
   * it ends. tmux 3.3a sometimes shows a pane dead and never its `pane_dead_status`; list() then reads
   * the status from here (see paneWrapper). Absent: only tmux knows how it ended.
   */
  exitStatusFile?: string;
}

export interface SessionInfo {
  name: string;
  /** Original title as recorded at spawn (absent for kas_* sessions not started through this class). */
  title?: string;
  panePid: number;
  dead: boolean;
  exitStatus: number | null;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds of the pane's last output (tmux window_activity): unchanged = nothing new on screen. */
  activityAt: number;
  /** The owner recorded at spawn (absent or "" = none recorded). */
  owner?: string;
}

const PREFIX = "kas_";
const MAX_TITLE = 100;
const TITLE_OPTION = "@kas_title";
const STATUS_FILE_OPTION = "@kas_status_file";
const OWNER_OPTION = "@kasmos_owner";
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `kas_<title>` restricted to [A-Za-z0-9_-]. Sanitising is lossy (`a-b` and `a.b`, `my app` and
 * `my-app`, `café` and `cafè` all map alike), so a title that needed any change — or is over-long — gets
 * `_<hash of the exact title>`: names stay unique and stable per identity.
 */
export function sessionNameFor(title: string): string {
  const safe = title.replace(/[^A-Za-z0-9_-]/g, "-");
  if (safe === title && safe.length <= MAX_TITLE) return PREFIX + safe;
  const hash = createHash("sha1").update(title).digest("hex").slice(0, 8);
  return `${PREFIX}${safe.slice(0, MAX_TITLE - 9)}_${hash}`;
}

// tmux splits its argv into a command list at any argument ending in ";" (even inside an agent's argv);
// a backslash before that final ";" makes it literal again.
function escapeArg(arg: string): string {
  return arg.endsWith(";") ? `${arg.slice(0, -1)}\\;` : arg;
}

function commandList(cmds: string[][]): string[] {
  const out: string[] = [];
  cmds.forEach((cmd, i) => {
    if (i > 0) out.push(";");
    out.push(...cmd.map(escapeArg));
  });
  return out;
}

// Exact session match: a bare name is a prefix/pattern match in tmux; the trailing ":" makes it valid for
// commands whose target is a pane or window as well as a session.
const target = (name: string): string => `=${name}:`;

const isNoServer = (stderr: string): boolean => /no server running|error connecting to|server exited unexpectedly/i.test(stderr);
// "no current target": a server with no session left (it is exiting) asked for one.
const isNoSession = (stderr: string): boolean => /can't find (session|pane|window)|no such (session|pane|window)|session not found|no current target/i.test(stderr);

// The pane's shell's children: the agent (Linux /proc; [] where the kernel lacks the file).
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export class Tmux {
  readonly socketName: string;
  private readonly bin: string;
  private readonly configFile: string;
  private readonly timeoutMs: number;
  readonly owner: string;
  // Per-session chain so concurrent sendText calls never interleave paste and Enter.
  private readonly sendChains = new Map<string, Promise<unknown>>();

  constructor(opts: TmuxOptions = {}) {
    this.socketName = opts.socketName ?? "kasmos";
    this.bin = opts.tmuxBin ?? "tmux";
    this.configFile = opts.configFile ?? "/dev/null";
    this.timeoutMs = opts.timeoutMs ?? 5000;
    // Only characters that need no quoting in a tmux format or option value.
    this.owner = (opts.owner ?? "").replace(/[^A-Za-z0-9_-]/g, "");
  }

  /** Whether a session recorded for `owner` belongs to another daemon (never touched by this one). */
  foreign(owner: string | null | undefined): boolean {
    return this.owner !== "" && !!owner && owner !== this.owner;
  }

  /** Refuse a session of another daemon before reading or typing into it (gone: the command reports it). */
  private async assertMine(name: string): Promise<void> {
    if (this.owner === "") return;
    const r = await this.exec(["display-message", "-p", "-t", target(name), `#{${OWNER_OPTION}}`]);
    const owner = r.code === 0 ? r.stdout.trim() : "";
    if (this.foreign(owner)) throw new ForeignSessionError(name, owner, this.socketName);
  }

  sessionName(title: string): string {
    return sessionNameFor(title);
  }

  /**
   * Run one tmux command list; resolves with exit code and output, rejects only on spawn failure or
   * timeout. A server that exits as its last session is killed can take a client's command with it
   * ("server exited unexpectedly": nothing ran); that command is run once more, on a fresh server.
   */
  private async exec(args: string[], stdin?: string, clientEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = await this.execOnce(args, stdin, clientEnv);
    if (r.code === 0 || !/server exited unexpectedly/i.test(r.stderr)) return r;
    await Bun.sleep(20);
    return this.execOnce(args, stdin, clientEnv);
  }

  private async execOnce(args: string[], stdin: string | undefined, clientEnv: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
    // Inside a user's tmux, $TMUX would point the client at their server; and a server this client
    // starts copies the client's environment into its global one, which every pane inherits: so the
    // client carries nothing an agent must not get (GH_TOKEN, the daemon's own variables).
    const env: Record<string, string> = { ...agentVisibleEnv(process.env), ...clientEnv };
    // -u: tmux 3.3 without a UTF-8 locale (cron, env -i, minimal containers) prints "_" for the tab
    // separators the list parsing relies on.
    const full = [this.bin, "-u", "-L", this.socketName, "-f", this.configFile, ...args];
    let r: OffThreadResult;
    try {
      // Started from a worker thread (a spawn blocks its thread until the child execs); a Blob stdin
      // is written in full, with no pipe handling that could outlive the timeout.
      r = await runOffThread(full, { env, timeoutMs: this.timeoutMs, ...(stdin === undefined ? {} : { stdin }) });
    } catch (e) {
      throw new TmuxError(`cannot run ${this.bin}: ${(e as Error).message}`, args);
    }
    if (r.timedOut) throw new TmuxError(`tmux ${args[0] ?? ""} timed out after ${this.timeoutMs}ms`, args, r.stderr.trim());
    return { code: r.code, stdout: r.stdout, stderr: r.stderr.trim() };
  }

  /** Like exec, but a non-zero exit is a TmuxError. */
  private async run(args: string[], stdin?: string): Promise<string> {
    const r = await this.exec(args, stdin);
    if (r.code !== 0) throw new TmuxError(r.stderr || `tmux ${args[0] ?? ""} exited ${r.code}`, args, r.stderr, r.code);
    return r.stdout;
  }

  /** Start an agent in a detached session; refuses when the session already exists. */
  async spawn(opts: SpawnOptions): Promise<{ name: string; panePid: number }> {
    const name = sessionNameFor(opts.title);
    if (opts.argv.length === 0) throw new TmuxError("spawn: empty argv");
    const st = await stat(opts.cwd).catch(() => null);
    // tmux silently falls back to $HOME for a missing -c dir; an agent in the wrong tree is worse than an error.
    if (!st?.isDirectory()) throw new TmuxError(`spawn: working directory does not exist: ${opts.cwd}`);
    const env: Record<string, string> = { ...opts.env };
    // The server's global env is whatever the first client had; pin PATH so the agent finds kas and its tools.
    if (env.PATH === undefined) env.PATH = process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin";
    const envArgs: string[] = [];
    for (const [k, v] of Object.entries(env)) {
      if (!ENV_KEY.test(k)) throw new TmuxError(`spawn: invalid environment variable name: ${k}`);
      envArgs.push("-e", `${k}=${v}`);
    }
    // A status left by an earlier run under this title must not be read as this one's.
    if (opts.exitStatusFile !== undefined) rmSync(opts.exitStatusFile, { force: true });
    // Several arguments: tmux execs them as they are (one would go through `sh -c`).
    const argv = [...paneWrapper(env.PATH, opts.nice !== undefined && opts.nice > 0 ? opts.nice : 0, opts.exitStatusFile), ...opts.argv];
    const newSession = [
      "new-session", "-d", "-P", "-F", "#{pane_pid}",
      "-s", name, "-c", opts.cwd,
      "-x", String(opts.width ?? 200), "-y", String(opts.height ?? 50),
      ...envArgs, "--", ...argv,
    ];
    // Same command list as new-session: the server runs it before it can reap the child, so even an agent
    // that exits at once keeps its pane (and exit status) inspectable.
    const list = commandList([
      newSession,
      ["set-option", "-w", "-t", target(name), "remain-on-exit", "on"],
      ["set-option", "-t", target(name), TITLE_OPTION, encodeURIComponent(opts.title)],
      ...(this.owner === "" ? [] : [["set-option", "-t", target(name), OWNER_OPTION, this.owner]]),
      ...(opts.exitStatusFile === undefined ? [] : [["set-option", "-t", target(name), STATUS_FILE_OPTION, encodeURIComponent(opts.exitStatusFile)]]),
    ]);
    // tmux (3.2+) gives a new pane the PATH of the *client* that created it, ignoring `-e PATH=…`:
    // the client itself must carry the agent's PATH.
    const r = await this.exec(list, undefined, { PATH: env.PATH });
    if (r.code !== 0) {
      if (/duplicate session/i.test(r.stderr)) throw new TmuxError(`session already exists: ${name}`, list, r.stderr, r.code);
      throw new TmuxError(r.stderr || `tmux new-session exited ${r.code}`, list, r.stderr, r.code);
    }
    const panePid = Number.parseInt(r.stdout.trim().split("\n")[0] ?? "", 10);
    if (!Number.isInteger(panePid)) throw new TmuxError(`spawn: unexpected new-session output: ${r.stdout.trim()}`, list);
    return { name, panePid };
  }

  /** Every kas_* session on the socket (first pane of each); no server → []. */
  async list(): Promise<SessionInfo[]> {
    const fmt = ["#{session_name}", "#{pane_pid}", "#{pane_dead}", "#{pane_dead_status}", "#{session_created}", "#{window_activity}", `#{${TITLE_OPTION}}`, `#{${STATUS_FILE_OPTION}}`, `#{${OWNER_OPTION}}`].join("\t");
    const r = await this.exec(["list-panes", "-a", "-F", fmt]);
    if (r.code !== 0) {
      // "no current target": a server still up with no session left (the moment its last one ends,
      // before it exits) — nothing to list, not a failure.
      if (isNoServer(r.stderr) || /no current target/i.test(r.stderr)) return [];
      throw new TmuxError(r.stderr || `tmux list-panes exited ${r.code}`, ["list-panes"], r.stderr, r.code);
    }
    const seen = new Set<string>();
    const out: SessionInfo[] = [];
    for (const line of r.stdout.split("\n")) {
      const [name, pid, dead, status, created, activity, rawTitle, rawStatusFile, owner] = line.split("\t");
      if (!name?.startsWith(PREFIX) || seen.has(name)) continue;
      seen.add(name);
      const isDead = dead === "1";
      const exit = Number.parseInt(status ?? "", 10);
      let title: string | undefined;
      try {
        title = rawTitle ? decodeURIComponent(rawTitle) : undefined;
      } catch {
        title = undefined;
      }
      const info: SessionInfo = {
        name,
        panePid: Number.parseInt(pid ?? "", 10) || 0,
        dead: isDead,
        exitStatus: !isDead ? null : Number.isInteger(exit) ? exit : statusFromFile(rawStatusFile),
        createdAt: Number.parseInt(created ?? "", 10) || 0,
        activityAt: Number.parseInt(activity ?? "", 10) || 0,
        owner: owner ?? "",
      };
      if (title !== undefined) info.title = title;
      out.push(info);
    }
    return out;
  }

  async has(title: string): Promise<boolean> {
    const r = await this.exec(["has-session", "-t", target(sessionNameFor(title))]);
    if (r.code === 0) return true;
    if (isNoServer(r.stderr) || isNoSession(r.stderr)) return false;
    throw new TmuxError(r.stderr || `tmux has-session exited ${r.code}`, ["has-session"], r.stderr, r.code);
  }

  /**
   * Pane text with wrapped lines joined; start/end are capture-pane line numbers (negative = scrollback,
   * "-" = edge). A dead pane's "Pane is dead" notice scrolls one line off screen: use start "-" to see it all.
   */
  async capture(title: string, opts: { start?: number | "-"; end?: number | "-" } = {}): Promise<string> {
    await this.assertMine(sessionNameFor(title));
    const args = ["capture-pane", "-p", "-J", "-t", target(sessionNameFor(title))];
    if (opts.start !== undefined) args.push("-S", String(opts.start));
    if (opts.end !== undefined) args.push("-E", String(opts.end));
    return this.run(args);
  }

  /**
   * Type `text` into the agent and press Enter. The text goes through a named paste buffer (fed on stdin), so
   * quotes, newlines and length need no escaping; `-p` wraps it in bracketed paste when the agent asked for it.
   */
  async sendText(title: string, text: string, opts: { enterDelayMs?: number } = {}): Promise<void> {
    const name = sessionNameFor(title);
    const prev = this.sendChains.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.sendNow(name, text, opts.enterDelayMs ?? 100));
    this.sendChains.set(name, next);
    try {
      await next;
    } finally {
      if (this.sendChains.get(name) === next) this.sendChains.delete(name);
    }
  }

  private async sendNow(name: string, text: string, enterDelayMs: number): Promise<void> {
    await this.assertMine(name);
    // Enter submits; a trailing newline would submit an extra empty line.
    const body = text.replace(/\n+$/, "");
    if (body.length > 0) {
      const buffer = `kasmos-${randomUUID()}`;
      await this.run(["load-buffer", "-b", buffer, "-"], body);
      try {
        await this.run(["paste-buffer", "-p", "-d", "-b", buffer, "-t", target(name)]);
      } catch (e) {
        await this.exec(["delete-buffer", "-b", buffer]).catch(() => undefined);
        throw e;
      }
      // TUIs debounce pastes; an Enter arriving in the same read can be taken as part of the paste.
      if (enterDelayMs > 0) await Bun.sleep(enterDelayMs);
    }
    await this.run(["send-keys", "-t", target(name), "Enter"]);
  }

  /**
   * C-c, wait up to graceMs for the agent to exit, then kill the session (and SIGKILL the pane process if
   * it survives the hangup). Absent session → false. Two tmux processes in the common case: one reads
   * the pane and sends the C-c, one kills the session; the wait in between watches the pane's process
   * (/proc), not tmux. `gate` wraps each tmux call (a limiter: the daemon bounds how many run at once).
   */
  async kill(title: string, opts: { graceMs?: number; gate?: Gate } = {}): Promise<boolean> {
    const name = sessionNameFor(title);
    const graceMs = opts.graceMs ?? 5000;
    const gate: Gate = opts.gate ?? ((fn) => fn());
    const state = await gate(() => this.paneState(name, graceMs > 0 ? title : null));
    if (!state) return false;
    // Never stop a session that belongs to another identity (its recorded title differs) or daemon.
    if ((state.title !== null && state.title !== title) || this.foreign(state.owner)) return false;
    if (!state.dead && graceMs > 0) {
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline) {
        await Bun.sleep(Math.min(50, Math.max(1, deadline - Date.now())));
        if (state.pid > 0) {
          if (!processAlive(state.pid)) break;
          continue;
        }
        const s = await gate(() => this.paneState(name, null)); // no pid known: ask tmux
        if (!s || s.dead) break;
      }
    }
    const children = !state.dead && state.pid > 0 ? childrenOf(state.pid) : [];
    const r = await gate(() => this.exec(["kill-session", "-t", target(name)]));
    if (r.code !== 0 && !isNoSession(r.stderr) && !isNoServer(r.stderr)) {
      throw new TmuxError(r.stderr || `tmux kill-session exited ${r.code}`, ["kill-session"], r.stderr, r.code);
    }
    // tmux only sends SIGHUP; an agent ignoring it would linger as an orphan.
    if (!state.dead && state.pid > 0) await this.reap(state.pid, children, 500);
    return true;
  }

  /**
   * Wait for the pane's process and the agent under it (its children, listed before the hang-up: once
   * the shell is gone they belong to init), then SIGKILL what is left of them and of the pane's process
   * group. The group outlives them when something in it ignored the C-c and the hang-up: a process the
   * agent put in the background, or a sandbox's inner bwrap whose outer one died before it had asked to
   * die with it (it then runs on under init with the agent inside). A zombie counts as gone: init may be
   * slow to reap it, or not reap at all (a container's pid 1).
   */
  private async reap(pid: number, children: number[], waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    const alive = () => processAlive(pid) || children.some(processAlive);
    while (alive() && Date.now() < deadline) await Bun.sleep(25);
    if (!alive() && !groupExists(pid)) return;
    for (const p of [-pid, pid, ...children]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone, or not a group leader
      }
    }
  }

  /**
   * The pane's state (dead, process, recorded title); null when the session is gone. With `interrupt`
   * (the caller's title), the same tmux call presses C-c in a running pane recorded for that title.
   */
  private async paneState(name: string, interrupt: string | null): Promise<{ dead: boolean; pid: number; title: string | null; owner: string } | null> {
    const display = ["display-message", "-p", "-t", target(name), `#{pane_dead}\t#{pane_pid}\t#{${TITLE_OPTION}}\t#{${OWNER_OPTION}}`];
    // The title option holds encodeURIComponent(title), the owner [A-Za-z0-9_-]: no ',', '}' or '#' to upset the format.
    const titleOk = `#{||:#{==:#{${TITLE_OPTION}},},#{==:#{${TITLE_OPTION}},${interrupt === null ? "" : encodeURIComponent(interrupt)}}}`;
    const ownerOk = this.owner === "" ? "1" : `#{||:#{==:#{${OWNER_OPTION}},},#{==:#{${OWNER_OPTION}},${this.owner}}}`;
    const mine = `#{&&:${titleOk},${ownerOk}}`;
    const args = interrupt === null ? display : commandList([display, ["if-shell", "-F", "-t", target(name), `#{&&:#{!=:#{pane_dead},1},${mine}}`, `send-keys -t ${target(name)} C-c`]]);
    const r = await this.exec(args);
    if (r.code !== 0) {
      if (isNoServer(r.stderr) || isNoSession(r.stderr)) return null;
      throw new TmuxError(r.stderr || `tmux display-message exited ${r.code}`, ["display-message"], r.stderr, r.code);
    }
    const [dead, pid, raw, owner] = (r.stdout.split("\n")[0] ?? "").split("\t");
    let title: string | null = null;
    try {
      title = raw ? decodeURIComponent(raw) : null;
    } catch {
      title = null;
    }
    return { dead: dead === "1", pid: Number.parseInt(pid ?? "", 10) || 0, title, owner: owner ?? "" };
  }

  /** Type `text` as it is, no Enter added (what a person types into a taken-over terminal). */
  async typeLiteral(title: string, text: string): Promise<void> {
    await this.assertMine(sessionNameFor(title));
    await this.run(["send-keys", "-l", "-t", target(sessionNameFor(title)), "--", text]);
  }

  /** Copy the pane's output, as it is printed, to a shell command's stdin (pipe-pane -O); null stops it. */
  async pipeOutput(title: string, command: string | null): Promise<void> {
    await this.assertMine(sessionNameFor(title));
    await this.run(["pipe-pane", ...(command === null ? ["-t", target(sessionNameFor(title))] : ["-O", "-t", target(sessionNameFor(title)), command])]);
  }

  /** The visible screen with its colours (escape sequences kept), the cursor and the pane's size. */
  async screen(title: string): Promise<{ text: string; cursorX: number; cursorY: number; cols: number; rows: number }> {
    await this.assertMine(sessionNameFor(title));
    const t = target(sessionNameFor(title));
    const text = await this.run(["capture-pane", "-p", "-e", "-t", t]);
    const [cursorX = 0, cursorY = 0, cols = 80, rows = 24] = (await this.run(["display-message", "-p", "-t", t, "#{cursor_x} #{cursor_y} #{pane_width} #{pane_height}"])).trim().split(" ").map(Number);
    return { text, cursorX, cursorY, cols, rows };
  }

  /** Press keys in the agent's pane (tmux key names: "Enter", "1", "C-c"). */
  async sendKeys(title: string, ...keys: string[]): Promise<void> {
    await this.assertMine(sessionNameFor(title));
    await this.run(["send-keys", "-t", target(sessionNameFor(title)), ...keys]);
  }

  /** Unix seconds of the pane's last output; null when the session is gone. */
  async lastActivity(title: string): Promise<number | null> {
    const r = await this.exec(["display-message", "-p", "-t", target(sessionNameFor(title)), `#{window_activity}\t#{${OWNER_OPTION}}`]);
    if (r.code !== 0) return null;
    const [activity, owner] = r.stdout.trim().split("\t");
    if (this.foreign(owner)) return null;
    const n = Number.parseInt(activity ?? "", 10);
    return Number.isInteger(n) ? n : null;
  }

  /** Remove from the server's global environment every variable not in `keep` (no server: nothing to do). */
  async pruneGlobalEnv(keep: ReadonlySet<string>): Promise<number> {
    const r = await this.exec(["show-environment", "-g"]);
    if (r.code !== 0) return 0;
    const drop: string[][] = [];
    for (const line of r.stdout.split("\n")) {
      const name = line.startsWith("-") ? line.slice(1) : line.split("=")[0] ?? "";
      if (name === "" || keep.has(name) || !ENV_KEY.test(name)) continue;
      drop.push(["set-environment", "-g", "-u", name]);
    }
    if (drop.length > 0) await this.run(commandList(drop));
    return drop.length;
  }

  /** Stop the whole server (tests and cleanup); no server is fine. */
  async killServer(): Promise<void> {
    const r = await this.exec(["kill-server"]);
    if (r.code !== 0 && !isNoServer(r.stderr)) throw new TmuxError(r.stderr || `tmux kill-server exited ${r.code}`, ["kill-server"], r.stderr, r.code);
  }
}
