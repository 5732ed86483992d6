// The error answers the loopback model servers can give instead of playing the brain: each API's own
// usage-limit, rate-limit, overload, outage and rejected-key responses (status, headers, body shaped
// as the providers send them), for N requests or for a time window, then the server recovers.
//   anthropicFault("usage_limit", { resetAt })  → 429 rate_limit_error with anthropic-ratelimit-unified-* and retry-after
//   openaiFault("usage_limit", { resetAt })     → 429 usage_limit_reached with resets_at / resets_in_seconds (ChatGPT plans)
// A FaultGate decides per request whether the fault still applies.

export type FaultKind = "usage_limit" | "rate_limit" | "overloaded" | "server_error" | "unauthorized";

export interface Fault {
  status: number;
  headers: Record<string, string>;
  /** JSON body as the API sends it. */
  body: unknown;
}

export interface FaultPlan {
  /** The answer, or a function of the time of the request (reset headers that count down). */
  fault: Fault | ((now: number) => Fault);
  /** Answer this many matching requests with the fault, then recover (absent: no count limit). */
  count?: number;
  /** Answer with the fault until this time (ms since the epoch), then recover (absent: no time limit). */
  until?: number;
}

export interface FaultGate {
  /** The fault for a request arriving now, or null once the plan is spent. */
  next(now?: number): Fault | null;
  /** Requests answered with the fault so far. */
  readonly served: number;
}

export function faultGate(plan: FaultPlan | undefined): FaultGate {
  let served = 0;
  return {
    next(now = Date.now()) {
      if (!plan) return null;
      if (plan.count !== undefined && served >= plan.count) return null;
      if (plan.until !== undefined && now >= plan.until) return null;
      served += 1;
      return typeof plan.fault === "function" ? plan.fault(now) : plan.fault;
    },
    get served() {
      return served;
    },
  };
}

/** A fault as an HTTP response. */
export function faultResponse(f: Fault): Response {
  return Response.json(f.body, { status: f.status, headers: f.headers });
}

export interface FaultTimes {
  /** When the limit lifts (ms since the epoch); default 20 s from the request. */
  resetAt?: number;
}

function secondsUntil(resetAt: number, now: number): number {
  return Math.max(1, Math.ceil((resetAt - now) / 1000));
}

/**
 * The Anthropic Messages API's errors. usage_limit is what a Claude subscription gets at its 5-hour
 * limit (the unified rate-limit headers, status rejected, reset in epoch seconds); rate_limit an API
 * key over its per-minute limit (RFC 3339 reset headers); overloaded the 529; server_error a 500;
 * unauthorized a 401 for a rejected key.
 */
export function anthropicFault(kind: FaultKind, times: FaultTimes = {}): (now: number) => Fault {
  return (now) => {
    const resetAt = times.resetAt ?? now + 20_000;
    const requestId = `req_loopback${now.toString(36)}`;
    const error = (status: number, type: string, message: string, headers: Record<string, string> = {}): Fault => ({
      status,
      headers: { "request-id": requestId, "x-should-retry": status >= 500 || status === 429 ? "true" : "false", ...headers },
      body: { type: "error", error: { type, message }, request_id: requestId },
    });
    const retryAfter = String(secondsUntil(resetAt, now));
    switch (kind) {
      case "usage_limit":
        return error(429, "rate_limit_error", "This request would exceed your account's rate limit. Please try again later.", {
          "retry-after": retryAfter,
          "x-should-retry": "false",
          "anthropic-ratelimit-unified-status": "rejected",
          "anthropic-ratelimit-unified-reset": String(Math.floor(resetAt / 1000)),
          "anthropic-ratelimit-unified-representative-claim": "five_hour",
          "anthropic-ratelimit-unified-5h-status": "rejected",
          "anthropic-ratelimit-unified-5h-reset": String(Math.floor(resetAt / 1000)),
          "anthropic-ratelimit-unified-5h-utilization": "1.0",
          "anthropic-ratelimit-unified-fallback-percentage": "0.5",
          "anthropic-ratelimit-unified-overage-status": "rejected",
          "anthropic-ratelimit-unified-overage-disabled-reason": "org_level_disabled",
        });
      case "rate_limit": {
        const reset = new Date(resetAt).toISOString().replace(/\.\d{3}Z$/, "Z");
        return error(
          429,
          "rate_limit_error",
          "This request would exceed the rate limit for your organization of 50,000 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.",
          {
            "retry-after": retryAfter,
            "anthropic-ratelimit-input-tokens-limit": "50000",
            "anthropic-ratelimit-input-tokens-remaining": "0",
            "anthropic-ratelimit-input-tokens-reset": reset,
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "49",
            "anthropic-ratelimit-requests-reset": reset,
          },
        );
      }
      case "overloaded":
        return error(529, "overloaded_error", "Overloaded");
      case "server_error":
        return error(500, "api_error", "Internal server error");
      case "unauthorized":
        return error(401, "authentication_error", "invalid x-api-key");
    }
  };
}

/**
 * The OpenAI APIs' errors (Responses and Chat Completions share them). usage_limit is the ChatGPT-plan
 * limit codex meets (usage_limit_reached, resets_at in epoch seconds); rate_limit an API key's
 * per-minute limit (x-ratelimit-* headers, "try again in"); overloaded a 503; server_error a 500;
 * unauthorized a 401 for a wrong key.
 */
export function openaiFault(kind: FaultKind, times: FaultTimes = {}): (now: number) => Fault {
  return (now) => {
    const resetAt = times.resetAt ?? now + 20_000;
    const secs = secondsUntil(resetAt, now);
    const headers = { "x-request-id": `req_loopback${now.toString(36)}` };
    const error = (status: number, e: Record<string, unknown>, extra: Record<string, string> = {}): Fault => ({ status, headers: { ...headers, ...extra }, body: { error: { param: null, ...e } } });
    switch (kind) {
      case "usage_limit":
        return error(429, { type: "usage_limit_reached", message: "The usage limit has been reached", code: null, plan_type: "plus", resets_at: Math.floor(resetAt / 1000), resets_in_seconds: secs }, {
          "x-codex-primary-used-percent": "100",
          "x-codex-primary-window-minutes": "300",
          "x-codex-primary-reset-after-seconds": String(secs),
          "x-codex-primary-reset-at": String(Math.floor(resetAt / 1000)),
        });
      case "rate_limit":
        return error(
          429,
          {
            type: "tokens",
            code: "rate_limit_exceeded",
            message: `Rate limit reached for loopback-model in organization org-loopback on tokens per min (TPM): Limit 30000, Used 30000, Requested 1200. Please try again in ${secs}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
          },
          {
            "retry-after": String(secs),
            "x-ratelimit-limit-tokens": "30000",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": `${secs}s`,
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "120ms",
          },
        );
      case "overloaded":
        return error(503, { type: "server_error", code: null, message: "The server is overloaded or not ready yet." });
      case "server_error":
        return error(500, { type: "server_error", code: null, message: "The server had an error while processing your request. Sorry about that!" });
      case "unauthorized":
        return error(401, { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key provided: loopback-key. You can find your API key at https://platform.openai.com/account/api-keys." });
    }
  };
}
