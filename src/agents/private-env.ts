// Variables of the daemon's environment that agents never get: the daemon's own plumbing (tmux,
// systemd, KASMOS_*), and credentials kasmos uses itself. kasmos pushes branches and opens PRs; an
// agent holding GH_TOKEN could push anywhere the token reaches, so it gets none.
export const AGENT_PRIVATE_ENV = /^(TMUX|TMUX_PANE|KASMOS_[A-Z_]*|INVOCATION_ID|JOURNAL_STREAM|NOTIFY_SOCKET|LISTEN_PID|LISTEN_FDS|LISTEN_FDNAMES|GH_TOKEN|GITHUB_TOKEN|GH_ENTERPRISE_TOKEN|GITHUB_ENTERPRISE_TOKEN)$/;

/** `env` without the variables agents must not get. */
export function agentVisibleEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !AGENT_PRIVATE_ENV.test(k)) out[k] = v;
  return out;
}
