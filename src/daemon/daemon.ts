// The daemon object: config in force, repo registry, store, scan loop and the control API's state.
import type { Hono } from "hono";
import { existsSync } from "node:fs";
import { ConfigError, flattenConfig, type LoadedConfig, loadConfig } from "../config/load.ts";
import { describeChange } from "../config/secrets.ts";
import type { DaemonConfig } from "../config/schema.ts";
import { measureMachine, waveLimit } from "../config/wave-limit.ts";
import type { Db } from "../store/db.ts";
import { VERSION } from "../version.ts";
import type { Logger } from "../runtime/log.ts";
import { claimRepo, releaseRepo } from "../engine/repo-lock.ts";
import { type RepoEntry, RepoRegistry, repoWarnings } from "../engine/repos.ts";
import { ScanLoop } from "../engine/scan-loop.ts";
import { statusWarnings } from "../engine/repo-warnings.ts";
import type { RepoCounts, RepoStatus, ReloadOutcome, StatusResponse } from "../api/status.ts";
import type { StartQueueState } from "../runner/start-gate.ts";

/** Extension points filled by the lifecycle layer (signals, tasks, events). */
export interface DaemonPlugin {
  mountRoutes?(app: Hono): void;
  scanRepo?(repo: RepoEntry, reason: "timer" | "event"): Promise<void>;
  /** True when this plugin has nothing to do for the repo in this pass (checked synchronously first). */
  nothingToDo?(repo: RepoEntry, reason: "timer" | "event"): boolean;
  /** Per-project task counts for status, computed once per status call. */
  repoCounts?(): Map<string, RepoCounts>;
  /** Agent starts under way and waiting for a slot, for status. */
  startQueue?(): StartQueueState;
  /** `startup`: one of the repos the daemon started with (not a new registration). */
  onRepoAdded?(repo: RepoEntry, startup: boolean): void;
  onRepoRemoved?(repo: RepoEntry): void;
  onConfig?(config: DaemonConfig): void;
  beforePass?(reason: "timer" | "event"): void;
  afterPass?(reason: "timer" | "event"): void;
  start?(): void;
  stop?(): Promise<void>;
}

export class Daemon {
  config: DaemonConfig;
  configPath: string;
  readonly registry: RepoRegistry;
  readonly loop: ScanLoop;
  readonly startedAt = Date.now();
  lastReload: ReloadOutcome | null = null;
  private reloadSeq = 0;
  private plugins: DaemonPlugin[] = [];

  constructor(
    loaded: LoadedConfig,
    readonly socket: string,
    readonly db: Db,
    readonly log: Logger,
  ) {
    this.config = loaded.config;
    this.configPath = loaded.path;
    this.registry = new RepoRegistry(
      db,
      (path, commonDir) => {
        const c = claimRepo(path, socket, commonDir);
        return c.ok ? null : c.owner;
      },
      releaseRepo,
      (entry, startup) => this.repoClaimed(entry, startup),
    );
    this.loop = new ScanLoop(this.config.poll_interval_sec * 1000, () => this.registry.list(), (repo, reason) => this.scanRepo(repo, reason), log, {
      idle: (repo, reason) => this.idleRepo(repo, reason),
      beforePass: (reason) => {
        for (const p of this.plugins) p.beforePass?.(reason);
      },
      afterPass: (reason) => {
        for (const p of this.plugins) p.afterPass?.(reason);
      },
    });
  }

  use(plugin: DaemonPlugin): void {
    this.plugins.push(plugin);
  }

  /**
   * Register config + stored repos; log anything odd (missing dirs, clashes) without failing. Repos new
   * to this run are resolved and claimed in the background (repoClaimed); the daemon listens meanwhile.
   */
  syncRepos(): void {
    const { notes, removed } = this.registry.sync(this.config.repos);
    for (const n of notes) this.log.warn(n);
    for (const p of removed) this.log.info(`repo unregistered: ${p}`);
  }

  private repoClaimed(entry: RepoEntry, startup: boolean): void {
    if (entry.problem) this.log.warn(`repo ${entry.project}: ${entry.problem} (kept registered, skipped by scans until that changes)`);
    for (const p of this.plugins) p.onRepoAdded?.(entry, startup);
    this.loop.kick(entry.project);
  }

  start(): void {
    for (const p of this.plugins) p.onConfig?.(this.config);
    for (const p of this.plugins) p.start?.();
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.registry.claimsSettled();
    for (const p of this.plugins) await p.stop?.();
    this.registry.releaseAll();
  }

  /** Every plugin has nothing to do for a healthy repo: the pass skips it without a promise. */
  private idleRepo(repo: RepoEntry, reason: "timer" | "event"): boolean {
    if (repo.claiming) return true; // scanned once claimed (repoClaimed kicks it)
    if (repo.problem) return false;
    return this.plugins.every((p) => p.scanRepo === undefined || (p.nothingToDo?.(repo, reason) ?? false)) && existsSync(repo.path);
  }

  private async scanRepo(repo: RepoEntry, reason: "timer" | "event"): Promise<void> {
    if (repo.claiming) return;
    // Full re-check (walks up to the .git) only while something is wrong; otherwise a cheap existence test.
    if (repo.problem || !existsSync(repo.path)) this.registry.refresh(repo);
    if (repo.problem) return;
    for (const p of this.plugins) await p.scanRepo?.(repo, reason);
  }

  mountRoutes(app: Hono): void {
    for (const p of this.plugins) p.mountRoutes?.(app);
  }

  status(): StatusResponse {
    let counts = new Map<string, RepoCounts>();
    let starts: StartQueueState = { limit: 0, starting: 0, waiting: [] };
    for (const p of this.plugins) {
      if (p.repoCounts) counts = p.repoCounts();
      if (p.startQueue) starts = p.startQueue();
    }
    const repos = this.registry.list().map((r): RepoStatus => {
      const c = counts.get(r.project) ?? { active_plans: 0, tasks_by_status: {}, tasks: [], failed_signals_24h: 0 };
      return { project: r.project, path: r.path, source: r.source, problem: r.problem, state: r.claiming ? "claiming" : r.problem ? "problem" : "ok", warnings: r.problem || r.claiming ? [] : statusWarnings(r.path), ...c };
    });
    return {
      running: true,
      pid: process.pid,
      version: VERSION,
      uptime_sec: Math.floor((Date.now() - this.startedAt) / 1000),
      socket: this.socket,
      config_path: this.configPath,
      poll_interval_sec: this.config.poll_interval_sec,
      watch_signals: this.config.watch_signals,
      repo_count: repos.length,
      repos,
      last_reload: this.lastReload,
      scan: { ticks: this.loop.ticks, event_passes: this.loop.eventPasses, last_tick_at: this.loop.lastTickAt, last_tick_ms: Math.round(this.loop.lastTickMs * 1000) / 1000 },
      max_parallel_wave_tasks: waveLimit(this.config.orchestration.max_parallel_wave_tasks),
      agent_starts: { limit: starts.limit, starting: starts.starting, waiting: starts.waiting.length },
    };
  }

  addRepo(path: string): RepoEntry & { warnings: string[] } {
    const entry = this.registry.addFromApi(path);
    const warnings = repoWarnings(entry.path);
    this.log.info(`repo registered: ${entry.project} (${entry.path})`);
    for (const w of warnings) this.log.warn(`${entry.project}: ${w}`);
    for (const p of this.plugins) p.onRepoAdded?.(entry, false);
    this.loop.kick(entry.project);
    return { ...entry, warnings };
  }

  removeRepo(project: string): RepoEntry {
    const entry = this.registry.remove(project);
    this.log.info(`repo unregistered: ${entry.project} (${entry.path})`);
    for (const p of this.plugins) p.onRepoRemoved?.(entry);
    return entry;
  }

  /** Re-read the config file and apply it. A broken file is refused and the old config stays in force. */
  reload(source: string): { ok: true; changes: string[]; warnings: string[] } | { ok: false; error: string } {
    const seq = ++this.reloadSeq;
    const at = new Date().toISOString();
    let loaded: LoadedConfig;
    try {
      loaded = loadConfig(this.configPath);
    } catch (err) {
      const error = err instanceof ConfigError ? err.message : `${(err as Error).message}`;
      this.log.error(`reload (${source}) refused, previous config kept: ${error}`);
      this.lastReload = { seq, at, source, ok: false, error, changes: [] };
      return { ok: false, error };
    }
    for (const w of loaded.warnings) this.log.warn(w);
    const prev = this.config;
    const next = loaded.config;
    const changes: string[] = [];
    const a = flattenConfig(prev);
    const b = flattenConfig(next);
    // Compared as they are, shown masked: the reply and the log line never carry a secret.
    for (const k of Object.keys(b)) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) changes.push(describeChange(k, a[k], b[k]));
    if (next.socket_path !== prev.socket_path) this.log.warn("socket_path changed: takes effect at the next daemon start");
    this.config = next;
    measureMachine();
    if (next.poll_interval_sec !== prev.poll_interval_sec) this.loop.setInterval(next.poll_interval_sec * 1000);
    this.syncRepos();
    for (const p of this.plugins) p.onConfig?.(next);
    this.lastReload = { seq, at, source, ok: true, error: null, changes };
    this.log.info(`config reloaded (${source}) from ${loaded.path}: ${changes.length ? changes.join("; ") : "no changes"}`);
    return { ok: true, changes, warnings: loaded.warnings };
  }
}
