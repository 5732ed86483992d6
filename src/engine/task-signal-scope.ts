// Which per-task signal folders (signals/task-folders.ts) the engine scans: those that exist, of open
// tasks. They exist only for tasks that started a sandboxed planner or architect, so an idle fleet
// pays one look at the folder of all projects per timer pass, not a stat per task. A finished task's
// folder is removed the first time a scan sees it (its signals can no longer apply). A signal in a
// task's own folder, or in its worktree, speaks for that task alone (foreignSignal).
import { existsSync } from "node:fs";
import type { Logger } from "../runtime/log.ts";
import type { SignalDir } from "../signals/files.ts";
import { subFolders } from "../signals/files.ts";
import { removeTaskSignalDir, taskSignalDirs, taskSignalsRoot } from "../signals/task-folders.ts";
import type { Db } from "../store/db.ts";
import { openTaskNames, taskFolders } from "../store/task-queries.ts";
import { getTask } from "../store/tasks.ts";

export class TaskSignalScope {
  /** Projects with per-task folders, read once per timer pass (null: read at each use). */
  private projects: Set<string> | null = null;
  private inPass = false;

  constructor(
    private db: Db,
    private log: Logger,
  ) {}

  beginPass(): void {
    this.inPass = true;
    this.projects = null;
  }

  endPass(): void {
    this.inPass = false;
    this.projects = null;
  }

  private projectsNow(): Set<string> {
    if (this.projects !== null) return this.projects;
    const root = taskSignalsRoot();
    const found = new Set(existsSync(root) ? (subFolders(root) ?? []) : []);
    if (this.inPass) this.projects = found;
    return found;
  }

  /** The per-task folders of `project` to scan; those of tasks no longer open are removed. */
  dirs(project: string): SignalDir[] {
    if (!this.projectsNow().has(project)) return [];
    const all = taskSignalDirs(project);
    if (all.length === 0) return all;
    const open = openTaskNames(this.db, project, all.map((d) => d.owner ?? ""));
    const keep: SignalDir[] = [];
    for (const d of all) {
      if (d.owner !== undefined && open.has(d.owner)) keep.push(d);
      else this.remove(project, d);
    }
    return keep;
  }

  private remove(project: string, d: SignalDir): void {
    try {
      removeTaskSignalDir(project, d.owner ?? "");
    } catch (err) {
      this.log.warn(`${project}: cannot remove ${d.path}: ${(err as Error).message}`);
    }
  }
}

/**
 * Why a signal found in a task's worktree or own folder names another task, or null: an agent works
 * (and signals) in its own task's worktree or folder, so a signal there for someone else's task is not
 * its to give.
 */
export function foreignSignal(db: Db, project: string, dir: SignalDir, task: string): string | null {
  if (dir.owner !== undefined) {
    return dir.owner === task ? null : `a signal for task ${task} written in task ${dir.owner}'s own signals folder: an agent signals only for its own task`;
  }
  if (dir.worktree === "") return null;
  const t = getTask(db, project, task);
  if (!t?.branch || t.branch.replaceAll("/", "-") === dir.worktree) return null;
  if (!taskFolders(db, project, [dir.worktree]).has(dir.worktree)) return null; // a folder of no task
  return `a signal for task ${task} written in another task's worktree (${dir.worktree}): an agent signals only for its own task`;
}
