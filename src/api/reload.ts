// POST /v1/reload (`kas daemon reload`): re-read the config; a broken file is refused (400), the old one kept.
import * as v from "valibot";
import { defineRoute } from "./route.ts";

export const reload = defineRoute({
  method: "POST",
  path: "/v1/reload",
  summary: "Re-read the config file and apply it",
  status: 200,
  reply: v.strictObject({
    status: v.literal("reloaded"),
    /** One "key: old → new" per change, secrets masked. */
    changes: v.array(v.string()),
    warnings: v.array(v.string()),
  }),
});
