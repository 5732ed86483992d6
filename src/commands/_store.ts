// CLI access to the store (the source of truth: task and signal commands work with or without a daemon).
import { resolve } from "node:path";
import { existsSync } from "node:fs";
import { realOr, repoRootOf } from "../util/repo-root.ts";
import { storePath } from "../config/paths.ts";
import { type Db, openStore } from "../store/db.ts";
import { ensureProjectKey, projectKeyOf } from "../store/project-keys.ts";
import { loadConfig } from "../config/load.ts";
import { normalizeRepoPath } from "../engine/repos.ts";
import { fail } from "./_util.ts";

export function openCliStore(): Db {
  return openStore(storePath());
}

export interface ProjectRepo {
  project: string;
  path: string;
}

/**
 * `--repo` (any path inside a repo or worktree) or the current directory → the main repo root and its
 * project key (by real path, from the store: never a basename match with another repository).
 */
export function resolveRepo(flag: string | undefined): ProjectRepo {
  const start = resolve(flag && flag.length > 0 ? flag : process.cwd());
  if (!existsSync(start)) fail(`--repo path does not exist: ${start}`);
  // An agent knows its repo: the daemon's own resolution, whatever git says from a worktree of a
  // submodule or a linked worktree that was registered itself.
  const envRepo = process.env.KASMOS_REPO;
  const envProject = process.env.KASMOS_PROJECT;
  if (!flag && envRepo && envProject && within(start, envRepo)) return { project: envProject, path: envRepo };
  const r = repoRootOf(start);
  if (!r.ok) fail(flag ? r.error : "not inside a git work tree; run this in a repository or pass --repo <path>");
  return { project: projectKeyForPath(r.root), path: r.root };
}

function projectKeyForPath(path: string): string {
  const db = openCliStore();
  try {
    const known = projectKeyOf(db, path);
    if (known !== null) return known;
    // A repository new to the store: the config's repos take their keys first, in order, as the daemon
    // gives them at start, so a repo listed there keeps the basename an older store used for its rows.
    let configRepos: string[] = [];
    try {
      configRepos = loadConfig().config.repos;
    } catch {
      // a broken config: the daemon refuses it too
    }
    for (const p of configRepos) {
      try {
        ensureProjectKey(db, normalizeRepoPath(p));
      } catch {
        // an unusable entry: the daemon skips it as well
      }
    }
    return ensureProjectKey(db, path);
  } finally {
    db.close();
  }
}

function within(path: string, dir: string): boolean {
  const p = realOr(path);
  const d = realOr(dir);
  return p === d || p.startsWith(`${d}/`);
}

/** The `--repo` flag shared by task and signal commands. */
export const repoArg = {
  repo: { type: "string", description: "repository path (default: the git top level of the current directory)", valueHint: "path" },
} as const;

/**
 * Commands that start work (create, transition, plan, emit) in a repo the running daemon does not watch
 * would wait forever for agents: say so on stderr (exit status unchanged). Silent when no daemon runs.
 */
export async function warnIfUnwatched(repo: ProjectRepo): Promise<void> {
  try {
    const { daemonClient } = await import("../server/client.ts");
    const { listRepos } = await import("../api/repos.ts");
    const { clientSocketPath } = await import("./_util.ts");
    const repos = await daemonClient(await clientSocketPath(undefined))(listRepos, { timeout: 1000 });
    if (!repos.some((r) => r.path === repo.path)) console.error(`warning: the running daemon does not watch ${repo.path}: nothing will happen until you run kas daemon add ${repo.path}`);
  } catch {
    // no daemon (the store still records everything) or it did not answer in time
  }
}
