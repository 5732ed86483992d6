// The audit log on the wire: task history (GET …/tasks/:name) and the live stream (GET /v1/events),
// whose every event is one audit row.
import * as v from "valibot";
import type { AuditRow } from "../store/audit.ts";
import { defineRoute, namesParam, optionalWholeNumberParam, textParam } from "./route.ts";

export const AuditEntry = v.strictObject({
  id: v.number(),
  kind: v.string(),
  timestamp: v.string(),
  project: v.string(),
  task: v.string(),
  from_status: v.string(),
  to_status: v.string(),
  event: v.string(),
  signal_id: v.nullable(v.number()),
  message: v.string(),
  /** A JSON object; null when absent. */
  detail: v.nullable(v.record(v.string(), v.unknown())),
  level: v.string(),
});
export type AuditEntry = v.InferOutput<typeof AuditEntry>;

export function toAuditEntry(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    kind: r.kind,
    timestamp: r.timestamp,
    project: r.project,
    task: r.task,
    from_status: r.fromStatus,
    to_status: r.toStatus,
    event: r.event,
    signal_id: r.signalId,
    message: r.message,
    detail: r.detail,
    level: r.level,
  };
}

/** Replays from the Last-Event-ID header, else from `after`; without either, live events only. */
export const AFTER_PARAM = optionalWholeNumberParam(0);

export const events = defineRoute({
  method: "GET",
  path: "/v1/events",
  summary: "Server-sent events, one per audit row (id = row id; data = the row as AuditEntry)",
  status: 200,
  query: v.object({ after: AFTER_PARAM, project: textParam, task: textParam, kinds: namesParam }),
  reply: "event-stream",
  eventData: AuditEntry,
});
