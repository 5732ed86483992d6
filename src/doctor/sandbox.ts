// `kas doctor`: can agents run in kasmos's sandbox here, and which mode each role gets (a repo's own
// file may raise a role's mode, never lower it: its refusals show under the repo's checks).
import { AGENT_ROLES } from "../agents/programs.ts";
import type { DaemonConfig } from "../config/schema.ts";
import { sandboxAvailability } from "../sandbox/probe.ts";
import { sandboxModeFor } from "../sandbox/spawn.ts";
import { type CheckResult, pass, problem } from "./common.ts";

export async function checkSandbox(config: DaemonConfig): Promise<CheckResult> {
  const avail = await sandboxAvailability();
  const modes = AGENT_ROLES.map((role) => ({ role, mode: sandboxModeFor(config, { agents: {} }, role) }));
  const off = modes.filter((m) => m.mode === "off").map((m) => m.role);
  const required = modes.filter((m) => m.mode === "bwrap").map((m) => m.role);
  const n = config.sandbox.network;
  const net = Array.isArray(n) ? `network: only ${n.join(", ")} through kasmos's proxy` : `network ${n}`;
  const roles = modes.map((m) => `${m.role} ${m.mode === "off" ? "unsandboxed" : avail.ok ? "sandboxed" : m.mode === "bwrap" ? "refused" : "unsandboxed"}`).join(", ");
  if (avail.ok) {
    if (off.length > 0) return problem("sandbox", "warn", `bubblewrap runs here (${avail.bwrap}), but [sandbox] mode = "off" for ${off.join(", ")}: those agents run with your full authority (${roles})`, 'remove mode = "off" (or agents.<role>.sandbox = "off") from daemon.toml');
    return pass("sandbox", "warn", `every agent runs in bubblewrap (${avail.bwrap}; ${net}; writes: its worktree, the git dir, its CLI's state, [sandbox] write; the rest of $HOME absent)`);
  }
  if (required.length > 0) return problem("sandbox", "error", `${avail.reason}: ${required.join(", ")} require it (mode = "bwrap"), so their starts are refused (${roles})`, avail.fix);
  if (off.length === AGENT_ROLES.length) return pass("sandbox", "warn", `off ([sandbox] mode = "off"): agents run with your full authority; bubblewrap here: ${avail.reason}`);
  return problem("sandbox", "warn", `agents run unsandboxed (mode = "auto"): ${avail.reason}`, avail.fix);
}
