// The client side of an agent's credential: a process started by kasmos as a sandboxed agent finds
// its token in KASMOS_AGENT_TOKEN, or in the file KASMOS_AGENT_TOKEN_FILE names (how the daemon hands
// it over: never on a command line). Requests to the daemon then carry it.
import { readFileSync } from "node:fs";

let cached: string | null | undefined;

export function agentTokenFromEnv(): string | null {
  if (cached !== undefined) return cached;
  const direct = process.env.KASMOS_AGENT_TOKEN?.trim();
  if (direct) return (cached = direct);
  const file = process.env.KASMOS_AGENT_TOKEN_FILE;
  if (file) {
    try {
      const t = readFileSync(file, "utf8").trim();
      if (t !== "") return (cached = t);
    } catch {
      // unreadable: requests go without one (and the agents' socket refuses them)
    }
  }
  return (cached = null);
}

/** The header that carries it, when there is one. */
export function agentAuthHeader(): Record<string, string> {
  const t = agentTokenFromEnv();
  return t === null ? {} : { authorization: `Bearer ${t}` };
}
