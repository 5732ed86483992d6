// What runs in an agent's pane around the agent itself (a small shell, see paneWrapper), and how the
// exit status it records is read back.
import { lstatSync } from "node:fs";
import { readSmallRegularFile } from "./record-file.ts";

const niceBins = new Map<string, string | null>();

function niceBin(path: string): string | null {
  let bin = niceBins.get(path);
  if (bin === undefined) {
    bin = Bun.which("nice", { PATH: path });
    niceBins.set(path, bin);
  }
  return bin;
}

/**
 * The status the pane's shell wrote (see paneWrapper; read once the pane is dead, so whole); null when
 * absent or unreadable. The path comes from a session option the agent could change and the file sits
 * where the agent can write: only a regular file is read (lstat, then opened without following a link
 * or waiting on a FIFO, then fstat), and at most a few bytes of it.
 */
export function statusFromFile(raw: string | undefined): number | null {
  if (!raw) return null;
  let path: string;
  try {
    path = decodeURIComponent(raw);
    if (!lstatSync(path).isFile()) return null; // a device is never even opened
  } catch {
    return null;
  }
  const text = readSmallRegularFile(path, 16)?.trim() ?? "";
  return /^\d{1,3}$/.test(text) ? Number(text) : null;
}

/**
 * The pane runs a shell that runs the agent, not exec'ing it, for what tmux 3.3a gets wrong at exit:
 * - Now and then it shows a pane dead and never its exit status: the shell writes the status to `file`
 *   (when given), then exits with it, so tmux's own status, when it has one, says the same.
 * - Now and then it drops the last output of a process that exits at once (measured: 4 of 320 panes
 *   lost an `echo` before `exit`; 0 of 400 with this shell): the shell keeps the terminal open 0.1 s
 *   after the agent ends.
 * The shell traps INT/QUIT/TERM with a no-op, so a C-c reaches the agent (a trapped signal is reset to
 * default in a child) while the shell lives on to record how it ended. HUP is left alone: on a hang-up
 * (kill-session) the kernel signals only the session leader, this shell; as it dies, the kernel
 * hangs up the agent's process group in turn. A stop records its own outcome, so no file then.
 *
 * Niceness n > 0: the pane's process leads a session, hence an autogroup, of its own
 * (kernel.sched_autogroup_enabled), which everything the agent starts shares; with autogroups the
 * kernel shares CPU between those first, so a process nice alone would change nothing. The shell runs
 * under `nice -n` (found on the agent's PATH, once), so every process inherits the value, and sets its
 * autogroup's nice before the agent starts (best effort: no such file without autogroups).
 */
export function paneWrapper(path: string, n: number, file: string | undefined): string[] {
  const bin = n > 0 ? niceBin(path) : null;
  const script = [
    "n=$0 f=$1; shift",
    '[ "$n" = 0 ] || { echo "$n" > /proc/self/autogroup; } 2>/dev/null',
    "trap : INT QUIT TERM",
    '"$@"; s=$?',
    '[ -z "$f" ] || echo "$s" > "$f"',
    "sleep 0.1 2>/dev/null",
    'exit "$s"',
  ].join("; ");
  return [...(bin === null ? [] : [bin, "-n", String(n)]), "/bin/sh", "-c", script, String(n), file ?? ""];
}
