// The registry of repositories the daemon scans: config `repos` merged with run-time additions
// (persisted in the store so they survive a restart). Project = the repository's key in the store
// (store/project-keys.ts): its basename, or a disambiguated key for a second repo of that basename.
import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Db } from "../store/db.ts";
import { cachedRepoDirs, expandHome, plainCheckoutDirs, type RepoDirs, repoDirsCached, repoDirsCachedAsync } from "../util/repo-root.ts";
import { KasmosError } from "../util/errors.ts";
import { Limiter } from "../util/limiter.ts";
import { runGitSync } from "../util/git.ts";
import { deleteStoredRepo, insertStoredRepo, listStoredRepos } from "../store/repos.ts";
import { ensureProjectKey } from "../store/project-keys.ts";
import { repoLayoutProblem } from "./repo-layout.ts";

export type RepoSource = "config" | "api" | "config+api";

export interface RepoEntry {
  project: string;
  path: string;
  source: RepoSource;
  /** Set when the directory is gone or no longer a git work tree; the repo stays registered and is skipped by scans. */
  problem: string | null;
  /** Registered, its root and ownership not settled yet (daemon start, reload): shown by status, skipped by scans. */
  claiming?: boolean;
}

/** Repos resolved and claimed at once (each a git process or two). */
const CLAIMS_AT_ONCE = 4;

export class RepoError extends KasmosError {
  override name = "RepoError";
  readonly code: "invalid" | "not_found" | "conflict";
  constructor(message: string, status: 400 | 404 | 409) {
    super(message);
    this.code = status === 404 ? "not_found" : status === 409 ? "conflict" : "invalid";
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
    if (existsSync(join(dir, ".git"))) return repoLayoutProblem(path);
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
export function normalizeRepoPath(path: string, dirsOf: (path: string) => RepoDirs | undefined = repoDirsCached): string {
  if (typeof path !== "string" || path.trim().length === 0) throw new RepoError("path is required", 400);
  if (path.includes("\0")) throw new RepoError("path contains a NUL byte", 400);
  const expanded = expandHome(path.trim());
  if (!isAbsolute(expanded)) throw new RepoError(`path must be absolute: ${path}`, 400);
  const p = resolve(expanded);
  if (existsSync(p) && repoPathProblem(p) === null) {
    const root = dirsOf(p);
    if (root?.ok) return root.root;
  }
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

/** Things that work but will bite later (shown by `add` and in the log, not a problem). */
export function repoWarnings(path: string): string[] {
  const head = runGitSync(["-C", path, "rev-parse", "--verify", "--quiet", "HEAD"]);
  return head.code === 0 ? [] : [`${path} has no commits yet: task worktrees branch from one (git commit --allow-empty -m init)`];
}

/** Done with a repo's claim: `startup` = registered by the daemon's first sync (not added by a reload). */
export type ClaimedHook = (entry: RepoEntry, startup: boolean) => void;

export class RepoRegistry {
  private repos = new Map<string, RepoEntry>();
  private claims = new Limiter(CLAIMS_AT_ONCE);
  private synced = false;
  /** Claims under way (tests and shutdown wait for them). */
  private pending = new Set<Promise<void>>();

  /**
   * `claim(path, commonDir)`: null when this daemon may scan the repo, else why not (another daemon owns
   * it); `commonDir` is the repo's git common dir (null: not a git repo). `onClaimed`: a repo's claim
   * settled (by sync, in the background).
   */
  constructor(
    private db: Db,
    private claim: (path: string, commonDir: string | null) => string | null = () => null,
    private release: (path: string, commonDir: string | null | undefined) => void = () => undefined,
    private onClaimed: ClaimedHook = () => undefined,
  ) {}

  /** The repo's git common dir as this run knows it (null: not a git repo). */
  private commonDirOf(path: string): string | null {
    const d = repoDirsCached(path);
    return d.ok ? d.commonDir : null;
  }

  private check(path: string): string | null {
    return repoPathProblem(path) ?? this.claim(path, this.commonDirOf(path));
  }

  /** Every claim started so far has settled. */
  async claimsSettled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

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
    const owned = this.claim(path, this.commonDirOf(path));
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
    if (!entry.claiming) this.release(entry.path, this.commonDirOf(entry.path));
    return entry;
  }

  /**
   * (Re)apply the config's `repos` and the stored registrations. Returns human-readable notes
   * (missing paths, clashes) for the log; nothing here is fatal. Runs no git: a repo new to this run is
   * registered as claiming and resolved and claimed in the background, a few at a time; `onClaimed`
   * reports it (its problem, if any) when done. One whose root only git can tell (a linked worktree, a
   * submodule) is listed under its path until then, and gets its project key once resolved.
   */
  sync(configRepos: string[]): { notes: string[]; removed: string[] } {
    const notes: string[] = [];
    const removed: string[] = [];
    const wanted = new Map<string, { path: string; config: boolean; api: boolean }>();
    const claim = (rawPath: string, kind: "config" | "api"): void => {
      let path: string;
      // No git here (claims ask it): what this run knows, or a main checkout's dirs read from the disk.
      let needsGit = false;
      try {
        path = normalizeRepoPath(rawPath, (p) => {
          const known = cachedRepoDirs(p) ?? plainCheckoutDirs(p);
          needsGit = known === undefined;
          return known;
        });
      } catch (err) {
        notes.push(`${kind} repo "${rawPath}" skipped: ${(err as Error).message}`);
        return;
      }
      const project = needsGit ? path : ensureProjectKey(this.db, path);
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
    const startup = !this.synced;
    this.synced = true;
    for (const [project, w] of wanted) {
      const source: RepoSource = w.config && w.api ? "config+api" : w.config ? "config" : "api";
      const prev = this.repos.get(project);
      if (prev && prev.path === w.path && (prev.claiming || cachedRepoDirs(w.path) !== undefined)) {
        // Known to this run: re-checked from what git said before (a claiming one settles on its own).
        prev.source = source;
        if (!prev.claiming) {
          prev.problem = this.check(prev.path);
          if (prev.problem) notes.push(`repo ${project}: ${prev.problem} (kept registered, skipped by scans until that changes)`);
        }
        continue;
      }
      const entry: RepoEntry = { project, path: w.path, source, problem: null, claiming: true };
      this.repos.set(project, entry);
      this.startClaim(entry, startup);
    }
    return { notes, removed };
  }

  private startClaim(entry: RepoEntry, startup: boolean): void {
    // One macrotask before each: hundreds of claims never hold the event loop at once (requests first).
    const job = this.claims
      .run(async () => {
        await new Promise((resolve) => setTimeout(resolve, 0));
        return repoPathProblem(entry.path) === null ? await repoDirsCachedAsync(entry.path) : null;
      })
      .then((dirs) => this.settleClaim(entry, dirs, startup))
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /**
   * The repo's root as git says it (a repo registered by a path inside it moves there, under its
   * project key), then its owner. `dirs`: null when the path has a problem (no git asked).
   */
  private settleClaim(entry: RepoEntry, dirs: RepoDirs | null, startup: boolean): void {
    if (this.repos.get(entry.project) !== entry) return; // removed (or replaced by a reload) meanwhile
    const root = dirs?.ok ? dirs.root : entry.path;
    const project = ensureProjectKey(this.db, root);
    if (project !== entry.project) {
      this.repos.delete(entry.project);
      const other = this.repos.get(project);
      if (other) {
        // The same repository, registered by its root too: one entry, with both sources.
        if (other.source !== entry.source) other.source = "config+api";
        return;
      }
      entry.project = project;
      entry.path = root;
      this.repos.set(project, entry);
    }
    entry.problem = repoPathProblem(entry.path) ?? this.claim(entry.path, dirs?.ok ? dirs.commonDir : null);
    entry.claiming = false;
    this.onClaimed(entry, startup);
  }

  /** Re-check a repo's directory (called by the scan loop) so a repo that reappears is picked up again. */
  refresh(entry: RepoEntry): void {
    if (!entry.claiming) entry.problem = this.check(entry.path);
  }

  /** Give up every repo this daemon holds (shutdown). */
  releaseAll(): void {
    for (const r of this.repos.values()) {
      if (r.claiming) continue;
      const d = cachedRepoDirs(r.path); // undefined: its .git changed since, release asks git
      this.release(r.path, d === undefined ? undefined : d.ok ? d.commonDir : null);
    }
  }
}
