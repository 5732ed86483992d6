// `--socket` of `kasmos daemon`: persistent, accepted before or after the subcommand. Apart from the
// command's index so that the subcommands it loads do not import it back.

/** Value of a `--socket` given before the subcommand (`kas daemon --socket S status`). */
let parentSocket: string | undefined;

export const socketArg = {
  socket: { type: "string", description: "path to the daemon unix domain socket (default: $XDG_RUNTIME_DIR/kasmos/kas.sock, else /tmp/kasmos-<uid>/kas.sock)", valueHint: "path" },
} as const;

export function rememberParentSocket(socket: string): void {
  parentSocket = socket;
}

export function socketFlag(args: { socket?: string | undefined }): string | undefined {
  return args.socket && args.socket.length > 0 ? args.socket : parentSocket;
}
