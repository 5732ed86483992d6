// Who may use the dashboard over TCP: a one-time login link (minted over the unix socket by `kas web`)
// gives a session cookie (HttpOnly, SameSite=Strict) signed with the token; scripts may send the token
// as a Bearer header. Everything else is 401. A state change must come from the page's own origin.
// Failed logins are audited and, past a few a minute, refused outright (429).
import { randomBytes } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { Db } from "../store/db.ts";
import { recordAudit } from "../store/audit.ts";
import { newSessionValue, sameSecret, validSession, type WebTokenFile } from "./token.ts";

export const SESSION_COOKIE = "kasmos_session";
const LOGIN_CODE_TTL_MS = 10 * 60_000;
const MAX_LOGIN_CODES = 100;
const SESSION_MAX_AGE_SEC = 30 * 86_400;
/** Failed logins one address may make per window before it is refused (429) until the window ends. */
export const MAX_FAILURES_PER_WINDOW = 5;
const FAILURE_WINDOW_MS = 60_000;
/** All addresses together (someone with many addresses). */
const MAX_FAILURES_ALL = 50;

export interface WebEnv {
  Bindings: { ip: string; secure: boolean };
}

interface FailureWindow {
  start: number;
  count: number;
  reported: boolean;
}

export class WebAuth {
  private codes = new Map<string, number>();
  private failures = new Map<string, FailureWindow>();
  private allFailures: FailureWindow = { start: 0, count: 0, reported: false };

  constructor(
    private tokenFile: WebTokenFile,
    private db: Db,
  ) {}

  /** A one-time login code, valid for ten minutes. */
  mintLoginCode(now = Date.now()): { code: string; expiresAt: number } {
    for (const [code, exp] of this.codes) if (exp <= now) this.codes.delete(code);
    while (this.codes.size >= MAX_LOGIN_CODES) this.codes.delete(this.codes.keys().next().value!);
    const code = randomBytes(24).toString("base64url");
    const expiresAt = now + LOGIN_CODE_TTL_MS;
    this.codes.set(code, expiresAt);
    return { code, expiresAt };
  }

  private takeCode(code: string, now = Date.now()): boolean {
    for (const [known, exp] of this.codes) {
      if (!sameSecret(known, code)) continue;
      this.codes.delete(known);
      return exp > now;
    }
    return false;
  }

  private window(w: FailureWindow, now: number): FailureWindow {
    if (now - w.start >= FAILURE_WINDOW_MS) {
      w.start = now;
      w.count = 0;
      w.reported = false;
    }
    return w;
  }

  private limited(ip: string, now = Date.now()): boolean {
    const w = this.failures.get(ip);
    const mine = w ? this.window(w, now).count >= MAX_FAILURES_PER_WINDOW : false;
    return mine || this.window(this.allFailures, now).count >= MAX_FAILURES_ALL;
  }

  /** Count and audit a failed login; once limited, one audit row per window says so. */
  private failed(ip: string, why: string, now = Date.now()): void {
    if (this.failures.size > 10_000) this.failures.clear(); // bounded memory under a spray of addresses
    const w = this.window(this.failures.get(ip) ?? { start: now, count: 0, reported: false }, now);
    this.failures.set(ip, w);
    w.count++;
    this.window(this.allFailures, now).count++;
    const over = w.count > MAX_FAILURES_PER_WINDOW || this.allFailures.count > MAX_FAILURES_ALL;
    if (over && w.reported) return;
    if (over) w.reported = true;
    const message = over ? `web login attempts from ${ip} refused for a minute (too many failures)` : `web login failed from ${ip}: ${why}`;
    try {
      recordAudit(this.db, { kind: "web_login_failed", level: "warn", message, detail: { ip, reason: why, rate_limited: over } });
    } catch {
      // the refusal stands even if the audit row cannot be written
    }
  }

  /** GET /login?code=…: a valid one-time code sets the session cookie and sends the browser to the page. */
  login(): (c: Context<WebEnv>) => Response {
    return (c) => {
      const ip = c.env.ip;
      if (this.limited(ip)) {
        this.failed(ip, "rate limited");
        return c.text("too many failed logins: wait a minute, then run `kas web` for a new link\n", 429, { "retry-after": "60" });
      }
      const token = this.tokenFile.current();
      const code = c.req.query("code") ?? "";
      if (token === null || code === "" || !this.takeCode(code)) {
        this.failed(ip, code === "" ? "no login code" : "unknown or used login code");
        return c.text("login link unknown, used or expired: run `kas web` for a new one\n", 401);
      }
      setCookie(c, SESSION_COOKIE, newSessionValue(token), { httpOnly: true, sameSite: "Strict", path: "/", secure: c.env.secure, maxAge: SESSION_MAX_AGE_SEC });
      try {
        recordAudit(this.db, { kind: "web_login", message: `web login from ${ip}`, detail: { ip } });
      } catch {
        // logged in either way
      }
      // A page of our own rather than a redirect: the next request is a same-site navigation.
      return c.html('<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/"><title>kasmos</title><a href="/">continue</a>', 200, { "cache-control": "no-store" });
    };
  }

  /** Every other request: a valid session cookie or Bearer token, and for state changes our own Origin. */
  guard(): MiddlewareHandler<WebEnv> {
    return async (c, next) => {
      const token = this.tokenFile.current();
      const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
      let how: "cookie" | "bearer" | null = null;
      if (token !== null && bearer !== undefined) {
        const ip = c.env.ip;
        if (this.limited(ip)) {
          this.failed(ip, "rate limited");
          return c.json({ error: "too many failed logins: wait a minute" }, 429, { "retry-after": "60" });
        }
        if (sameSecret(bearer, token)) how = "bearer";
        else this.failed(ip, "wrong bearer token");
      } else if (token !== null) {
        const cookie = getCookie(c, SESSION_COOKIE);
        if (cookie !== undefined && validSession(token, cookie)) how = "cookie";
      }
      if (how === null) return unauthorized(c);
      if (!SAFE_METHODS.has(c.req.method) && !sameOrigin(c, how)) {
        return c.json({ error: "cross-origin request refused: state changes must come from the dashboard's own page" }, 403);
      }
      return next();
    };
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The request's Origin is this server's own; a Bearer client (no browser) may send none. */
function sameOrigin(c: Context<WebEnv>, how: "cookie" | "bearer"): boolean {
  const origin = c.req.header("origin");
  if (origin === undefined) return how === "bearer";
  const host = c.req.header("host");
  return host !== undefined && origin === `${c.env.secure ? "https" : "http"}://${host}`;
}

function unauthorized(c: Context<WebEnv>): Response {
  const page = !c.req.path.startsWith("/v1/") && (c.req.header("accept") ?? "").includes("text/html");
  if (page) return c.html('<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>kasmos: log in</title><p>Not logged in. Run <code>kas web</code> on the machine the daemon runs on and open the login link it prints.</p>', 401);
  return c.json({ error: "not logged in: open the login link `kas web` prints, or send Authorization: Bearer <token> (kas web token)" }, 401);
}
