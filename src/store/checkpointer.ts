// WAL checkpoints off the daemon's main thread. SQLite checkpoints inside the COMMIT that crosses
// wal_autocheckpoint: that commit copies the WAL into the database file and syncs it (5–7 ms for
// 1,000 pages on an idle machine, seconds for a WAL another process left behind), and everything
// behind it on the event loop waits: signals, SSE, the API. The daemon's connection therefore never
// checkpoints; a Worker with its own connection runs PASSIVE checkpoints (they never block the
// writer or readers) about once a second while a WAL past SQLite's usual window is changing. Should
// the worker fail, the main connection checkpoints for itself again, so the WAL never grows without bound.
import { statSync } from "node:fs";
import type { Db } from "./db.ts";

/** Main-connection window when no worker checkpoints (bursts commit thousands of pages). */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 8000;

export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

export interface CheckpointerOptions {
  /** How often the WAL is looked at (ms). */
  intervalMs?: number;
  /**
   * A WAL file smaller than this is left alone (SQLite's own default window is 1,000 pages, 4 MB). The
   * worker starts the first time it is needed, so an idle daemon does not carry its memory (~7 MB).
   */
  thresholdBytes?: number;
  /**
   * Past this, the main connection checkpoints for itself until the WAL is back under it: a writer
   * that never pauses gives a PASSIVE checkpoint no moment to finish, and the WAL only restarts from
   * its beginning after a checkpoint that finished. Default 16 × thresholdBytes.
   */
  limitBytes?: number;
  /** Told once when the worker cannot run (the main connection checkpoints again). */
  onFailure?: (message: string) => void;
  /** Each checkpoint the worker ran (tests, metrics). */
  onCheckpoint?: (r: CheckpointResult) => void;
}

// The worker's code travels as a blob: no second entry point for `bun build --compile`.
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db = null;
self.onmessage = (e) => {
  const m = e.data;
  try {
    if (m.kind === "open") {
      db = new Database(m.path, { readwrite: true, create: false });
      db.exec("PRAGMA busy_timeout = 0");
    } else if (m.kind === "checkpoint" && db) {
      postMessage({ kind: "checkpoint", result: db.query("PRAGMA wal_checkpoint(PASSIVE)").get() });
    }
  } catch (err) {
    postMessage({ kind: "failed", message: String((err && err.message) || err) });
  }
};
`;

export class Checkpointer {
  private worker: Worker | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private failed = false;
  private stopped = false;
  private url = "";
  /** The main connection checkpoints for itself (the WAL is past limitBytes). */
  private valveOpen = false;
  /** A checkpoint was asked for and has not answered yet. */
  private inFlight = false;
  /** WAL mtime at the last checkpoint asked for. */
  private lastMtime = -1;
  checkpoints = 0;
  lastResult: CheckpointResult | null = null;

  private constructor(
    private readonly db: Db,
    private readonly walPath: string,
    private readonly storePath: string,
    private readonly opts: CheckpointerOptions,
  ) {}

  /** Checkpoint `path` (the file `db` is open on) from a worker; the main connection stops checkpointing. */
  static start(db: Db, path: string, opts: CheckpointerOptions = {}): Checkpointer {
    const c = new Checkpointer(db, `${path}-wal`, path, opts);
    db.exec("PRAGMA wal_autocheckpoint = 0");
    // A restarted WAL is cut back to this size, so the file's size says how much it holds.
    db.exec(`PRAGMA journal_size_limit = ${c.threshold}`);
    c.timer = setInterval(() => c.tick(), opts.intervalMs ?? 1000);
    c.timer.unref(); // never keeps the daemon (or a test) alive on its own
    return c;
  }

  /** True unless the worker failed or the checkpointer was stopped. */
  get active(): boolean {
    return !this.failed && !this.stopped;
  }

  /** Whether the worker was ever needed. */
  get workerStarted(): boolean {
    return this.worker !== null;
  }

  private get threshold(): number {
    return this.opts.thresholdBytes ?? 4 * 1024 * 1024;
  }

  /** Whether the main connection checkpoints for itself right now (the WAL is past limitBytes). */
  get mainCheckpoints(): boolean {
    return this.valveOpen;
  }

  /** One look at the WAL (the timer's job; public for tests). */
  tick(): void {
    if (!this.active) return;
    let st: { size: number; mtimeMs: number };
    try {
      st = statSync(this.walPath);
    } catch {
      return; // no WAL yet
    }
    const limit = this.opts.limitBytes ?? 16 * this.threshold;
    const over = st.size > limit;
    if (over !== this.valveOpen) {
      this.valveOpen = over;
      // Half the limit, in pages: the next commits checkpoint, and the one after restarts the WAL.
      const pageSize = this.db.query<{ page_size: number }, []>("PRAGMA page_size").get()?.page_size ?? 4096;
      this.db.exec(`PRAGMA wal_autocheckpoint = ${over ? Math.max(1, Math.floor(limit / pageSize / 2)) : 0}`);
    }
    if (this.inFlight || st.size < this.threshold || st.mtimeMs === this.lastMtime) return;
    this.lastMtime = st.mtimeMs;
    const w = this.ensureWorker();
    if (!w) return;
    this.inFlight = true;
    w.postMessage({ kind: "checkpoint" });
  }

  private ensureWorker(): Worker | null {
    if (this.worker) return this.worker;
    try {
      this.url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
      const w = new Worker(this.url);
      w.onmessage = (e: MessageEvent<{ kind: string; message?: string; result?: CheckpointResult }>) => {
        const m = e.data;
        this.inFlight = false;
        if (m.kind === "checkpoint" && m.result) {
          this.checkpoints++;
          this.lastResult = m.result;
          this.opts.onCheckpoint?.(m.result);
        } else if (m.kind === "failed") this.fail(m.message ?? "unknown error");
      };
      w.onerror = (e: ErrorEvent) => this.fail(e.message);
      w.postMessage({ kind: "open", path: this.storePath });
      w.unref();
      this.worker = w;
      return w;
    } catch (err) {
      this.fail((err as Error).message);
      return null;
    }
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.teardown();
    try {
      this.db.exec(`PRAGMA wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
    } catch {
      // The store is closed: nothing left to checkpoint.
    }
    this.opts.onFailure?.(message);
  }

  private teardown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.worker?.terminate();
    this.worker = null;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = "";
  }

  /** Stop (shutdown). The worker's connection is dropped without the full checkpoint a close would run. */
  stop(): void {
    this.stopped = true;
    this.teardown();
  }
}
