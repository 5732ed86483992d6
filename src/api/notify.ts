// POST /v1/notify/test (`kas notify test`): one test notification through every configured channel.
import * as v from "valibot";
import { defineRoute } from "./route.ts";

export const NotifyAttempt = v.strictObject({ channel: v.string(), ok: v.boolean(), detail: v.string() });
export type NotifyAttempt = v.InferOutput<typeof NotifyAttempt>;

export const notifyTest = defineRoute({
  method: "POST",
  path: "/v1/notify/test",
  summary: "Send a test notification through every configured channel",
  status: 200,
  reply: v.strictObject({ results: v.array(NotifyAttempt) }),
});
