// The dashboard's TCP listener: [web] listen (or `kas web` for this run) starts it,
// a reload that changes [web] moves or stops it. Over TCP it serves the page's assets and the very
// control API the unix socket serves (the same hono app), behind the login of auth.ts. Its own control
// routes (/v1/web…) are on the unix socket only: whoever can reach the socket is already the owner.
import type { Server } from "bun";
import { Hono } from "hono";
import { Refused } from "../util/errors.ts";
import { terminalKeys, terminalStream, terminalTakeover } from "../api/terminal.ts";
import { taskDiff } from "../api/diff.ts";
import { budget } from "../api/budget.ts";
import { utcDay } from "../lifecycle/budget.ts";
import { daySpend, heldTasks, taskSpend } from "../store/budget.ts";
import { type WebStatus, webStart, webStatus } from "../api/web.ts";
import { Tmux } from "../agents/tmux.ts";
import { type DaemonConfig, isLoopbackHost, parseListen, type WebConfig } from "../config/schema.ts";
import type { Daemon } from "../server/running-daemon.ts";
import { serve } from "../server/http.ts";
import { storeId } from "../store/identity.ts";
import { serveAsset, servePage } from "./assets.ts";
import { WebAuth, type WebEnv } from "./auth.ts";
import { branchDiff } from "./diff.ts";
import { TerminalHub } from "./terminal.ts";
import { ensureWebToken, WebTokenFile } from "./token.ts";

/** Who made a request, for audit rows: set by the TCP side for what it forwards, else the socket's owner. */
const VIA_HEADER = "x-kasmos-via";

/** Where `kas web` listens when [web] listen is not set. */
export const DEFAULT_WEB_LISTEN = "127.0.0.1:7777";

interface Serving {
  key: string;
  server: Server<undefined>;
  url: string;
  source: "config" | "kas web";
}

export class WebServer {
  private api: Hono | null = null;
  private web: Hono<WebEnv> | null = null;
  private serving: Serving | null = null;
  /** Set by `kas web` when [web] listen is empty: kept across reloads until the daemon stops. */
  private runtimeListen = "";
  private config: WebConfig | null = null;
  private error: string | null = null;
  private warnings: string[] = [];
  readonly auth: WebAuth;
  private terminals: TerminalHub;

  constructor(private d: Daemon) {
    this.auth = new WebAuth(new WebTokenFile(), d.db);
    // The same tmux server and owner mark the agent runner uses (src/daemon/compose.ts).
    this.terminals = new TerminalHub(d.db, new Tmux({ socketName: process.env.KASMOS_TMUX_SOCKET || "kasmos", owner: storeId(d.db) }));
  }

  mountRoutes(app: Hono): void {
    this.api = app;
    const routes = new Hono();
    serve(routes, webStatus, () => this.status());
    serve(routes, webStart, ({ body }) => {
      const wanted = body.listen;
      if (!this.serving) {
        this.runtimeListen = wanted ?? (this.config?.listen || DEFAULT_WEB_LISTEN);
        this.apply();
      } else if (wanted !== undefined && wanted !== this.listenOf(this.config)) {
        throw new Refused("conflict", `the dashboard already listens on ${this.serving.url}; change [web] listen and run kas daemon reload to move it`);
      }
      if (!this.serving) throw new Refused("conflict", `the dashboard cannot listen: ${this.error ?? "unknown reason"}`);
      const { code, expiresAt } = this.auth.mintLoginCode();
      return { ...this.status(), login_url: `${this.serving.url}/login?code=${code}`, login_expires_at: new Date(expiresAt).toISOString() };
    });
    const who = (req: Request) => req.headers.get(VIA_HEADER) ?? "the control socket";
    serve(routes, terminalStream, ({ params }) => this.terminals.stream(params.project, params.title));
    serve(routes, terminalTakeover, ({ params, body, c }) => this.terminals.takeover(params.project, params.title, body.release, who(c.req.raw)));
    serve(routes, terminalKeys, ({ params, body, c }) => this.terminals.type(params.project, params.title, body.text, who(c.req.raw)));
    serve(routes, taskDiff, ({ params }) => branchDiff(this.d, params.project, params.name));
    serve(routes, budget, () => {
      const { budget: limits, pricing } = this.d.config;
      const date = utcDay(new Date().toISOString());
      const holds = heldTasks(this.d.db).map((h) => ({ ...h, ...taskSpend(this.d.db, h.project, h.task, pricing) }));
      return { limits: { ...limits }, today: { date, usd: daySpend(this.d.db, date, pricing) }, holds };
    });
    app.route("/v1", routes);
  }

  onConfig(config: DaemonConfig): void {
    this.config = config.web;
    this.apply();
  }

  async stop(): Promise<void> {
    this.terminals.stop();
    this.serving?.server.stop(true);
    this.serving = null;
  }

  status(): WebStatus {
    return { url: this.serving?.url ?? null, source: this.serving?.source ?? null, error: this.error, warnings: this.warnings };
  }

  private listenOf(web: WebConfig | null): string {
    return web?.listen || this.runtimeListen;
  }

  /** Bring the listener in line with [web] (or `kas web`): start, move, or stop it. */
  private apply(): void {
    const web = this.config ?? { listen: "", allow_remote: false, tls_cert: "", tls_key: "" };
    const listen = this.listenOf(web);
    const key = JSON.stringify([listen, web.tls_cert, web.tls_key, web.allow_remote]);
    if (this.serving?.key === key) return;
    if (this.serving) {
      this.serving.server.stop(true);
      this.d.log.info(`web dashboard stopped listening on ${this.serving.url}`);
      this.serving = null;
    }
    this.error = null;
    this.warnings = [];
    if (listen === "") return;
    const at = parseListen(listen);
    if (at === null) return this.fail(`cannot read listen address "${listen}"`);
    if (!isLoopbackHost(at.host) && !web.allow_remote) return this.fail(`${listen} is not a loopback address; set [web] allow_remote = true to serve it`);
    const secure = web.tls_cert !== "";
    try {
      ensureWebToken();
      const app = this.webApp();
      const server = Bun.serve({
        hostname: at.host,
        port: at.port,
        ...(secure ? { tls: { cert: Bun.file(web.tls_cert), key: Bun.file(web.tls_key) } } : {}),
        // Event streams send a heartbeat every 5 s; an idle browser tab's keep-alive is cut after 30.
        idleTimeout: 30,
        maxRequestBodySize: 8 * 1024 * 1024,
        fetch: (req, srv) => app.fetch(req, { ip: srv.requestIP(req)?.address ?? "unknown", secure }),
      });
      const host = at.host.includes(":") ? `[${at.host}]` : at.host;
      const url = `${secure ? "https" : "http"}://${host}:${server.port}`;
      this.serving = { key, server, url, source: web.listen !== "" ? "config" : "kas web" };
      if (!isLoopbackHost(at.host) && !secure) this.warnings.push(`${url} is reachable from other machines over plain HTTP: the login link and session cookie travel unencrypted (set [web] tls_cert and tls_key)`);
      this.d.log.info(`web dashboard listening on ${url}`);
      for (const w of this.warnings) this.d.log.warn(`web: ${w}`);
    } catch (err) {
      this.fail(`cannot listen on ${listen}: ${(err as Error).message}`);
    }
  }

  private fail(message: string): void {
    this.error = message;
    this.d.log.error(`web dashboard: ${message}`);
  }

  private webApp(): Hono<WebEnv> {
    if (this.web) return this.web;
    const api = this.api;
    if (!api) throw new Error("the control API is not mounted yet");
    const web = new Hono<WebEnv>();
    web.use(async (c, next) => {
      await next();
      c.header("x-content-type-options", "nosniff");
      c.header("referrer-policy", "no-referrer");
      c.header("x-frame-options", "DENY");
      // Inline styles are allowed (xterm.js puts its theme and cell sizes in <style> elements); scripts
      // only from the page's own file.
      c.header("content-security-policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    });
    web.get("/login", this.auth.login());
    web.use(this.auth.guard());
    web.all("/v1/web", (c) => c.json({ error: "the dashboard's own controls are on the unix socket only (kas web)" }, 404));
    web.all("/v1/web/*", (c) => c.json({ error: "the dashboard's own controls are on the unix socket only (kas web)" }, 404));
    web.all("/v1/*", (c) => {
      const req = new Request(c.req.raw);
      req.headers.set(VIA_HEADER, `the dashboard at ${c.env.ip}`);
      return api.fetch(req);
    });
    web.get("/assets/:name", (c) => serveAsset(c.req.param("name"), c.req.raw));
    web.get("*", (c) => servePage(c.req.raw));
    web.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path}` }, 404));
    this.web = web;
    return web;
  }
}
