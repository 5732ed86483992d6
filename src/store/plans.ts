// Storing a task's plan: content plus the subtasks its waves define, in one transaction.
import { parsePlan } from "../lifecycle/plan-parser.ts";
import { recordAudit } from "./audit.ts";
import { type Db, writeTx } from "./db.ts";
import { requireTask, setContent, setSubtasks } from "./tasks.ts";

export interface IngestResult {
  waves: number;
  tasks: number;
  /** Parser error when the content is a draft (not implementation-ready). */
  draftReason: string | null;
  /** What the parser changed (renumbered tasks), with line numbers. */
  warnings: string[];
}

/** Store plan markdown. A draft (no valid waves) is stored only when `allowDraft`; otherwise it throws. */
export function ingestPlan(db: Db, project: string, name: string, md: string, opts: { allowDraft: boolean; source: string }): IngestResult {
  const parsed = parsePlan(md);
  if (!parsed.ok && !opts.allowDraft) throw new PlanError(parsed.error);
  return writeTx(db, () => {
    requireTask(db, project, name);
    setContent(db, project, name, md);
    let result: IngestResult;
    if (parsed.ok) {
      const subtasks = parsed.plan.waves.flatMap((w) => w.tasks.map((t) => ({ number: t.number, title: t.title, wave: w.number })));
      setSubtasks(db, project, name, subtasks);
      result = { waves: parsed.plan.waves.length, tasks: subtasks.length, draftReason: null, warnings: parsed.warnings };
    } else {
      setSubtasks(db, project, name, []);
      result = { waves: 0, tasks: 0, draftReason: parsed.error, warnings: [] };
    }
    recordAudit(db, {
      kind: "task_content",
      project,
      task: name,
      message: result.draftReason ? `plan stored as draft (${opts.source}): ${result.draftReason}` : `plan stored (${opts.source}): ${result.waves} waves, ${result.tasks} tasks`,
      detail: { waves: result.waves, tasks: result.tasks, bytes: Buffer.byteLength(md), source: opts.source, warnings: result.warnings },
    });
    return result;
  });
}

export class PlanError extends Error {
  override name = "PlanError";
}
