// Turns signals into committed transitions. Two inputs, one path:
//  - signal files: each file becomes a queue row that is claimed, processed and finished in ONE
//    transaction together with its effect; only after the commit is the file deleted (done) or moved
//    to failed/ with a .reason (failed). A file's identity (inode, times, size) is its row's source,
//    so after a crash between commit and unlink the file is recognised and finalised, never re-applied.
//  - queued rows (kasmos signal emit, API): peeked, git state resolved, then claimed + processed +
//    finished in one transaction.
// A SIGKILL at any instant therefore loses no signal and applies no transition twice.
import { resolveBranchHead } from "../agents/git.ts";
import { type BranchHead, type ProcessorConfig, type ProcessResult, processSignal } from "../lifecycle/processor.ts";
import { decodePayload } from "../lifecycle/signal-types.ts";
import type { SignalType } from "../lifecycle/types.ts";
import { dedupKey, fileSignalPayload, HIDDEN, parseSignalFileName } from "../signals/grammar.ts";
import { consumeFile, ensureSignalDirs, type FoundFile, listSignalFiles, quarantineFile, readSignalBody, recoverProcessing, signalDirs } from "../signals/files.ts";
import { recordAudit } from "../store/audit.ts";
import { type Db, nowIso, writeTx } from "../store/db.ts";
import { commitResult, snapshotOf } from "../store/effects.ts";
import { claimSignalById, enqueueSignal, findSignalBySource, peekNextPending, recoverStuckSignals, type SignalRow } from "../store/signals.ts";
import { getTask } from "../store/tasks.ts";
import type { EventHub } from "./events.ts";
import type { Logger } from "./log.ts";
import type { RepoEntry } from "./repos.ts";

/** A file younger than this may still be being written (`echo … > file`); it is picked up on the next pass. */
export const SETTLE_MS = 5;
/** Rows processed per repo before yielding to the event loop (keeps the API responsive under bursts). */
const BATCH = 200;

const NEEDS_HEAD: ReadonlySet<SignalType> = new Set(["review_approved", "verify_approved", "verify_failed"]);

export interface ScanStats {
  files: number;
  rows: number;
  unsettled: boolean;
}

export class SignalEngine {
  constructor(
    private db: Db,
    private log: Logger,
    private hub: EventHub,
    private cfg: () => ProcessorConfig,
    private worker: string,
  ) {}

  /** Start-of-life recovery: processing/ files back into place, in-flight rows back to pending. */
  recover(repos: RepoEntry[]): void {
    const rows = recoverStuckSignals(this.db, 0);
    if (rows > 0) this.log.warn(`recovered ${rows} signal rows left in processing`);
    for (const repo of repos) this.prepareRepo(repo);
  }

  prepareRepo(repo: RepoEntry): void {
    if (repo.problem) return;
    for (const d of signalDirs(repo.path)) {
      try {
        if (d.worktree === "") ensureSignalDirs(d.path);
        const n = recoverProcessing(d);
        if (n > 0) this.log.warn(`${repo.project}: moved ${n} files from ${d.rel}/processing back for processing`);
      } catch (err) {
        this.log.warn(`${repo.project}: cannot prepare ${d.rel}: ${(err as Error).message}`);
      }
    }
  }

  async scanRepo(repo: RepoEntry): Promise<ScanStats> {
    const stats: ScanStats = { files: 0, rows: 0, unsettled: false };
    await this.bridgeFiles(repo, stats);
    await this.drainQueue(repo, stats);
    return stats;
  }

  // ---- signal files -------------------------------------------------------------------------

  private async bridgeFiles(repo: RepoEntry, stats: ScanStats): Promise<void> {
    const seen = new Map<string, number>(); // dedup key → row id (root first, then worktrees: reference §2.5)
    const now = Date.now();
    for (const dir of signalDirs(repo.path)) {
      for (const f of listSignalFiles(dir)) {
        if (now - f.mtimeMs < SETTLE_MS && f.regular) {
          stats.unsettled = true;
          continue;
        }
        try {
          await this.handleFile(repo, f, seen);
          stats.files++;
        } catch (err) {
          // Left on disk: retried next pass. Logged, never dropped.
          this.log.error(`${repo.project}: signal file ${f.dir.rel}/${f.name}: ${(err as Error).message}`);
        }
        if (stats.files % BATCH === 0) await Bun.sleep(0);
      }
    }
  }

  private quarantine(repo: RepoEntry, f: FoundFile, reason: string, signalId: number | null, task = "", type = ""): void {
    const at = nowIso();
    const moved = quarantineFile(f.dir, f.name, reason, at);
    if (signalId === null) {
      recordAudit(this.db, {
        kind: "signal_quarantined",
        project: repo.project,
        task,
        event: type,
        message: `${f.dir.rel}/${f.name} moved to failed/: ${reason}`,
        detail: { file: `${f.dir.rel}/${f.name}`, moved_to: moved, reason },
        level: "warn",
      });
    }
    this.log.warn(`${repo.project}: signal ${f.dir.rel}/${f.name} → failed/: ${reason}`);
    this.hub.pump();
  }

  private async handleFile(repo: RepoEntry, f: FoundFile, seen: Map<string, number>): Promise<void> {
    // Already persisted before a crash? Finish the file's fate from the recorded row, never re-apply.
    const prior = findSignalBySource(this.db, f.key);
    if (prior) {
      if (prior.status === "failed") quarantineFile(f.dir, f.name, prior.result || "failed", nowIso());
      else consumeFile(f.path);
      return;
    }
    if (!f.regular) return this.quarantine(repo, f, "not a regular file (symlink, fifo or device)", null);
    const parsed = parseSignalFileName(f.name);
    if (!parsed.ok) {
      if (parsed.reason === HIDDEN) return;
      return this.quarantine(repo, f, parsed.reason, null);
    }
    const sig = parsed.signal;
    const body = readSignalBody(f.path);
    const key = dedupKey(sig);
    let head: BranchHead | null = null;
    if (body.ok && NEEDS_HEAD.has(sig.type)) head = await this.headFor(repo, sig.task);

    const payload = body.ok ? fileSignalPayload(sig, body.body) : "";
    const dupOf = seen.get(key);
    const { id, result } = writeTx(this.db, () => {
      const id = enqueueSignal(this.db, { project: repo.project, task: sig.task, type: sig.type, payload, source: f.key });
      const row = claimSignalById(this.db, id, this.worker)!;
      let result: ProcessResult;
      if (!body.ok) result = failedResult(body.reason);
      else if (dupOf !== undefined) result = failedResult(`duplicate of signal #${dupOf} (same signal in another signals folder)`);
      else result = this.process(repo, row, head);
      this.commit(repo, row, result, `file:${f.dir.rel}/${f.name}`);
      return { id, result };
    });
    if (dupOf === undefined) seen.set(key, id);
    if (result.outcome === "done") consumeFile(f.path);
    else quarantineFile(f.dir, f.name, `signal #${id}: ${result.result}`, nowIso());
    this.afterCommit(repo, sig.task, sig.type, result);
  }

  // ---- queued rows ----------------------------------------------------------------------------

  private async drainQueue(repo: RepoEntry, stats: ScanStats): Promise<void> {
    for (let i = 0; i < 100_000; i++) {
      const next = peekNextPending(this.db, repo.project);
      if (!next) return;
      const head = NEEDS_HEAD.has(next.type) ? await this.headFor(repo, next.task) : null;
      const out = writeTx(this.db, () => {
        const row = claimSignalById(this.db, next.id, this.worker);
        if (!row) return null; // someone else took it
        const result = this.process(repo, row, head);
        this.commit(repo, row, result, row.source || "queue");
        return { row, result };
      });
      if (out) {
        stats.rows++;
        this.afterCommit(repo, out.row.task, out.row.type, out.result);
      }
      if (stats.rows % BATCH === 0) await Bun.sleep(0);
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

  /** Pure decision for one claimed row (inside the transaction). */
  private process(repo: RepoEntry, row: SignalRow, head: BranchHead | null): ProcessResult {
    const decoded = decodePayload(row.type, row.payload);
    if (!decoded.ok) return failedResult(`malformed payload: ${decoded.error}`);
    const task = getTask(this.db, repo.project, row.task);
    return processSignal(
      { task: task ? snapshotOf(task) : null, taskName: row.task, type: row.type, payload: decoded.payload, source: "agent", head, now: nowIso() },
      this.cfg(),
    );
  }

  private commit(repo: RepoEntry, row: SignalRow, result: ProcessResult, source: string): void {
    commitResult(this.db, { project: repo.project, task: row.task, result, signalId: row.id, signalType: row.type, source, worker: this.worker });
    // auto_advance: planner finished → implement_start in the same transaction (daemon-level flag).
    if (result.outcome === "done" && this.cfg().autoAdvance && result.actions.some((a) => a.kind === "auto_implement")) {
      const t = getTask(this.db, repo.project, row.task);
      if (t) {
        const r2 = processSignal(
          { task: snapshotOf(t), taskName: row.task, type: "implement_start", payload: decodeEmpty(), source: "agent", head: null, now: nowIso() },
          this.cfg(),
        );
        commitResult(this.db, { project: repo.project, task: row.task, result: r2, signalId: null, signalType: "implement_start", source: "auto_advance" });
      }
    }
  }

  private afterCommit(repo: RepoEntry, task: string, type: string, result: ProcessResult): void {
    const moves = result.transitions.map((t) => `${t.from}→${t.to}`).join(", ");
    if (result.outcome === "done") this.log.info(`${repo.project}/${task}: ${type} applied${moves ? ` (${moves})` : ""}: ${result.result}`);
    else this.log.warn(`${repo.project}/${task}: ${type} failed: ${result.result}`);
    this.hub.pump();
  }
}

function failedResult(reason: string): ProcessResult {
  return { outcome: "failed", result: reason, transitions: [], update: {}, actions: [] };
}

function decodeEmpty() {
  const d = decodePayload("implement_start", "");
  if (!d.ok) throw new Error(d.error);
  return d.payload;
}
