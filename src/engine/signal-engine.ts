// Turns signals into committed transitions. Two inputs, one path:
//  - signal files: each file becomes a queue row that is claimed, processed and finished in the SAME
//    transaction as its effect; only after the commit is the file deleted (done) or moved to failed/
//    with a .reason (failed). A file's identity (inode, times, size) is its row's source, so after a
//    crash between commit and unlink the file is recognised and finalised, never re-applied.
//  - queued rows (kasmos signal emit, API): peeked, git state resolved, then claimed + processed +
//    finished in one transaction.
// A SIGKILL at any instant therefore loses no signal and applies no transition twice.
// Bursts are committed in batches (one transaction for up to BATCH signals, each still atomic with
// its own effect); a batch that throws is retried one signal at a time so one bad signal cannot
// hold the others back.
import { QuietFolders } from "./quiet-folders.ts";
import { linesChanged, resolveBranchHead } from "../agents/git.ts";
import { lastMaster } from "../store/agents.ts";
import { processSignal } from "../lifecycle/processor.ts";
import type { BranchHead, ProcessorConfig, ProcessResult } from "../lifecycle/model.ts";
import { decodePayload } from "../lifecycle/signal-types.ts";
import type { ExecutionState, SignalType } from "../lifecycle/types.ts";
import { dedupKey, type FileSignal, fileSignalPayload, HIDDEN, parseSignalFileName } from "../signals/grammar.ts";
import { consumeFile, ensureSignalDirs, type FolderFilter, type FoundFile, listSignalFiles, quarantineFile, readSignalBody, recoverProcessing, type SignalDir, signalDirs } from "../signals/files.ts";
import { isLinkRefused, OpenedDirs } from "../util/contained-fs.ts";
import { FolderGuard } from "./folder-guard.ts";
import { foreignSignal, TaskSignalScope } from "./task-signal-scope.ts";
import { ensureExcludedSync } from "../agents/worktree.ts";
import { SettleGate } from "../signals/settle.ts";
import { recordAudit } from "../store/audit.ts";
import { type Db, nowIso, writeTx } from "../store/db.ts";
import { commitResult, snapshotOf } from "../store/effects.ts";
import { claimSignalById, findSignalBySource, insertFinishedSignal, finishSignal, pendingProjects, peekPending, recoverStuckSignals, type SignalRow } from "../store/signals.ts";
import { getTask } from "../store/tasks.ts";
import type { EventHub } from "./events.ts";
import type { Logger } from "../runtime/log.ts";
import type { RepoEntry } from "./repos.ts";

export { SETTLE_MS } from "../signals/settle.ts";
/** Signals committed per transaction, and processed before yielding to the event loop. */
const BATCH = 200;

const NEEDS_HEAD: ReadonlySet<SignalType> = new Set(["review_approved", "verify_approved", "verify_failed"]);

export interface ScanStats {
  files: number;
  /** Files that left the signals folder this scan (consumed or quarantined): progress, unlike `files`. */
  finished: number;
  rows: number;
  /** > 0: some files were too fresh; rescan this repo in that many ms. */
  settleInMs: number;
}

/** A file committed now, or one whose row was committed before a crash (only its file is finished). */
type FileOutcome = { p: PreparedFile; id: number; result: ProcessResult } | { p: PreparedFile; id: number; prior: SignalRow };

interface PreparedFile {
  f: FoundFile;
  sig: FileSignal;
  key: string;
  body: { ok: true; body: string } | { ok: false; reason: string };
  head: BranchHead | null;
}

export class SignalEngine {
  /** Execution state each decided result started from (for the phase_changed audit, without a re-read). */
  private previous = new WeakMap<ProcessResult, ExecutionState>();
  /**
   * Signal folders opened once per scan, not per file. No path from it is kept across an await, so a
   * close() by another repo's scan only makes the next operation open the folder again.
   */
  private dirs = new OpenedDirs();
  /** Refuses folders reached through links, once each (folder-guard.ts). */
  private guard: FolderGuard;
  /** Projects with pending rows, computed once per timer pass (null = check every repo). */
  private pendingSnapshot: Set<string> | null = null;

  constructor(
    private db: Db,
    private log: Logger,
    private hub: EventHub,
    private cfg: (project: string) => ProcessorConfig,
    private worker: string,
    /** Told about every committed result (attention items, forced respawns). */
    private onCommitted: (repo: RepoEntry, task: string, result: ProcessResult) => void = () => {},
    /** Worktree folders to scan, per repo (default: all). */
    private folders: (project: string) => FolderFilter | undefined = () => undefined,
  ) {
    this.guard = new FolderGuard(db, log, hub);
    this.taskDirs = new TaskSignalScope(db, log);
  }

  /** Per-task folders of sandboxed planners and architects (task-signal-scope.ts). */
  private taskDirs: TaskSignalScope;

  /** Every signals folder of the repo: its root's, its worktrees' (sorted), then its tasks' own. */
  private dirsOf(repo: RepoEntry): SignalDir[] {
    return [...signalDirs(repo.path, this.folders(repo.project)), ...this.taskDirs.dirs(repo.project)];
  }

  /** Start-of-life recovery: processing/ files back into place, in-flight rows back to pending. */
  recover(repos: RepoEntry[]): void {
    const rows = recoverStuckSignals(this.db, 0);
    if (rows > 0) this.log.warn(`recovered ${rows} signal rows left in processing`);
    for (const repo of repos) this.prepareRepo(repo);
  }

  prepareRepo(repo: RepoEntry): void {
    if (repo.claiming) return;
    if (repo.problem) return this.guard.skipped(repo);
    try {
      ensureExcludedSync(repo.path); // before the first signal folder exists: never `?? .kasmos/` in git status
    } catch (err) {
      this.log.warn(`${repo.project}: cannot update .git/info/exclude: ${(err as Error).message}`);
    }
    for (const d of [...signalDirs(repo.path), ...this.taskDirs.dirs(repo.project)]) {
      try {
        if (d.worktree === "" && d.owner === undefined) ensureSignalDirs(d);
        const n = recoverProcessing(d);
        if (n > 0) this.log.warn(`${repo.project}: moved ${n} files from ${d.rel}/processing back for processing`);
      } catch (err) {
        if (isLinkRefused(err)) this.guard.refuseFolder(repo, d, err.message);
        else this.log.warn(`${repo.project}: cannot prepare ${d.rel}: ${(err as Error).message}`);
      }
    }
  }

  /** Called before a timer pass over every repo: one query instead of one per repo. */
  beginTimerPass(): void {
    this.pendingSnapshot = new Set(pendingProjects(this.db));
    this.taskDirs.beginPass();
    this.settle.forgetStale();
  }

  endPass(): void {
    this.pendingSnapshot = null;
    this.taskDirs.endPass();
  }

  /**
   * True when scanning this repo now would find nothing: no queued rows (timer passes know which repos
   * have some) and every signal folder unchanged since it was listed empty. Synchronous, so an idle
   * repo costs a stat per folder and no promise (500 idle repos: a pass's garbage drove GC threads).
   */
  nothingToScan(repo: RepoEntry): boolean {
    if (this.pendingSnapshot === null || this.pendingSnapshot.has(repo.project)) return false;
    const now = Date.now();
    for (const dir of this.dirsOf(repo)) if (!this.quiet.unchanged(dir.path, now)) return false;
    return true;
  }

  async scanRepo(repo: RepoEntry): Promise<ScanStats> {
    const stats: ScanStats = { files: 0, finished: 0, rows: 0, settleInMs: 0 };
    if (this.guard.layoutBroken(repo)) return stats; // a link or chmod since registration: nothing more is touched
    // One config read per scan, not per signal (the repo's overrides file is stat'ed on each read).
    try {
      await this.bridgeFiles(repo, stats);
      if (this.pendingSnapshot === null || this.pendingSnapshot.has(repo.project)) await this.drainQueue(repo, stats);
    } finally {
      this.scanCfg.delete(repo.project);
      this.dirs.close();
    }
    return stats;
  }

  /** Processor config of the repos being scanned, read once per scan. */
  private scanCfg = new Map<string, ProcessorConfig>();

  private configOf(project: string): ProcessorConfig {
    let c = this.scanCfg.get(project);
    if (c === undefined) {
      c = this.cfg(project);
      this.scanCfg.set(project, c);
    }
    return c;
  }

  // ---- signal files -------------------------------------------------------------------------

  /** Files whose row is committed but which could not be moved out of the folder (logged once). */
  private unremovable = new Set<string>();

  /** Signal folders seen empty: unchanged ones need no listing. */
  private quiet = new QuietFolders();

  /** When a found file is final (its writer done with it). */
  private settle = new SettleGate();

  private async bridgeFiles(repo: RepoEntry, stats: ScanStats): Promise<void> {
    const seen = new Map<string, number>(); // dedup key → row id (root first, then worktrees: a root signal wins)
    let batch: PreparedFile[] = [];
    for (const dir of this.dirsOf(repo)) {
      this.dirs.trim(); // descriptors bounded, whatever the number of worktrees
      if (this.quiet.unchanged(dir.path, Date.now())) continue;
      const before = this.quiet.before(dir.path);
      let files: FoundFile[];
      try {
        files = listSignalFiles(dir, this.dirs);
      } catch (err) {
        if (!isLinkRefused(err)) throw err;
        this.guard.refuseFolder(repo, dir, err.message);
        if (repo.problem) return; // the repo's own signals folder: nothing of it is touched any more
        continue;
      }
      this.quiet.listed(dir.path, files.length === 0, before);
      for (const f of files) {
        const wait = this.settle.waitMs(f, (msg) => this.log.warn(`${repo.project}: ${msg}`));
        if (wait > 0) {
          stats.settleInMs = stats.settleInMs === 0 ? wait : Math.min(stats.settleInMs, wait);
          continue;
        }
        try {
          const p = await this.prepareFile(repo, f);
          if (p) batch.push(p);
          else stats.finished++; // quarantined
        } catch (err) {
          this.log.error(`${repo.project}: signal file ${f.dir.rel}/${f.name}: ${(err as Error).message}`);
        }
        stats.files++;
        if (batch.length >= BATCH) {
          stats.finished += await this.commitFiles(repo, batch, seen);
          batch = [];
        }
      }
    }
    if (batch.length > 0) stats.finished += await this.commitFiles(repo, batch, seen);
  }

  private quarantine(repo: RepoEntry, f: FoundFile, reason: string): void {
    const moved = quarantineFile(f.dir, f.name, reason, nowIso(), this.dirs);
    recordAudit(this.db, {
      kind: "signal_quarantined",
      project: repo.project,
      message: `${f.dir.rel}/${f.name} moved to failed/: ${reason}`,
      detail: { file: `${f.dir.rel}/${f.name}`, moved_to: moved, reason },
      level: "warn",
    });
    this.log.warn(`${repo.project}: signal ${f.dir.rel}/${f.name} → failed/: ${reason}`);
    this.hub.pump();
  }

  /** Everything that needs no transaction: name checks, body, git HEAD. */
  private async prepareFile(repo: RepoEntry, f: FoundFile): Promise<PreparedFile | null> {
    if (!f.regular) {
      this.quarantine(repo, f, "not a regular file (symlink, fifo or device)");
      return null;
    }
    const parsed = parseSignalFileName(f.name);
    if (!parsed.ok) {
      if (parsed.reason !== HIDDEN) this.quarantine(repo, f, parsed.reason);
      return null;
    }
    const sig = parsed.signal;
    const foreign = foreignSignal(this.db, repo.project, f.dir, sig.task);
    if (foreign) {
      this.quarantine(repo, f, foreign);
      return null;
    }
    // Most signals are empty: no open/read/close for them (a burst is syscall-bound).
    const body: PreparedFile["body"] = f.size === 0 ? { ok: true, body: "" } : readSignalBody(f.dir, f.name, f.size, this.dirs);
    const head = body.ok && NEEDS_HEAD.has(sig.type) ? await this.headFor(repo, sig.task) : null;
    return { f, sig, key: dedupKey(sig), body, head };
  }

  private commitOneFile(repo: RepoEntry, p: PreparedFile, seen: Map<string, number>): FileOutcome {
    // Already persisted before a crash? The file's fate follows the recorded row; never re-applied.
    // Looked up here, inside the batch's transaction: outside one, every lookup is its own read transaction.
    const prior = findSignalBySource(this.db, p.f.key);
    if (prior) return { p, id: prior.id, prior };
    const payload = p.body.ok ? fileSignalPayload(p.sig, p.body.body) : "";
    const dupOf = seen.get(p.key);
    let result: ProcessResult;
    if (!p.body.ok) result = failedResult(p.body.reason);
    else if (dupOf !== undefined) result = failedResult(`duplicate of signal #${dupOf} (same signal in another signals folder)`);
    else result = this.decide(repo, p.sig.task, p.sig.type, payload, p.head);
    // Decided first, then recorded in its final state together with the effect (same transaction).
    const id = insertFinishedSignal(
      this.db,
      { project: repo.project, task: p.sig.task, type: p.sig.type, payload, source: p.f.key, status: result.outcome, result: result.result },
      this.worker,
    );
    this.commit(repo, { id, task: p.sig.task, type: p.sig.type }, result, `file:${p.f.dir.rel}/${p.f.name}`, true);
    if (dupOf === undefined) seen.set(p.key, id);
    return { p, id, result };
  }

  /**
   * Hand committed rows to /v1/events subscribers and let them be written before anything else runs:
   * Bun writes what a stream was given only once the event loop turns (a timer turn; a microtask or
   * setImmediate is not enough), so whatever the caller does next would otherwise delay them.
   */
  private async announceCommitted(): Promise<void> {
    this.hub.pump();
    await Bun.sleep(0);
  }

  /**
   * Commit a batch, tell subscribers, then move its files out of the signals folder. Returns how many
   * files left it.
   */
  private async commitFiles(repo: RepoEntry, batch: PreparedFile[], seen: Map<string, number>): Promise<number> {
    let outcomes: FileOutcome[] = [];
    const seenBefore = new Map(seen);
    try {
      outcomes = writeTx(this.db, () => batch.map((p) => this.commitOneFile(repo, p, seen)));
    } catch (err) {
      this.log.warn(`${repo.project}: batch of ${batch.length} signals failed (${(err as Error).message}); retrying one by one`);
      seen.clear();
      for (const [k, val] of seenBefore) seen.set(k, val);
      outcomes = [];
      for (const p of batch) {
        try {
          outcomes.push(writeTx(this.db, () => this.commitOneFile(repo, p, seen)));
        } catch (e) {
          // Disk full, read-only or locked store: the signal stays on disk and is retried next pass.
          if (isTransientDbError(e)) {
            this.log.error(`${repo.project}: store unavailable (${(e as Error).message}); ${p.f.dir.rel}/${p.f.name} stays for the next pass`);
            break;
          }
          // An internal error on this one signal: quarantine it rather than retry forever.
          try {
            this.quarantine(repo, p.f, `internal error while processing: ${(e as Error).message}`);
          } catch (qe) {
            this.log.error(`${repo.project}: cannot quarantine ${p.f.name}: ${(qe as Error).message}`);
          }
        }
      }
    }
    // Subscribers hear about the committed transitions first; moving the files and logging can follow.
    if (outcomes.length > 0) await this.announceCommitted();
    // Only now, after the commit, does the file leave the signals folder. A file that cannot be moved
    // (permissions) stays and is finished from its row on a later scan; it never blocks the others.
    let finished = 0;
    for (const o of outcomes) {
      try {
        if ("prior" in o) {
          if (o.prior.status === "failed") quarantineFile(o.p.f.dir, o.p.f.name, o.prior.result || "failed", nowIso(), this.dirs);
          else consumeFile(o.p.f.dir, o.p.f.name, this.dirs);
        } else if (o.result.outcome === "done") consumeFile(o.p.f.dir, o.p.f.name, this.dirs);
        else quarantineFile(o.p.f.dir, o.p.f.name, `signal #${o.id}: ${o.result.result}`, nowIso(), this.dirs);
        finished++;
        this.unremovable.delete(o.p.f.key);
      } catch (err) {
        // Said once per file, not on every pass that finds it again.
        if (!this.unremovable.has(o.p.f.key)) {
          if (this.unremovable.size >= 10_000) this.unremovable.clear(); // bounded: at worst a file is reported again
          this.unremovable.add(o.p.f.key);
          this.log.error(`${repo.project}: signal #${o.id} is recorded but ${o.p.f.dir.rel}/${o.p.f.name} cannot be removed (it is finished from its row once it can): ${(err as Error).message}`);
        }
      }
      if ("prior" in o) continue;
      this.logOutcome(repo, o.p.sig.task, o.p.sig.type, o.result);
      this.onCommitted(repo, o.p.sig.task, o.result);
    }
    this.hub.pump();
    return finished;
  }

  // ---- queued rows ----------------------------------------------------------------------------

  private async drainQueue(repo: RepoEntry, stats: ScanStats): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      const rows = peekPending(this.db, repo.project, BATCH);
      if (rows.length === 0) return;
      const heads = new Map<number, BranchHead | null>();
      const selfFix = new Map<number, number | null>();
      for (const r of rows) {
        if (NEEDS_HEAD.has(r.type)) heads.set(r.id, await this.headFor(repo, r.task));
        if (r.type === "verify_approved") selfFix.set(r.id, await this.selfFixLines(repo, r.task, r.payload));
      }
      const one = (r: SignalRow): { row: SignalRow; result: ProcessResult } | null => {
        const row = claimSignalById(this.db, r.id, this.worker);
        if (!row) return null; // someone else took it
        const result = this.process(repo, row, heads.get(r.id) ?? null, selfFix.get(r.id) ?? null);
        this.commit(repo, row, result, row.source || "queue");
        return { row, result };
      };
      let done: ({ row: SignalRow; result: ProcessResult } | null)[];
      try {
        done = writeTx(this.db, () => rows.map(one));
      } catch (err) {
        this.log.warn(`${repo.project}: batch of ${rows.length} queued signals failed (${(err as Error).message}); retrying one by one`);
        done = [];
        for (const r of rows) {
          try {
            done.push(writeTx(this.db, () => one(r)));
          } catch (e) {
            if (isTransientDbError(e)) {
              this.log.error(`${repo.project}: store unavailable (${(e as Error).message}); queued signals wait for the next pass`);
              return;
            }
            this.failRow(r, `internal error while processing: ${(e as Error).message}`);
          }
        }
      }
      if (done.some((d) => d !== null)) await this.announceCommitted(); // before logging
      for (const d of done) {
        if (!d) continue;
        stats.rows++;
        this.logOutcome(repo, d.row.task, d.row.type, d.result);
        this.onCommitted(repo, d.row.task, d.result);
      }
      this.hub.pump();
      await Bun.sleep(0);
    }
  }

  private failRow(r: SignalRow, reason: string): void {
    try {
      writeTx(this.db, () => {
        if (claimSignalById(this.db, r.id, this.worker)) finishSignal(this.db, r.id, "failed", reason);
        recordAudit(this.db, { kind: "signal_failed", project: r.project, task: r.task, event: r.type, signalId: r.id, message: `${r.type} failed: ${reason}`, level: "error" });
      });
    } catch (err) {
      this.log.error(`cannot mark signal #${r.id} failed: ${(err as Error).message}`);
    }
  }

  // ---- shared --------------------------------------------------------------------------------

  private async headFor(repo: RepoEntry, taskName: string): Promise<BranchHead | null> {
    const t = getTask(this.db, repo.project, taskName);
    if (!t || !t.branch) return null;
    try {
      return await resolveBranchHead(repo.path, t.branch);
    } catch {
      return null;
    }
  }

  /** Pure decision for one signal against the task as stored now (inside the transaction). */
  private decide(repo: RepoEntry, taskName: string, type: SignalType, payload: string, head: BranchHead | null, masterSelfFixLines: number | null = null): ProcessResult {
    const decoded = decodePayload(type, payload);
    if (!decoded.ok) return failedResult(`malformed payload: ${decoded.error}`);
    const task = getTask(this.db, repo.project, taskName);
    const waveSignal = type === "implement_task_finished" || type === "implement_wave" || type === "advance_wave" || type === "retry_wave";
    const result = processSignal(
      { task: task ? snapshotOf(this.db, task, waveSignal ? { subtasks: true } : {}) : null, taskName, type, payload: decoded.payload, source: "agent", head, now: nowIso(), masterSelfFixLines },
      this.configOf(repo.project),
    );
    if (task) this.previous.set(result, task.execution);
    return result;
  }

  private process(repo: RepoEntry, row: SignalRow, head: BranchHead | null, selfFix: number | null = null): ProcessResult {
    return this.decide(repo, row.task, row.type, row.payload, head, selfFix);
  }

  /** Lines the task's master changed since it started, up to the commit it approves (git, async). */
  private async selfFixLines(repo: RepoEntry, taskName: string, payload: string): Promise<number | null> {
    const decoded = decodePayload("verify_approved", payload);
    if (!decoded.ok || !decoded.payload.reviewedSha) return null;
    const master = lastMaster(this.db, repo.project, taskName);
    if (!master || !master.baseSha) return null;
    try {
      return await linesChanged(repo.path, master.baseSha, decoded.payload.reviewedSha.toLowerCase());
    } catch {
      return null;
    }
  }

  private commit(repo: RepoEntry, row: { id: number; task: string; type: SignalType }, result: ProcessResult, source: string, rowFinal = false): void {
    const previousExecution = this.previous.get(result);
    commitResult(this.db, { project: repo.project, task: row.task, result, signalId: row.id, signalType: row.type, source, worker: this.worker, rowFinal, ...(previousExecution ? { previousExecution } : {}) });
    // auto_advance: planner finished → implement_start in the same transaction (daemon-level flag).
    if (result.outcome === "done" && this.configOf(repo.project).autoAdvance && result.actions.some((a) => a.kind === "auto_implement")) {
      const t = getTask(this.db, repo.project, row.task);
      if (t) {
        const r2 = processSignal(
          { task: snapshotOf(this.db, t), taskName: row.task, type: "implement_start", payload: EMPTY_PAYLOAD, source: "agent", head: null, now: nowIso() },
          this.configOf(repo.project),
        );
        commitResult(this.db, { project: repo.project, task: row.task, result: r2, signalId: null, signalType: "implement_start", source: "auto_advance" });
      }
    }
  }

  private logOutcome(repo: RepoEntry, task: string, type: string, result: ProcessResult): void {
    const moves = result.transitions.map((t) => `${t.from}→${t.to}`).join(", ");
    if (result.outcome === "done") this.log.info(`${repo.project}/${task}: ${type} applied${moves ? ` (${moves})` : ""}: ${result.result}`);
    else this.log.warn(`${repo.project}/${task}: ${type} failed: ${result.result}`);
  }
}

/** SQLite errors that say "not now" (full disk, read-only or locked file, I/O), not "never". */
export function isTransientDbError(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? "");
  const msg = String((err as Error)?.message ?? "");
  return /^SQLITE_(FULL|READONLY|BUSY|LOCKED|IOERR|CANTOPEN|PERM)/.test(code) || /disk is full|readonly database|database is locked|disk I\/O error|unable to open/i.test(msg);
}

function failedResult(reason: string): ProcessResult {
  return { outcome: "failed", result: reason, transitions: [], update: {}, actions: [] };
}

const EMPTY_DECODED = decodePayload("implement_start", "");
const EMPTY_PAYLOAD = EMPTY_DECODED.ok ? EMPTY_DECODED.payload : (() => { throw new Error("empty payload must decode"); })();
