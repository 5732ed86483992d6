// Every on-disk location kasmos uses, derived from HOME / XDG_* so tests can run in a temp HOME.
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

export function homeDir(): string {
  return process.env.HOME && process.env.HOME.length > 0 ? process.env.HOME : homedir();
}

/** `~/.config/kasmos` — config, PID file, store (product page paths are binding). */
export function configDir(): string {
  return join(homeDir(), ".config", "kasmos");
}

export function defaultConfigPath(): string {
  return join(configDir(), "daemon.toml");
}

export function pidFilePath(): string {
  return join(configDir(), "daemon.pid");
}

/** Log file of a daemonized daemon. */
export function logFilePath(): string {
  return join(configDir(), "daemon.log");
}

/** The web dashboard's token (src/web/token.ts). */
export function webTokenPath(): string {
  return join(configDir(), "web-token");
}

/** Embedded SQLite store shared by the daemon and the CLI. */
export function storePath(): string {
  return process.env.KASMOS_STORE && process.env.KASMOS_STORE.length > 0 ? process.env.KASMOS_STORE : join(configDir(), "kasmos.db");
}

/**
 * Socket default from the product page: `$XDG_RUNTIME_DIR/kasmos/kas.sock`, else
 * `/tmp/kasmos-<uid>/kas.sock` (`$TMPDIR` instead of /tmp when it is set to an absolute path, as
 * ssh-agent does).
 */
export function defaultSocketPath(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && xdg.length > 0) return join(xdg, "kasmos", "kas.sock");
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const tmp = process.env.TMPDIR;
  return join(tmp && isAbsolute(tmp) ? tmp : "/tmp", `kasmos-${uid}`, "kas.sock");
}
