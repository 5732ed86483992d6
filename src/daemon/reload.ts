// Reading the config file again for a reload: what changed (compared as stored, shown masked), or why
// the file is refused. Applying the new config is the composition root's (compose.ts).
import { ConfigError, flattenConfig, type LoadedConfig, loadConfig } from "../config/load.ts";
import { describeChange } from "../config/secrets.ts";
import type { DaemonConfig } from "../config/schema.ts";
import type { Logger } from "../runtime/log.ts";

export type ConfigReread = { ok: true; loaded: LoadedConfig; changes: string[] } | { ok: false; error: string };

export function rereadConfig(path: string, prev: DaemonConfig, source: string, log: Logger): ConfigReread {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(path);
  } catch (err) {
    const error = err instanceof ConfigError ? err.message : `${(err as Error).message}`;
    log.error(`reload (${source}) refused, previous config kept: ${error}`);
    return { ok: false, error };
  }
  for (const w of loaded.warnings) log.warn(w);
  const next = loaded.config;
  const changes: string[] = [];
  const a = flattenConfig(prev);
  const b = flattenConfig(next);
  // Compared as they are, shown masked: the reply and the log line never carry a secret.
  for (const k of Object.keys(b)) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) changes.push(describeChange(k, a[k], b[k]));
  if (next.socket_path !== prev.socket_path) log.warn("socket_path changed: takes effect at the next daemon start");
  return { ok: true, loaded, changes };
}
