// Git commands PR creation needs (async, bounded, never prompting): push, refs, commit and file lists.
import { GIT_TIMEOUT_MS, type GitOptions, runGit } from "../util/git.ts";

export interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** git in `repo`; a git that cannot start (127) or outlasts its time (124) is a failed run saying so. */
export async function gitIn(repo: string, args: string[], opts: GitOptions = {}): Promise<GitRun> {
  try {
    const r = await runGit(["-C", repo, ...args], opts);
    return r.timedOut ? { code: 124, stdout: r.stdout, stderr: `git ${args[0]} timed out after ${opts.timeoutMs ?? GIT_TIMEOUT_MS} ms` } : r;
  } catch (err) {
    return { code: 127, stdout: "", stderr: (err as Error).message };
  }
}

const SHA_RE = /^[0-9a-f]{40}$/;

/** Commit SHA of a ref, or null. */
export async function revParse(repo: string, ref: string): Promise<string | null> {
  if (!ref || ref.startsWith("-")) return null;
  const r = await gitIn(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  const sha = r.stdout.trim();
  return r.code === 0 && SHA_RE.test(sha) ? sha : null;
}

export type PushResult = { ok: true } | { ok: false; rejected: boolean; reason: string };

function lastLines(text: string, n = 4): string {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("To ") && l !== "Done")
    .slice(-n)
    .join("; ");
}

/**
 * Plain push of exactly `sha` to `refs/heads/<branch>` on origin (no force). `rejected` = the remote or
 * credentials refused it (a human must act: diverged branch, protected ref, permission); otherwise the
 * failure is transient (network, timeout).
 */
export async function pushBranch(repo: string, branch: string, sha: string, timeoutMs = 120_000): Promise<PushResult> {
  // Its messages are matched below: in English whatever the locale.
  const r = await gitIn(repo, ["push", "--porcelain", "origin", `${sha}:refs/heads/${branch}`], { timeoutMs, env: { LC_ALL: "C" } });
  if (r.code === 0) return { ok: true };
  const text = `${r.stdout}\n${r.stderr}`;
  const rejected =
    /\[rejected\]|\[remote rejected\]|non-fast-forward|fetch first|protected branch|pre-receive hook declined|permission denied|authentication failed|could not read username|access denied|403/i.test(
      text,
    );
  return { ok: false, rejected, reason: `git push origin ${branch} failed: ${lastLines(text) || `exit ${r.code}`}` };
}

/** The ref to compare a branch against: origin/<base> when fetched, else the local <base>; null if neither. */
export async function baseRef(repo: string, base: string): Promise<string | null> {
  for (const ref of [`refs/remotes/origin/${base}`, `refs/heads/${base}`]) {
    if ((await revParse(repo, ref)) !== null) return ref;
  }
  return null;
}

/** `git log --oneline base..head` lines (newest first), at most `limit`. */
export async function commitLines(repo: string, base: string, head: string, limit = 200): Promise<string[]> {
  const r = await gitIn(repo, ["log", "--oneline", "--no-decorate", "--no-color", `-n${limit}`, `${base}..${head}`]);
  return r.code === 0 ? r.stdout.split("\n").filter((l) => l.trim() !== "") : [];
}

/** `git diff --name-status base...head` lines, at most `limit`. */
export async function changedFiles(repo: string, base: string, head: string, limit = 500): Promise<string[]> {
  const r = await gitIn(repo, ["diff", "--name-status", "--no-color", `${base}...${head}`]);
  return r.code === 0 ? r.stdout.split("\n").filter((l) => l.trim() !== "").slice(0, limit) : [];
}
