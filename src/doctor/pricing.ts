// `kas doctor` "prices": every model a role is configured with and every model the store has seen must
// have a price when a budget in dollars is set, or that budget counts the model as $0 and cannot hold.
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { AGENT_ROLES, profilesFromConfig, resolveProfile } from "../agents/programs.ts";
import { storePath } from "../config/paths.ts";
import { priceOf } from "../config/pricing.ts";
import type { LoadedConfig } from "../config/load.ts";
import type { CheckResult } from "./common.ts";

type PriceCheck = CheckResult & { severity: "warn" };

/** Models the store has usage of (read-only; none when there is no store yet). */
export function observedModels(path = storePath()): string[] {
  if (!existsSync(path)) return [];
  let db: Database | null = null;
  try {
    db = new Database(path, { readonly: true });
    return db.query<{ model: string }, []>("SELECT DISTINCT model FROM agent_usage ORDER BY model").all().map((r) => r.model);
  } catch {
    return [];
  } finally {
    db?.close();
  }
}

export function checkPrices(outcome: { loaded: LoadedConfig; error: null } | { loaded: null; error: string }, observed: readonly string[]): PriceCheck {
  const name = "prices";
  const ok = (detail: string): PriceCheck => ({ name, ok: true, severity: "warn", detail, fix: "" });
  if (outcome.error !== null) return ok("skipped: daemon.toml is invalid (see config)");
  const cfg = outcome.loaded.config;
  const scope = { daemon: profilesFromConfig(cfg.agents, cfg.default_program) };
  const configured = AGENT_ROLES.map((r) => resolveProfile(r, scope).model.trim()).filter((m) => m !== "");
  const models = [...new Set([...configured, ...observed])];
  const unpriced = models.filter((m) => priceOf(m, cfg.pricing) === null);
  const limits = [cfg.budget.task_usd > 0 ? `task_usd = ${cfg.budget.task_usd}` : "", cfg.budget.day_usd > 0 ? `day_usd = ${cfg.budget.day_usd}` : ""].filter((s) => s !== "");
  if (unpriced.length === 0) return ok(models.length === 0 ? "no model configured or seen yet (the CLIs' defaults are priced)" : `${models.length} model${models.length === 1 ? "" : "s"} priced`);
  const which = unpriced.map((m) => `${m}${configured.includes(m) ? " (configured)" : " (seen)"}`).join(", ");
  const fix = `add [pricing."${unpriced[0]}"] input = …, output = … (USD per million tokens) to ${outcome.loaded.path}`;
  if (limits.length === 0) return { name, ok: true, severity: "warn", detail: `no price for ${which}: their cost shows as unknown (no budget in dollars is set)`, fix: "" };
  return { name, ok: false, severity: "warn", detail: `no price for ${which}: the budget (${limits.join(", ")}) counts their tokens as $0 and cannot hold`, fix };
}
