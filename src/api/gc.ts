// Request/response shapes of POST /v1/gc (`kas daemon gc`), shared by the daemon's route and the CLI.
import * as v from "valibot";
import { defineRoute } from "./route.ts";

export const GcBody = v.object({
  dry_run: v.optional(v.boolean("dry_run must be a boolean"), false),
  /** Also remove finished worktrees whose git-ignored files are not build output (.env, logs). */
  force: v.optional(v.boolean("force must be a boolean"), false),
});
export type GcBody = v.InferOutput<typeof GcBody>;

const worktreeEntries = {
  project: v.string(),
  task: v.string(),
  path: v.string(),
  /** Git-ignored files and folders it holds, deleted with it (listed by a dry run too); absent = none. */
  ignored: v.optional(v.array(v.string())),
};
export const GcWorktree = v.strictObject(worktreeEntries);
export type GcWorktree = v.InferOutput<typeof GcWorktree>;

export const GcKeptWorktree = v.strictObject({
  ...worktreeEntries,
  /** Why it stays: uncommitted work, or a branch neither pushed nor merged. */
  reason: v.string(),
});
export type GcKeptWorktree = v.InferOutput<typeof GcKeptWorktree>;

export const GcReport = v.strictObject({
  dry_run: v.boolean(),
  /** [retention] in force. */
  days: v.number(),
  worktree_grace_days: v.number(),
  /** What was removed (dry run: what would be). */
  removed: v.strictObject({
    signals: v.number(),
    audit: v.number(),
    agents: v.number(),
    prompt_files: v.number(),
    /** Agents' per-run folders (generated CLI settings, exit status). */
    run_folders: v.number(),
    quarantined_files: v.number(),
    /** Bytes of daemon.log moved to daemon.log.1 (0 = under the limit). */
    log_bytes: v.number(),
  }),
  worktrees_removed: v.array(GcWorktree),
  worktrees_kept: v.array(GcKeptWorktree),
  /** Size of the store (page_count × page_size) before and after. */
  bytes_before: v.number(),
  bytes_after: v.number(),
  /** How space was returned: none, incremental vacuum, or a one-time full VACUUM (switches an old store to incremental). */
  vacuum: v.picklist(["none", "incremental", "full"]),
  ms: v.number(),
});
export type GcReport = v.InferOutput<typeof GcReport>;

export const gc = defineRoute({
  method: "POST",
  path: "/v1/gc",
  summary: "Delete what retention allows (dry_run: only report it)",
  status: 200,
  body: GcBody,
  reply: GcReport,
});
