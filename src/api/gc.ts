// Request/response shapes of POST /v1/gc (`kas daemon gc`), shared by the daemon's route and the CLI.
import * as v from "valibot";

export const GcBody = v.object({
  dry_run: v.optional(v.boolean("dry_run must be a boolean"), false),
  /** Also remove finished worktrees whose git-ignored files are not build output (.env, logs). */
  force: v.optional(v.boolean("force must be a boolean"), false),
});
export type GcBody = v.InferOutput<typeof GcBody>;

export interface GcWorktree {
  project: string;
  task: string;
  path: string;
  /** Git-ignored files and folders it holds, deleted with it (listed by a dry run too); absent = none. */
  ignored?: string[];
}

export interface GcKeptWorktree extends GcWorktree {
  /** Why it stays: uncommitted work, or a branch neither pushed nor merged. */
  reason: string;
}

export interface GcReport {
  dry_run: boolean;
  /** [retention] in force. */
  days: number;
  worktree_grace_days: number;
  /** What was removed (dry run: what would be). */
  removed: {
    signals: number;
    audit: number;
    agents: number;
    prompt_files: number;
    /** Agents' per-run folders (generated CLI settings, exit status). */
    run_folders: number;
    quarantined_files: number;
    /** Bytes of daemon.log moved to daemon.log.1 (0 = under the limit). */
    log_bytes: number;
  };
  worktrees_removed: GcWorktree[];
  worktrees_kept: GcKeptWorktree[];
  /** Size of the store (page_count × page_size) before and after. */
  bytes_before: number;
  bytes_after: number;
  /** How space was returned: none, incremental vacuum, or a one-time full VACUUM (switches an old store to incremental). */
  vacuum: "none" | "incremental" | "full";
  ms: number;
}
