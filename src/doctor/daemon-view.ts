// What `kas doctor` asks the running daemon (GET /v1/doctor): the environment that matters is the
// daemon's — agents get it, not the shell's doctor runs in. Names only, never values (IS_SANDBOX is
// a switch, not a secret); the CLI gates (preflight) are run by the daemon in its own environment.
import * as v from "valibot";
import { DaemonView, doctor } from "../api/doctor.ts";
import { daemonClient } from "../server/client.ts";

/** Names of the set, non-empty variables of `env`. */
export function envNames(env: Record<string, string | undefined>): string[] {
  return Object.keys(env)
    .filter((k) => (env[k] ?? "") !== "")
    .sort();
}

/** The daemon's view, or null (no daemon, an older one without the route, no answer). */
export async function fetchDaemonView(socket: string): Promise<DaemonView | null> {
  try {
    // Checked, not trusted: a daemon of another version may answer another shape (fields it added are kept).
    const view = v.safeParse(v.looseObject(DaemonView.entries), await daemonClient(socket)(doctor, { timeout: 10_000 }));
    return view.success ? view.output : null;
  } catch {
    return null;
  }
}
