// Signals on the wire: the queue (list), a signal sent by the API (emit), and "scan now".
import * as v from "valibot";
import { SIGNAL_ROW_STATUSES, type SignalRow } from "../store/signals.ts";
import { csvParam, defineRoute, wholeNumberParam } from "./route.ts";

export const Signal = v.strictObject({
  id: v.number(),
  project: v.string(),
  task: v.string(),
  type: v.string(),
  /** Empty or JSON text. */
  payload: v.string(),
  /** Where it came from: "file:<path>", "cli", "api", … */
  source: v.string(),
  dedup_key: v.string(),
  status: v.picklist(SIGNAL_ROW_STATUSES),
  created_at: v.string(),
  claimed_at: v.nullable(v.string()),
  claimed_by: v.nullable(v.string()),
  processed_at: v.nullable(v.string()),
  result: v.string(),
});
export type Signal = v.InferOutput<typeof Signal>;

export function toSignal(r: SignalRow): Signal {
  return {
    id: r.id,
    project: r.project,
    task: r.task,
    type: r.type,
    payload: r.payload,
    source: r.source,
    dedup_key: r.dedupKey,
    status: r.status,
    created_at: r.createdAt,
    claimed_at: r.claimedAt,
    claimed_by: r.claimedBy,
    processed_at: r.processedAt,
    result: r.result,
  };
}

export const listSignals = defineRoute({
  method: "GET",
  path: "/v1/repos/:project/signals",
  summary: "Queued and processed signals of a repository, newest first",
  status: 200,
  query: v.object({ status: csvParam(SIGNAL_ROW_STATUSES, "signal status"), limit: wholeNumberParam(1, 1000, 100) }),
  reply: v.array(Signal),
});

export const emitSignal = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/signals",
  summary: "Queue a signal for a task (429 when the repository's queue is full)",
  status: 201,
  body: v.object({
    type: v.pipe(v.string("type must be a string"), v.minLength(1, "type is required")),
    task: v.pipe(v.string("task must be a string"), v.minLength(1, "task is required")),
    payload: v.optional(v.union([v.string(), v.record(v.string(), v.unknown())], "payload must be a string or a JSON object")),
  }),
  reply: v.strictObject({ id: v.number(), project: v.string(), task: v.string(), type: v.string(), status: v.literal("pending") }),
});

export const scan = defineRoute({
  method: "POST",
  path: "/v1/scan",
  summary: "Scan for signals now (one repository, or all)",
  status: 202,
  body: v.object({ project: v.optional(v.string("project must be a string")) }),
  reply: v.strictObject({ status: v.literal("scheduled"), project: v.nullable(v.string()) }),
});
