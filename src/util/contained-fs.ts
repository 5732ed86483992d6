// Folders inside a repository (signal folders, failed/, processing/, .worktrees, .git/info) opened
// without following a symbolic link at any step, so a link committed in a repo, or one an agent
// swaps in while kasmos works, can never make kasmos read, move, write or delete files outside it.
// On Linux every component is opened with O_NOFOLLOW relative to its parent's descriptor (through
// /proc/self/fd, the openat(2) of a runtime that has none); callers then name entries as
// `<handle path>/<name>`, which resolves inside the folder that was opened, whatever happens to the
// path meanwhile. Elsewhere each component is lstat'ed (checked, not race-free).
import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, readlinkSync } from "node:fs";
import { join } from "node:path";

const PROC_FD = existsSync("/proc/self/fd");
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** Regular files read on a repository's word: no link followed, and a FIFO swapped in cannot block the open. */
export const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Files kasmos writes inside a repository: created or truncated, never through a link, never blocking on a FIFO. */
export const WRITE_NOFOLLOW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A folder kasmos works in is (or holds on its way) a symbolic link or something that is not a folder. */
export class LinkRefusedError extends Error {
  override name = "LinkRefusedError";
  readonly code = "ELINKREFUSED";
}

/** Why `abs` (an lstat'ed path kasmos wants as a real folder) cannot be used, or null. */
export function linkProblem(abs: string): string | null {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(abs, { throwIfNoEntry: false });
  } catch {
    return null; // ENOTDIR, EACCES on the way: not a link kasmos would follow (other checks report it)
  }
  if (!st) return null;
  if (st.isSymbolicLink()) {
    let to = "?";
    try {
      to = readlinkSync(abs);
    } catch {
      // gone meanwhile: the message still names the path
    }
    return `${abs} is a symbolic link (to ${to}): kasmos never follows links inside a repository; replace it with a real folder`;
  }
  if (!st.isDirectory()) return `${abs} is not a folder: move it away (kasmos keeps its files there)`;
  return null;
}

export interface ContainedDir {
  /** A path naming the opened folder itself (entries: `${path}/${name}`). */
  readonly path: string;
  close(): void;
}

function refuse(root: string, parts: string[], upto: number): LinkRefusedError {
  const abs = join(root, ...parts.slice(0, upto + 1));
  return new LinkRefusedError(linkProblem(abs) ?? `${abs} changed while kasmos opened it (a link swapped in?)`);
}

/**
 * Open `rel` (a relative folder path, e.g. ".kasmos/signals/failed") under `root` without following a
 * link at any component. `create`: missing folders are made with that mode. A missing folder throws
 * ENOENT as usual; a link or non-folder throws LinkRefusedError. `root` itself is trusted (a registered
 * repository, by real path).
 */
export function openContainedDir(root: string, rel: string, create?: number): ContainedDir {
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new LinkRefusedError(`${join(root, rel)}: ".." is not allowed`);
  if (!PROC_FD) {
    let abs = root;
    for (let i = 0; i < parts.length; i++) {
      abs = join(abs, parts[i]!);
      if (create !== undefined && !existsSync(abs)) mkdirSync(abs, { mode: create });
      const st = lstatSync(abs);
      if (!st.isDirectory()) throw refuse(root, parts, i);
    }
    return { path: abs, close: () => undefined };
  }
  let fd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    for (let i = 0; i < parts.length; i++) {
      const at = `/proc/self/fd/${fd}/${parts[i]}`;
      if (create !== undefined) {
        try {
          mkdirSync(at, { mode: create });
        } catch (err) {
          if ((err as { code?: string }).code !== "EEXIST") throw err;
        }
      }
      let next: number;
      try {
        next = openSync(at, DIR_FLAGS);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === "ELOOP" || code === "ENOTDIR") throw refuse(root, parts, i);
        throw err;
      }
      closeSync(fd);
      fd = next;
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const held = fd;
  let open = true;
  return {
    path: `/proc/self/fd/${held}`,
    close: () => {
      if (open) closeSync(held);
      open = false;
    },
  };
}

/** Run `fn` with `rel` under `root` opened as openContainedDir does, closed after. */
export function withContainedDir<T>(root: string, rel: string, fn: (dir: string) => T, create?: number): T {
  const d = openContainedDir(root, rel, create);
  try {
    return fn(d.path);
  } finally {
    d.close();
  }
}

export function isLinkRefused(err: unknown): err is LinkRefusedError {
  return err instanceof LinkRefusedError;
}

/**
 * Folders opened once for a run of operations (one scan of a repo: list, read, consume, quarantine)
 * instead of once per file. A held folder stays the one that was checked, wherever it is moved
 * meanwhile, so operations through it never leave it. Paths from path() are valid until trim() or
 * close().
 */
export class OpenedDirs {
  private held = new Map<string, ContainedDir>();

  /** `rel` under `root`, opened (created with `create`) as openContainedDir does, at most once. */
  path(root: string, rel: string, create?: number): string {
    const key = `${root}\0${rel}`;
    let d = this.held.get(key);
    if (d === undefined) {
      d = openContainedDir(root, rel, create);
      this.held.set(key, d);
    }
    return d.path;
  }

  /** Close them all once more than `max` are held (descriptors stay bounded in a repo with many worktrees). */
  trim(max = 64): void {
    if (this.held.size > max) this.close();
  }

  close(): void {
    for (const d of this.held.values()) d.close();
    this.held.clear();
  }
}

/** Run `fn` with `opened`, or with folders opened for this call only. */
export function withOpened<T>(opened: OpenedDirs | undefined, fn: (o: OpenedDirs) => T): T {
  const o = opened ?? new OpenedDirs();
  try {
    return fn(o);
  } finally {
    if (opened === undefined) o.close();
  }
}
