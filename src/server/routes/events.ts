// GET /v1/events: the live stream of audit rows, replayed from Last-Event-ID (or ?after=).
import { Hono } from "hono";
import { AFTER_PARAM, events } from "../../api/events.ts";
import type { EventHub } from "../../engine/events.ts";
import { queryInput, serve } from "../http.ts";
import * as v from "valibot";

const LastEventId = v.object({ after: AFTER_PARAM });

export function eventRoutes(hub: EventHub): Hono {
  const app = new Hono();
  serve(app, events, ({ c, query }) => {
    // The header a reconnecting EventSource sends wins over the query, under the same rule.
    const header = c.req.header("last-event-id");
    const after = header !== undefined && header !== "" ? queryInput(LastEventId, { after: header }).after : query.after;
    const stream = hub.stream(after, { project: query.project, task: query.task, kinds: query.kinds });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" },
    });
  });
  return app;
}
