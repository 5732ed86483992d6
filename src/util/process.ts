// Facts about processes by PID, read from the kernel (Linux /proc where it helps).
import { readFileSync } from "node:fs";

/**
 * Is a process with this PID alive? A process of another user counts (it exists); a zombie does not:
 * a killed process can linger as <defunct> until its parent (tmux, PID 1) reaps it. Without /proc
 * the signal-0 probe decides.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return true;
  }
}

/** This process's uid; -1 where the platform has none. */
export function myUid(): number {
  return typeof process.getuid === "function" ? process.getuid() : -1;
}

/** Whether any process (a zombie included) is still in process group `pgid`. */
export function groupExists(pgid: number): boolean {
  if (pgid <= 1) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}
