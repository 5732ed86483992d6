// One daemon per repository: two daemons (two HOMEs, or a symlink and its target) scanning one signals
// folder quarantine each other's signals as "unknown task". The owner is recorded in the repository's
// git common dir (shared by every linked worktree); a live owner that is not us makes the repo refused.
import { closeSync, fstatSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { READ_NOFOLLOW, WRITE_NOFOLLOW } from "../util/contained-fs.ts";
import { join } from "node:path";
import { gitCommonDirSync } from "../util/repo-root.ts";
import { processAlive } from "../util/process.ts";

export const LOCK_NAME = "kasmos-daemon.lock";

interface Owner {
  pid: number;
  socket: string;
  home: string;
}

/** The lock's text: a regular file only, never through a link, never blocking on a FIFO ("" otherwise). */
function readLock(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, READ_NOFOLLOW);
  } catch {
    return "";
  }
  try {
    if (!fstatSync(fd).isFile()) return "";
    const buf = Buffer.alloc(4096);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

function readOwner(file: string): Owner | null {
  try {
    const o = JSON.parse(readLock(file)) as Partial<Owner>;
    return typeof o.pid === "number" ? { pid: o.pid, socket: String(o.socket ?? ""), home: String(o.home ?? "") } : null;
  } catch {
    return null;
  }
}

/**
 * Take the repo for this daemon; the other live owner's description when it is taken. `commonDir`: the
 * repo's git common dir when already known (null: not a git repo), else asked of git.
 */
export function claimRepo(repo: string, socket: string, commonDir?: string | null): { ok: true } | { ok: false; owner: string } {
  const dir = commonDir === undefined ? gitCommonDirSync(repo) : commonDir;
  if (dir === null) return { ok: true }; // not a git repo (yet): reported as the repo's problem elsewhere
  const file = join(dir, LOCK_NAME);
  const me: Owner = { pid: process.pid, socket, home: process.env.HOME ?? "" };
  const cur = readOwner(file);
  if (cur && cur.pid !== process.pid && processAlive(cur.pid) && cur.socket !== socket) {
    return { ok: false, owner: `another kasmos daemon (pid ${cur.pid}, socket ${cur.socket}${cur.home ? `, HOME ${cur.home}` : ""}) manages this repository; remove it there first (kas daemon remove --socket ${cur.socket} ${repo})` };
  }
  if (!cur || cur.pid !== me.pid || cur.socket !== me.socket) {
    try {
      // Never through a link (a repo could ship .git/kasmos-daemon.lock → ~/.bashrc): refused, unrecorded.
      const fd = openSync(file, WRITE_NOFOLLOW, 0o644);
      try {
        if (fstatSync(fd).isFile()) writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
    } catch {
      // read-only git dir, or a link there: nothing to record, nothing to guard
    }
  }
  return { ok: true };
}

/** Give the repo up (remove, shutdown) when we hold it. */
export function releaseRepo(repo: string, commonDir?: string | null): void {
  const dir = commonDir === undefined ? gitCommonDirSync(repo) : commonDir;
  if (dir === null) return;
  const file = join(dir, LOCK_NAME);
  if (readOwner(file)?.pid === process.pid) rmSync(file, { force: true });
}
