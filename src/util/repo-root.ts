// Where a repository's root is, from any path inside it — one answer for the daemon's registry and the
// CLI, so both name the same project: the main work tree of the git common dir (a linked worktree or a
// subdirectory resolve to their repository; a submodule to its own work tree, whose git dir lives in
// the superproject).
import { realpathSync, type Stats, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { runGit, runGitSync } from "./git.ts";

/** `~`, `~/x`, `$HOME/x` and `${HOME}/x` → absolute (config files and hand-typed paths use them). */
export function expandHome(path: string): string {
  const home = process.env.HOME || homedir();
  if (path === "~" || path === "$HOME" || path === "${HOME}") return home;
  for (const prefix of ["~/", "$HOME/", "${HOME}/"]) if (path.startsWith(prefix)) return join(home, path.slice(prefix.length));
  return path;
}

export function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The repository's git common dir (shared by every linked worktree), absolute; null outside a git repo. */
export function gitCommonDirSync(path: string): string | null {
  const known = cachedRepoDirs(path) ?? plainCheckoutDirs(path);
  if (known?.ok) return known.commonDir;
  const r = runGitSync(["-C", path, "rev-parse", "--path-format=absolute", "--git-common-dir"]);
  return r.code === 0 ? r.stdout.trim() : null;
}

export type RepoRootResult = { ok: true; root: string } | { ok: false; error: string };

/** The repository of a path: its root (as repoRootOf) and its git common dir. */
export type RepoDirs = { ok: true; root: string; commonDir: string } | { ok: false; error: string };

const REV_PARSE = ["rev-parse", "--path-format=absolute", "--git-common-dir", "--show-toplevel"];

/**
 * From `git rev-parse --git-common-dir --show-toplevel` run at `start`: the root, or that the git dir is a
 * submodule's (under the superproject's .git/modules/), whose main work tree is the git dir's
 * core.worktree (`mainTop` asks git for it).
 */
function dirsOf<T>(start: string, exitCode: number, out: string, mainTop: (common: string) => T): RepoDirs | T {
  if (exitCode !== 0) return { ok: false, error: `not inside a git work tree: ${start}` };
  const [common] = out.trim().split("\n");
  if (!common) return { ok: false, error: `git gave no git dir for ${start}` };
  if (basename(common) === ".git") return { ok: true, root: realOr(dirname(common)), commonDir: common };
  return mainTop(common);
}

function submoduleRoot(common: string, top: string | undefined, start: string, exitCode: number, out: string): RepoDirs {
  const t = exitCode === 0 ? out.trim() : "";
  return { ok: true, root: realOr(t !== "" ? t : (top ?? start)), commonDir: common };
}

export function repoDirsOf(path: string): RepoDirs {
  const start = realOr(path);
  const r = runGitSync(["-C", start, ...REV_PARSE]);
  return dirsOf(start, r.code, r.stdout, (common) => {
    const main = runGitSync(["--git-dir", common, "rev-parse", "--path-format=absolute", "--show-toplevel"]);
    return submoduleRoot(common, r.stdout.trim().split("\n")[1], start, main.code, main.stdout);
  });
}

/** repoDirsOf without blocking the event loop (the daemon resolves its repos this way at start). */
export async function repoDirsOfAsync(path: string): Promise<RepoDirs> {
  const start = realOr(path);
  const r = await runGit(["-C", start, ...REV_PARSE]);
  const first = dirsOf(start, r.code, r.stdout, (common) => common);
  if (typeof first !== "string") return first;
  const main = await runGit(["--git-dir", first, "rev-parse", "--path-format=absolute", "--show-toplevel"]);
  return submoduleRoot(first, r.stdout.trim().split("\n")[1], start, main.code, main.stdout);
}

// What git said of a path, kept while the .git it found stays the same (by path, device and inode):
// the daemon asks once per repo and run (registration, ownership claim, info/exclude, release), not
// once per use: 500 repos cost ~1,500 git processes at each start. A main checkout (its .git a
// directory) needs no git at all.
const dirsCache = new Map<string, { id: string; dirs: RepoDirs }>();

/** The nearest .git at or above `start` (a real path): the directory holding it and its stat. */
function nearestDotGit(start: string): { dir: string; st: Stats } | null {
  let dir = start;
  for (let i = 0; i < 256; i++) {
    const st = statSync(join(dir, ".git"), { throwIfNoEntry: false });
    if (st) return { dir, st };
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

/** The nearest .git at or above `start` (path, device, inode), or "" when there is none. */
function dotGitIdentity(start: string): string {
  const g = nearestDotGit(start);
  return g ? `${g.dir}\0${g.st.dev}:${g.st.ino}` : "";
}

/** repoDirsOf's answer for `path` while its .git is unchanged; undefined when not asked yet. */
export function cachedRepoDirs(path: string): RepoDirs | undefined {
  const start = realOr(path);
  const hit = dirsCache.get(start);
  return hit && hit.id === dotGitIdentity(start) ? hit.dirs : undefined;
}

function remember(path: string, dirs: RepoDirs, id: string): RepoDirs {
  if (dirsCache.size >= 10_000) dirsCache.clear();
  dirsCache.set(path, { id, dirs });
  return dirs;
}

/**
 * A main checkout's dirs, read from the file system: the nearest .git at or above `path` is a directory
 * (git's own answer there). Undefined when git must say: no .git, or a .git file (a linked worktree or
 * a submodule, whose repository is elsewhere).
 */
export function plainCheckoutDirs(path: string): RepoDirs | undefined {
  const g = nearestDotGit(realOr(path));
  return g?.st.isDirectory() ? { ok: true, root: g.dir, commonDir: join(g.dir, ".git") } : undefined;
}

/** repoDirsOf, asked once while the repo's .git stays the same (never, for a main checkout). */
export function repoDirsCached(path: string): RepoDirs {
  const start = realOr(path);
  return cachedRepoDirs(start) ?? remember(start, plainCheckoutDirs(start) ?? repoDirsOf(start), dotGitIdentity(start));
}

/** repoDirsCached without blocking the event loop. */
export async function repoDirsCachedAsync(path: string): Promise<RepoDirs> {
  const start = realOr(path);
  const known = cachedRepoDirs(start) ?? plainCheckoutDirs(start);
  if (known) return remember(start, known, dotGitIdentity(start));
  const id = dotGitIdentity(start);
  return remember(start, await repoDirsOfAsync(start), id);
}

export function repoRootOf(path: string): RepoRootResult {
  const d = repoDirsOf(path);
  return d.ok ? { ok: true, root: d.root } : d;
}
