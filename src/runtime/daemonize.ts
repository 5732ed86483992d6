// `kasmos daemon start` without --foreground: re-execute ourselves detached (setsid) with the log file
// as stdout/stderr, then return only once the child answers on the socket or has died.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync } from "node:fs";
import { openPrivateAppend } from "../config/private-state.ts";
import { dirname } from "node:path";
import { loadConfig } from "../config/load.ts";
import { logFilePath, pidFilePath } from "../config/paths.ts";
import { processAlive } from "../util/process.ts";
import { readPidFile } from "./pidfile.ts";
import { checkSocketPath } from "./runtime-dir.ts";
import { checkSocketPathLength, probeSocket, resolveSocketPath } from "./socket.ts";

export interface DetachResult {
  ok: boolean;
  pid?: number;
  message: string;
}

export const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

export function selfCommand(): string[] {
  return Bun.isStandaloneExecutable ? [process.execPath] : [process.execPath, Bun.main];
}

/**
 * argv that runs `args` with SIGHUP ignored from its first instruction: a HUP during the runtime's own
 * start-up (~5 ms idle, hundreds of ms on a loaded machine), before src/cli.ts can take it, would kill
 * the daemon with the default action. An ignored disposition survives exec (a handler would not); the
 * daemon's own handler replaces it once it runs. Bun.spawn has no option for it, so a shell sets it.
 */
export function hupIgnored(args: string[]): string[] {
  return existsSync("/bin/sh") ? ["/bin/sh", "-c", 'trap "" HUP; exec "$0" "$@"', ...args] : args;
}

function tail(path: string, lines: number): string {
  try {
    const text = readFileSync(path, "utf8");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export async function startDetached(opts: { configPath?: string | undefined; socketFlag?: string | undefined; timeoutMs?: number }): Promise<DetachResult> {
  // Validate up front so a broken config is reported here, not only in the log.
  const loaded = loadConfig(opts.configPath);
  const socket = resolveSocketPath(opts.socketFlag, loaded.config.socket_path);
  checkSocketPathLength(socket);
  checkSocketPath(socket, { create: false });
  if ((await probeSocket(socket)) === "alive") {
    // The pid file follows the socket by a moment; the start lock names the daemon from before it listens.
    const pid = readPidFile(pidFilePath()) ?? readPidFile(`${socket}.lock`);
    return { ok: false, message: `daemon already running${pid ? ` (pid ${pid})` : ""}` };
  }

  const log = logFilePath();
  mkdirSync(dirname(log), { recursive: true, mode: 0o700 });
  if (existsSync(log) && statSync(log).size > LOG_ROTATE_BYTES) renameSync(log, `${log}.1`);
  const logFd = openPrivateAppend(log); // 0600 whatever the umask, an older 0644 log tightened
  const args = [...selfCommand(), "daemon", "start", "--foreground"];
  if (opts.configPath) args.push("--config", opts.configPath);
  if (opts.socketFlag) args.push("--socket", opts.socketFlag);
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(process.env)) if (val !== undefined && k !== "BUN_BE_BUN") env[k] = val;
  env.KASMOS_DAEMONIZED = "1";
  env.NO_COLOR = "1";

  const child = Bun.spawn(hupIgnored(args), { detached: true, stdio: ["ignore", logFd, logFd], env, cwd: "/" });
  child.unref();
  closeSync(logFd);

  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  const pidFile = pidFilePath();
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      // Lost a race with another start: the start lock names the winner.
      const holder = readPidFile(`${socket}.lock`);
      if (holder !== null && holder !== child.pid && processAlive(holder)) return { ok: false, message: `daemon already running (pid ${holder})` };
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      const last = tail(log, 15);
      return { ok: false, message: `daemon failed to start (exit ${child.exitCode ?? child.signalCode}); last lines of ${log}:\n${last}` };
    }
    if (readPidFile(pidFile) === child.pid && (await probeSocket(socket, 500)) === "alive") {
      return { ok: true, pid: child.pid, message: `daemon started (pid ${child.pid})` };
    }
    await Bun.sleep(15);
  }
  return { ok: false, message: `daemon did not answer on ${socket} within ${Math.round((opts.timeoutMs ?? 15_000) / 1000)}s; see ${log}:\n${tail(log, 15)}` };
}
