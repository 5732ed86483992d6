// Upkeep: garbage collection, a test notification, Prometheus metrics.
import { Hono } from "hono";
import { gc } from "../../api/gc.ts";
import { metrics } from "../../api/metrics.ts";
import { notifyTest } from "../../api/notify.ts";
import type { Daemon } from "../running-daemon.ts";
import type { GcRunner } from "../../engine/gc.ts";
import { serve } from "../http.ts";
import { metricsResponse, type StoreMetricsReader } from "../../engine/metrics.ts";
import type { Notifier } from "../../engine/notifier.ts";

export function upkeepRoutes(d: Daemon, deps: { gc: GcRunner; notifier: Notifier; metrics: StoreMetricsReader }): Hono {
  const app = new Hono();
  serve(app, gc, ({ body }) => deps.gc.run({ dryRun: body.dry_run, full: true, onDemand: true, force: body.force }));
  serve(app, notifyTest, async () => ({ results: await deps.notifier.test() }));
  serve(app, metrics, () => metricsResponse(d, deps.metrics));
  return app;
}
