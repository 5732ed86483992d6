// Prices per million tokens, by model and token kind. Shipped defaults only for models whose prices can
// be cited (below, with the date they were read); a model without a price counts tokens with cost
// "unknown", never a guess. `[pricing."<model>"]` in daemon.toml adds or overrides entries.
import type { TokenTotals } from "../agents/usage.ts";

export interface ModelPrice {
  input: number;
  output: number;
  cache_write: number;
  cache_read: number;
}

const price = (input: number, output: number, cache_write: number, cache_read: number): ModelPrice => ({ input, output, cache_write, cache_read });

/**
 * List prices, USD per million tokens (standard tier; cache writes are the 5-minute ones). Read 2026-12-07.
 * - Anthropic: the model catalog shipped inside Claude Code 2.1.328 (the version the real-CLI tests pin;
 *   its `pricing` tier of every model, which Claude Code's own /cost uses). Where a published table was
 *   found it agrees: Opus 4.6/4.7/4.8 $5 / $25, Sonnet 4.6 $3 / $15, Haiku 4.5 $1 / $5 (Anthropic's
 *   pricing page as quoted by third-party guides, April–June 2026). Opus 5.5, Claude Code's default model,
 *   is $4 / $20 with cache reads at $0.20 in that catalog; no published page for it was found.
 * - OpenAI (openai.com API pricing page, as reported June–November 2026): gpt-5.5 $5 / $30, cached $0.50;
 *   gpt-5.4 $2.50 / $15, cached $0.25; gpt-5.4-mini $0.75 / $4.50; gpt-5.4-nano $0.20 / $1.25;
 *   gpt-5.6-sol $5 / $30 (cached $0.50); gpt-5.6-terra and -luna after the 2026-07-30 reduction
 *   $2 / $12 (cached $0.20) and $0.20 / $1.20 (cached $0.02); gpt-6-astra $10 / $50, cached $1;
 *   gpt-6-sol and gpt-6.1-sol $2 / $10; gpt-6-luna $0.10 / $0.50; gpt-6.2-astra $8 / $40, cached $0.40;
 *   gpt-6.2-sol $2 / $10, cached $0.10. Where no cached figure was published, cached input is 0.1 × input
 *   (OpenAI's stated 90 % cached-input discount). Not found anywhere, so not priced: gpt-6.1-terra.
 *   Older: gpt-5 $1.25 / $10, gpt-5-mini $0.25 / $2 (read 2025-11-24).
 * Names are normalised first (normaliseModel): provider prefixes, dated and `-latest` suffixes go.
 */
export const DEFAULT_PRICES: Record<string, ModelPrice> = {
  "claude-opus-5-5": price(4, 20, 5, 0.2),
  "claude-opus-5": price(5, 25, 6.25, 0.5),
  "claude-opus-4-8": price(5, 25, 6.25, 0.5),
  "claude-opus-4-7": price(5, 25, 6.25, 0.5),
  "claude-opus-4-6": price(5, 25, 6.25, 0.5),
  "claude-opus-4-5": price(5, 25, 6.25, 0.5),
  "claude-opus-4-1": price(15, 75, 18.75, 1.5),
  "claude-opus-4-0": price(15, 75, 18.75, 1.5),
  "claude-opus-4": price(15, 75, 18.75, 1.5),
  "claude-sonnet-5-5": price(2, 10, 2.5, 0.1),
  "claude-sonnet-5": price(2, 10, 2.5, 0.2),
  "claude-sonnet-4-6": price(3, 15, 3.75, 0.3),
  "claude-sonnet-4-5": price(3, 15, 3.75, 0.3),
  "claude-sonnet-4-0": price(3, 15, 3.75, 0.3),
  "claude-sonnet-4": price(3, 15, 3.75, 0.3),
  "claude-3-7-sonnet": price(3, 15, 3.75, 0.3),
  "claude-haiku-5-5": price(0.1, 0.5, 0.125, 0.01),
  "claude-haiku-4-5": price(1, 5, 1.25, 0.1),
  "claude-3-5-haiku": price(0.8, 4, 1, 0.08),
  "claude-fable-5-2": price(8, 40, 10, 0.2),
  "claude-fable-5-1": price(10, 50, 12.5, 0.25),
  "claude-fable-5": price(10, 50, 12.5, 1),
  "claude-mythos-5-2": price(8, 40, 10, 0.2),
  "claude-mythos-5-1": price(10, 50, 12.5, 0.25),
  "claude-mythos-5": price(10, 50, 12.5, 1),
  "gpt-6.2-astra": price(8, 40, 0, 0.4),
  "gpt-6.2-sol": price(2, 10, 0, 0.1),
  "gpt-6.1-sol": price(2, 10, 0, 0.2),
  "gpt-6-astra": price(10, 50, 0, 1),
  "gpt-6-sol": price(2, 10, 0, 0.2),
  "gpt-6-luna": price(0.1, 0.5, 0, 0.01),
  "gpt-5.6-sol": price(5, 30, 0, 0.5),
  "gpt-5.6-terra": price(2, 12, 0, 0.2),
  "gpt-5.6-luna": price(0.2, 1.2, 0, 0.02),
  "gpt-5.5": price(5, 30, 0, 0.5),
  "gpt-5.4": price(2.5, 15, 0, 0.25),
  "gpt-5.4-mini": price(0.75, 4.5, 0, 0.075),
  "gpt-5.4-nano": price(0.2, 1.25, 0, 0.02),
  "gpt-5-codex": price(1.25, 10, 0, 0.125),
  "gpt-5-mini": price(0.25, 2, 0, 0.025),
  "gpt-5": price(1.25, 10, 0, 0.125),
};

/**
 * The bare model id a price table is keyed by: `anthropic/claude-sonnet-4-5` (opencode),
 * `openrouter/anthropic/claude-sonnet-4.5`, `us.anthropic.claude-opus-4-1-20250805-v1:0` (Bedrock),
 * `claude-opus-4-5@20251101` (Vertex), `claude-sonnet-4-5-20250929`, `gpt-5.5-2026-04-23` and
 * `claude-3-7-sonnet-latest` all become the id the vendor's price list names.
 */
export function normaliseModel(model: string): string {
  let m = model.trim().toLowerCase();
  m = m.slice(m.lastIndexOf("/") + 1); // provider/…/model
  m = m.replace(/^(?:[a-z]{2,4}\.)?anthropic\./, ""); // Bedrock's (us.)anthropic.
  m = m.replace(/:\d+$/, "").replace(/@.*$/, ""); // Bedrock's :0, Vertex's @date
  m = m.replace(/-v\d+$/, "");
  m = m.replace(/-latest$/, "");
  m = m.replace(/-(?:\d{8}|\d{4}-\d{2}-\d{2})$/, ""); // dated snapshot
  if (m.startsWith("claude-")) m = m.replace(/(\d)\.(\d)/g, "$1-$2"); // OpenRouter writes claude-sonnet-4.5
  return m;
}

/**
 * The price of `model`: the user's table first (exact, then normalised name), then the shipped one
 * (normalised name), then the longest prefix of the user's table. The shipped table is never matched by
 * prefix: `gpt-5` must not price `gpt-5.7-…`, nor `claude-opus-4` an `claude-opus-4-9`.
 */
export function priceOf(model: string, user: Record<string, ModelPrice>): ModelPrice | null {
  if (user[model]) return user[model];
  const bare = normaliseModel(model);
  for (const [k, v] of Object.entries(user)) if (normaliseModel(k) === bare) return v;
  if (DEFAULT_PRICES[bare]) return DEFAULT_PRICES[bare];
  let best: string | null = null;
  for (const k of Object.keys(user)) if (model.startsWith(k) && (best === null || k.length > best.length)) best = k;
  return best ? user[best]! : null;
}

/** USD for these tokens at this price; null when the model has no price. */
export function costOf(t: TokenTotals, price: ModelPrice | null): number | null {
  if (price === null) return null;
  return (t.input * price.input + t.output * price.output + t.cacheWrite * price.cache_write + t.cacheRead * price.cache_read) / 1_000_000;
}
