// What `kas doctor` asks the running daemon (GET /v1/doctor): the environment that matters is the
// daemon's — agents get it, not the shell's doctor runs in. Names only, never values (IS_SANDBOX is
// a switch, not a secret); the CLI gates (preflight) are run by the daemon in its own environment.

import type { DaemonView } from "../api/doctor.ts";

/** Names of the set, non-empty variables of `env`. */
export function envNames(env: Record<string, string | undefined>): string[] {
  return Object.keys(env)
    .filter((k) => (env[k] ?? "") !== "")
    .sort();
}

/** The daemon's view, or null (no daemon, an older one without the route, no answer). */
export async function fetchDaemonView(socket: string): Promise<DaemonView | null> {
  try {
    const r = await fetch("http://kasmos/v1/doctor", { unix: socket, signal: AbortSignal.timeout(10_000) } as RequestInit & { unix: string });
    if (!r.ok) return null;
    const v = (await r.json()) as DaemonView;
    return Array.isArray(v.env) && typeof v.clis === "object" && v.clis !== null ? v : null;
  } catch {
    return null;
  }
}
