// Files kasmos reads on an agent's word: the CLI's transcript or rollout (a path from a hook report,
// stored on the agent row) and its session database. The agent can put anything at such a path —
// a FIFO (open() would block the daemon), /dev/zero, a link to another account's file, a folder, a
// sparse file of many GB — so each read: the path must lie inside the CLI's own record folders (after
// resolving links), the file is opened without following a link and without blocking, and only an
// ordinary file of this account with one name is read, a bounded amount at a time, off the main thread
// (the node:fs promise calls run on Bun's thread pool).
import { closeSync, constants, fstatSync, openSync, promises as fsp, readSync } from "node:fs";
import { resolve, sep } from "node:path";

/** Per read: a larger transcript is caught up over several passes; a longer line is skipped. */
export const MAX_READ = 8 * 1024 * 1024;
/** Past this many bytes a record file is no longer read (usage of a longer session is not counted further). */
export const MAX_RECORD_BYTES = 1024 * 1024 * 1024;

export class RecordRefused extends Error {
  override name = "RecordRefused";
  constructor(
    message: string,
    /** Nothing at the path (yet): not worth a report. */
    readonly missing = false,
  ) {
    super(message);
  }
}

/** The record folders as given and as resolved (a CLI may report paths either way, e.g. ~/.claude a link to dotfiles). */
export async function rootsAndRealRoots(roots: readonly string[]): Promise<string[]> {
  const real = (await Promise.all(roots.map(realOrNull))).filter((r): r is string => r !== null);
  return [...new Set([...roots, ...real])];
}

/** `path`, written absolute and normalised, lies inside one of `roots` (no file system access). */
export function withinRoots(path: string, roots: readonly string[]): boolean {
  if (path === "" || !path.startsWith("/") || path.includes("\0")) return false;
  const p = resolve(path);
  return roots.some((r) => r !== "" && p.startsWith(resolve(r) + sep));
}

async function realOrNull(path: string): Promise<string | null> {
  try {
    return await fsp.realpath(path);
  } catch {
    return null;
  }
}

/**
 * Open a record file for reading, or throw RecordRefused (with why). The caller closes the handle.
 * Checks: inside `roots` as written and as resolved; no link as last component (O_NOFOLLOW); a FIFO
 * or device opens without waiting (O_NONBLOCK) and is refused by fstat; owned by this account; one link.
 */
export async function openRecord(path: string, roots: readonly string[]): Promise<fsp.FileHandle> {
  const realRoots = (await Promise.all(roots.map(realOrNull))).filter((r): r is string => r !== null);
  if (!withinRoots(path, [...roots, ...realRoots])) throw new RecordRefused(`${path} is outside the CLI's record folders (${roots.join(", ")})`);
  const real = await realOrNull(path);
  if (real === null) throw new RecordRefused(`${path} does not exist`, true);
  if (!withinRoots(real, realRoots)) throw new RecordRefused(`${path} resolves to ${real}, outside the CLI's record folders`);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RecordRefused(code === "ELOOP" ? `${path} is a symbolic link` : `cannot open ${path}: ${code ?? (err as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new RecordRefused(`${path} is not a regular file`);
    const uid = process.getuid?.() ?? st.uid;
    if (st.uid !== uid) throw new RecordRefused(`${path} belongs to another account (uid ${st.uid})`);
    if (st.nlink !== 1) throw new RecordRefused(`${path} has ${st.nlink} names (a hard link)`);
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

export interface NewLines {
  lines: string[];
  /** Where the next read starts. */
  offset: number;
  /** The file reached MAX_RECORD_BYTES: nothing past it is read. */
  capped: boolean;
}

/** New complete lines of a record file after `offset` (one bounded read), and the offset after them. */
export async function readNewLines(path: string, offset: number, roots: readonly string[]): Promise<NewLines> {
  const fh = await openRecord(path, roots);
  try {
    const size = Math.min((await fh.stat()).size, MAX_RECORD_BYTES);
    if (size < offset) offset = 0; // truncated or replaced: start over
    const len = Math.min(size - offset, MAX_READ);
    const capped = size >= MAX_RECORD_BYTES && offset + len >= size;
    if (len <= 0) return { lines: [], offset, capped };
    const buf = Buffer.allocUnsafe(len);
    const { bytesRead } = await fh.read(buf, 0, len, offset);
    const chunk = buf.subarray(0, bytesRead);
    const end = chunk.lastIndexOf(0x0a);
    if (end < 0) {
      // A line still being written waits; one longer than a whole read is skipped (its rest fails to parse).
      return { lines: [], offset: bytesRead === MAX_READ ? offset + bytesRead : offset, capped };
    }
    return { lines: chunk.subarray(0, end).toString("utf8").split("\n"), offset: offset + end + 1, capped };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * A small file kasmos wrote where an agent can write too (its prompt, its pane's exit status): read
 * synchronously but never waiting on it — opened without following a link or blocking on a FIFO,
 * only a regular file, at most `maxBytes`. null when absent or refused.
 */
export function readSmallRegularFile(path: string, maxBytes: number): string | null {
  let fd: number | null = null;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY);
    if (!fstatSync(fd).isFile()) return null;
    const buf = Buffer.allocUnsafe(maxBytes);
    let n = 0;
    for (let r = -1; r !== 0 && n < maxBytes; n += r) r = readSync(fd, buf, n, maxBytes - n, n);
    return buf.subarray(0, n).toString("utf8");
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
