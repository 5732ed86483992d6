// Foreground daemon: load config, take the socket, write the PID file, serve, scan, shut down cleanly.
import { existsSync, lstatSync, rmSync } from "node:fs";
import { ConfigError, loadConfig } from "../config/load.ts";
import { configDir, pidFilePath, storePath } from "../config/paths.ts";
import { ensurePrivateDir, securePrivateState } from "../config/private-state.ts";
import { Checkpointer, FALLBACK_AUTOCHECKPOINT_PAGES } from "../store/checkpointer.ts";
import { openStore } from "../store/db.ts";
import { createDaemonLogger } from "../runtime/log.ts";
import { acquireStartLock, readPidFile, removePidFile, writePidFile } from "../runtime/pidfile.ts";
import { checkSocketPathLength, ensureSocketDir, probeSocket, removeStaleSocket, resolveSocketPath } from "../runtime/socket.ts";
import { serveAgents } from "../server/agent-gate.ts";
import { agentSocketPath, netProxyPath } from "../server/agent-paths.ts";
import { serveNetProxy } from "../server/net-proxy.ts";
import { VERSION } from "../version.ts";
import { startProcessesOffThread } from "../util/spawn-off-thread.ts";
import { logNewerClis } from "./cli-versions.ts";

export interface RunOptions {
  configPath?: string | undefined;
  socketFlag?: string | undefined;
}

/** Runs until SIGTERM/SIGINT. Returns the exit code for startup failures (never returns on success). */
export async function runForeground(opts: RunOptions): Promise<number> {
  const log = createDaemonLogger();
  let loaded;
  try {
    loaded = loadConfig(opts.configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error(`invalid config: ${err.message}`);
      return 1;
    }
    throw err;
  }
  for (const w of loaded.warnings) log.warn(w);

  const socket = resolveSocketPath(opts.socketFlag, loaded.config.socket_path);
  try {
    checkSocketPathLength(socket);
    ensureSocketDir(socket);
  } catch (err) {
    log.error((err as Error).message);
    return 1;
  }
  const lockFile = `${socket}.lock`;
  const lock = acquireStartLock(lockFile);
  if (!lock.ok) {
    log.error(`daemon already running${lock.pid ? ` (pid ${lock.pid})` : ""}`);
    return 1;
  }
  const release = (code: number): number => {
    removePidFile(lockFile, process.pid);
    return code;
  };
  const state = await probeSocket(socket);
  if (state === "alive") {
    // Only reached without the start lock held by a live daemon (a different socket path's lock, or
    // none): the pid file is the best name left.
    const pid = readPidFile(pidFilePath());
    log.error(`daemon already running${pid ? ` (pid ${pid})` : ""} on ${socket}`);
    return release(1);
  }
  if (state === "stale") {
    // Never unlink something that is not a socket (a mistyped socket_path pointing at a real file).
    if (!lstatSync(socket).isSocket()) {
      log.error(`refusing to use ${socket}: a file that is not a unix socket is in the way`);
      return release(1);
    }
    log.warn(`removing stale socket ${socket}`);
    removeStaleSocket(socket);
  }

  let db: ReturnType<typeof openStore>;
  // Store, logs, prompts and run folders: 0600 in 0700 folders; what others could read is tightened now.
  for (const note of [ensurePrivateDir(configDir()), ...securePrivateState()]) if (note !== null) log.warn(`private files: ${note}`);
  try {
    db = openStore(storePath());
  } catch (err) {
    log.error((err as Error).message);
    return release(1);
  }
  // Checkpoints run in a worker (src/store/checkpointer.ts), never inside one of the daemon's commits.
  // Its fallback, should the worker fail: bursts commit thousands of pages, and checkpointing every
  // 1,000 (the default) re-copies the same hot index pages over and over; 8,000 keeps the WAL bounded
  // (~30 MB) at a fraction of the cost.
  db.exec(`PRAGMA wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  startProcessesOffThread(true); // git and tmux never block the event loop while they start
  const { composeDaemon } = await import("./compose.ts");
  const composed = composeDaemon(loaded, socket, db, log);
  const { daemon, app } = composed;
  composed.syncRepos();

  let server: ReturnType<typeof Bun.serve>;
  const oldUmask = process.umask(0o177); // socket created 0600 with no chmod race
  try {
    // The default 10 s idle timeout cut requests still being worked on (a hanging webhook in
    // `notify test`, a long gc, an agent restart waiting out its grace), and the CLI read the reset as
    // "daemon not running". Per-request server.timeout() does not apply to unix sockets (Bun 1.4.5,
    // measured), and a unix peer's end is closed by the kernel when it exits, so no idle cut at all.
    // Bun's types leave idleTimeout out for unix sockets; the runtime honours it (measured).
    const options = { unix: socket, fetch: app.fetch, maxRequestBodySize: 8 * 1024 * 1024, idleTimeout: 0 };
    server = Bun.serve(options as Omit<typeof options, "idleTimeout">);
  } catch (err) {
    process.umask(oldUmask);
    log.error(`cannot listen on ${socket}: ${(err as Error).message}`);
    db.close();
    return release(1);
  }
  process.umask(oldUmask);
  // Sandboxed agents reach the daemon only here, with their own token (agent-gate.ts).
  let agentServer: ReturnType<typeof Bun.serve> | null = null;
  try {
    agentServer = serveAgents(daemon, app, socket);
  } catch (err) {
    log.error(`cannot listen on the agents' socket ${agentSocketPath(socket)}: ${(err as Error).message} (sandboxed agents cannot report to the daemon)`);
  }
  // Agents whose [sandbox] network is a host list reach those hosts only through this proxy.
  let netProxy: ReturnType<typeof serveNetProxy> | null = null;
  try {
    netProxy = serveNetProxy(daemon, socket);
  } catch (err) {
    log.error(`cannot listen on the agents' network proxy ${netProxyPath(socket)}: ${(err as Error).message} (agents with a [sandbox] network list reach no host)`);
  }
  const checkpointer = Checkpointer.start(db, storePath(), { onFailure: (m) => log.warn(`store checkpoints are back on the main thread: ${m}`) });

  const pidFile = pidFilePath();
  writePidFile(pidFile, process.pid);
  composed.start();
  log.info(`kasmos ${VERSION} daemon listening on ${socket} (pid ${process.pid}, config ${loaded.fileExists ? loaded.path : "embedded defaults"}, ${daemon.registry.list().length} repos)`);
  // In the background: a slow `--version` never holds up the start.
  void logNewerClis(loaded.config, log);

  let stopping = false;
  const shutdown = async (sig: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info(`received ${sig}, shutting down`);
    const hardStop = setTimeout(() => {
      log.error("shutdown took longer than 10s, exiting anyway");
      cleanupFiles();
      process.exit(1);
    }, 10_000);
    try {
      await composed.stop();
    } catch (err) {
      log.error(`error while stopping: ${(err as Error).message}`);
    }
    server.stop(true);
    agentServer?.stop(true);
    netProxy?.stop(true);
    checkpointer.stop();
    cleanupFiles();
    // No db.close(): closing the last connection checkpoints the whole WAL synchronously (tens of MB
    // after a burst, seconds on a slow disk, and it blocks the hard-stop timer). Every transaction is
    // already committed to the WAL; the next open recovers it, so exiting without the checkpoint is safe.
    clearTimeout(hardStop);
    log.info("daemon stopped");
    process.exit(0);
  };
  const cleanupFiles = (): void => {
    if (existsSync(socket)) removeStaleSocket(socket);
    rmSync(agentSocketPath(socket), { force: true });
    rmSync(netProxyPath(socket), { force: true });
    removePidFile(pidFile, process.pid);
    removePidFile(lockFile, process.pid);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGHUP", () => {
    daemon.reload("SIGHUP");
  });
  // One that came while starting (caught by src/cli.ts) is applied now.
  const early = globalThis as { kasmosEarlySighup?: boolean };
  if (early.kasmosEarlySighup) {
    early.kasmosEarlySighup = false;
    daemon.reload("SIGHUP");
  }
  // A bug in one handler must not take the daemon (and every repo's automation) down with it.
  process.on("uncaughtException", (err) => log.error(`uncaught exception: ${err.stack ?? err.message}`));
  process.on("unhandledRejection", (reason) => log.error(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));

  await new Promise<never>(() => {});
  return 0;
}
