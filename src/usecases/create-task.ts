// Creating a task: the one implementation behind `kas task create` (which works without a daemon)
// and POST /v1/repos/:project/tasks. Checks, one transaction, the audit row.
import { recordAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { writeTx } from "../store/db.ts";
import { type IngestResult, ingestPlan } from "../store/plans.ts";
import { branchProblem, createTask as insertTask, getTask, normalizeTaskName, requireTask, type TaskRow, taskNameProblem } from "../store/tasks.ts";
import { Refused } from "../util/errors.ts";

export interface CreateTaskInput {
  project: string;
  /** The repository's folder (its default branch is refused as a task branch). */
  repoPath: string;
  /** As given: a trailing .md is dropped. */
  name: string;
  description?: string | undefined;
  topic?: string | undefined;
  /** Default plan/<name>. */
  branch?: string | undefined;
  /** Plan markdown, stored with the task (a plan that does not parse creates nothing). */
  plan?: string | undefined;
  source: "cli" | "api";
}

export async function createTask(db: Db, input: CreateTaskInput): Promise<{ task: TaskRow; plan: IngestResult | null }> {
  const name = normalizeTaskName(input.name);
  const nameProblem = taskNameProblem(name);
  if (nameProblem) throw new Refused("invalid", nameProblem);
  if (input.branch !== undefined) {
    const bp = branchProblem(input.branch);
    if (bp) throw new Refused("invalid", bp);
  }
  if (input.plan !== undefined) {
    // Loaded on first use: the daemon and most commands never parse a plan.
    const { parsePlan } = await import("../lifecycle/plan-parser.ts");
    const p = parsePlan(input.plan);
    if (!p.ok) throw new Refused("invalid", `invalid plan: ${p.error}`);
  }
  const branch = input.branch ?? `plan/${name}`;
  const { defaultBranch } = await import("../agents/worktree.ts");
  const def = await defaultBranch(input.repoPath).catch(() => "");
  if (def !== "" && branch === def) throw new Refused("invalid", `branch ${branch} is the repository's default branch; a task works on its own branch (default plan/${name})`);
  const plan = writeTx(db, () => {
    if (getTask(db, input.project, name)) throw new Refused("conflict", `task already exists: ${input.project}/${name}`);
    insertTask(db, { project: input.project, name, description: input.description ?? "", topic: input.topic ?? "", branch });
    recordAudit(db, { kind: "task_created", project: input.project, task: name, toStatus: "ready", message: `task created (${input.source}) in ${input.repoPath}` });
    return input.plan !== undefined ? ingestPlan(db, input.project, name, input.plan, { allowDraft: false, source: input.source }) : null;
  });
  return { task: requireTask(db, input.project, name), plan };
}
