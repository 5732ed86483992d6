// Where a repository's root is, from any path inside it — one answer for the daemon's registry and the
// CLI, so both name the same project: the main work tree of the git common dir (a linked worktree or a
// subdirectory resolve to their repository; a submodule to its own work tree, whose git dir lives in
// the superproject).
import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";

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
  const r = Bun.spawnSync(["git", "-C", path, "rev-parse", "--path-format=absolute", "--git-common-dir"], { stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  return r.exitCode === 0 ? r.stdout.toString().trim() : null;
}

export type RepoRootResult = { ok: true; root: string } | { ok: false; error: string };

export function repoRootOf(path: string): RepoRootResult {
  const start = realOr(path);
  const r = Bun.spawnSync(["git", "-C", start, "rev-parse", "--path-format=absolute", "--git-common-dir", "--show-toplevel"], { stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  if (r.exitCode !== 0) return { ok: false, error: `not inside a git work tree: ${start}` };
  const [common, top] = r.stdout.toString().trim().split("\n");
  if (!common) return { ok: false, error: `git gave no git dir for ${start}` };
  if (basename(common) === ".git") return { ok: true, root: realOr(dirname(common)) };
  // A submodule (git dir under the superproject's .git/modules/): its main work tree is the git dir's core.worktree.
  const main = Bun.spawnSync(["git", "--git-dir", common, "rev-parse", "--path-format=absolute", "--show-toplevel"], { stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  const t = main.exitCode === 0 ? main.stdout.toString().trim() : "";
  return { ok: true, root: realOr(t !== "" ? t : (top ?? start)) };
}
