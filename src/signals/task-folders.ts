// Per-task signal folders of sandboxed agents that work in the repo root (planner, architect). Such an
// agent could otherwise write <repo>/.kasmos/signals/<signal>-<any task>, since the repo root is
// writable inside its sandbox. Instead its sandbox shows this folder at <repo>/.kasmos/signals, so its
// instructions and tools work unchanged, and every file found here speaks for its owner task only.
// Layout: <config dir>/task-signals/<project>/<task>/ (with processing/ and failed/), made by the daemon
// 0700 in its own private folder, out of every agent's sight but the owner's; each step is opened
// without following a link, so a link or FIFO at any of these paths is refused, never used.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { configDir } from "../config/paths.ts";
import { openContainedDir, withContainedDir } from "../util/contained-fs.ts";
import { ensureSignalDirs, type SignalDir, subFolders } from "./files.ts";

export const TASK_SIGNALS = "task-signals";

/** The folder holding every project's per-task signal folders. */
export function taskSignalsRoot(): string {
  return join(configDir(), TASK_SIGNALS);
}

/** The per-task signals folder of `task` (not created). */
export function taskSignalDir(project: string, task: string): SignalDir {
  const rel = join(TASK_SIGNALS, project, task);
  return { root: configDir(), path: join(configDir(), rel), rel, worktree: "", owner: task };
}

/**
 * Create the task's folder (and processing/, failed/) with mode 0700, refusing a link or a non-folder
 * at any step (LinkRefusedError), and return it.
 */
export function ensureTaskSignalDir(project: string, task: string): SignalDir {
  const dir = taskSignalDir(project, task);
  openContainedDir(dir.root, dir.rel, 0o700).close();
  ensureSignalDirs(dir, 0o700);
  return dir;
}

/** The per-task folders of `project` that exist now (names listed by folder mtime: an unchanged folder is not listed again). */
export function taskSignalDirs(project: string): SignalDir[] {
  const names = subFolders(join(taskSignalsRoot(), project)) ?? [];
  return names.sort().map((task) => taskSignalDir(project, task));
}

/** Remove a task's folder (its task ended): the folder is opened without links first; rm never follows one inside. */
export function removeTaskSignalDir(project: string, task: string): void {
  const dir = taskSignalDir(project, task);
  withContainedDir(dir.root, join(TASK_SIGNALS, project), (at) => rmSync(`${at}/${task}`, { recursive: true, force: true }));
}
