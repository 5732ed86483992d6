// When a signal file found in a folder is final — its writer done with it — so its body is read whole.
// Files written in one go or renamed into place (the common case) pass at the first look; a body
// whose writer still holds the file open waits for the close (writer-open.ts), bounded; without that
// answer (no lease support), size and mtime decide: a young file passes once two looks agree.
import type { FoundFile } from "./files.ts";
import { bodyMatters } from "./grammar.ts";
import { writerHoldsOpen } from "./writer-open.ts";

/**
 * A file younger than this may still be being written (`echo … > file`). It is picked up once it is
 * this old by its mtime, or sooner once two looks STABLE_MS apart saw the same size and mtime. The
 * kernel stamps mtimes from a coarse clock (4 ms ticks here), so by mtime alone a file could be as
 * young as 1 ms when it passed; the second look is the stronger check and usually comes sooner.
 */
export const SETTLE_MS = 5;
/** Two looks this far apart with the same size and mtime: the writer is done with the file. */
export const STABLE_MS = 1;
/**
 * An EMPTY review-changes / review-approved file younger than this is not final: its writer may have
 * opened it and not written yet. A file left empty on purpose still goes through after this long.
 */
export const EMPTY_BODY_SETTLE_MS = 1000;
/**
 * An mtime up to this far ahead of our clock is a file written a moment after the clock was read (or
 * a writer's clock a little ahead): young, not settled. Further ahead is a clock jump or a skewed
 * host, and counts as settled: waiting for it could take days.
 */
export const FUTURE_SLACK_MS = 2000;
/**
 * A signal with a body is taken once no process holds it open for writing: a shell that wrote a first
 * line and sleeps before the next must not have its body cut. Bounded: a file its writer keeps open
 * longer than this (from the first look that saw it so) is taken as it is, and logged. A file whose
 * mtime is older than this is final without asking.
 */
export const WRITER_WAIT_MS = 10_000;
/** While a writer holds a signal open: the next look this soon (after 200 ms, every 50 ms). */
const WRITER_RECHECK_MS = 5;
/** Per-file memory is bounded whatever writers do. */
const MAX_TRACKED = 100_000;

export class SettleGate {
  /** Young files by path: their size and mtime at the first look, and when that was (performance.now()). */
  private firstLook = new Map<string, { size: number; mtimeMs: number; at: number }>();
  /** Files seen held open by a writer, by path: when first seen so (performance.now()). */
  private heldOpen = new Map<string, number>();

  /** 0 = take `f` now; else look again in that many ms. `warn` hears of a writer that outlived its bound. */
  waitMs(f: FoundFile, warn: (msg: string) => void): number {
    // The clock is read per file, after listing: a file created after an earlier clock read has an
    // mtime ahead of it, and was once taken as "from the future", i.e. settled, while its writer
    // (a shell redirect) had not written its body yet. Commits between files await, so time moves on.
    const ahead = f.mtimeMs - Date.now();
    // Far ahead (clock jump, skewed host) counts as settled; a little ahead is a fresh file: age 0.
    const age = ahead > FUTURE_SLACK_MS ? Infinity : Math.max(0, -ahead);
    const emptyBody = f.regular && f.size === 0 && bodyMatters(f.name);
    const settle = emptyBody ? EMPTY_BODY_SETTLE_MS : SETTLE_MS;
    // 0 = its writer closed it (written in one go, or renamed into place: no settle wait for a body);
    // > 0 = still open, look again then; null = cannot tell here: size and mtime decide.
    const writer = f.regular && (f.size > 0 || emptyBody) && (age < WRITER_WAIT_MS || this.heldOpen.has(f.path)) ? this.writerWait(f, warn) : null;
    if (writer !== null && writer > 0) return writer;
    if (f.regular && age < settle && (writer === null || emptyBody)) {
      const wait = emptyBody ? settle - age : Math.min(settle - age, this.untilStable(f));
      if (wait > 0) return wait;
    }
    this.firstLook.delete(f.path);
    return 0;
  }

  /** Young files seen once and then gone (removed by someone else) are forgotten. */
  forgetStale(): void {
    const stale = performance.now() - 2 * WRITER_WAIT_MS;
    for (const [path, seen] of this.firstLook) if (seen.at < stale) this.firstLook.delete(path);
    for (const [path, at] of this.heldOpen) if (at < stale) this.heldOpen.delete(path);
  }

  /** 0 when an earlier look ≥ STABLE_MS ago saw this file unchanged; else ms until the next look may say so. */
  private untilStable(f: FoundFile): number {
    const t = performance.now();
    const prev = this.firstLook.get(f.path);
    if (prev && prev.size === f.size && prev.mtimeMs === f.mtimeMs) return Math.max(0, STABLE_MS - (t - prev.at));
    if (this.firstLook.size >= MAX_TRACKED) this.firstLook.clear();
    this.firstLook.set(f.path, { size: f.size, mtimeMs: f.mtimeMs, at: t });
    return STABLE_MS;
  }

  /** ms until the next look while a writer holds `f` open (0 = closed, or the bound passed: take it); null = cannot tell. */
  private writerWait(f: FoundFile, warn: (msg: string) => void): number | null {
    const open = writerHoldsOpen(f.path);
    if (open !== true) {
      this.heldOpen.delete(f.path);
      return open === null ? null : 0;
    }
    const t = performance.now();
    const since = this.heldOpen.get(f.path);
    if (since === undefined) {
      if (this.heldOpen.size >= MAX_TRACKED) this.heldOpen.clear();
      this.heldOpen.set(f.path, t);
      return WRITER_RECHECK_MS;
    }
    if (t - since < WRITER_WAIT_MS) return t - since < 200 ? WRITER_RECHECK_MS : 50;
    this.heldOpen.delete(f.path);
    warn(`signal ${f.dir.rel}/${f.name} is still open for writing after ${WRITER_WAIT_MS / 1000} s: taken as it is (${f.size} bytes)`);
    return 0;
  }
}
