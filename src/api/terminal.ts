// An agent's terminal for the dashboard's Agent page (any client may use them): its output streamed as
// it prints, and typing into it only after an explicit take-over, which the audit log records.
import * as v from "valibot";
import { defineRoute } from "./route.ts";

/** The stream's events: first the screen as it is, then output as printed, then its end. */
export const TerminalEvent = v.union([
  v.strictObject({ screen: v.string(), cursor_x: v.number(), cursor_y: v.number(), cols: v.number(), rows: v.number(), taken_over: v.boolean() }),
  v.strictObject({ output: v.string() }),
  v.strictObject({ taken_over: v.boolean() }),
  v.strictObject({ end: v.string() }),
]);
export type TerminalEvent = v.InferOutput<typeof TerminalEvent>;

export const terminalStream = defineRoute({
  method: "GET",
  path: "/v1/repos/:project/instances/:title/terminal",
  summary: "A running agent's terminal as server-sent events: the screen (with colours), then its output as printed",
  status: 200,
  reply: "event-stream",
  eventData: TerminalEvent,
});

export const terminalTakeover = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/instances/:title/takeover",
  summary: "Take over a running agent's terminal (typing is refused until then; audited), or hand it back (release)",
  status: 200,
  body: v.object({ release: v.optional(v.boolean(), false) }),
  reply: v.strictObject({ title: v.string(), taken_over: v.boolean() }),
});

export const terminalKeys = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/instances/:title/keys",
  summary: "Type into a taken-over agent's terminal, as it is (409 until taken over)",
  status: 204,
  body: v.object({ text: v.pipe(v.string("text must be a string"), v.minLength(1, "text is required"), v.maxLength(16 * 1024, "text must be at most 16 KiB")) }),
  reply: "empty",
});
