// The registry of repositories the daemon scans: config `repos` merged with run-time additions
// (persisted in the store so they survive a restart). Project = the repository's key in the store
// (store/project-keys.ts): its basename, or a disambiguated key for a second repo of that basename.
import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Db } from "../store/db.ts";
import { expandHome, repoRootOf } from "../util/repo-root.ts";
import { deleteStoredRepo, insertStoredRepo, listStoredRepos } from "../store/repos.ts";
import { ensureProjectKey } from "../store/project-keys.ts";

export type RepoSource = "config" | "api" | "config+api";

export interface RepoEntry {
  project: string;
  path: string;
  source: RepoSource;
  /** Set when the directory is gone or no longer a git work tree; the repo stays registered and is skipped by scans. */
  problem: string | null;
}

export class RepoError extends Error {
  override name = "RepoError";
  constructor(
    message: string,
    public status: 400 | 404 | 409,
  ) {
    super(message);
  }
}

/** Why `path` cannot be registered, or null when it is an existing directory inside a git work tree. */
export function repoPathProblem(path: string): string | null {
  if (!existsSync(path)) return `path does not exist: ${path}`;
  if (!statSync(path).isDirectory()) return `path is not a directory: ${path}`;
  const kasmosDir = statSync(join(path, ".kasmos"), { throwIfNoEntry: false });
  if (kasmosDir && !kasmosDir.isDirectory()) return `${join(path, ".kasmos")} is not a directory (kasmos keeps its signals there): move it away`;
  // Walk up looking for .git (a directory in a main checkout, a file in a linked worktree).
  let dir = path;
  for (let i = 0; i < 256; i++) {
    if (existsSync(join(dir, ".git"))) return null;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return `not inside a git work tree: ${path}`;
}

/**
 * The path a repo is registered under: `~`/`$HOME` expanded, absolute, and — when it exists inside a git
 * work tree — its repository's root by real path (a symlink and its target, a subdirectory and its
 * repo, a linked worktree and its main checkout are one repo; the CLI resolves the same way).
 */
export function normalizeRepoPath(path: string): string {
  if (typeof path !== "string" || path.trim().length === 0) throw new RepoError("path is required", 400);
  if (path.includes("\0")) throw new RepoError("path contains a NUL byte", 400);
  const expanded = expandHome(path.trim());
  if (!isAbsolute(expanded)) throw new RepoError(`path must be absolute: ${path}`, 400);
  const p = resolve(expanded);
  if (existsSync(p) && repoPathProblem(p) === null) {
    const root = repoRootOf(p);
    if (root.ok) return root.root;
  }
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

/** Things that work but will bite later (shown by `add` and in the log, not a problem). */
export function repoWarnings(path: string): string[] {
  const head = Bun.spawnSync(["git", "-C", path, "rev-parse", "--verify", "--quiet", "HEAD"], { stdout: "ignore", stderr: "ignore", timeout: 10_000 });
  return head.exitCode === 0 ? [] : [`${path} has no commits yet: task worktrees branch from one (git commit --allow-empty -m init)`];
}

export class RepoRegistry {
  private repos = new Map<string, RepoEntry>();

  /** `claim(path)`: null when this daemon may scan the repo, else why not (another daemon owns it). */
  constructor(
    private db: Db,
    private claim: (path: string) => string | null = () => null,
    private release: (path: string) => void = () => undefined,
  ) {}

  list(): RepoEntry[] {
    return [...this.repos.values()];
  }

  get(project: string): RepoEntry | undefined {
    return this.repos.get(project);
  }

  /** Run-time registration (API). Validates, rejects duplicates, persists. */
  addFromApi(rawPath: string): RepoEntry {
    const path = normalizeRepoPath(rawPath);
    const project = ensureProjectKey(this.db, path);
    const existing = this.repos.get(project);
    if (existing && existing.source === "config") {
      // Already scanned because of the config; persisting makes it survive removal from the config.
      insertStoredRepo(this.db, project, path);
      existing.source = "config+api";
    }
    if (existing) throw new RepoError(`repo already registered: ${path}`, 409);
    const problem = repoPathProblem(path);
    if (problem) throw new RepoError(problem, 400);
    const owned = this.claim(path);
    if (owned) throw new RepoError(owned, 409);
    insertStoredRepo(this.db, project, path);
    const entry: RepoEntry = { project, path, source: "api", problem: null };
    this.repos.set(project, entry);
    return entry;
  }

  remove(project: string): RepoEntry {
    const entry = this.repos.get(project);
    if (!entry) throw new RepoError(`repo not registered: ${project}`, 404);
    this.repos.delete(project);
    deleteStoredRepo(this.db, project);
    this.release(entry.path);
    return entry;
  }

  /**
   * (Re)apply the config's `repos` and the stored registrations. Returns human-readable notes
   * (missing paths, clashes) for the log; nothing here is fatal.
   */
  sync(configRepos: string[]): { notes: string[]; added: string[]; removed: string[] } {
    const notes: string[] = [];
    const added: string[] = [];
    const removed: string[] = [];
    const wanted = new Map<string, { path: string; config: boolean; api: boolean }>();
    const claim = (rawPath: string, kind: "config" | "api"): void => {
      let path: string;
      try {
        path = normalizeRepoPath(rawPath);
      } catch (err) {
        notes.push(`${kind} repo "${rawPath}" skipped: ${(err as Error).message}`);
        return;
      }
      const project = ensureProjectKey(this.db, path);
      const prev = wanted.get(project);
      const entry = prev ?? { path, config: false, api: false };
      entry[kind] = true;
      wanted.set(project, entry);
    };
    for (const p of configRepos) claim(p, "config");
    for (const r of listStoredRepos(this.db)) claim(r.path, "api");

    for (const [project, entry] of [...this.repos]) {
      if (!wanted.has(project)) {
        this.repos.delete(project);
        removed.push(entry.path);
      }
    }
    for (const [project, w] of wanted) {
      const source: RepoSource = w.config && w.api ? "config+api" : w.config ? "config" : "api";
      const problem = repoPathProblem(w.path) ?? this.claim(w.path);
      if (problem) notes.push(`repo ${project}: ${problem} (kept registered, skipped by scans until that changes)`);
      const prev = this.repos.get(project);
      if (!prev) added.push(w.path);
      this.repos.set(project, { project, path: w.path, source, problem });
    }
    return { notes, added, removed };
  }

  /** Re-check a repo's directory (called by the scan loop) so a repo that reappears is picked up again. */
  refresh(entry: RepoEntry): void {
    entry.problem = repoPathProblem(entry.path) ?? this.claim(entry.path);
  }

  /** Give up every repo this daemon holds (shutdown). */
  releaseAll(): void {
    for (const r of this.repos.values()) this.release(r.path);
  }
}
