// GET /v1/web and POST /v1/web/start (`kas web`): the dashboard's listener. Served on the unix socket
// only (the dashboard's TCP side refuses /v1/web…): whoever reaches the socket is the owner.
import * as v from "valibot";
import { parseListen } from "../config/schema.ts";
import { defineRoute } from "./route.ts";

const webStatusEntries = {
  /** Base URL while listening, else null. */
  url: v.nullable(v.string()),
  /** "config": [web] listen; "kas web": started for this run; null: off. */
  source: v.nullable(v.picklist(["config", "kas web"])),
  /** Why the listener is not up when it should be (port taken, unreadable certificate…). */
  error: v.nullable(v.string()),
  warnings: v.array(v.string()),
};
export const WebStatus = v.strictObject(webStatusEntries);
export type WebStatus = v.InferOutput<typeof WebStatus>;

export const webStatus = defineRoute({ method: "GET", path: "/v1/web", summary: "The dashboard's listener: its URL, where it comes from, why it is down", status: 200, reply: WebStatus });

export const webStart = defineRoute({
  method: "POST",
  path: "/v1/web/start",
  summary: "Start the dashboard when it is off (loopback unless [web] allow_remote) and mint a one-time login link",
  status: 200,
  body: v.strictObject({ listen: v.optional(v.pipe(v.string(), v.check((s) => parseListen(s) !== null, 'listen must be "<host>:<port>"'))) }),
  reply: v.strictObject({ ...webStatusEntries, login_url: v.string(), login_expires_at: v.string() }),
});
