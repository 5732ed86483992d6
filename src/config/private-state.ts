// kasmos's own state (the store and its WAL, logs, pid file, agents' prompts and run folders) holds
// task descriptions, prompts and tokens: it is created 0600 in 0700 folders whatever the umask, and
// what an older kasmos (or a hand-made ~/.config/kasmos) left readable by others is tightened on
// start. What cannot be tightened (another owner) is reported, never silently used.
import { chmodSync, closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { myUid } from "../util/process.ts";
import { configDir, logFilePath, pidFilePath, storePath, webTokenPath } from "./paths.ts";

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

function octal(m: number): string {
  return `0${(m & 0o777).toString(8).padStart(3, "0")}`;
}

/**
 * Make `path` private (0700 for a folder, 0600 for a file) when others can read it; a link is left
 * alone. Returns what could not be done, or null.
 */
export function tighten(path: string): string | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st || st.isSymbolicLink()) return null;
  if ((st.mode & 0o077) === 0) return null;
  const want = st.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
  const uid = myUid();
  if (uid >= 0 && st.uid !== uid) return `${path} (mode ${octal(st.mode)}) is owned by uid ${st.uid}, not by you: other users may read it (chown it to uid ${uid}, or move it away)`;
  try {
    chmodSync(path, want);
    return null;
  } catch (err) {
    return `${path} has mode ${octal(st.mode)} and cannot be made private: ${(err as Error).message}`;
  }
}

/** A private folder: made 0700 (with its missing parents) when absent, tightened when present. */
export function ensurePrivateDir(dir: string): string | null {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  return tighten(dir);
}

/** Write a private file: created or truncated 0600 (fchmod: the umask cannot loosen it), never through a link. */
export function writePrivateFile(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Open (creating it 0600 when missing) a private file for appending, e.g. the daemon's log. */
export function openPrivateAppend(path: string): number {
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch {
    // not ours: reported by privateStateProblems
  }
  return fd;
}

/** The store file and SQLite's companions (they take the store file's mode when SQLite creates them). */
export function storeFiles(store = storePath()): string[] {
  return [store, `${store}-wal`, `${store}-shm`];
}

/** Every private path kasmos knows of now: the config folder, its files and the agents' folders (two levels). */
function privatePaths(): string[] {
  const dir = configDir();
  const out = [dir, ...storeFiles(), logFilePath(), `${logFilePath()}.1`, pidFilePath(), webTokenPath()];
  for (const sub of ["prompts", "run"]) {
    const top = join(dir, sub);
    out.push(top);
    for (const project of safeList(top)) {
      const p = join(top, project);
      out.push(p);
      for (const name of safeList(p)) out.push(join(p, name));
    }
  }
  return out;
}

function safeList(dir: string): string[] {
  try {
    return lstatSync(dir).isDirectory() ? readdirSync(dir) : [];
  } catch {
    return [];
  }
}

/** Tighten every private path (daemon start); returns what could not be made private. */
export function securePrivateState(): string[] {
  const notes: string[] = [];
  for (const p of privatePaths()) {
    const n = tighten(p);
    if (n !== null) notes.push(n);
  }
  return notes;
}

/** Private paths others can read (doctor), without changing anything. */
export function loosePrivatePaths(): { path: string; mode: string; mine: boolean }[] {
  const uid = myUid();
  const out: { path: string; mode: string; mine: boolean }[] = [];
  for (const p of privatePaths()) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st || st.isSymbolicLink() || (st.mode & 0o077) === 0) continue;
    out.push({ path: p, mode: octal(st.mode), mine: uid < 0 || st.uid === uid });
  }
  return out;
}
