// Event-driven signal detection: inotify (fs.watch) on each repo's signal folders, including worktree
// folders created later. Only specific folders are watched, never whole trees.
// The poll timer stays as the safety net (queue overflow, missed events, network filesystems).
import { type FSWatcher, existsSync, watch } from "node:fs";
import { join } from "node:path";
import { type FolderFilter, rootSignalDir, signalDirs, worktreesDir } from "./files.ts";
import { openContainedDir } from "../util/contained-fs.ts";
import { taskSignalDirs, taskSignalsRoot } from "./task-folders.ts";

export class RepoSignalWatcher {
  private watchers = new Map<string, FSWatcher>();
  private closed = false;
  /** A burst is being drained by back-to-back scans: no inotify watches held. */
  private paused = false;

  constructor(
    private repo: string,
    /** The repo's project: its per-task folders (task-folders.ts) are watched too. */
    private project: string,
    /** Called when something may have landed in a signals folder. */
    private onSignal: () => void,
    private onError: (msg: string) => void,
    /** Worktree folders to watch (default: all). */
    private filter?: FolderFilter,
    /** Called after a refresh changed the set of watched folders. */
    private onChange?: (watched: number) => void,
  ) {}

  get watchedPaths(): string[] {
    return [...this.watchers.keys()];
  }

  /**
   * Drop the inotify watches while the caller drains a burst by scanning back to back: each atomic
   * write costs ~5 events, and delivering them costs more than the signal itself.
   * The caller must resume() and scan once more after its last empty scan.
   */
  pause(): void {
    if (this.closed || this.paused) return;
    this.paused = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  resume(): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    this.refresh();
  }

  /** Reconcile watches with the folders that exist now (called at start, on folder events and every poll). */
  refresh(): void {
    if (this.closed || this.paused) return;
    const want = new Map<string, "signals" | "worktrees" | "root">();
    const root = rootSignalDir(this.repo);
    if (!this.watchers.has(root.path)) {
      try {
        openContainedDir(this.repo, root.rel, 0o755).close(); // never through a link (the scan reports one)
      } catch (err) {
        this.onError(`cannot create ${root.path}: ${(err as Error).message}`);
      }
    }
    const wt = worktreesDir(this.repo);
    if (existsSync(wt)) want.set(wt, "worktrees");
    else want.set(this.repo, "root"); // to notice .worktrees being created
    for (const d of signalDirs(this.repo, this.filter)) {
      // Made (when missing) and checked without following a link before it is first watched: a
      // worktree whose .kasmos is a link is neither created in nor watched.
      if (!this.watchers.has(d.path)) {
        try {
          openContainedDir(this.repo, d.rel, 0o755).close();
        } catch {
          continue;
        }
      }
      want.set(d.path, "signals");
    }
    // Per-task folders: their parent is watched like .worktrees (a new task's folder), each like a signals folder.
    const tasks = join(taskSignalsRoot(), this.project);
    if (existsSync(tasks)) want.set(tasks, "worktrees");
    for (const d of taskSignalDirs(this.project)) {
      try {
        if (!this.watchers.has(d.path)) openContainedDir(d.root, d.rel).close();
        want.set(d.path, "signals");
      } catch {
        // a link, or gone: the scan reports or skips it
      }
    }
    let changed = false;
    for (const [path, w] of this.watchers) {
      if (!want.has(path)) {
        w.close();
        this.watchers.delete(path);
        changed = true;
      }
    }
    for (const [path, kind] of want) {
      if (this.watchers.has(path)) continue;
      changed = true;
      try {
        const w = watch(path, { persistent: false }, (_event, name) => this.event(kind, name === null ? "" : String(name)));
        w.on("error", () => {
          w.close();
          this.watchers.delete(path);
          queueMicrotask(() => this.refresh());
        });
        this.watchers.set(path, w);
      } catch (err) {
        this.onError(`cannot watch ${path}: ${(err as Error).message}`);
      }
    }
    if (changed) this.onChange?.(this.watchers.size);
  }

  private event(kind: "signals" | "worktrees" | "root", name: string): void {
    if (this.closed || this.paused) return;
    if (kind === "signals") {
      if (name.startsWith(".") || name === "failed" || name === "processing" || name === "staging") return;
      this.onSignal();
      return;
    }
    if (kind === "root" && name !== ".worktrees") return;
    this.refresh();
    this.onSignal();
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

export function signalsDirOf(repo: string): string {
  return join(repo, ".kasmos", "signals");
}
