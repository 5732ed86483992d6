// Test sandbox: a temp HOME + XDG_RUNTIME_DIR, the compiled binary, and process bookkeeping so every
// process a test starts is killed by PID afterwards.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, existsSync, readdirSync, readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { processAlive as alive } from "../../src/util/process.ts";

/** The one pid-alive check (src/util/process.ts), under the name the tests use. */
export { alive };

export const ROOT = join(import.meta.dir, "..", "..");
export const BIN = join(ROOT, "dist", "kasmos");
export const KAS = join(ROOT, "dist", "kas");

if (!existsSync(BIN)) throw new Error(`compiled binary missing at ${BIN}: run \`bun run build\` (or \`bun run test\`)`);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Sandbox {
  readonly dir: string;
  readonly home: string;
  readonly runtime: string;
  private pids = new Set<number>();

  constructor(prefix = "kt-") {
    // Short base path: unix socket paths are limited to 107 bytes.
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.home = join(this.dir, "h");
    this.runtime = join(this.dir, "r");
    mkdirSync(this.home, { recursive: true });
    mkdirSync(this.runtime, { recursive: true, mode: 0o700 });
  }

  get env(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: this.home,
      XDG_RUNTIME_DIR: this.runtime,
      NO_COLOR: "1",
      LANG: "C.UTF-8",
      // Agents go to a tmux server of this sandbox, never the user's (or another test's).
      KASMOS_TMUX_SOCKET: this.tmuxSocket,
    };
  }

  get tmuxSocket(): string {
    return `kt-${this.dir.split("/").pop()}`;
  }

  get configDir(): string {
    return join(this.home, ".config", "kasmos");
  }
  get configPath(): string {
    return join(this.configDir, "daemon.toml");
  }
  get pidFile(): string {
    return join(this.configDir, "daemon.pid");
  }
  get logFile(): string {
    return join(this.configDir, "daemon.log");
  }
  get socket(): string {
    return join(this.runtime, "kasmos", "kas.sock");
  }

  /** Rows of one query against the sandbox's store, on a read-only connection opened for it. */
  query<T>(sql: string, ...params: (string | number)[]): T[] {
    const db = new Database(join(this.configDir, "kasmos.db"), { readonly: true });
    try {
      return db.query(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  writeConfig(text: string): void {
    mkdirSync(this.configDir, { recursive: true });
    writeFileSync(this.configPath, text);
  }

  /** Run the binary to completion (bounded). */
  async run(args: string[], opts: { bin?: string; env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const proc = Bun.spawn([opts.bin ?? BIN, ...args], {
      env: { ...this.env, ...(opts.env ?? {}) },
      cwd: opts.cwd ?? this.dir,
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    this.pids.add(proc.pid);
    const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    this.pids.delete(proc.pid);
    return { code, stdout, stderr };
  }

  /** Start `daemon start --foreground` as a child (of `bin`, default the compiled kasmos) and wait until it answers. */
  async foreground(extra: string[] = [], env: Record<string, string> = {}, bin = BIN): Promise<Bun.Subprocess<"ignore", "pipe", "pipe">> {
    const proc = Bun.spawn([bin, "daemon", "start", "--foreground", ...extra], {
      env: { ...this.env, ...env },
      cwd: this.dir,
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    this.pids.add(proc.pid);
    const sock = extra.includes("--socket") ? extra[extra.indexOf("--socket") + 1]! : this.socket;
    await waitFor(async () => proc.exitCode !== null || (await ping(sock)), 15_000, "foreground daemon to answer");
    return proc;
  }

  /** waitFor that, on timeout, says where the sandbox's daemon stood: tasks, agents, recent audit rows. */
  async waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    try {
      await waitFor(cond, timeoutMs, what);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${this.describe()}`);
    }
  }

  /** The store's view of the run, for a failure message (never throws). */
  describe(): string {
    try {
      const tasks = this.query<Record<string, unknown>>("SELECT name, status, execution_phase AS phase, attention, hold FROM tasks ORDER BY id");
      const agents = this.query<Record<string, unknown>>("SELECT title, state, activity, exit_status, substr(last_lines, -400) AS last FROM agents ORDER BY id");
      const audit = this.query<Record<string, unknown>>("SELECT kind, task, message FROM audit_events ORDER BY id DESC LIMIT 25").reverse();
      return [`tasks: ${JSON.stringify(tasks)}`, `agents: ${JSON.stringify(agents)}`, `audit (newest 25): ${JSON.stringify(audit)}`].join("\n");
    } catch (e) {
      return `(no store state: ${(e as Error).message})`;
    }
  }

  track(pid: number): void {
    this.pids.add(pid);
  }

  daemonPid(): number | null {
    try {
      const n = Number.parseInt(readFileSync(this.pidFile, "utf8").trim(), 10);
      return Number.isInteger(n) ? n : null;
    } catch {
      return null;
    }
  }

  /** Kill everything we started (by PID, never by name) and remove the temp dir. */
  async cleanup(): Promise<void> {
    const pid = this.daemonPid();
    if (pid) this.pids.add(pid);
    for (const p of this.pids) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
    this.pids.clear();
    Bun.spawnSync(["tmux", "-L", this.tmuxSocket, "kill-server"], { stdout: "ignore", stderr: "ignore" });
    const uid = typeof process.getuid === "function" ? process.getuid() : 0;
    rmSync(`/tmp/tmux-${uid}/${this.tmuxSocket}`, { force: true });
    // A real CLI hung up with its pane writes its state (~/.claude.json, a transcript) as it exits: wait
    // (bounded) for the processes of this HOME to end, so the folder is not re-created after it went.
    const deadline = Date.now() + 10_000;
    while (processesWithHome(this.home).length > 0 && Date.now() < deadline) await Bun.sleep(100);
    // Still there: started for this sandbox (its HOME) and outliving it; none may run on after the test.
    for (const p of processesWithHome(this.home)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Pids of the processes whose environment has HOME=<home> (Linux /proc; none elsewhere). */
export function processesWithHome(home: string): number[] {
  const needle = `\0HOME=${home}\0`;
  const out: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const e of entries) {
    try {
      if (`\0${readFileSync(`/proc/${e}/environ`, "latin1")}`.includes(needle)) out.push(Number(e));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

export async function ping(socket: string): Promise<boolean> {
  try {
    const r = await fetch("http://kasmos/v1/ping", { unix: socket, signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

export async function api(socket: string, method: string, path: string, body?: string | object, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const init: RequestInit & { unix: string } = { method, unix: socket, headers: { "content-type": "application/json", ...headers } };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const r = await fetch(`http://kasmos${path}`, init);
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { _text: text };
  }
  return { status: r.status, json };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await Bun.sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}


/** A real git repository (git init + one commit). */
export function makeGitRepo(parent: string, name: string): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  const git = (...a: string[]) => {
    const r = Bun.spawnSync(["git", "-C", dir, ...a], { env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
    if (r.exitCode !== 0) throw new Error(`git ${a.join(" ")} failed: ${r.stderr.toString()}`);
  };
  git("init", "-q", "-b", "main");
  writeFileSync(join(dir, "README.md"), `# ${name}\n`);
  git("add", ".");
  git("commit", "-q", "-m", "init");
  return dir;
}
