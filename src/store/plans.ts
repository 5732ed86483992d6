// Storing a task's plan: content plus the subtasks its waves define, in one transaction.
import { parsePlan } from "../lifecycle/plan-parser.ts";
import { recordAudit } from "./audit.ts";
import { type Db, writeTx } from "./db.ts";
import { requireTask, setContent } from "./tasks.ts";
import { setSubtasks } from "./subtasks.ts";
import { KasmosError } from "../util/errors.ts";

export interface IngestResult {
  waves: number;
  tasks: number;
  /** Parser error when the content is a draft (not implementation-ready). */
  draftReason: string | null;
  /** What the parser changed (renumbered tasks), with line numbers. */
  warnings: string[];
}

/**
 * Why a task's plan may not be replaced now, or null. The planner (planning) and the architect
 * (implementing, architecting) store plans themselves; once coders, reviewers or masters work from it,
 * it is fixed.
 */
export function planLocked(status: string, phase: string, wave: number): string | null {
  if (status === "reviewing" || status === "verifying") return status;
  if (status === "implementing" && phase !== "" && phase !== "architecting") return `implementing (${phase.replaceAll("_", " ")}${wave > 0 ? `, wave ${wave}` : ""})`;
  return null;
}

/** Store plan markdown. A draft (no valid waves) is stored only when `allowDraft`; otherwise it throws. */
export function ingestPlan(db: Db, project: string, name: string, md: string, opts: { allowDraft: boolean; source: string }): IngestResult {
  const parsed = parsePlan(md);
  if (!parsed.ok && !opts.allowDraft) throw new PlanError(parsed.error);
  return writeTx(db, () => {
    const task = requireTask(db, project, name);
    const locked = planLocked(task.status, task.execution.phase, task.execution.wave);
    if (locked) throw new PlanError(`task ${name} is ${locked}: its plan cannot change while agents work from it (their subtasks would be reset under them); cancel it first (kas task transition ${name} cancel, then reopen and implement_start with the new plan)`);
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

export class PlanError extends KasmosError {
  override name = "PlanError";
  readonly code = "invalid";
}
