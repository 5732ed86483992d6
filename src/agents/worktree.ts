// Shared task worktrees: `<repo>/.worktrees/<branch with "/" → "-">`, created on demand from the default branch.
// Git's worktree metadata is not safe under concurrent `worktree add`, so all mutations for one repo are
// serialised through an in-process promise chain.
import { gitCommonDirSync } from "../util/repo-root.ts";
import { type GitResult, runGit } from "../util/git.ts";
import { closeSync, constants, existsSync, lstatSync, openSync, readSync, writeSync } from "node:fs";
import { openContainedDir, READ_NOFOLLOW, withContainedDir } from "../util/contained-fs.ts";
import { lstat, readdir, realpath, rename, rmdir } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";

export class GitError extends Error {
  constructor(
    message: string,
    readonly args: string[] = [],
    readonly stderr = "",
    readonly exitCode: number | null = null,
  ) {
    super(message);
    this.name = "GitError";
  }
}

export interface WorktreeInfo {
  path: string;
  head: string | null;
  /** Short branch name (e.g. `plan/foo`); null when detached or bare. */
  branch: string | null;
  bare: boolean;
  detached: boolean;
  locked: boolean;
  prunable: boolean;
}

const WORKTREES_DIR = ".worktrees";

async function git(cwd: string, args: string[], timeoutMs = 10_000): Promise<GitResult> {
  const { code, stdout, stderr, timedOut } = await runGit(["-C", cwd, ...args], { timeoutMs });
  if (timedOut) throw new GitError(`git ${args[0] ?? ""} timed out after ${timeoutMs}ms`, args, stderr.trim());
  return { code, stdout, stderr: stderr.trim(), timedOut };
}

async function gitOk(cwd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await git(cwd, args, timeoutMs);
  if (r.code !== 0) throw new GitError(r.stderr || `git ${args.join(" ")} exited ${r.code}`, args, r.stderr, r.code);
  return r.stdout.trim();
}

async function refExists(repo: string, ref: string): Promise<boolean> {
  return (await git(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).code === 0;
}

async function realOrResolved(p: string): Promise<string> {
  return realpath(p).catch(() => resolve(p));
}

/** Branch new task branches start from: origin/HEAD, else the main checkout's branch, else main/master. */
export async function defaultBranch(repo: string): Promise<string> {
  const origin = await git(repo, ["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"]);
  if (origin.code === 0 && origin.stdout.trim().startsWith("origin/")) return origin.stdout.trim().slice("origin/".length);
  // The common dir's HEAD is the main checkout's, even when `repo` is itself a linked worktree.
  const common = await gitCommonDir(repo).catch(() => null);
  if (common) {
    const head = await git(repo, ["--git-dir", common, "symbolic-ref", "--quiet", "--short", "HEAD"]);
    if (head.code === 0 && head.stdout.trim()) return head.stdout.trim();
  }
  for (const b of ["main", "master"]) if (await refExists(repo, `refs/heads/${b}`)) return b;
  return "main";
}

/**
 * A task's worktree folder that can be used as it is: a real folder (a link a repo committed as
 * `.worktrees/<x>` would run the agent elsewhere) holding a `.git` file or folder.
 */
export function isCheckoutFolder(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true && existsSync(join(path, ".git"));
}

export function worktreePath(repo: string, branch: string): string {
  return join(resolve(repo), WORKTREES_DIR, branch.replaceAll("/", "-"));
}

async function gitCommonDir(repo: string): Promise<string> {
  const dir = await gitOk(repo, ["rev-parse", "--git-common-dir"]);
  return isAbsolute(dir) ? dir : resolve(repo, dir);
}

/** Parse `git worktree list --porcelain`. */
export async function listWorktrees(repo: string): Promise<WorktreeInfo[]> {
  const out = await gitOk(repo, ["worktree", "list", "--porcelain"]);
  const list: WorktreeInfo[] = [];
  let cur: WorktreeInfo | null = null;
  for (const line of out.split("\n")) {
    if (line.startsWith("worktree ")) {
      cur = { path: line.slice("worktree ".length), head: null, branch: null, bare: false, detached: false, locked: false, prunable: false };
      list.push(cur);
    } else if (!cur) {
      continue;
    } else if (line.startsWith("HEAD ")) {
      cur.head = line.slice(5);
    } else if (line.startsWith("branch ")) {
      const ref = line.slice(7);
      cur.branch = ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : ref;
    } else if (line === "bare") {
      cur.bare = true;
    } else if (line === "detached") {
      cur.detached = true;
    } else if (line === "locked" || line.startsWith("locked ")) {
      cur.locked = true;
    } else if (line === "prunable" || line.startsWith("prunable ")) {
      cur.prunable = true;
    }
  }
  return list;
}

/** HEAD commit of a checkout, or null if it is not one (or has no commits). */
export async function headOf(path: string): Promise<string | null> {
  const r = await git(path, ["rev-parse", "--verify", "--quiet", "HEAD"]).catch(() => null);
  const sha = r?.code === 0 ? r.stdout.trim() : "";
  return /^[0-9a-f]{40,64}$/.test(sha) ? sha : null;
}

// Per-repo serialisation of worktree mutations (keyed by real path so spellings of one repo share a chain).
const chains = new Map<string, Promise<unknown>>();

async function withRepoLock<T>(repo: string, fn: () => Promise<T>): Promise<T> {
  const key = await realOrResolved(repo);
  const prev = chains.get(key) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(fn);
  chains.set(key, next);
  try {
    return await next;
  } finally {
    if (chains.get(key) === next) chains.delete(key);
  }
}

/**
 * kasmos's own files in a repository and in every task worktree: never staged by an agent's `git add -A`,
 * never shown as untracked, never in a PR. `.kasmos/config.toml` (the repo's settings) is not excluded:
 * users may commit it.
 */
export const KASMOS_EXCLUDES = ["/.worktrees/", "/.kasmos/signals/", "/.kasmos/cache/"] as const;

/** The lines of KASMOS_EXCLUDES missing from an info/exclude text (an existing equivalent spelling counts). */
export function missingExcludes(text: string): string[] {
  const have = new Set(text.split("\n").map((l) => l.trim().replace(/^\//, "").replace(/\/$/, "")));
  return KASMOS_EXCLUDES.filter((l) => !have.has(l.replace(/^\//, "").replace(/\/$/, "")));
}

/** Git common dir by repo path (ensureExcludedSync). */
const commonDirs = new Map<string, string>();

/**
 * Add kasmos's own folders to the repo's info/exclude (of the common git dir: it covers every linked
 * worktree), once. Synchronous: called when a repo is registered and before a worktree is created.
 */
export function ensureExcludedSync(repo: string): void {
  appendExcludesSync(repo, missingExcludes, "kasmos (its own state; never committed)");
}

/**
 * Add the lines `missing` picks (from the current text) to the repo's common info/exclude, under a
 * comment. Git reads that one file for the main checkout and every linked worktree alike.
 */
export function appendExcludesSync(repo: string, missing: (text: string) => string[], comment: string): void {
  // The git call blocks the event loop for a whole process start (a few ms, per worktree created in a
  // start storm); a repo's common dir does not move while it still exists, so it is asked once.
  let common = commonDirs.get(repo) ?? null;
  if (common === null || !existsSync(common)) {
    common = gitCommonDirSync(repo);
    if (common === null) return; // not a git repo (any more): the repo's own problem is reported elsewhere
    if (commonDirs.size >= 10_000) commonDirs.clear();
    commonDirs.set(repo, common);
  }
  // info/ and info/exclude are opened without following a link: a repo cannot make kasmos append elsewhere.
  withContainedDir(common, "info", (info) => {
    const text = readSmall(`${info}/exclude`);
    const lines = missing(text);
    if (lines.length === 0) return;
    const fd = openSync(`${info}/exclude`, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, `${text.length > 0 && !text.endsWith("\n") ? "\n" : ""}# ${comment}\n${lines.join("\n")}\n`);
    } finally {
      closeSync(fd);
    }
  }, 0o755);
}

/** A small text file's first MiB ("" when missing); a link or FIFO there throws rather than being followed. */
function readSmall(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, READ_NOFOLLOW);
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return "";
    throw err;
  }
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, n);
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** A leftover folder is set aside, not deleted: it may hold an agent's uncommitted work. */
async function moveAside(path: string): Promise<void> {
  const entries = await readdir(path).catch(() => null);
  if (entries && entries.length === 0) {
    await rmdir(path);
    return;
  }
  await rename(path, `${path}.stale-${Date.now()}`);
}

/**
 * The task's shared worktree, created (with its branch, from the default branch) when missing. Idempotent;
 * a registration whose folder is gone is pruned, a folder that is no registered worktree is set aside.
 */
export async function ensureWorktree(repo: string, branch: string): Promise<{ path: string; created: boolean }> {
  if (!branch || branch.startsWith("-")) throw new GitError(`invalid branch name: ${branch}`);
  await gitOk(repo, ["check-ref-format", "--branch", branch]);
  return withRepoLock(repo, async () => {
    ensureExcludedSync(repo);
    const path = worktreePath(repo, branch);
    const real = await realOrResolved(path);
    // .worktrees and the task's folder are never followed as links (the repo check refuses such a repo).
    openContainedDir(resolve(repo), WORKTREES_DIR, 0o755).close();
    let folder = await lstat(path).catch(() => null);

    const all = await listWorktrees(repo);
    const here = all.find((w) => w.path === path || w.path === real);
    if (here && folder?.isDirectory() && !here.prunable) {
      if (here.branch === branch) return { path, created: false };
      // A live checkout of something else (or mid-rebase, detached): never clobber it.
      throw new GitError(`worktree ${path} is on ${here.branch ?? "a detached HEAD"}, expected ${branch}`);
    }
    const elsewhere = all.find((w) => w.branch === branch && w !== here && !w.prunable);
    if (elsewhere) throw new GitError(`branch ${branch} is already checked out at ${elsewhere.path}`);

    // Stale registrations (folder deleted by hand) block `worktree add` for that path and branch.
    if (here || all.some((w) => w.prunable)) await gitOk(repo, ["worktree", "prune"]);
    if (folder) {
      await moveAside(path);
      folder = null;
    }

    const args = (await refExists(repo, `refs/heads/${branch}`))
      ? ["worktree", "add", path, branch]
      : ["worktree", "add", "-b", branch, path, await baseRef(repo)];
    // Checkout of a large tree can take a while; still bounded.
    await gitOk(repo, args, 120_000);
    return { path, created: true };
  });
}

/** Local default branch if present, else its remote-tracking twin (fresh clones only have origin/<x>). */
async function baseRef(repo: string): Promise<string> {
  const def = await defaultBranch(repo);
  if (await refExists(repo, `refs/heads/${def}`)) return def;
  if (await refExists(repo, `refs/remotes/origin/${def}`)) return `origin/${def}`;
  throw new GitError(`default branch ${def} does not exist in ${repo}`);
}

/** Remove the branch's worktree (branch kept). Without force git refuses a dirty tree. False when none existed. */
export async function removeWorktree(repo: string, branch: string, opts: { force?: boolean } = {}): Promise<boolean> {
  return withRepoLock(repo, async () => {
    const path = worktreePath(repo, branch);
    const real = await realOrResolved(path);
    const here = (await listWorktrees(repo)).find((w) => w.path === path || w.path === real);
    if (!here) return false;
    if (here.prunable) {
      await gitOk(repo, ["worktree", "prune"]);
      return true;
    }
    // Double --force also removes a locked worktree; force means "whatever state it is in".
    const force = opts.force ? ["--force", "--force"] : [];
    await gitOk(repo, ["worktree", "remove", ...force, path], 60_000);
    return true;
  });
}

/** What retention needs to know before removing a task's worktree. */
export interface WorktreeCheck {
  path: string;
  /** Its folder is gone (only git's registration is left: `worktree prune` cleans it up). */
  prunable: boolean;
  /** `git status --porcelain` lines (uncommitted or untracked work), at most 5. */
  dirty: string[];
  /**
   * Git-ignored files and folders (a wholly ignored folder as `dir/`) that `git worktree remove`
   * deletes without asking; read only when nothing is dirty, at most MAX_IGNORED_LISTED.
   */
  ignored: string[];
  /** A remote-tracking branch contains its HEAD. */
  pushed: boolean;
  /** Its HEAD is in the default branch (local or origin's). */
  merged: boolean;
}

/** Ignored entries listed per worktree at most (a report, not an inventory). */
export const MAX_IGNORED_LISTED = 200;

/** Git-ignored entries of a checkout: files, and folders matched as a whole (`node_modules/`). */
async function ignoredFiles(path: string): Promise<string[]> {
  // Not gitOk: its trim() would eat a leading space of the first name.
  const r = await git(path, ["status", "--porcelain", "-z", "--ignored=matching", "--untracked-files=all"]);
  if (r.code !== 0) throw new GitError(r.stderr || `git status --ignored exited ${r.code}`, [], r.stderr, r.code);
  return r.stdout.split("\0").filter((e) => e.startsWith("!! ")).map((e) => e.slice(3)).slice(0, MAX_IGNORED_LISTED);
}

/** The state of the branch's worktree, or null when it has none. */
export async function inspectWorktree(repo: string, branch: string): Promise<WorktreeCheck | null> {
  const path = worktreePath(repo, branch);
  const real = await realOrResolved(path);
  const here = (await listWorktrees(repo)).find((w) => w.path === path || w.path === real);
  if (!here) return null;
  const out: WorktreeCheck = { path, prunable: here.prunable, dirty: [], ignored: [], pushed: false, merged: false };
  if (here.prunable) return out;
  out.dirty = (await gitOk(path, ["status", "--porcelain"])).split("\n").filter((l) => l.trim().length > 0).slice(0, 5);
  if (out.dirty.length === 0) out.ignored = await ignoredFiles(path);
  const head = await headOf(path);
  if (head === null) return out;
  out.pushed = (await gitOk(repo, ["branch", "-r", "--contains", head])).trim().length > 0;
  const def = await defaultBranch(repo);
  for (const ref of [`refs/heads/${def}`, `refs/remotes/origin/${def}`]) {
    if (out.merged || !(await refExists(repo, ref))) continue;
    out.merged = (await git(repo, ["merge-base", "--is-ancestor", head, ref])).code === 0;
  }
  return out;
}
