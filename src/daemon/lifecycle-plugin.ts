// Wires the task lifecycle into the daemon: signal detection (watch + poll), the signal engine,
// per-repo task counts for status, the task/signal/event routes, and the live event hub.
import { repoProcessorConfig } from "../config/processor.ts";
import { ACTIVE_STATUSES, TASK_STATUSES } from "../lifecycle/types.ts";
import { RepoSignalWatcher } from "../signals/watch.ts";
import { recordAudit } from "../store/audit.ts";
import { activeTaskSummaries, countTasksByProject } from "../store/task-queries.ts";
import { storeVersion } from "../store/db.ts";
import { storeId } from "../store/identity.ts";
import { liveAgents } from "../store/agents.ts";
import { failedSignalsSince } from "../store/signals.ts";
import type { AgentSummary, RepoCounts } from "../api/status.ts";
import type { Daemon } from "./daemon.ts";
import { EventHub } from "../engine/events.ts";
import type { RepoEntry } from "../engine/repos.ts";
import { type ScanStats, SETTLE_MS, SignalEngine } from "../engine/signal-engine.ts";
import { StoreMetricsReader } from "../engine/metrics.ts";
import { GcRunner, pruneRepoQuarantine } from "../engine/gc.ts";
import { agentRoutes } from "../server/routes/agents.ts";
import { eventRoutes } from "../server/routes/events.ts";
import { signalRoutes } from "../server/routes/signals.ts";
import { taskRoutes } from "../server/routes/tasks.ts";
import { upkeepRoutes } from "../server/routes/upkeep.ts";
import { usageRoutes } from "../server/routes/usage.ts";
import { AgentRunner } from "../runner/runner.ts";
import { promptsDir, runsDir } from "../runner/paths.ts";
import { GitHubWorker } from "../engine/github-worker.ts";
import { WorktreeScope } from "../engine/worktree-scope.ts";
import { Tmux } from "../agents/tmux.ts";
import { dirname, join } from "node:path";
import { summarizeUsage } from "../api/usage.ts";
import { Notifier } from "../engine/notifier.ts";
import { usageOfTasks } from "../store/usage.ts";
import { existsSync } from "node:fs";
import { logFilePath, storePath } from "../config/paths.ts";

/** The directory of the kasmos binary (or dist/ when run from source), put on agents' PATH. */
function binDir(): string {
  if (process.env.KASMOS_BIN_DIR) return process.env.KASMOS_BIN_DIR;
  return Bun.isStandaloneExecutable ? dirname(process.execPath) : join(dirname(Bun.main), "..", "dist");
}

/** Files in one scan of a repo that make it drain by back-to-back scans instead of watch events. */
const BURST_FILES = 16;

export function installLifecycle(d: Daemon): { hub: EventHub; engine: SignalEngine; runner: AgentRunner } {
  const hub = new EventHub(d.db);
  const tmux = new Tmux({ socketName: process.env.KASMOS_TMUX_SOCKET || "kasmos", owner: storeId(d.db) });
  const runner = new AgentRunner({ db: d.db, log: d.log, hub, tmux, config: () => d.config, binDir: binDir(), socketPath: d.socket, kick: (project) => d.loop.kick(project) });
  const repoCfg = (project: string) => repoProcessorConfig(d.config, d.registry.get(project)?.path);
  const github = new GitHubWorker(d, hub);
  // Worktree folders of finished tasks are neither scanned nor watched (see worktree-scope.ts).
  const scopes = new Map<string, WorktreeScope>();
  /** The store's version when the current pass began (worktree scopes re-read only after a change). */
  let passStoreVersion = "";
  const scopeOf = (project: string): WorktreeScope => {
    let s = scopes.get(project);
    if (!s) {
      s = new WorktreeScope(d.db, project);
      s.update(storeVersion(d.db));
      scopes.set(project, s);
    }
    return s;
  };
  const engine = new SignalEngine(
    d.db,
    d.log,
    hub,
    repoCfg,
    `daemon:${process.pid}`,
    (repo, task, result) => {
      runner.onActions(repo, task, result.actions);
      github.onActions(repo, task, result.actions);
    },
    (project) => scopeOf(project).filter,
  );
  const watchers = new Map<string, RepoSignalWatcher>();
  let watching = d.config.watch_signals;
  const settleTimers = new Map<string, ReturnType<typeof setTimeout>>();
  let timerPasses = 0;

  const watch = (repo: RepoEntry): void => {
    if (!watching || repo.problem || repo.claiming || watchers.has(repo.project)) return;
    const scope = scopeOf(repo.project);
    const w = new RepoSignalWatcher(
      repo.path,
      () => d.loop.kick(repo.project),
      (msg) => d.log.warn(`${repo.project}: ${msg}`),
      scope.filter,
      (n) => d.log.info(`${repo.project}: watching ${n} signal folder${n === 1 ? "" : "s"}${scope.skipped > 0 ? ` (${scope.skipped} worktree folder${scope.skipped === 1 ? "" : "s"} of finished tasks left out)` : ""}`),
    );
    w.refresh();
    watchers.set(repo.project, w);
  };
  /** One pending timer per repo that scans it again; an earlier request is kept. */
  const kickLater = (project: string, ms: number): void => {
    if (settleTimers.has(project)) return;
    settleTimers.set(
      project,
      setTimeout(() => {
        settleTimers.delete(project);
        d.loop.kick(project);
      }, ms),
    );
  };
  // A burst (many files in one scan) is drained by scanning back to back with the repo's watches
  // dropped: inotify would deliver ~5 events per file for files the next scan lists anyway. After
  // the first scan that finds nothing, the watches are re-armed and one more scan catches files
  // that landed in between; the poll timer stays the safety net throughout.
  // A repo is in `bursts` exactly while its watches are paused.
  const bursts = new Map<string, { files: number; scans: number; t0: number }>();
  const drainBursts = (repo: RepoEntry, stats: ScanStats): void => {
    const w = watchers.get(repo.project);
    if (!w) return;
    const b = bursts.get(repo.project);
    // Progress is what counts: files that could not be finished (store unavailable, permissions) must
    // not keep the repo scanning back to back.
    if (!b) {
      if (stats.finished < BURST_FILES) return;
      w.pause();
      bursts.set(repo.project, { files: stats.finished, scans: 1, t0: performance.now() });
      d.log.info(`${repo.project}: burst of signal files: scanning back to back until quiet (watches paused)`);
      d.loop.kick(repo.project);
      return;
    }
    b.files += stats.finished;
    b.scans++;
    if (stats.finished > 0) {
      // Files younger than SETTLE_MS wait anyway: scanning again sooner would commit a handful per
      // transaction while a writer is still going. One settle period gathers a useful batch.
      kickLater(repo.project, SETTLE_MS);
    } else if (stats.settleInMs === 0 || stats.files > 0) {
      w.resume();
      bursts.delete(repo.project);
      d.log.info(`${repo.project}: burst drained: ${b.files} signal files in ${b.scans} scans, ${Math.round(performance.now() - b.t0)} ms; watching again`);
      d.loop.kick(repo.project);
    } // else: only files still being written; the settle timer comes back for them
  };
  const unwatch = (project: string): void => {
    bursts.delete(project);
    watchers.get(project)?.close();
    watchers.delete(project);
    scopes.delete(project);
  };

  const audit = (kind: "repo_added" | "repo_removed" | "config_reloaded", project: string, message: string): void => {
    try {
      recordAudit(d.db, { kind, project, message });
      hub.pump();
    } catch (err) {
      d.log.warn(`audit ${kind}: ${(err as Error).message}`);
    }
  };

  let started = false; // repos restored at start are not "added" again in the audit log
  const storeFile = storePath();
  let storeGoneReported = false;
  const notifier = new Notifier(d.db, d.log, () => d.config.notify);
  const metrics = new StoreMetricsReader(d.db);
  const gc = new GcRunner({
    db: d.db,
    log: d.log,
    config: () => d.config,
    repos: () => d.registry.list(),
    metrics,
    promptsDir: promptsDir(),
    runsDir: runsDir(),
    logFile: logFilePath(),
    pump: () => hub.pump(),
  });
  d.use({
    start() {
      started = true;
      notifier.start();
      gc.start();
      engine.recover(d.registry.list());
      for (const r of d.registry.list()) watch(r);
      // First pass right away: signals that arrived while the daemon was down are not left waiting a full interval.
      d.loop.kick();
    },
    beforePass(reason) {
      runner.newPass();
      passStoreVersion = storeVersion(d.db);
      if (reason === "timer") {
        // The daemon keeps its open handle if the store file is deleted, but the CLI would create a
        // new, empty one: say so loudly (once) instead of drifting apart silently.
        const gone = !existsSync(storeFile);
        if (gone && !storeGoneReported) d.log.error(`the store ${storeFile} was deleted while the daemon runs: the CLI now sees an empty store and this daemon's data is lost when it exits; restart the daemon (or restore the file)`);
        storeGoneReported = gone;
        timerPasses++;
        engine.beginTimerPass();
        // PR retries back off by ≥ 30 s: one sweep over every repo each 10th timer pass is plenty.
        if (timerPasses % 10 === 1) {
          const repos = new Map(d.registry.list().filter((r) => r.problem === null && !r.claiming).map((r) => [r.project, r]));
          github.sweep((project) => repos.get(project));
        }
      }
    },
    afterPass() {
      engine.endPass();
    },
    async stop() {
      await runner.settled();
      await runner.stopSetups();
      notifier.stop();
      await gc.stop();
      github.stop();
      for (const t of settleTimers.values()) clearTimeout(t);
      settleTimers.clear();
      for (const p of [...watchers.keys()]) unwatch(p);
      hub.close();
    },
    onConfig(cfg) {
      github.onConfig();
      gc.schedule();
      if (cfg.watch_signals !== watching) {
        watching = cfg.watch_signals;
        if (!watching) for (const p of [...watchers.keys()]) unwatch(p);
        else for (const r of d.registry.list()) watch(r);
        d.log.info(`signal detection: ${watching ? "watch + poll" : "poll only"}`);
      }
    },
    onRepoAdded(repo, startup) {
      engine.prepareRepo(repo);
      watch(repo);
      if (started && !startup) audit("repo_added", repo.project, `repo registered: ${repo.path}`);
    },
    onRepoRemoved(repo) {
      unwatch(repo.project);
      runner.stopRepo(repo.project, "repo removed");
      audit("repo_removed", repo.project, `repo unregistered: ${repo.path}`);
    },
    nothingToDo(repo, reason) {
      // Only a plain timer pass over a quiet repo: the periodic chores, bursts, settle re-kicks, a
      // changed store (worktree scope) and busy agents all take the full scan below.
      if (reason !== "timer" || timerPasses % 15 === 0 || timerPasses % 30 === 2) return false;
      if ((watching && !watchers.has(repo.project)) || bursts.has(repo.project) || settleTimers.has(repo.project)) return false;
      if (scopeOf(repo.project).stale(passStoreVersion)) return false;
      return engine.nothingToScan(repo) && runner.idle(repo.project);
    },
    async scanRepo(repo, reason) {
      // Tasks that (re)opened or finished since the last scan change which worktree folders count.
      const scope = scopeOf(repo.project);
      const scopeChanged = scope.update(passStoreVersion);
      // A repo that came back (or was missing at start) gets its folders and watches now.
      if (watching && !watchers.has(repo.project)) {
        engine.prepareRepo(repo);
        watch(repo);
      } else if (reason === "timer" && timerPasses % 15 === 0) {
        // Safety net for missed folder events (e.g. a worktree added during an inotify overflow).
        scope.forget();
        watchers.get(repo.project)?.refresh();
      } else if (scopeChanged) watchers.get(repo.project)?.refresh();
      const stats = await engine.scanRepo(repo);
      drainBursts(repo, stats);
      runner.schedule(repo); // beside the loop: the signal path never waits for tmux
      // Quarantined files do not pile up forever ([retention]); once a minute or so is plenty.
      if (reason === "timer" && timerPasses % 30 === 2) pruneRepoQuarantine(repo, d.config.retention, false, d.log);
      // Come back exactly when the freshest file is old enough, for this repo only.
      if (stats.settleInMs > 0) kickLater(repo.project, Math.ceil(stats.settleInMs));
    },
    startQueue() {
      return runner.startQueue();
    },
    repoCounts() {
      const out = new Map<string, RepoCounts>();
      for (const r of d.registry.list()) {
        const byStatus: Record<string, number> = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0]));
        out.set(r.project, { active_plans: 0, tasks_by_status: byStatus, tasks: [], failed_signals_24h: 0, watched_folders: watchers.get(r.project)?.watchedPaths.length ?? 0, worktrees_left_out: scopes.get(r.project)?.skipped ?? 0 });
      }
      const agentsByTask = new Map<string, AgentSummary[]>();
      for (const a of liveAgents(d.db)) {
        const k = `${a.project}/${a.task}`;
        agentsByTask.set(k, [...(agentsByTask.get(k) ?? []), { title: a.title, role: a.role, wave: a.wave, started_at: a.startedAt }]);
      }
      const active = activeTaskSummaries(d.db);
      const waitingByTask = new Map<string, { title: string; since: string }[]>();
      for (const w of runner.startQueue().waiting) {
        const k = `${w.project}/${w.task}`;
        waitingByTask.set(k, [...(waitingByTask.get(k) ?? []), { title: w.title, since: w.since }]);
      }
      const spend = new Map<string, { tokens: number; cost: number | null }>();
      for (const project of new Set(active.map((t) => t.project))) {
        const rows = usageOfTasks(d.db, project, active.filter((t) => t.project === project).map((t) => t.name));
        for (const g of summarizeUsage(rows, "task", d.config.pricing).groups) spend.set(g.key, { tokens: g.input + g.output + g.cache_write + g.cache_read, cost: g.cost_usd });
      }
      for (const t of active) {
        const s = spend.get(`${t.project}/${t.name}`);
        out.get(t.project)?.tasks.push({ name: t.name, status: t.status, phase: t.phase, wave: t.wave, attention: t.attention, agents: agentsByTask.get(`${t.project}/${t.name}`) ?? [], agents_waiting: waitingByTask.get(`${t.project}/${t.name}`) ?? [], tokens: s?.tokens ?? 0, cost_usd: s?.cost ?? null });
      }
      const since = new Date(Date.now() - 86_400_000).toISOString();
      for (const [project, e] of out) e.failed_signals_24h = failedSignalsSince(d.db, project, since);
      for (const row of countTasksByProject(d.db)) {
        const e = out.get(row.project);
        if (!e) continue;
        e.tasks_by_status[row.status] = row.n;
        if ((ACTIVE_STATUSES as readonly string[]).includes(row.status)) e.active_plans += row.n;
      }
      return out;
    },
    mountRoutes(app) {
      app.route("/v1", taskRoutes(d, hub));
      app.route("/v1", signalRoutes(d, hub));
      app.route("/v1", eventRoutes(hub));
      app.route("/v1", agentRoutes(d, runner));
      app.route("/v1", usageRoutes(d));
      app.route("/v1", upkeepRoutes(d, { gc, notifier, metrics }));
    },
  });
  return { hub, engine, runner };
}
