// The dashboard's secret: a random token in a private file (0600, in kasmos's 0700 config folder).
// Session cookies are signed with it, so writing a new token (kas web token --rotate) ends every
// session at once, without the daemon keeping a session table.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { configDir, webTokenPath } from "../config/paths.ts";
import { ensurePrivateDir, tighten, writePrivateFile } from "../config/private-state.ts";

const TOKEN_RE = /^[A-Za-z0-9_-]{32,128}$/;

function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The token, or null when there is none yet (or the file holds something else). */
export function readWebToken(path = webTokenPath()): string | null {
  try {
    const text = readFileSync(path, "utf8").trim();
    return TOKEN_RE.test(text) ? text : null;
  } catch {
    return null;
  }
}

/** The token, made (0600) when missing; `rotate` replaces it, which logs every session out. */
export function ensureWebToken(opts: { rotate?: boolean } = {}, path = webTokenPath()): { token: string; created: boolean } {
  ensurePrivateDir(configDir());
  const existing = opts.rotate ? null : readWebToken(path);
  if (existing !== null) {
    tighten(path);
    return { token: existing, created: false };
  }
  const token = newToken();
  writePrivateFile(path, `${token}\n`);
  return { token, created: true };
}

/**
 * The token as the daemon sees it now: re-read when the file changes (a rotation by the CLI takes
 * effect on the next request), one stat per request otherwise.
 */
export class WebTokenFile {
  private stamp = "";
  private token: string | null = null;

  constructor(readonly path = webTokenPath()) {}

  current(): string | null {
    let stamp = "";
    try {
      const st = statSync(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      stamp = "missing";
    }
    if (stamp !== this.stamp) {
      this.stamp = stamp;
      this.token = stamp === "missing" ? null : readWebToken(this.path);
    }
    return this.token;
  }
}

function sign(token: string, sessionId: string): string {
  return createHmac("sha256", token).update(`kasmos-web-session:${sessionId}`).digest("base64url");
}

/** A new session cookie value: a random id and its signature under the token. */
export function newSessionValue(token: string): string {
  const id = randomBytes(18).toString("base64url");
  return `${id}.${sign(token, id)}`;
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when the cookie value was signed with this token. */
export function validSession(token: string, value: string): boolean {
  const dot = value.indexOf(".");
  if (dot <= 0) return false;
  return sameSecret(value.slice(dot + 1), sign(token, value.slice(0, dot)));
}
