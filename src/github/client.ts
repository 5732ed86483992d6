// GitHub REST client (ofetch, no automatic retries). Calls never throw: each returns data or a
// classified error. The client remembers a rate limit (no calls until it resets) and a rejected token
// (401: one warning, then every call is refused until a new client is built on config reload).
import { ofetch } from "ofetch";
import * as v from "valibot";
import { ErrorBody } from "./schemas.ts";
import { NO_TOKEN_REASON, resolveToken, type TokenSource } from "./token.ts";

export const DEFAULT_API_URL = "https://api.github.com";

export type GhErrorKind =
  | "network" // no response (DNS, refused, timeout)
  | "server" // 5xx
  | "rate_limited" // 403/429 with rate-limit headers, or a remembered limit
  | "unauthorized" // 401 (client is now paused)
  | "paused" // refused locally after a 401
  | "no_token"
  | "forbidden" // 403 without rate limit
  | "not_found"
  | "validation" // 422
  | "http" // other 4xx
  | "bad_response"; // 2xx whose body does not match the expected shape

export interface GhError {
  kind: GhErrorKind;
  status: number | null;
  message: string;
  /** Epoch ms; set when kind is rate_limited. */
  rateLimitedUntil?: number;
}

export type GhResult<T> = { ok: true; status: number; data: T } | { ok: false; error: GhError };

/** Transient: worth retrying later without a human. */
export function isTransient(e: GhError): boolean {
  return e.kind === "network" || e.kind === "server" || e.kind === "rate_limited" || e.kind === "bad_response";
}

export interface GitHubOptions {
  apiUrl?: string;
  /** Explicit token (tests); undefined = resolve from GH_TOKEN / GITHUB_TOKEN / `gh auth token`. */
  token?: string | null;
  env?: Record<string, string | undefined>;
  ghBin?: string;
  /** Host for `gh auth token --hostname` (Enterprise). */
  host?: string;
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
  /** Where the single 401 warning (and similar) goes; default stderr. */
  warn?: (msg: string) => void;
  /** Per-request timeout (default 15 s). */
  timeoutMs?: number;
}

export interface RequestOptions {
  query?: Record<string, string | number>;
  body?: Record<string, unknown>;
}

/** A missing token is looked up again after this long (the user may run `gh auth login`). */
const MISSING_TOKEN_TTL_MS = 60_000;
/** 429 / secondary limit without a usable header. */
const DEFAULT_LIMIT_MS = 60_000;

function header(h: Headers, name: string): string | null {
  const val = h.get(name);
  return val === null || val.trim() === "" ? null : val.trim();
}

/** Rate-limit deadline (epoch ms) from a 403/429 response, or null when it is not a rate limit. */
export function rateLimitDeadline(status: number, headers: Headers, bodyMessage: string, now: number): number | null {
  if (status !== 403 && status !== 429) return null;
  const retryAfter = header(headers, "retry-after");
  if (retryAfter !== null && /^\d+(\.\d+)?$/.test(retryAfter)) return now + Math.max(1, Number(retryAfter)) * 1000;
  const remaining = header(headers, "x-ratelimit-remaining");
  const reset = header(headers, "x-ratelimit-reset");
  if (remaining === "0" && reset !== null && /^\d+$/.test(reset)) return Math.max(now + 1000, Number(reset) * 1000);
  if (status === 429 || /rate limit/i.test(bodyMessage)) return now + DEFAULT_LIMIT_MS;
  return null;
}

function errorText(status: number, data: unknown): string {
  const parsed = v.safeParse(ErrorBody, data);
  if (!parsed.success) return typeof data === "string" && data.trim() !== "" ? data.trim().slice(0, 300) : `HTTP ${status}`;
  const details = parsed.output.errors
    .map((e) => (typeof e === "string" ? e : (e.message ?? [e.field, e.code].filter(Boolean).join(" "))))
    .filter((s) => s !== "");
  const msg = parsed.output.message || `HTTP ${status}`;
  return details.length > 0 ? `${msg}: ${details.join("; ")}` : msg;
}

export class GitHub {
  readonly apiUrl: string;
  /** Requests actually sent (not refused locally). */
  calls = 0;
  private readonly opts: GitHubOptions;
  private readonly now: () => number;
  private limitedUntil: number | null = null;
  private pausedReason: string | null = null;
  private tokenCache: { token: string | null; source: TokenSource | "explicit" | null; at: number } | null = null;
  private tokenLookup: Promise<string | null> | null = null;
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(opts: GitHubOptions = {}) {
    this.opts = opts;
    this.apiUrl = (opts.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, "");
    this.now = opts.now ?? Date.now;
    if (opts.token !== undefined) this.tokenCache = { token: opts.token, source: opts.token === null ? null : "explicit", at: Number.POSITIVE_INFINITY };
  }

  /** Epoch ms until which calls are refused (rate limit), or null. */
  get rateLimitedUntil(): number | null {
    if (this.limitedUntil !== null && this.now() >= this.limitedUntil) this.limitedUntil = null;
    return this.limitedUntil;
  }

  /** Why the client stopped calling GitHub (401) until it is rebuilt, or null. */
  get paused(): string | null {
    return this.pausedReason;
  }

  /** The token, resolved once (a missing one is looked up again after a minute). */
  async token(): Promise<string | null> {
    const c = this.tokenCache;
    if (c && (c.token !== null || this.now() - c.at < MISSING_TOKEN_TTL_MS)) return c.token;
    this.tokenLookup ??= resolveToken({ env: this.opts.env, ghBin: this.opts.ghBin, host: this.opts.host })
      .then((r) => {
        this.tokenCache = { token: r?.token ?? null, source: r?.source ?? null, at: this.now() };
        return r?.token ?? null;
      })
      .finally(() => {
        this.tokenLookup = null;
      });
    return this.tokenLookup;
  }

  /** Run `fn` once per key at a time: a concurrent caller with the same key gets the same promise. */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running) return running as Promise<T>;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** Local refusal (paused, rate limited, no token) without a request, or null when a call may go out. */
  async precheck(): Promise<GhError | null> {
    if (this.pausedReason !== null) return { kind: "paused", status: null, message: this.pausedReason };
    const until = this.rateLimitedUntil;
    if (until !== null) {
      return { kind: "rate_limited", status: null, message: `GitHub rate limit: calls paused until ${new Date(until).toISOString()}`, rateLimitedUntil: until };
    }
    if ((await this.token()) === null) return { kind: "no_token", status: null, message: NO_TOKEN_REASON };
    return null;
  }

  async request<S extends v.GenericSchema>(method: "GET" | "POST" | "PATCH", path: string, schema: S, ro: RequestOptions = {}): Promise<GhResult<v.InferOutput<S>>> {
    try {
      return await this.send(method, path, schema, ro);
    } catch (err) {
      return { ok: false, error: { kind: "network", status: null, message: `GitHub ${method} ${path}: ${(err as Error).message}` } };
    }
  }

  private async send<S extends v.GenericSchema>(method: string, path: string, schema: S, ro: RequestOptions): Promise<GhResult<v.InferOutput<S>>> {
    const refused = await this.precheck();
    if (refused) return { ok: false, error: refused };
    const token = (await this.token())!;
    const what = `GitHub ${method} ${path}`;
    this.calls++;
    let res: Awaited<ReturnType<typeof ofetch.raw>>;
    try {
      res = await ofetch.raw(path, {
        baseURL: this.apiUrl,
        method,
        query: ro.query,
        body: ro.body,
        retry: 0,
        timeout: this.opts.timeoutMs ?? 15_000,
        ignoreResponseError: true,
        headers: {
          Accept: "application/vnd.github+json",
          Authorization: `Bearer ${token}`,
          "X-GitHub-Api-Version": "2022-11-28",
          "User-Agent": "kasmos",
        },
      });
    } catch (err) {
      const msg = (err as Error).message.replace(/\s+/g, " ").trim();
      return { ok: false, error: { kind: "network", status: null, message: `${what}: ${msg}` } };
    }
    const status = res.status;
    const data: unknown = res._data;
    const now = this.now();
    if (status >= 200 && status < 300) {
      // Out of budget after this call: stop before GitHub starts refusing.
      if (header(res.headers, "x-ratelimit-remaining") === "0") {
        const reset = header(res.headers, "x-ratelimit-reset");
        if (reset !== null && /^\d+$/.test(reset)) this.limitedUntil = Math.max(now + 1000, Number(reset) * 1000);
      }
      const parsed = v.safeParse(schema, data);
      if (!parsed.success) {
        const issue = parsed.issues[0];
        const where = issue?.path?.map((p) => String(p.key)).join(".") ?? "";
        return { ok: false, error: { kind: "bad_response", status, message: `${what}: unexpected response shape${where ? ` at ${where}` : ""}: ${issue?.message ?? "invalid"}` } };
      }
      return { ok: true, status, data: parsed.output };
    }
    const text = errorText(status, data);
    const until = rateLimitDeadline(status, res.headers, text, now);
    if (until !== null) {
      this.limitedUntil = Math.max(this.limitedUntil ?? 0, until);
      return { ok: false, error: { kind: "rate_limited", status, message: `${what}: rate limited until ${new Date(until).toISOString()} (${text})`, rateLimitedUntil: until } };
    }
    if (status === 401) {
      const first = this.pausedReason === null;
      this.pausedReason = `GitHub rejected the token (401 ${text}); GitHub calls are paused until the daemon config is reloaded`;
      if (first) (this.opts.warn ?? ((m: string) => process.stderr.write(`${m}\n`)))(this.pausedReason);
      return { ok: false, error: { kind: "unauthorized", status, message: this.pausedReason } };
    }
    const kind: GhErrorKind = status >= 500 ? "server" : status === 403 ? "forbidden" : status === 404 ? "not_found" : status === 422 ? "validation" : "http";
    return { ok: false, error: { kind, status, message: `${what}: ${status} ${text}` } };
  }
}
