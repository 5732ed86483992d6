// Who can stand in front of the control socket. Without XDG_RUNTIME_DIR the socket lives in
// /tmp/kasmos-<uid>/: another account can create that folder first (mode 777) and swap in its own
// socket, reading the CLI's requests and the agents' hook reports and forging the answers. So, as
// ssh-agent and tmux do, the daemon and the CLI refuse a socket folder they do not own or that others
// can write, a folder on the way there that another account owns or can write, a link another account
// owns anywhere on the path, and a socket that is a link or belongs to another uid.
import { chmodSync, lstatSync, mkdirSync, realpathSync, statSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { myUid } from "../util/process.ts";
import { KasmosError } from "../util/errors.ts";

export class UnsafeSocketError extends KasmosError {
  override name = "UnsafeSocketError";
  readonly code = "invalid";
}

const ELSEWHERE = "or set XDG_RUNTIME_DIR or socket_path to a folder only you can write";

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw err;
  }
}

/** The socket folders kasmos names itself (…/kasmos, kasmos-<uid>): created 0700, tightened if ours. */
export function isOwnRuntimeDir(dir: string): boolean {
  return dir.endsWith("/kasmos") || /\/kasmos-\d+$/.test(dir);
}

function label(path: string): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg && xdg.replace(/\/+$/, "") === path ? `XDG_RUNTIME_DIR (${path})` : path;
}

/** Every link on the path, and every folder above `dir`: owned by you or root, not writable by others unless sticky. */
function pathProblem(dir: string, uid: number): string | null {
  let prefix = "";
  for (const part of dir.split("/").filter((p) => p.length > 0)) {
    prefix += `/${part}`;
    const st = lstatOrNull(prefix);
    if (st === null) break;
    // Wherever it points now, its owner can point it elsewhere later.
    if (st.isSymbolicLink() && st.uid !== uid && st.uid !== 0) {
      return `refusing ${label(prefix)}: it is a symbolic link owned by uid ${st.uid}, not by you. Fix: remove it, ${ELSEWHERE}`;
    }
  }
  let existing = dir;
  while (lstatOrNull(existing) === null && existing !== "/") existing = dirname(existing);
  let real: string;
  try {
    real = realpathSync(existing);
  } catch {
    return null; // a dangling link: creating or connecting fails with its own error
  }
  for (let a = existing === dir ? dirname(real) : real; ; a = dirname(a)) {
    const st = statSync(a);
    if (st.uid !== uid && st.uid !== 0) {
      return `refusing ${label(a)}: it belongs to uid ${st.uid}, not to you, so that account can replace the socket's folder. Fix: use a folder of your own: unset or fix XDG_RUNTIME_DIR, or set socket_path`;
    }
    if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) {
      return `refusing ${label(a)}: anyone can write to it (mode ${octal(st.mode)}, not sticky), so they can replace the socket's folder. Fix: chmod o-w ${a}, ${ELSEWHERE}`;
    }
    if (a === "/") break;
  }
  return null;
}

/**
 * Check the socket's path and throw UnsafeSocketError with the fix when someone else could reach or
 * replace it. `create` (the daemon): make a missing folder 0700 and tighten a kasmos folder of ours;
 * without it (the CLI) nothing is changed and a missing folder is fine (no daemon runs). `ownLooseOk`
 * (doctor): a kasmos folder of ours that others can write is left to the daemon to tighten.
 */
export function checkSocketPath(socket: string, opts: { create: boolean; ownLooseOk?: boolean }): void {
  const uid = myUid();
  if (uid < 0) return; // no uids on this platform
  const dir = dirname(socket);
  const onTheWay = pathProblem(dir, uid);
  if (onTheWay) throw new UnsafeSocketError(onTheWay);
  let st = lstatOrNull(dir);
  if (st === null) {
    if (!opts.create) return;
    mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      // Someone made it between our look and our mkdir: judge theirs below.
      if ((err as { code?: string }).code !== "EEXIST") throw err;
    }
    st = lstatOrNull(dir);
    if (st === null) throw new UnsafeSocketError(`cannot create the socket folder ${dir}`);
  }
  if (st.isSymbolicLink()) st = statSync(dir);
  if (!st.isDirectory()) throw new UnsafeSocketError(`refusing ${label(dir)}: it is not a folder. Fix: remove it, ${ELSEWHERE}`);
  if (st.uid !== uid) {
    throw new UnsafeSocketError(
      `refusing the socket folder ${label(dir)}: it belongs to uid ${st.uid}, not to you (uid ${uid}); another account may have made it to intercept kasmos's socket. Fix: remove it (as root: rm -r ${dir}), ${ELSEWHERE}`,
    );
  }
  if ((st.mode & 0o022) !== 0) {
    if (opts.create && isOwnRuntimeDir(dir)) chmodSync(dir, 0o700);
    else if (!(opts.ownLooseOk && isOwnRuntimeDir(dir))) throw new UnsafeSocketError(`refusing the socket folder ${label(dir)}: others can write to it (mode ${octal(st.mode)}) and replace the socket. Fix: chmod 700 ${dir}, ${ELSEWHERE}`);
  } else if (opts.create && isOwnRuntimeDir(dir) && (st.mode & 0o077) !== 0) {
    chmodSync(dir, 0o700);
  }
  const sock = lstatOrNull(socket);
  if (sock === null) return;
  if (sock.isSymbolicLink()) throw new UnsafeSocketError(`refusing the socket ${socket}: it is a symbolic link, not the daemon's socket. Fix: rm ${socket}`);
  if (sock.uid !== uid) {
    throw new UnsafeSocketError(`refusing the socket ${socket}: it belongs to uid ${sock.uid}, not to you (uid ${uid}), so it is not your daemon's. Fix: remove it (as root: rm ${socket}) and start the daemon again`);
  }
}
