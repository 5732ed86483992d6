// Which worktree folders of a repo the daemon scans and watches: only those of tasks that can still
// signal (open tasks, and tasks with a live agent). Folders of finished tasks are left out by name,
// before any stat, so a repo with thousands of old worktrees costs what one with a few does. Folders
// that belong to no task (a worktree made by hand, a renamed branch) are kept: unknown is scanned.
// The live set is read once per scan (a walk of the small idx_tasks_open), so a re-opened task's
// folder is scanned again at the next pass and watched again once its scan reports the change.
import type { FolderFilter } from "../signals/files.ts";
import type { Db } from "../store/db.ts";
import { liveWorktreeFolders, taskFolders } from "../store/task-queries.ts";

export class WorktreeScope {
  private live = new Set<string>();
  private liveKey = "";
  /** Store version (storeVersion) the live set was read at: unchanged store, unchanged set. */
  private readAt = "";
  /** Folder name → whether it is some task's folder (changes only when tasks are created or deleted). */
  private owned = new Map<string, boolean>();
  /** Folders the last filter call left out (logs, tests). */
  skipped = 0;

  constructor(
    private db: Db,
    private project: string,
  ) {}

  /**
   * Re-read the live set unless the store is unchanged since the last read (an idle daemon with 500
   * repos would otherwise run 500 queries a pass); true when it changed (the watches need a refresh).
   */
  update(storeVersion: string): boolean {
    if (storeVersion === this.readAt) return false;
    this.readAt = storeVersion;
    this.live = liveWorktreeFolders(this.db, this.project);
    const key = [...this.live].sort().join("\0");
    const changed = key !== this.liveKey;
    this.liveKey = key;
    return changed;
  }

  /** The store changed since the live set was read (update() would re-read it). */
  stale(storeVersion: string): boolean {
    return storeVersion !== this.readAt;
  }

  /** Forget which folders belong to tasks (a deleted task's folder becomes unknown, so scanned). */
  forget(): void {
    this.owned.clear();
    this.readAt = "";
  }

  readonly filter: FolderFilter = (names) => {
    const unknown = names.filter((n) => !this.live.has(n) && !this.owned.has(n));
    if (unknown.length > 0) {
      const owned = taskFolders(this.db, this.project, unknown);
      for (const n of unknown) this.owned.set(n, owned.has(n));
    }
    const keep = names.filter((n) => this.live.has(n) || this.owned.get(n) === false);
    this.skipped = names.length - keep.length;
    return keep;
  };
}
