// Garbage collection ([retention]): old history rows (src/store/retention.ts), prompt files, quarantined
// signal files, the daemon log, and the worktrees of tasks finished longer than the grace period. Runs
// at idle every gc_interval_min minutes and on demand (POST /v1/gc, `kas daemon gc [--dry-run]`);
// runs never overlap. Store work is in small batches that yield, so the API and signals keep flowing.
import { copyFileSync, existsSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { inspectWorktree, removeWorktree, worktreePath } from "../agents/worktree.ts";
import { untrustFolders } from "../agents/harness/untrust.ts";
import { copiedFilesOf, runTeardown } from "../agents/worktree-setup.ts";
import type { GcKeptWorktree, GcReport, GcWorktree } from "../api/gc.ts";
import type { DaemonConfig, RetentionConfig } from "../config/schema.ts";
import { pruneQuarantine, signalDirs } from "../signals/files.ts";
import { taskSignalDirs } from "../signals/task-folders.ts";
import { classifyIgnored, listShort } from "./gc-ignored.ts";
import { liveAgentByTitle } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { agentTitlesOf, DAY_MS, pruneHistory, reclaimSpace, retentionCutoff, storeSize, taskAtRest, tasksFinishedBefore } from "../store/retention.ts";
import { pendingProjects } from "../store/signals.ts";
import { promptFileOf, runDirOf } from "../runner/paths.ts";
import { LOG_ROTATE_BYTES } from "../runtime/daemonize.ts";
import type { Logger } from "../runtime/log.ts";
import type { StoreMetricsReader } from "./metrics.ts";
import type { RepoEntry } from "./repos.ts";


export interface GcRunOptions {
  dryRun: boolean;
  full: boolean;
  onDemand: boolean;
  /** Also remove worktrees holding git-ignored files that are not build output (`kas daemon gc --force`). */
  force?: boolean;
}

export interface GcDeps {
  db: Db;
  log: Logger;
  config: () => DaemonConfig;
  repos: () => RepoEntry[];
  /** The /v1/metrics reader: folded inside each delete transaction, so its counters never drop. */
  metrics: StoreMetricsReader;
  /** Folder of the agents' prompt files (one sub-folder per project). */
  promptsDir: string;
  /** Folder of the agents' per-run folders (<project>/<title>/). */
  runsDir: string;
  /** The daemonized daemon's log (moved aside past LOG_ROTATE_BYTES); null = none. */
  logFile: string | null;
  /** New audit rows were written (the event stream picks them up). */
  pump: () => void;
}

/** Remove (dryRun: count) a repo's quarantined signal files past [retention] days / quarantine_max_files. */
export function pruneRepoQuarantine(repo: RepoEntry, r: RetentionConfig, dryRun: boolean, log: Logger | null): number {
  let total = 0;
  for (const dir of [...signalDirs(repo.path), ...taskSignalDirs(repo.project)]) {
    let n = 0;
    try {
      n = pruneQuarantine(dir, { maxDays: r.days, maxFiles: r.quarantine_max_files, nowMs: Date.now(), dryRun });
    } catch (err) {
      log?.warn(`${repo.project}: ${dir.rel}/failed not pruned: ${(err as Error).message}`); // a link there is never followed
    }
    if (n > 0 && log && !dryRun) log.info(`${repo.project}: removed ${n} quarantined signal file${n === 1 ? "" : "s"} from ${dir.rel}/failed ([retention] days = ${r.days}, quarantine_max_files = ${r.quarantine_max_files})`);
    total += n;
  }
  return total;
}

/** Remove a file or a folder with what it holds; false when it could not be (gone already, permissions). */
function removeQuiet(path: string): boolean {
  try {
    rmSync(path, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

export class GcRunner {
  private chain: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  /** Worktrees already reported as kept (one audit row per daemon run, not one per pass). */
  private reported = new Set<string>();
  /** Aborted at stop: a run in progress ends after its current batch or git call. */
  private abort = new AbortController();

  constructor(private deps: GcDeps) {}

  start(): void {
    this.stopped = false;
    // The first collection comes at most 10 minutes after the start (a daemon restarted often still collects).
    this.schedule(Math.min(this.deps.config().retention.gc_interval_min * 60_000, 10 * 60_000));
  }

  /** Stop the timer and end a run in progress early (every batch already done stays consistent). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.chain.catch(() => undefined);
  }

  /** (Re)arm the idle timer from the config in force. */
  schedule(delayMs?: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const min = this.deps.config().retention.gc_interval_min;
    if (this.stopped || min <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.idle();
    }, delayMs ?? min * 60_000);
  }

  private async idle(): Promise<void> {
    // Idle means no signal waiting: come back in a minute rather than compete with one.
    if (pendingProjects(this.deps.db).length > 0) return this.schedule(60_000);
    try {
      await this.run({ dryRun: false, full: false, onDemand: false });
    } catch (err) {
      this.deps.log.warn(`gc: ${(err as Error).message}`);
    }
    this.schedule();
  }

  /** One collection; runs queue behind each other. `full` may rewrite an old store once (VACUUM). */
  run(opts: GcRunOptions): Promise<GcReport> {
    const next = this.chain.catch(() => undefined).then(() => this.once(opts));
    this.chain = next;
    return next;
  }

  private async once(opts: GcRunOptions): Promise<GcReport> {
    const t0 = performance.now();
    const { db, log } = this.deps;
    const r = this.deps.config().retention;
    const dryRun = opts.dryRun;
    const nowMs = Date.now();
    const bytesBefore = storeSize(db).bytes;
    const signal = this.abort.signal;
    // Fold the metrics history in slices first: inside each delete transaction only the rows since then are folded.
    if (!dryRun) await this.deps.metrics.ensureWarm();
    const history = await pruneHistory(db, { days: r.days, nowMs, dryRun, beforeDelete: () => this.deps.metrics.sync(), signal });

    const repos = this.deps.repos().filter((e) => e.problem === null && !e.claiming);
    let promptFiles = 0;
    let runFolders = 0;
    const removedTrees: GcWorktree[] = [];
    const keptTrees: GcKeptWorktree[] = [];
    const graceBefore = new Date(nowMs - r.worktree_grace_days * DAY_MS).toISOString();
    for (const repo of repos) {
      for (const t of tasksFinishedBefore(db, repo.project, graceBefore)) {
        if (signal.aborted) break;
        const agents = agentTitlesOf(db, repo.project, t.name);
        if (agents.running) continue;
        let check: Awaited<ReturnType<typeof inspectWorktree>> = null;
        try {
          // A stat first: only a worktree folder that is there costs git calls (a registration whose
          // folder is gone is git's own `worktree prune`, done with the next removal).
          if (existsSync(worktreePath(repo.path, t.branch))) check = await inspectWorktree(repo.path, t.branch);
        } catch (err) {
          keptTrees.push({ project: repo.project, task: t.name, path: repo.path, reason: `git: ${(err as Error).message.split("\n")[0]}` });
          continue;
        }
        if (check !== null) {
          // Files kasmos copied in ([worktree] copy) are copies of the repo root's: never a reason to keep.
          const copied = copiedFilesOf(check.path);
          const { build, valuable } = classifyIgnored(check.ignored.filter((e) => !copied.has(e)));
          const reason = check.dirty.length > 0
            ? `uncommitted work: ${check.dirty.join("; ")}`
            : !check.pushed && !check.merged && !check.prunable ? `branch ${t.branch} is neither pushed nor merged into the default branch`
            : valuable.length > 0 && opts.force !== true ? `git-ignored files that are not build output: ${listShort(valuable)} (kas daemon gc --force deletes them with the worktree)` : null;
          const ignored = [...valuable, ...build];
          const entry = { project: repo.project, task: t.name, path: check.path, ...(ignored.length > 0 ? { ignored } : {}) };
          if (reason !== null) {
            keptTrees.push({ ...entry, reason });
            if (!dryRun) this.reportKept(entry, reason);
            continue;
          }
          if (!dryRun) {
            // The git checks took a while: the task may have been reopened, or an agent started, meanwhile.
            if (!taskAtRest(db, repo.project, t.name)) continue;
            const teardown = await runTeardown(this.deps.config().worktree, { project: repo.project, task: t.name, repo: repo.path, worktree: check.path, logDir: join(this.deps.runsDir, repo.project, t.name) }, signal);
            recordTeardown(db, this.deps.log, repo.project, t.name, this.deps.config().worktree.teardown, teardown);
            try {
              await removeWorktree(repo.path, t.branch);
            } catch (err) {
              keptTrees.push({ ...entry, reason: `git worktree remove: ${(err as Error).message.split("\n")[0]}` });
              continue;
            }
            // The CLIs' trust of the gone folder (preflight added it) goes too.
            const untrusted = await untrustFolders(process.env, [check.path]);
            for (const e of untrusted.errors) this.deps.log.warn(`gc: trust entry of ${check.path} kept: ${e}`);
            const deleted = ignored.length > 0 ? `; git-ignored files deleted with it: ${listShort(ignored)}` : "";
            recordAudit(db, { kind: "worktree_removed", project: repo.project, task: t.name, message: `worktree removed: ${check.path} (${t.status} ${r.worktree_grace_days}+ days, branch ${check.merged ? "merged" : "pushed"})${deleted}`, detail: { path: check.path, branch: t.branch, ignored, untrusted: untrusted.removed } });
          }
          removedTrees.push(entry);
        }
        // The task's prompt files and run folders go with its worktree (or once it has none any more).
        for (const title of agents.titles) {
          const f = promptFileOf(repo.project, title);
          if (existsSync(f) && (dryRun || removeQuiet(f))) promptFiles++;
          const d = runDirOf(repo.project, title);
          if (existsSync(d) && (dryRun || removeQuiet(d))) runFolders++;
        }
      }
    }
    const cutoff = retentionCutoff(r.days, nowMs);
    promptFiles += this.sweepAgentFiles(this.deps.promptsDir, "prompt", cutoff, dryRun);
    runFolders += this.sweepAgentFiles(this.deps.runsDir, "run", cutoff, dryRun);

    let quarantined = 0;
    for (const repo of repos) quarantined += pruneRepoQuarantine(repo, r, dryRun, null);
    const logBytes = this.rotateLog(dryRun);

    const vacuum = dryRun ? "none" : await reclaimSpace(db, { full: opts.full, signal });
    const report: GcReport = {
      dry_run: dryRun,
      days: r.days,
      worktree_grace_days: r.worktree_grace_days,
      removed: { ...history.counts, prompt_files: promptFiles, run_folders: runFolders, quarantined_files: quarantined, log_bytes: logBytes },
      worktrees_removed: removedTrees,
      worktrees_kept: keptTrees,
      bytes_before: bytesBefore,
      bytes_after: storeSize(db).bytes,
      vacuum,
      ms: Math.round(performance.now() - t0),
    };
    const rm = report.removed;
    const anything = rm.signals + rm.audit + rm.agents + rm.prompt_files + rm.run_folders + rm.quarantined_files + rm.log_bytes + removedTrees.length > 0;
    if (!dryRun && (anything || opts.onDemand)) {
      const summary = `gc: removed ${rm.signals} signal, ${rm.audit} audit and ${rm.agents} agent rows, ${rm.prompt_files} prompt files, ${rm.run_folders} agent run folders, ${rm.quarantined_files} quarantined files, ${removedTrees.length} worktrees (${keptTrees.length} kept); store ${bytesBefore} → ${report.bytes_after} bytes (vacuum ${vacuum}) in ${report.ms} ms`;
      log.info(summary);
      recordAudit(db, { kind: "gc", message: summary, detail: { ...rm, worktrees_removed: removedTrees.length, worktrees_kept: keptTrees.length, bytes_before: bytesBefore, bytes_after: report.bytes_after, vacuum } });
      this.deps.pump();
    }
    return report;
  }

  /** A kept worktree is reported once per daemon run: an audit row (warn) and a log line. */
  private reportKept(entry: GcWorktree, reason: string): void {
    const key = `${entry.path}\0${reason}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    const message = `worktree kept: ${entry.path}: ${reason}`;
    this.deps.log.warn(`${entry.project}/${entry.task}: ${message}`);
    recordAudit(this.deps.db, { kind: "worktree_kept", project: entry.project, task: entry.task, level: "warn", message, detail: { path: entry.path, reason } });
    this.deps.pump();
  }

  /**
   * An agent's files under `root`/<project>/ not written to since the cutoff, whose agent no longer
   * runs: its prompt file (`<title>.md`) or its run folder (`<title>/`; its end writes the exit status
   * there).
   */
  private sweepAgentFiles(root: string, kind: "prompt" | "run", cutoff: string | null, dryRun: boolean): number {
    if (cutoff === null) return 0;
    const cutoffMs = Date.parse(cutoff);
    let n = 0;
    for (const project of safeReaddir(root)) {
      const dir = join(root, project);
      for (const name of safeReaddir(dir)) {
        const title = kind === "run" ? name : name.endsWith(".md") ? name.slice(0, -3) : null;
        if (title === null) continue;
        const path = join(dir, name);
        const st = statSync(path, { throwIfNoEntry: false });
        if (!st || !(kind === "run" ? st.isDirectory() : st.isFile()) || st.mtimeMs >= cutoffMs) continue;
        if (liveAgentByTitle(this.deps.db, project, title) !== null) continue;
        if (dryRun || removeQuiet(path)) n++;
      }
    }
    return n;
  }

  /**
   * The daemonized daemon writes its log through an O_APPEND descriptor it cannot reopen: past the
   * limit, the file is copied to daemon.log.1 and truncated in place (`kas daemon logs -f` follows that).
   */
  private rotateLog(dryRun: boolean): number {
    const file = this.deps.logFile;
    if (file === null) return 0;
    const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= LOG_ROTATE_BYTES) return 0;
    if (!dryRun) {
      copyFileSync(file, `${file}.1`);
      truncateSync(file, 0);
    }
    return size;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A teardown's outcome in the audit trail and the log; its failure never keeps the worktree. */
function recordTeardown(db: Db, log: Logger, project: string, task: string, command: string, failure: string | null): void {
  if (command === "") return;
  if (failure !== null) log.warn(`${project}/${task}: ${failure}`);
  recordAudit(db, { kind: "worktree_teardown", project, task, message: failure ?? `worktree teardown \`${command}\` done`, level: failure === null ? "info" : "warn" });
}
