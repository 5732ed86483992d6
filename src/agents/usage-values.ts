// Token counts as the agents' records give them, checked at the boundary: a count is a whole number
// from 0 to a ceiling no real model reaches, else the record is rejected (logged, audited), never
// counted — 1e308 tokens would cost $Infinity, hold the task, and once resumed poison every later
// comparison. Ceilings: one message's field at most 10 M tokens (10× the largest context window
// offered); a session's cumulative total (codex, opencode) at most 10 G tokens.
import * as v from "valibot";

export interface TokenTotals {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

export const MAX_MESSAGE_TOKENS = 10_000_000;
export const MAX_SESSION_TOKENS = 10_000_000_000;

/** An optional token count up to `max` (absent or null = 0). */
export function tokenCount(max: number) {
  return v.optional(v.nullable(v.pipe(v.number("a token count must be a number"), v.integer("a token count must be a whole number"), v.minValue(0, "a token count cannot be negative"), v.maxValue(max, `a token count above ${max} is not believable`))), 0);
}

/** Claude Code: message.usage of one assistant message. */
export const ClaudeMessageUsage = v.object({
  input_tokens: tokenCount(MAX_MESSAGE_TOKENS),
  output_tokens: tokenCount(MAX_MESSAGE_TOKENS),
  cache_creation_input_tokens: tokenCount(MAX_MESSAGE_TOKENS),
  cache_read_input_tokens: tokenCount(MAX_MESSAGE_TOKENS),
});

/** codex: info.total_token_usage of a token_count event (cumulative over the session). */
export const CodexTotalUsage = v.object({
  input_tokens: tokenCount(MAX_SESSION_TOKENS),
  output_tokens: tokenCount(MAX_SESSION_TOKENS),
  cached_input_tokens: tokenCount(MAX_SESSION_TOKENS),
  cache_write_input_tokens: tokenCount(MAX_SESSION_TOKENS),
});

/** opencode: a session row's totals. */
export const OpencodeSessionUsage = v.object({
  tokens_input: tokenCount(MAX_SESSION_TOKENS),
  tokens_output: tokenCount(MAX_SESSION_TOKENS),
  tokens_cache_read: tokenCount(MAX_SESSION_TOKENS),
  tokens_cache_write: tokenCount(MAX_SESSION_TOKENS),
});

/** The parsed value, or why it was rejected ("input_tokens: a token count above … is not believable"). */
export function checkUsage<S extends v.GenericSchema>(schema: S, value: unknown): { ok: true; value: v.InferOutput<S> } | { ok: false; why: string } {
  const r = v.safeParse(schema, value);
  if (r.success) return { ok: true, value: r.output };
  const issue = r.issues[0];
  const key = issue ? v.getDotPath(issue) : null;
  return { ok: false, why: `${key ? `${key}: ` : ""}${issue?.message ?? "not a usage record"}` };
}

/** A stored count (an earlier version stored anything): a whole number from 0 up, else 0. */
export function storedCount(n: unknown): number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

export function storedTotals(t: TokenTotals): TokenTotals {
  return { input: storedCount(t.input), output: storedCount(t.output), cacheWrite: storedCount(t.cacheWrite), cacheRead: storedCount(t.cacheRead) };
}
