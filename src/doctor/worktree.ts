// `kas doctor`: the [worktree] settings in force (daemon.toml; a repo's .kasmos/config.toml adds
// copy patterns only).
import type { WorktreeConfig } from "../config/schema.ts";
import type { CheckResult } from "./common.ts";

export function checkWorktreeSettings(cfg: WorktreeConfig): CheckResult & { severity: "warn" } {
  const parts = [
    `copy ${cfg.copy.length > 0 ? JSON.stringify(cfg.copy) : "none"}`,
    `setup ${cfg.setup !== "" ? `\`${cfg.setup}\` (timeout ${cfg.setup_timeout_sec} s)` : "none"}`,
    `teardown ${cfg.teardown !== "" ? `\`${cfg.teardown}\` (timeout ${cfg.teardown_timeout_sec} s)` : "none"}`,
    `KASMOS_PORT ${cfg.ports !== "" ? `from ${cfg.ports}` : "off"}`,
  ];
  return { name: "worktree", ok: true, severity: "warn", detail: parts.join("; "), fix: "" };
}
