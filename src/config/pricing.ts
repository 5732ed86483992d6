// Prices per million tokens, by model and token kind. Shipped defaults only for models whose published
// prices can be cited (below, with the date they were read); a model without a price counts tokens with
// cost "unknown", never a guess. `[pricing."<model>"]` in daemon.toml adds or overrides entries.
import type { TokenTotals } from "../agents/usage.ts";

export interface ModelPrice {
  input: number;
  output: number;
  cache_write: number;
  cache_read: number;
}

/**
 * Published list prices, USD per million tokens.
 * - Anthropic, https://www.anthropic.com/pricing (Claude API table; read 2025-11-24): Opus 4.5 $5 in /
 *   $25 out; Opus 4 and 4.1 $15 / $75; Sonnet 4 and 4.5 $3 / $15; Haiku 4.5 $1 / $5; Haiku 3.5
 *   $0.80 / $4. Prompt caching: 5-minute cache writes 1.25× input, cache reads 0.1× input.
 * - OpenAI, https://openai.com/api/pricing (read 2025-11-24): gpt-5 $1.25 in / $10 out, cached input
 *   $0.125; gpt-5-mini $0.25 / $2, cached $0.025; gpt-5-codex as gpt-5.
 * Model names match by prefix, so dated ids (claude-sonnet-4-5-20250929) find their entry.
 */
export const DEFAULT_PRICES: Record<string, ModelPrice> = {
  "claude-opus-4-5": { input: 5, output: 25, cache_write: 6.25, cache_read: 0.5 },
  "claude-opus-4-1": { input: 15, output: 75, cache_write: 18.75, cache_read: 1.5 },
  "claude-opus-4": { input: 15, output: 75, cache_write: 18.75, cache_read: 1.5 },
  "claude-sonnet-4-5": { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 },
  "claude-sonnet-4": { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 },
  "claude-haiku-4-5": { input: 1, output: 5, cache_write: 1.25, cache_read: 0.1 },
  "claude-3-5-haiku": { input: 0.8, output: 4, cache_write: 1, cache_read: 0.08 },
  "gpt-5-codex": { input: 1.25, output: 10, cache_write: 0, cache_read: 0.125 },
  "gpt-5-mini": { input: 0.25, output: 2, cache_write: 0, cache_read: 0.025 },
  "gpt-5": { input: 1.25, output: 10, cache_write: 0, cache_read: 0.125 },
};

/** The price of `model`: the user's table first, then the defaults; exact name, else the longest prefix. */
export function priceOf(model: string, user: Record<string, ModelPrice>): ModelPrice | null {
  const lookup = (table: Record<string, ModelPrice>): ModelPrice | null => {
    if (table[model]) return table[model];
    let best: string | null = null;
    for (const k of Object.keys(table)) if (model.startsWith(k) && (best === null || k.length > best.length)) best = k;
    return best ? table[best]! : null;
  };
  return lookup(user) ?? lookup(DEFAULT_PRICES);
}

/** USD for these tokens at this price; null when the model has no price. */
export function costOf(t: TokenTotals, price: ModelPrice | null): number | null {
  if (price === null) return null;
  return (t.input * price.input + t.output * price.output + t.cacheWrite * price.cache_write + t.cacheRead * price.cache_read) / 1_000_000;
}
