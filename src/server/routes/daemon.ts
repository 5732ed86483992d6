// The daemon itself: ping, status, reload, and the contract as OpenAPI.
import { Hono } from "hono";
import { Refused } from "../../util/errors.ts";
import { openapi, openApiDocument } from "../../api/openapi.ts";
import { reload } from "../../api/reload.ts";
import { ROUTES } from "../../api/routes.ts";
import { ping, status } from "../../api/status.ts";
import type { Daemon } from "../running-daemon.ts";
import { serve } from "../http.ts";

export function daemonRoutes(d: Daemon): Hono {
  const app = new Hono();
  serve(app, ping, () => ({ ok: true as const, pid: process.pid }));
  serve(app, status, () => d.status());
  serve(app, reload, () => {
    const r = d.reload("api");
    if (!r.ok) throw new Refused("invalid", `reload refused, previous config kept: ${r.error}`);
    return { status: "reloaded" as const, changes: r.changes, warnings: r.warnings };
  });
  let document: Record<string, unknown> | null = null;
  serve(app, openapi, () => (document ??= openApiDocument(ROUTES)));
  return app;
}
