// Control API (hono) served on the unix socket: the resources' sub-apps composed under /v1. Errors
// are JSON {"error"}: a KasmosError answers the status of its code (src/api/errors.ts) and is logged
// as a rejection; anything else is logged and answered 500 without crashing the daemon.
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import { HTTP_STATUS } from "../../api/errors.ts";
import { KasmosError } from "../../util/errors.ts";
import type { Logger } from "../../runtime/log.ts";

/** The app over the resources' sub-apps (src/daemon/compose.ts lists them), each mounted under /v1. */
export function createApp(log: Logger, routes: Hono[]): Hono {
  const app = new Hono();
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => c.json({ error: `method ${c.req.method} not allowed on ${c.req.path}` }, 405, { Allow: methods.join(", ") }),
    }),
  );
  for (const r of routes) app.route("/v1", r);

  app.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof KasmosError) {
      // Bad input is answered 4xx and recorded in the log, never a crash or a silent drop.
      log.warn(`${c.req.method} ${c.req.path} rejected: ${err.message.split("\n")[0]}`);
      return c.json({ error: err.message }, HTTP_STATUS[err.code]);
    }
    // hono's own refusals (a request it cannot read) keep their 4xx status, in the same JSON.
    if (err instanceof HTTPException && err.status >= 400 && err.status < 500) return c.json({ error: err.message }, err.status);
    log.error(`${c.req.method} ${c.req.path} failed: ${err.stack ?? err.message}`);
    return c.json({ error: `internal error: ${err.message}` }, 500);
  });
  return app;
}
