// GET /v1/usage: tokens and cost, grouped.
import { Hono } from "hono";
import { summarizeUsage, usage } from "../../api/usage.ts";
import { listUsage } from "../../store/usage.ts";
import type { Daemon } from "../running-daemon.ts";
import { serve } from "../http.ts";

export function usageRoutes(d: Daemon): Hono {
  const app = new Hono();
  serve(app, usage, ({ query }) => {
    const rows = listUsage(d.db, { ...(query.project ? { project: query.project } : {}), ...(query.task ? { task: query.task } : {}), ...(query.since ? { since: query.since } : {}) });
    return summarizeUsage(rows, query.by, d.config.pricing, query.since ?? null);
  });
  return app;
}
