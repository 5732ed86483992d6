// Signal folders seen empty: a folder whose mtime has not moved since it was last listed empty has no
// new entries, so the poll safety net need not list it again.
import { statSync } from "node:fs";

function mtimeNs(path: string): bigint | null {
  try {
    return statSync(path, { bigint: true }).mtimeNs;
  } catch {
    return null;
  }
}

export class QuietFolders {
  /** Path → its mtime (ns) when it was listed empty. */
  private quiet = new Map<string, bigint>();

  /**
   * True when `path` was listed empty and has not changed since. Only trusted when that mtime is over a
   * second old, so a file created within the same clock tick as the listing can never be missed.
   */
  unchanged(path: string, now: number): boolean {
    const known = this.quiet.get(path);
    if (known === undefined) return false;
    const m = mtimeNs(path);
    return m === known && now - Number(m / 1_000_000n) > 1000;
  }

  /** The folder's mtime, to be taken before listing it (a change during the listing moves it). */
  before(path: string): bigint | null {
    return mtimeNs(path);
  }

  /** What a listing found: empty (with the mtime taken before it) is remembered, anything else forgotten. */
  listed(path: string, empty: boolean, before: bigint | null): void {
    if (empty && before !== null) this.quiet.set(path, before);
    else this.quiet.delete(path);
  }
}
