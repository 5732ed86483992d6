// GET /v1/doctor: what `kas doctor` asks the running daemon: the environment agents really get
// (variable names only, never values) and each agent CLI's gates run there.
import * as v from "valibot";
import { defineRoute } from "./route.ts";

export const Readiness = v.union([v.strictObject({ ok: v.literal(true) }), v.strictObject({ ok: v.literal(false), reason: v.string(), fix: v.string() })]);
export type Readiness = v.InferOutput<typeof Readiness>;

export const DaemonView = v.strictObject({
  pid: v.number(),
  uid: v.number(),
  root: v.boolean(),
  /** Names of the daemon's environment variables that are set and non-empty. */
  env: v.array(v.string()),
  is_sandbox: v.string(),
  /** Each agent CLI the daemon's config uses → its preflight verdict in the daemon's environment. */
  clis: v.record(v.string(), Readiness),
});
export type DaemonView = v.InferOutput<typeof DaemonView>;

export const doctor = defineRoute({ method: "GET", path: "/v1/doctor", summary: "The daemon's environment as agents get it, and each CLI's gates", status: 200, reply: DaemonView });
