// Reads daemon.toml (confbox), validates every key (valibot) and reports where each value came from.
import { parseTOML } from "confbox/toml";
import * as v from "valibot";
import { BoundedReadError, readBoundedText } from "../util/bounded-read.ts";
import { KasmosError } from "../util/errors.ts";
import { defaultConfigPath } from "./paths.ts";
import { maskConfigValue } from "./secrets.ts";
import { type DaemonConfig, type KeySpec, ALL_KEYS, defaultConfig, nearestKey, PriceSchema, webConfigProblem } from "./schema.ts";

export class ConfigError extends KasmosError {
  override name = "ConfigError";
  readonly code = "invalid";
}

export type ValueSource = "default" | "file";

export interface LoadedConfig {
  path: string;
  /** false when the file does not exist (all defaults). */
  fileExists: boolean;
  config: DaemonConfig;
  sources: Record<string, ValueSource>;
  warnings: string[];
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `${JSON.stringify(value)} (array)`;
  if (value instanceof Date) return `${value.toISOString()} (date)`;
  if (value !== null && typeof value === "object") return "a table";
  return `${JSON.stringify(value)} (${typeof value})`;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Date);
}

/** Parse and validate config text. Throws ConfigError naming file, key, expected type and given value. */
export function parseConfigText(text: string, path: string): Omit<LoadedConfig, "fileExists"> {
  let raw: unknown;
  try {
    raw = parseTOML(text);
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0] ?? "invalid TOML";
    const detail = (err as Error).message.split("\n").slice(1).join("\n").trim();
    throw new ConfigError(`${path}: ${msg}${detail ? `\n${detail}` : ""}`);
  }
  if (!isPlainObject(raw)) throw new ConfigError(`${path}: expected a TOML table at the top level`);

  const config = defaultConfig();
  const sources: Record<string, ValueSource> = {};
  for (const spec of ALL_KEYS) sources[spec.key] = "default";
  const warnings: string[] = [];
  const errors: string[] = [];

  const known = new Map(ALL_KEYS.map((s) => [s.key, s] as const));
  const isTable = (key: string): boolean => ALL_KEYS.some((s) => s.key.startsWith(`${key}.`));
  const visit = (table: Record<string, unknown>, prefix: string): void => {
    for (const [k, value] of Object.entries(table)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (key === "pricing") {
        // Model names are free-form keys: one table per model.
        if (!isPlainObject(value)) {
          errors.push(`${path}: key "pricing": expected a table of models ([pricing."<model>"] input = …), got ${describe(value)}`);
          continue;
        }
        for (const [model, price] of Object.entries(value)) {
          const res = v.safeParse(PriceSchema, price);
          if (!res.success) errors.push(`${path}: key "pricing.${model}": expected input and output (and optionally cache_write, cache_read) as USD per million tokens from 0 to 1000000, got ${describe(maskConfigValue(`pricing.${model}`, price))}`);
          else config.pricing[model] = res.output;
        }
        sources.pricing = "file";
        continue;
      }
      if (isTable(key) && !known.has(key)) {
        if (isPlainObject(value)) visit(value, key);
        // `notify = "x"`, `budget = 5`: a table given a scalar is a type error, not an unknown key.
        else errors.push(`${path}: key "${key}": expected a table ([${key}] with keys such as ${tableExample(key)}), got ${describe(value)}`);
        continue;
      }
      const spec = known.get(key);
      if (!spec) {
        warnings.push(`${path}: unknown key "${key}" ignored (did you mean "${nearestKey(key)}"?)`);
        continue;
      }
      const res = v.safeParse(spec.schema, value);
      if (!res.success) {
        errors.push(`${path}: key "${key}": expected ${spec.expected}, got ${describe(maskConfigValue(key, value))}`);
        continue;
      }
      assign(config, spec, res.output);
      sources[key] = "file";
    }
  };
  visit(raw, "");
  const webProblem = errors.length === 0 ? webConfigProblem(config.web) : null;
  if (webProblem !== null) errors.push(`${path}: ${webProblem}`);
  if (errors.length > 0) throw new ConfigError(errors.join("\n"));

  // Normalise reactions like the original: trimmed, empties dropped, never empty.
  const reactions = config.pr_monitor.reactions.map((r) => r.trim()).filter((r) => r.length > 0);
  config.pr_monitor.reactions = reactions.length > 0 ? reactions : ["eyes"];
  return { path, config, sources, warnings };
}

/** A few of a table's keys, for the message: `supervision` → "nudges, nudge_after_sec". */
function tableExample(table: string): string {
  const keys = ALL_KEYS.filter((s) => s.key.startsWith(`${table}.`)).map((s) => s.key.slice(table.length + 1).split(".")[0]!);
  return [...new Set(keys)].slice(0, 3).join(", ");
}

function assign(config: DaemonConfig, spec: KeySpec, value: unknown): void {
  // Values were validated against spec.schema; walk/create the tables named by the dotted key.
  const parts = spec.key.split(".");
  let obj = config as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(obj[part])) obj[part] = {};
    obj = obj[part] as Record<string, unknown>;
  }
  obj[parts[parts.length - 1]!] = value;
}

function lookup(config: DaemonConfig, key: string): unknown {
  let obj: unknown = config;
  for (const part of key.split(".")) {
    if (!isPlainObject(obj)) return undefined;
    obj = obj[part];
  }
  return obj;
}

/** Load the config from `path` (default ~/.config/kasmos/daemon.toml). A missing file means defaults. */
export function loadConfig(path?: string): LoadedConfig {
  const file = path && path.length > 0 ? path : defaultConfigPath();
  let text: string;
  try {
    text = readBoundedText(file);
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") {
      const config = defaultConfig();
      const sources: Record<string, ValueSource> = {};
      for (const spec of ALL_KEYS) sources[spec.key] = "default";
      return { path: file, fileExists: false, config, sources, warnings: [] };
    }
    if (err instanceof BoundedReadError) throw new ConfigError(`${file}: ${err.message} (a TOML file of at most 1 MiB)`);
    throw new ConfigError(`${file}: cannot read: ${(err as Error).message}`);
  }
  return { ...parseConfigText(text, file), fileExists: true };
}

/** Flatten config to dotted keys → value (for `daemon config` and reload lines: mask before showing). */
export function flattenConfig(config: DaemonConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of ALL_KEYS) {
    const val = lookup(config, spec.key);
    if (val !== undefined) out[spec.key] = val;
  }
  return out;
}
