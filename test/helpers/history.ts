// Seeding a store with old history (retention tests): tasks with a given status and finish time, and
// signal, audit and agent rows of a task, all straight SQL so thousands of rows take milliseconds.
import type { Db } from "../../src/store/db.ts";

export const DAY_MS = 86_400_000;

/** ISO time `days` before `nowMs`. */
export function daysAgo(days: number, nowMs = Date.now()): string {
  return new Date(nowMs - days * DAY_MS).toISOString();
}

/** A task of project `project` in `status`, finished (done_at / updated_at) `finishedDaysAgo` days ago. */
export function seedTask(db: Db, project: string, name: string, status: string, finishedDaysAgo: number | null, nowMs = Date.now()): void {
  db.query(
    "INSERT INTO tasks (project, name, status, branch, done_at, created_at, updated_at) VALUES ($project, $name, $status, $branch, $done, $created, $updated)",
  ).run({
    project,
    name,
    status,
    branch: `plan/${name}`,
    done: status === "done" && finishedDaysAgo !== null ? daysAgo(finishedDaysAgo, nowMs) : null,
    created: daysAgo(400, nowMs),
    updated: daysAgo(finishedDaysAgo ?? 0, nowMs),
  });
}

/**
 * `n` signals (2 KB payload, `status`), `n` audit rows (every other one a plan transition) and one ended
 * agent (`<task>-coder`) of task `t`, all `age` days old.
 */
export function seedHistory(db: Db, project: string, t: string, n: number, age: number, opts: { status?: string; nowMs?: number } = {}): void {
  const at = daysAgo(age, opts.nowMs);
  const status = opts.status ?? "done";
  const sig = db.query("INSERT INTO signals (project, task, signal_type, payload, status, created_at, processed_at) VALUES ($project, $t, 'implement_finished', $payload, $status, $at, $at)");
  const aud = db.query("INSERT INTO audit_events (kind, timestamp, project, task, event, to_status, message) VALUES ($kind, $at, $project, $t, 'implement_finished', 'reviewing', $msg)");
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      sig.run({ project, t, payload: "x".repeat(2000), status, at });
      aud.run({ kind: i % 2 === 0 ? "plan_transition" : "signal_done", at, project, t, msg: "y".repeat(500) });
    }
    db.query("INSERT INTO agents (project, task, title, role, session, state, started_at, ended_at) VALUES ($project, $t, $title, 'coder', 's', 'exited', $at, $at)").run({ project, t, title: `${t}-coder`, at });
  })();
}
