// What every doctor check shares: the one result shape and the two ways to make one, a bounded run of
// a tool, the uid, and the outcome of loading daemon.toml.
import { ConfigError, type LoadedConfig, loadConfig } from "../config/load.ts";
import { defaultConfigPath } from "../config/paths.ts";

export type Severity = "error" | "warn";

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What a failure means: "error" blocks the daemon (exit 1), "warn" degrades it. */
  severity: Severity;
  /** One line: what was found. */
  detail: string;
  /** One line: how to fix it ("" when ok). */
  fix: string;
}

export const pass = (name: string, severity: Severity, detail: string): CheckResult => ({ name, ok: true, severity, detail, fix: "" });
export const problem = (name: string, severity: Severity, detail: string, fix: string): CheckResult => ({ name, ok: false, severity, detail: oneLine(detail), fix: oneLine(fix) });

/** Several lines as one, for a check's detail or fix. */
export function oneLine(s: string): string {
  return s
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .join("; ");
}

/** Run a short-lived tool; null when it cannot be started or times out. */
export function runTool(argv: string[], timeoutMs = 5000): { code: number; stdout: string; stderr: string } | null {
  try {
    const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
    if (r.exitCode === null) return null;
    return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  } catch {
    return null;
  }
}

export type ConfigOutcome = { loaded: LoadedConfig; error: null } | { loaded: null; error: string };

export function loadConfigOutcome(path: string | undefined): ConfigOutcome {
  try {
    return { loaded: loadConfig(path), error: null };
  } catch (err) {
    if (err instanceof ConfigError) return { loaded: null, error: err.message };
    return { loaded: null, error: `${path && path.length > 0 ? path : defaultConfigPath()}: ${(err as Error).message}` };
  }
}
