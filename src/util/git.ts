// Every git command kasmos runs goes through here, under one environment rule: git works on the
// repository it is pointed at (-C, --git-dir) and never waits for a person. The async form starts git
// from the process worker when the daemon has turned that on, so the daemon's loop never waits for a
// fork; the sync form is for the CLI's path resolution, which has nothing else to do meanwhile.
import { runOffThread } from "./spawn-off-thread.ts";

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Killed at the time limit: code and output are whatever git had when it was stopped. */
  timedOut: boolean;
}

export interface GitOptions {
  /** Killed (SIGKILL) after this long; 10 s unless said. */
  timeoutMs?: number;
  /** Set on top of the rule, for one caller's need (e.g. LC_ALL=C where git's messages are matched). */
  env?: Record<string, string>;
}

export const GIT_TIMEOUT_MS = 10_000;

// Inherited from a git hook, a worktree's shell or a pre-receive quarantine, these would send every
// command to another repository, work tree, index or object store than the path it was given.
const REPO_SELECTION = ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"];

// No credential prompt on a terminal or in a window: an unattended push fails instead of hanging.
const NEVER_PROMPT = { GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "", SSH_ASKPASS: "", GCM_INTERACTIVE: "never" };

/** The environment every git command runs in: this process's, under the rule above, plus `extra`. */
export function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !REPO_SELECTION.includes(k)) env[k] = v;
  return { ...env, ...NEVER_PROMPT, ...extra };
}

/** `git <args>` to completion, output read in full. Rejects only when git cannot be started. */
export async function runGit(args: readonly string[], opts: GitOptions = {}): Promise<GitResult> {
  const r = await runOffThread(["git", ...args], { env: gitEnv(opts.env), timeoutMs: opts.timeoutMs ?? GIT_TIMEOUT_MS });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
}

/** runGit on the caller's thread. Throws only when git cannot be started. */
export function runGitSync(args: readonly string[], opts: GitOptions = {}): GitResult {
  const r = Bun.spawnSync(["git", ...args], { env: gitEnv(opts.env), stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: opts.timeoutMs ?? GIT_TIMEOUT_MS });
  return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString(), timedOut: r.exitedDueToTimeout === true };
}
