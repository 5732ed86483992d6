// CLI access to the store (the source of truth: task and signal commands work with or without a daemon).
import { basename, dirname, resolve } from "node:path";
import { existsSync, realpathSync } from "node:fs";
import { storePath } from "../config/paths.ts";
import { type Db, openStore } from "../store/db.ts";
import { fail } from "./_util.ts";

export function openCliStore(): Db {
  return openStore(storePath());
}

export interface RepoRef {
  project: string;
  path: string;
}

/** `--repo` (any path inside a repo or worktree) or the current directory → the main repo root and project name. */
export function resolveRepo(flag: string | undefined): RepoRef {
  const start = resolve(flag && flag.length > 0 ? flag : process.cwd());
  if (!existsSync(start)) fail(`--repo path does not exist: ${start}`);
  // An agent knows its repo: the daemon's own resolution, whatever git says from a worktree of a
  // submodule or a linked worktree that was registered itself.
  const envRepo = process.env.KASMOS_REPO;
  const envProject = process.env.KASMOS_PROJECT;
  if (!flag && envRepo && envProject && within(start, envRepo)) return { project: envProject, path: envRepo };
  // --git-common-dir points at the main repo's .git even from a linked worktree (.worktrees/<x>).
  const r = Bun.spawnSync(["git", "-C", start, "rev-parse", "--path-format=absolute", "--git-common-dir", "--show-toplevel"], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    fail(flag ? `not inside a git work tree: ${start}` : "not inside a git work tree; run this in a repository or pass --repo <path>");
  }
  const [common, top] = r.stdout.toString().trim().split("\n");
  let root = common && basename(common) === ".git" ? dirname(common) : (top ?? start);
  if (common && basename(common) !== ".git") {
    // A submodule's git dir lives in the superproject (.git/modules/<name>); its main work tree is
    // that git dir's core.worktree — the same for the submodule and every linked worktree of it.
    const main = Bun.spawnSync(["git", "--git-dir", common, "rev-parse", "--path-format=absolute", "--show-toplevel"], { stdout: "pipe", stderr: "pipe" });
    const t = main.exitCode === 0 ? main.stdout.toString().trim() : "";
    if (t !== "") root = t;
  }
  return { project: basename(root), path: root };
}

function within(path: string, dir: string): boolean {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const p = real(path);
  const d = real(dir);
  return p === d || p.startsWith(`${d}/`);
}

/** The `--repo` flag shared by task and signal commands. */
export const repoArg = {
  repo: { type: "string", description: "repository path (default: the git top level of the current directory)", valueHint: "path" },
} as const;
