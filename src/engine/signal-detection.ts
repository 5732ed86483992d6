// How the daemon learns that a repo has signal files: inotify watches on its signals folders (when
// watch_signals is on), limited to the worktree folders that can still signal (worktree-scope.ts);
// bursts drained by back-to-back scans; and one re-scan per repo when its freshest file has settled.
// The poll timer of the scan loop is the safety net behind all of it.
import { RepoSignalWatcher } from "../signals/watch.ts";
import { type Db, storeVersion } from "../store/db.ts";
import type { FolderFilter } from "../signals/files.ts";
import type { Logger } from "../runtime/log.ts";
import type { RepoEntry } from "./repos.ts";
import { type ScanStats, SETTLE_MS } from "./signal-engine.ts";
import { WorktreeScope } from "./worktree-scope.ts";

/** Files in one scan of a repo that make it drain by back-to-back scans instead of watch events. */
const BURST_FILES = 16;

export interface SignalDetectionDeps {
  db: Db;
  log: Logger;
  /** Scan this repo again soon (the scan loop's kick). */
  kick: (project: string) => void;
  watchSignals: boolean;
}

export class SignalDetection {
  // Worktree folders of finished tasks are neither scanned nor watched (see worktree-scope.ts).
  private scopes = new Map<string, WorktreeScope>();
  /** The store's version when the current pass began (worktree scopes re-read only after a change). */
  private passStoreVersion = "";
  private watchers = new Map<string, RepoSignalWatcher>();
  private watching: boolean;
  private settleTimers = new Map<string, ReturnType<typeof setTimeout>>();
  // A burst (many files in one scan) is drained by scanning back to back with the repo's watches
  // dropped: inotify would deliver ~5 events per file for files the next scan lists anyway. After
  // the first scan that finds nothing, the watches are re-armed and one more scan catches files
  // that landed in between; the poll timer stays the safety net throughout.
  // A repo is in `bursts` exactly while its watches are paused.
  private bursts = new Map<string, { files: number; scans: number; t0: number }>();

  constructor(private deps: SignalDetectionDeps) {
    this.watching = deps.watchSignals;
  }

  private scopeOf(project: string): WorktreeScope {
    let s = this.scopes.get(project);
    if (!s) {
      s = new WorktreeScope(this.deps.db, project);
      s.update(storeVersion(this.deps.db));
      this.scopes.set(project, s);
    }
    return s;
  }

  /** Which of the repo's folders the signal engine scans. */
  filterOf(project: string): FolderFilter {
    return this.scopeOf(project).filter;
  }

  beginPass(): void {
    this.passStoreVersion = storeVersion(this.deps.db);
  }

  watch(repo: RepoEntry): void {
    if (!this.watching || repo.problem || repo.claiming || this.watchers.has(repo.project)) return;
    const scope = this.scopeOf(repo.project);
    const { log, kick } = this.deps;
    const w = new RepoSignalWatcher(
      repo.path,
      repo.project,
      () => kick(repo.project),
      (msg) => log.warn(`${repo.project}: ${msg}`),
      scope.filter,
      (n) => log.info(`${repo.project}: watching ${n} signal folder${n === 1 ? "" : "s"}${scope.skipped > 0 ? ` (${scope.skipped} worktree folder${scope.skipped === 1 ? "" : "s"} of finished tasks left out)` : ""}`),
    );
    w.refresh();
    this.watchers.set(repo.project, w);
  }

  unwatch(project: string): void {
    this.bursts.delete(project);
    this.watchers.get(project)?.close();
    this.watchers.delete(project);
    this.scopes.delete(project);
  }

  /** watch_signals turned on or off by a reload. */
  setWatching(on: boolean, repos: RepoEntry[]): void {
    if (on === this.watching) return;
    this.watching = on;
    if (!on) for (const p of [...this.watchers.keys()]) this.unwatch(p);
    else for (const r of repos) this.watch(r);
    this.deps.log.info(`signal detection: ${on ? "watch + poll" : "poll only"}`);
  }

  /**
   * Before a scan of the repo: the worktree folders that count are brought up to date, and
   * "unwatched" says the repo has no watches yet though it should (it came back, or was missing at
   * start): the caller prepares its folders and watches it. `refreshAll` re-reads every folder, the
   * safety net for missed folder events (e.g. a worktree added during an inotify overflow).
   */
  beforeScan(repo: RepoEntry, refreshAll: boolean): "unwatched" | "watched" {
    // Tasks that (re)opened or finished since the last scan change which worktree folders count.
    const scope = this.scopeOf(repo.project);
    const scopeChanged = scope.update(this.passStoreVersion);
    if (this.watching && !this.watchers.has(repo.project)) return "unwatched";
    if (refreshAll) {
      scope.forget();
      this.watchers.get(repo.project)?.refresh();
    } else if (scopeChanged) this.watchers.get(repo.project)?.refresh();
    return "watched";
  }

  /** After a scan of the repo: drain a burst, and come back when its freshest file has settled. */
  afterScan(repo: RepoEntry, stats: ScanStats): void {
    this.drainBurst(repo, stats);
    // Come back exactly when the freshest file is old enough, for this repo only.
    if (stats.settleInMs > 0) this.kickLater(repo.project, Math.ceil(stats.settleInMs));
  }

  /** Nothing pending for the repo on this side: watched as it should be, no burst, no re-scan due, scope current. */
  quiet(project: string): boolean {
    if ((this.watching && !this.watchers.has(project)) || this.bursts.has(project) || this.settleTimers.has(project)) return false;
    return !this.scopeOf(project).stale(this.passStoreVersion);
  }

  watchedFolders(project: string): number {
    return this.watchers.get(project)?.watchedPaths.length ?? 0;
  }

  worktreesLeftOut(project: string): number {
    return this.scopes.get(project)?.skipped ?? 0;
  }

  stop(): void {
    for (const t of this.settleTimers.values()) clearTimeout(t);
    this.settleTimers.clear();
    for (const p of [...this.watchers.keys()]) this.unwatch(p);
  }

  /** One pending timer per repo that scans it again; an earlier request is kept. */
  private kickLater(project: string, ms: number): void {
    if (this.settleTimers.has(project)) return;
    this.settleTimers.set(
      project,
      setTimeout(() => {
        this.settleTimers.delete(project);
        this.deps.kick(project);
      }, ms),
    );
  }

  private drainBurst(repo: RepoEntry, stats: ScanStats): void {
    const w = this.watchers.get(repo.project);
    if (!w) return;
    const { log, kick } = this.deps;
    const b = this.bursts.get(repo.project);
    // Progress is what counts: files that could not be finished (store unavailable, permissions) must
    // not keep the repo scanning back to back.
    if (!b) {
      if (stats.finished < BURST_FILES) return;
      w.pause();
      this.bursts.set(repo.project, { files: stats.finished, scans: 1, t0: performance.now() });
      log.info(`${repo.project}: burst of signal files: scanning back to back until quiet (watches paused)`);
      kick(repo.project);
      return;
    }
    b.files += stats.finished;
    b.scans++;
    if (stats.finished > 0) {
      // Files younger than SETTLE_MS wait anyway: scanning again sooner would commit a handful per
      // transaction while a writer is still going. One settle period gathers a useful batch.
      this.kickLater(repo.project, SETTLE_MS);
    } else if (stats.settleInMs === 0 || stats.files > 0) {
      w.resume();
      this.bursts.delete(repo.project);
      log.info(`${repo.project}: burst drained: ${b.files} signal files in ${b.scans} scans, ${Math.round(performance.now() - b.t0)} ms; watching again`);
      kick(repo.project);
    } // else: only files still being written; the settle timer comes back for them
  }
}
