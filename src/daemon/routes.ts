// Control API (hono) served on the unix socket. Errors are JSON {"error"} with a 4xx status;
// unexpected failures are logged and answered 500 without crashing the daemon.
import { Hono } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import * as v from "valibot";
import { liveAgents } from "../store/agents.ts";
import { HttpError, jsonBody } from "./http.ts";
import type { Daemon } from "./daemon.ts";
import { RepoError } from "./repos.ts";
import { mountDoctorRoute } from "./doctor-route.ts";
import { StoreError } from "../store/errors.ts";

const AddRepoBody = v.object({ path: v.pipe(v.string("path must be a string"), v.minLength(1, "path is required")) });

export function createApp(d: Daemon): Hono {
  const app = new Hono();
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => c.json({ error: `method ${c.req.method} not allowed on ${c.req.path}` }, 405, { Allow: methods.join(", ") }),
    }),
  );

  app.get("/v1/ping", (c) => c.json({ ok: true, pid: process.pid }));
  app.get("/v1/status", (c) => c.json(d.status()));
  mountDoctorRoute(app, d);
  app.get("/v1/repos", (c) => c.json(d.status().repos));
  app.post("/v1/repos", async (c) => {
    const body = await jsonBody(c, AddRepoBody);
    const entry = d.addRepo(body.path);
    return c.json({ status: "added", project: entry.project, path: entry.path, warnings: entry.warnings }, 201);
  });
  app.delete("/v1/repos/:project", (c) => {
    const project = c.req.param("project");
    const force = c.req.query("force") === "1" || c.req.query("force") === "true";
    // Agents of an unregistered repo would run on with nobody watching them: refuse, or stop them (force).
    const live = d.registry.get(project) ? liveAgents(d.db, { project }).length : 0;
    if (live > 0 && !force) throw new HttpError(409, `${live} agent${live === 1 ? "" : "s"} of ${project} still running; stop them first (kas agent list) or remove with --force to stop them`);
    const entry = d.removeRepo(project);
    return c.json({ status: "removed", project: entry.project, path: entry.path, agents_stopped: live });
  });
  app.post("/v1/reload", (c) => {
    const r = d.reload("api");
    if (!r.ok) throw new HttpError(400, `reload refused, previous config kept: ${r.error}`);
    return c.json({ status: "reloaded", changes: r.changes, warnings: r.warnings });
  });

  d.mountRoutes(app);

  app.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    // Bad input is answered 4xx and recorded in the log, never a crash or a silent drop.
    if (err instanceof HttpError || err instanceof RepoError || err instanceof StoreError || err.name === "PlanError") {
      d.log.warn(`${c.req.method} ${c.req.path} rejected: ${err.message.split("\n")[0]}`);
    }
    if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
    if (err instanceof RepoError) return c.json({ error: err.message }, err.status);
    if (err instanceof StoreError) return c.json({ error: err.message }, err.code === "conflict" ? 409 : err.code === "not_found" ? 404 : 400);
    if (err.name === "PlanError") return c.json({ error: err.message }, 400);
    const status = (err as { status?: number }).status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      return c.json({ error: err.message }, status as 400);
    }
    d.log.error(`${c.req.method} ${c.req.path} failed: ${err.stack ?? err.message}`);
    return c.json({ error: `internal error: ${err.message}` }, 500);
  });
  return app;
}
