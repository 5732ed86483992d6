// The composition root: builds the daemon's parts (repo registry, scan loop, signal detection and the
// signal engine, the agent runner, the GitHub worker, gc, notifier, metrics, the event hub, the
// dashboard's listener, the control API's app) over an open store, and says in one place what runs at
// start, on each scan pass, on repo add and remove, on reload, and at stop. run.ts owns the process
// around it (config file, socket, pid file, signals).
import type { Hono } from "hono";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { LoadedConfig } from "../config/load.ts";
import { logFilePath, storePath } from "../config/paths.ts";
import { repoProcessorConfig } from "../config/processor.ts";
import type { DaemonConfig } from "../config/schema.ts";
import { measureMachine } from "../config/wave-limit.ts";
import { Tmux } from "../agents/tmux.ts";
import type { ReloadOutcome } from "../api/status.ts";
import { recordAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { storeId } from "../store/identity.ts";
import type { Logger } from "../runtime/log.ts";
import { EventHub } from "../engine/events.ts";
import { GcRunner, pruneRepoQuarantine } from "../engine/gc.ts";
import { GitHubWorker } from "../engine/github-worker.ts";
import { StoreMetricsReader } from "../engine/metrics.ts";
import { Notifier } from "../engine/notifier.ts";
import { repoCounts } from "./repo-counts.ts";
import { claimRepo, releaseRepo } from "../engine/repo-lock.ts";
import { type RepoEntry, RepoRegistry, repoWarnings } from "../engine/repos.ts";
import { type PassReason, ScanLoop } from "../engine/scan-loop.ts";
import { SignalDetection } from "../engine/signal-detection.ts";
import { SignalEngine } from "../engine/signal-engine.ts";
import { AgentRunner } from "../runner/runner.ts";
import { promptsDir, runsDir } from "../runner/paths.ts";
import { agentRoutes } from "../server/routes/agents.ts";
import { createApp } from "../server/routes/app.ts";
import { daemonRoutes } from "../server/routes/daemon.ts";
import { doctorRoutes } from "../server/routes/doctor.ts";
import { eventRoutes } from "../server/routes/events.ts";
import { repoRoutes } from "../server/routes/repos.ts";
import { signalRoutes } from "../server/routes/signals.ts";
import { taskRoutes } from "../server/routes/tasks.ts";
import { upkeepRoutes } from "../server/routes/upkeep.ts";
import { usageRoutes } from "../server/routes/usage.ts";
import { WebServer } from "../web/server.ts";
import type { Daemon, ReloadResult } from "../server/running-daemon.ts";
import { rereadConfig } from "./reload.ts";
import { daemonStatus } from "./status.ts";

export interface ComposedDaemon {
  daemon: Daemon;
  /** The control API (served on the unix socket by run.ts, and over TCP by the dashboard's listener). */
  app: Hono;
  /** Register config + stored repos; repos new to this run are claimed in the background. */
  syncRepos(): void;
  start(): void;
  stop(): Promise<void>;
}

/** The directory of the kasmos binary (or dist/ when run from source), put on agents' PATH. */
function binDir(): string {
  if (process.env.KASMOS_BIN_DIR) return process.env.KASMOS_BIN_DIR;
  return Bun.isStandaloneExecutable ? dirname(process.execPath) : join(dirname(Bun.main), "..", "dist");
}

export function composeDaemon(loaded: LoadedConfig, socket: string, db: Db, log: Logger): ComposedDaemon {
  let config = loaded.config;
  const configPath = loaded.path;
  const startedAt = Date.now();
  let lastReload: ReloadOutcome | null = null;
  let reloadSeq = 0;
  let started = false; // repos restored at start are not "added" again in the audit log
  let timerPasses = 0;
  const storeFile = storePath();
  let storeGoneReported = false;

  // ---- the parts ------------------------------------------------------------------------------
  const registry = new RepoRegistry(
    db,
    (path, commonDir) => {
      const c = claimRepo(path, socket, commonDir);
      return c.ok ? null : c.owner;
    },
    releaseRepo,
    (entry, startup) => repoClaimed(entry, startup),
  );
  const loop = new ScanLoop(config.poll_interval_sec * 1000, () => registry.list(), (repo, reason) => scanRepo(repo, reason), log, { idle: idleRepo, beforePass, afterPass });
  const daemon: Daemon = {
    get config() {
      return config;
    },
    db,
    log,
    registry,
    loop,
    startedAt,
    status,
    addRepo,
    removeRepo,
    reload,
  };
  const kick = (project: string): void => loop.kick(project);
  const hub = new EventHub(db);
  const tmux = new Tmux({ socketName: process.env.KASMOS_TMUX_SOCKET || "kasmos", owner: storeId(db) });
  const runner = new AgentRunner({ db, log, hub, tmux, config: () => config, binDir: binDir(), socketPath: socket, kick });
  const github = new GitHubWorker(daemon, hub);
  const detection = new SignalDetection({ db, log, kick, watchSignals: config.watch_signals });
  const engine = new SignalEngine(
    db,
    log,
    hub,
    (project) => repoProcessorConfig(config, registry.get(project)?.path),
    `daemon:${process.pid}`,
    (repo, task, result) => {
      runner.onActions(repo, task, result.actions);
      github.onActions(repo, task, result.actions);
    },
    (project) => detection.filterOf(project),
  );
  const notifier = new Notifier(db, log, () => config.notify);
  const metrics = new StoreMetricsReader(db);
  const gc = new GcRunner({ db, log, config: () => config, repos: () => registry.list(), metrics, promptsDir: promptsDir(), runsDir: runsDir(), logFile: logFilePath(), pump: () => hub.pump() });
  const web = new WebServer(daemon);
  const app = createApp(log, [
    daemonRoutes(daemon),
    doctorRoutes(daemon),
    repoRoutes(daemon),
    taskRoutes(daemon, hub),
    signalRoutes(daemon, hub),
    eventRoutes(hub),
    agentRoutes(daemon, runner),
    usageRoutes(daemon),
    upkeepRoutes(daemon, { gc, notifier, metrics }),
  ]);
  web.mountRoutes(app);

  // ---- start and stop -------------------------------------------------------------------------
  function start(): void {
    applyConfig(config);
    started = true;
    notifier.start();
    gc.start();
    engine.recover(registry.list());
    for (const r of registry.list()) detection.watch(r);
    // First pass right away: signals that arrived while the daemon was down are not left waiting a full interval.
    loop.kick();
    loop.start();
  }

  async function stop(): Promise<void> {
    await loop.stop();
    await registry.claimsSettled();
    await runner.settled();
    await runner.stopSetups();
    notifier.stop();
    await gc.stop();
    github.stop();
    detection.stop();
    hub.close();
    await web.stop();
    registry.releaseAll();
  }

  // ---- one scan pass --------------------------------------------------------------------------
  // Chores on some timer passes only: every 15th re-reads every watched folder, every 30th (offset 2)
  // prunes quarantined files; a pass with a chore scans every repo in full.
  const refreshPass = (): boolean => timerPasses % 15 === 0;
  const prunePass = (): boolean => timerPasses % 30 === 2;

  function beforePass(reason: PassReason): void {
    runner.newPass();
    detection.beginPass();
    if (reason !== "timer") return;
    // The daemon keeps its open handle if the store file is deleted, but the CLI would create a
    // new, empty one: say so loudly (once) instead of drifting apart silently.
    const gone = !existsSync(storeFile);
    if (gone && !storeGoneReported) log.error(`the store ${storeFile} was deleted while the daemon runs: the CLI now sees an empty store and this daemon's data is lost when it exits; restart the daemon (or restore the file)`);
    storeGoneReported = gone;
    timerPasses++;
    engine.beginTimerPass();
    // PR retries back off by ≥ 30 s: one sweep over every repo each 10th timer pass is plenty.
    if (timerPasses % 10 === 1) {
      const repos = new Map(registry.list().filter((r) => r.problem === null && !r.claiming).map((r) => [r.project, r]));
      github.sweep((project) => repos.get(project));
    }
  }

  function afterPass(): void {
    engine.endPass();
  }

  /** Nothing to do for a healthy repo in this pass: it is skipped without a promise. */
  function idleRepo(repo: RepoEntry, reason: PassReason): boolean {
    if (repo.claiming) return true; // scanned once claimed (repoClaimed kicks it)
    if (repo.problem) return false;
    // Only a plain timer pass over a quiet repo: the chores, bursts, settle re-kicks, a changed store
    // (worktree scope) and busy agents all take the full scan.
    if (reason !== "timer" || refreshPass() || prunePass()) return false;
    return detection.quiet(repo.project) && engine.nothingToScan(repo) && runner.idle(repo.project) && existsSync(repo.path);
  }

  async function scanRepo(repo: RepoEntry, reason: PassReason): Promise<void> {
    if (repo.claiming) return;
    // Full re-check (walks up to the .git) only while something is wrong; otherwise a cheap existence test.
    if (repo.problem || !existsSync(repo.path)) registry.refresh(repo);
    if (repo.problem) return;
    if (detection.beforeScan(repo, reason === "timer" && refreshPass()) === "unwatched") {
      // A repo that came back (or was missing at start) gets its folders and watches now.
      engine.prepareRepo(repo);
      detection.watch(repo);
    }
    const stats = await engine.scanRepo(repo);
    detection.afterScan(repo, stats);
    runner.schedule(repo); // beside the loop: the signal path never waits for tmux
    // Quarantined files do not pile up forever ([retention]).
    if (reason === "timer" && prunePass()) pruneRepoQuarantine(repo, config.retention, false, log);
  }

  // ---- repos added and removed ----------------------------------------------------------------
  function syncRepos(): void {
    const { notes, removed } = registry.sync(config.repos);
    for (const n of notes) log.warn(n);
    for (const p of removed) log.info(`repo unregistered: ${p}`);
  }

  /** A repo of the config or the store, claimed in the background (`startup`: one the daemon started with). */
  function repoClaimed(entry: RepoEntry, startup: boolean): void {
    if (entry.problem) log.warn(`repo ${entry.project}: ${entry.problem} (kept registered, skipped by scans until that changes)`);
    repoAdded(entry, startup);
  }

  function addRepo(path: string): RepoEntry & { warnings: string[] } {
    const entry = registry.addFromApi(path);
    const warnings = repoWarnings(entry.path);
    log.info(`repo registered: ${entry.project} (${entry.path})`);
    for (const w of warnings) log.warn(`${entry.project}: ${w}`);
    repoAdded(entry, false);
    return { ...entry, warnings };
  }

  function repoAdded(entry: RepoEntry, startup: boolean): void {
    engine.prepareRepo(entry);
    detection.watch(entry);
    if (started && !startup) audit("repo_added", entry.project, `repo registered: ${entry.path}`);
    loop.kick(entry.project);
  }

  function removeRepo(project: string): RepoEntry {
    const entry = registry.remove(project);
    log.info(`repo unregistered: ${entry.project} (${entry.path})`);
    detection.unwatch(entry.project);
    runner.stopRepo(entry.project, "repo removed");
    audit("repo_removed", entry.project, `repo unregistered: ${entry.path}`);
    return entry;
  }

  function audit(kind: "repo_added" | "repo_removed", project: string, message: string): void {
    try {
      recordAudit(db, { kind, project, message });
      hub.pump();
    } catch (err) {
      log.warn(`audit ${kind}: ${(err as Error).message}`);
    }
  }

  // ---- config: at start and on reload ---------------------------------------------------------
  function applyConfig(next: DaemonConfig): void {
    github.onConfig();
    gc.schedule();
    detection.setWatching(next.watch_signals, registry.list());
    web.onConfig(next);
  }

  function reload(source: string): ReloadResult {
    const seq = ++reloadSeq;
    const at = new Date().toISOString();
    const r = rereadConfig(configPath, config, source, log);
    if (!r.ok) {
      lastReload = { seq, at, source, ok: false, error: r.error, changes: [] };
      return { ok: false, error: r.error };
    }
    const prev = config;
    config = r.loaded.config;
    measureMachine();
    if (config.poll_interval_sec !== prev.poll_interval_sec) loop.setInterval(config.poll_interval_sec * 1000);
    syncRepos();
    applyConfig(config);
    lastReload = { seq, at, source, ok: true, error: null, changes: r.changes };
    log.info(`config reloaded (${source}) from ${r.loaded.path}: ${r.changes.length ? r.changes.join("; ") : "no changes"}`);
    return { ok: true, changes: r.changes, warnings: r.loaded.warnings };
  }

  function status() {
    const starts = runner.startQueue();
    return daemonStatus({ config, configPath, socket, startedAt, registry, loop, lastReload, starts, counts: repoCounts(db, registry.list(), detection, starts, config.pricing) });
  }

  return { daemon, app, syncRepos, start, stop };
}
