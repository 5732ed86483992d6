// Where sandboxed agents reach the daemon: a folder of its own beside the control socket (the folder a
// sandbox binds, so a daemon restart's new sockets are seen), holding the agents' API socket and the
// network proxy's socket.

export function agentSocketPath(controlSocket: string): string {
  return `${controlSocket}.d/agents.sock`;
}

export function netProxyPath(controlSocket: string): string {
  return `${controlSocket}.d/net.sock`;
}

/** Where the bridge to that proxy listens inside a sandbox with a host list (its own network namespace: no clash). */
export const NET_BRIDGE_PORT = 3128;
