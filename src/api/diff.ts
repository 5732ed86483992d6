// GET /v1/repos/:project/tasks/:name/diff: what a task's branch changes against the default branch
// (the Task page shows it; any client may ask).
import * as v from "valibot";
import { defineRoute } from "./route.ts";

/** Patch text past this many bytes is cut (truncated: true); the file list is always whole. */
export const MAX_PATCH_BYTES = 2 * 1024 * 1024;

export const DiffFile = v.strictObject({
  path: v.string(),
  /** Lines added and removed; null for a binary file. */
  additions: v.nullable(v.number()),
  deletions: v.nullable(v.number()),
});
export type DiffFile = v.InferOutput<typeof DiffFile>;

export const TaskDiff = v.strictObject({
  /** The default branch and the task's branch, compared from their merge base (git diff base...branch). */
  base: v.string(),
  branch: v.string(),
  files: v.array(DiffFile),
  /** Unified diff, no colour. */
  patch: v.string(),
  truncated: v.boolean(),
});
export type TaskDiff = v.InferOutput<typeof TaskDiff>;

export const taskDiff = defineRoute({
  method: "GET",
  path: "/v1/repos/:project/tasks/:name/diff",
  summary: "The task branch's changes against the default branch: files with line counts, and the patch",
  status: 200,
  reply: TaskDiff,
});
