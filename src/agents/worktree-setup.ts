// A task worktree made ready to build before its first agent starts there: `[worktree] copy` files
// copied in (and excluded from git), then `[worktree] setup` run in it. Both run beside the daemon's
// event loop: the agent's start is deferred (the runner asks again on a later pass) until they are
// done, so a 10-minute `bun install` never holds up a signal. Done once per worktree: a marker in
// the worktree's kasmos cache folder (excluded from git, removed with the worktree) says so.
import { closeSync, constants, existsSync, fchmodSync, openSync, readSync, writeSync } from "node:fs";
import type { WorktreeConfig } from "../config/schema.ts";
import { ensurePrivateDir } from "../config/private-state.ts";
import { openContainedDir, READ_NOFOLLOW } from "../util/contained-fs.ts";
import { agentVisibleEnv } from "./private-env.ts";
import { appendExcludesSync } from "./worktree.ts";
import { copyIntoWorktree, excludeLineOf } from "./worktree-copy.ts";

/** The marker (relative to the worktree): written once copy and setup succeeded; lists the copied files. */
const READY_DIR = ".kasmos/cache";
const READY_FILE = "worktree-ready";
/** Bytes of a command's output kept in its log; the rest is counted, not stored. */
const LOG_MAX_BYTES = 8 * 1024 * 1024;
/** Lines and characters of a failed command's output quoted in the attention item. */
const TAIL_LINES = 12;
const TAIL_CHARS = 1500;

export type PrepareState = { kind: "ready" } | { kind: "pending" } | { kind: "failed"; why: string };

export interface PrepareInput {
  project: string;
  task: string;
  repo: string;
  worktree: string;
  cfg: WorktreeConfig;
  /** Folder for the task's setup.log (private). */
  logDir: string;
}

export interface CommandOutcome {
  code: number | null;
  timedOut: boolean;
  /** The last lines of its output. */
  tail: string;
  ms: number;
}

/**
 * Run `sh -c command` in `cwd` in a session of its own (a timeout kills its whole process group),
 * output (stdout and stderr together, bounded) to `logPath` (0600). Never throws for the command's own failure.
 */
export async function runLogged(command: string, cwd: string, env: Record<string, string>, timeoutSec: number, logPath: string, signal?: AbortSignal): Promise<CommandOutcome> {
  const t0 = performance.now();
  const fd = openSync(logPath, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  let tail = "";
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `$ ${command}\n# in ${cwd}, ${new Date().toISOString()}\n`);
    const proc = Bun.spawn(["setsid", "sh", "-c", command], { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    let timedOut = false;
    const killGroup = (): void => {
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {
        proc.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutSec * 1000);
    // The daemon stops: no command outlives it (a setup then runs again at the next start).
    signal?.addEventListener("abort", killGroup, { once: true });
    if (signal?.aborted) killGroup();
    let written = 0;
    const pump = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
      const dec = new TextDecoder();
      for await (const chunk of stream) {
        if (written < LOG_MAX_BYTES) {
          const part = chunk.subarray(0, LOG_MAX_BYTES - written);
          writeSync(fd, part);
          written += part.length;
        }
        tail = (tail + dec.decode(chunk, { stream: true })).slice(-8 * TAIL_CHARS);
      }
    };
    try {
      const [code] = await Promise.all([proc.exited, pump(proc.stdout), pump(proc.stderr)]);
      const ms = Math.round(performance.now() - t0);
      writeSync(fd, `\n# ${timedOut ? `timed out after ${timeoutSec} s` : `exit status ${code}`}, ${ms} ms${written >= LOG_MAX_BYTES ? ` (log cut at ${LOG_MAX_BYTES} bytes)` : ""}\n`);
      return { code: timedOut ? null : code, timedOut, tail: tailOf(tail), ms };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", killGroup);
    }
  } finally {
    closeSync(fd);
  }
}

function tailOf(text: string): string {
  return text.trimEnd().split("\n").slice(-TAIL_LINES).join("\n").slice(-TAIL_CHARS);
}

/** The environment of setup and teardown commands: the agents' (no daemon secrets), plus where they run. */
export function commandEnv(project: string, task: string, repo: string, worktree: string): Record<string, string> {
  return { ...agentVisibleEnv(process.env), KASMOS_PROJECT: project, KASMOS_TASK: task, KASMOS_REPO: repo, KASMOS_WORKTREE: worktree };
}

/** Relative paths the worktree's marker lists as copied in (empty when there is no marker). */
export function copiedFilesOf(worktree: string): Set<string> {
  try {
    const dir = openContainedDir(worktree, READY_DIR);
    try {
      const fd = openSync(`${dir.path}/${READY_FILE}`, READ_NOFOLLOW);
      try {
        const buf = Buffer.alloc(1 << 20);
        const n = readSync(fd, buf, 0, buf.length, 0);
        return new Set(buf.subarray(0, n).toString("utf8").split("\n").filter((l) => l.length > 0 && !l.startsWith("#")));
      } finally {
        closeSync(fd);
      }
    } finally {
      dir.close();
    }
  } catch {
    return new Set();
  }
}

function writeMarker(worktree: string, copied: string[]): void {
  const dir = openContainedDir(worktree, READY_DIR, 0o755);
  try {
    const fd = openSync(`${dir.path}/${READY_FILE}`, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, `# kasmos: this worktree is ready (copied files below)\n${copied.map((c) => `${c}\n`).join("")}`);
    } finally {
      closeSync(fd);
    }
  } finally {
    dir.close();
  }
}

export interface PreparerDeps {
  /** Ask for a reconcile pass of the project (its waiting agents start, or get their failure). */
  kick: (project: string) => void;
  /** Record what happened (audit + log). */
  report: (project: string, task: string, ok: boolean, message: string) => void;
}

/** Copy and setup per worktree: at most one run per worktree; a failure is kept until forget(). */
export class WorktreePreparer {
  private running = new Map<string, Promise<void>>();
  private failed = new Map<string, string>();
  private abort = new AbortController();

  constructor(private deps: PreparerDeps) {}

  /** Whether agents may start in the worktree now; starts the preparation when it is needed and not under way. */
  state(input: PrepareInput): PrepareState {
    const { cfg, worktree } = input;
    if (cfg.copy.length === 0 && cfg.setup === "") return { kind: "ready" };
    if (existsSync(`${worktree}/${READY_DIR}/${READY_FILE}`)) return { kind: "ready" };
    const why = this.failed.get(worktree);
    if (why !== undefined) return { kind: "failed", why };
    if (!this.running.has(worktree)) {
      // Said when it starts: a long setup leaves the task without agents meanwhile (kas task history says why).
      if (cfg.setup !== "") this.deps.report(input.project, input.task, true, `worktree setup \`${cfg.setup}\` started in ${worktree}: its agents start when it is done (log: ${input.logDir}/setup.log)`);
      const job = this.prepare(input)
        .then(() => this.deps.report(input.project, input.task, true, `worktree ready: ${worktree}`))
        .catch((err: unknown) => {
          if (this.abort.signal.aborted) return; // killed by the daemon's stop: not the setup's failure
          const text = (err as Error).message;
          const message = text.includes("kas task retry") ? text : `${text} (fix it, then: kas task retry ${input.task})`;
          this.failed.set(worktree, message);
          this.deps.report(input.project, input.task, false, message);
        })
        .finally(() => {
          this.running.delete(worktree);
          if (!this.abort.signal.aborted) this.deps.kick(input.project);
        });
      this.running.set(worktree, job);
    }
    return { kind: "pending" };
  }

  /** An operator retries: the next start prepares the worktree again. */
  forget(worktree: string): void {
    this.failed.delete(worktree);
  }

  /** The daemon stops: setups under way are killed (and run again at the next start). */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.running.values()]);
  }

  private async prepare(input: PrepareInput): Promise<void> {
    const { cfg, repo, worktree } = input;
    let copied: string[] = [];
    if (cfg.copy.length > 0) {
      // Excluded before it is written: an agent's `git add -A` never stages a copy.
      copied = await copyIntoWorktree(repo, worktree, cfg.copy, (files) => appendExcludesSync(repo, (text) => {
        const have = new Set(text.split("\n").map((l) => l.trim()));
        return files.map(excludeLineOf).filter((l) => !have.has(l));
      }, "kasmos: [worktree] copy (copied into task worktrees; never committed)"));
    }
    if (cfg.setup !== "") {
      ensurePrivateDir(input.logDir);
      const log = `${input.logDir}/setup.log`;
      const r = await runLogged(cfg.setup, worktree, commandEnv(input.project, input.task, repo, worktree), cfg.setup_timeout_sec, log, this.abort.signal);
      if (r.code !== 0) {
        const how = r.timedOut ? `timed out after ${cfg.setup_timeout_sec} s` : `exited with status ${r.code ?? "?"}`;
        throw new Error(`worktree setup \`${cfg.setup}\` ${how} in ${worktree}${r.tail ? `:\n${r.tail}\n` : " "}(log: ${log}; fix it, then: kas task retry ${input.task})`);
      }
    }
    writeMarker(worktree, copied);
  }
}

/**
 * `[worktree] teardown` in a worktree about to be removed: bounded, output to teardown.log. Returns
 * why it failed (for the log), null when it succeeded or none is configured; never throws.
 */
export async function runTeardown(cfg: WorktreeConfig, input: Omit<PrepareInput, "cfg">, signal?: AbortSignal): Promise<string | null> {
  if (cfg.teardown === "") return null;
  try {
    ensurePrivateDir(input.logDir);
    const log = `${input.logDir}/teardown.log`;
    const r = await runLogged(cfg.teardown, input.worktree, commandEnv(input.project, input.task, input.repo, input.worktree), cfg.teardown_timeout_sec, log, signal);
    if (r.code === 0) return null;
    return `worktree teardown \`${cfg.teardown}\` ${r.timedOut ? `timed out after ${cfg.teardown_timeout_sec} s` : `exited with status ${r.code ?? "?"}`} in ${input.worktree} (log: ${log})${r.tail ? `: ${r.tail.split("\n").slice(-3).join(" | ")}` : ""}`;
  } catch (err) {
    return `worktree teardown in ${input.worktree}: ${(err as Error).message}`;
  }
}
