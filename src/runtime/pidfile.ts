// ~/.config/kasmos/daemon.pid: written by the daemon once it listens, read by stop/reload.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { processAlive } from "../util/process.ts";
import { dirname } from "node:path";

export function readPidFile(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

/** Atomic write (tmp + rename) so a reader never sees a half-written PID. */
export function writePidFile(path: string, pid: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Remove the PID file only if it still names `pid` (never delete another daemon's file). */
export function removePidFile(path: string, pid?: number): void {
  if (pid !== undefined && readPidFile(path) !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Is `pid` a kasmos daemon (`… daemon start …`), not an unrelated process that reused the PID? */
export function looksLikeDaemon(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.includes("daemon") && argv.includes("start");
  } catch {
    return true; // no /proc: trust the file
  }
}

/**
 * The start lock `<socket>.lock`: created exclusively (O_EXCL) before anything else, holding our PID, so
 * of two daemons started at the same instant exactly one goes on — the other never probes, unlinks or
 * binds a socket the winner is about to listen on. A lock whose PID is gone is taken over.
 */
export function acquireStartLock(path: string): { ok: true } | { ok: false; pid: number } {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return { ok: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = readPidFile(path);
      if (pid !== null && pid !== process.pid && processAlive(pid) && looksLikeDaemon(pid)) return { ok: false, pid };
      if (pid === null) {
        // Being written right now by the winner: give it a moment before calling it abandoned.
        Bun.sleepSync(50);
        const again = readPidFile(path);
        if (again !== null && again !== process.pid && processAlive(again) && looksLikeDaemon(again)) return { ok: false, pid: again };
      }
      removePidFile(path, pid ?? undefined);
    }
  }
  return { ok: false, pid: readPidFile(path) ?? 0 };
}
