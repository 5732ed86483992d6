// Plan tasks of a task (the store's "subtasks"): the wave orchestration state, one row per plan task.
import { type Db, nowIso, writeTx } from "./db.ts";
import { StoreError } from "./errors.ts";
import { normalizeTaskName, notFound, requireKey } from "./tasks.ts";

export const SUBTASK_STATUSES = ["pending", "running", "complete", "failed", "closed", "done", "blocked", "in_review"] as const;
export type SubtaskStatus = (typeof SUBTASK_STATUSES)[number];

export interface SubtaskInput {
  number: number;
  title: string;
  wave?: number;
  status?: SubtaskStatus;
}

export interface SubtaskRow {
  project: string;
  task: string;
  number: number;
  title: string;
  wave: number;
  status: SubtaskStatus;
}

interface RawSubtask {
  project: string;
  task: string;
  number: number;
  title: string;
  wave: number;
  status: string;
}

function toSubtask(r: RawSubtask): SubtaskRow {
  return { project: r.project, task: r.task, number: r.number, title: r.title, wave: r.wave, status: r.status as SubtaskStatus };
}

/** Replace every subtask of a task in one transaction (nests as a savepoint inside a caller's writeTx). */
export function setSubtasks(db: Db, project: string, name: string, subtasks: SubtaskInput[]): void {
  const key = requireKey(project, name);
  const seen = new Set<number>();
  for (const s of subtasks) {
    if (!Number.isInteger(s.number) || s.number < 1) throw new StoreError("invalid", `invalid subtask number: ${s.number}`);
    if (seen.has(s.number)) throw new StoreError("invalid", `duplicate subtask number: ${s.number}`);
    seen.add(s.number);
    if (s.status !== undefined && !(SUBTASK_STATUSES as readonly string[]).includes(s.status)) {
      throw new StoreError("invalid", `invalid subtask status: ${s.status}`);
    }
  }
  writeTx(db, () => {
    const exists = db.query("SELECT 1 FROM tasks WHERE project = $project AND name = $name").get(key);
    if (!exists) throw notFound(key.project, key.name);
    db.query("DELETE FROM subtasks WHERE project = $project AND task = $name").run(key);
    const ins = db.query(
      "INSERT INTO subtasks (project, task, number, title, wave, status) VALUES ($project, $name, $number, $title, $wave, $status)",
    );
    for (const s of subtasks) {
      ins.run({ ...key, number: s.number, title: s.title, wave: s.wave ?? 0, status: s.status ?? "pending" });
    }
    db.query("UPDATE tasks SET updated_at = $now WHERE project = $project AND name = $name").run({ ...key, now: nowIso() });
  });
}

/** Ordered by number. */
export function listSubtasks(db: Db, project: string, name: string): SubtaskRow[] {
  const key = { project: project.trim(), name: normalizeTaskName(name) };
  return db
    .query<RawSubtask, { project: string; name: string }>(
      "SELECT project, task, number, title, wave, status FROM subtasks WHERE project = $project AND task = $name ORDER BY number",
    )
    .all(key)
    .map(toSubtask);
}

/** Update one subtask's status; returns false when that subtask does not exist. */
export function setSubtaskStatus(db: Db, project: string, name: string, number: number, status: SubtaskStatus): boolean {
  if (!(SUBTASK_STATUSES as readonly string[]).includes(status)) throw new StoreError("invalid", `invalid subtask status: ${status}`);
  const key = requireKey(project, name);
  return (
    db.query("UPDATE subtasks SET status = $status WHERE project = $project AND task = $name AND number = $number").run({ ...key, number, status })
      .changes > 0
  );
}
