// Signal files on disk: where they live, how they are listed, read, quarantined and recovered.
// Layout: <repo>/.kasmos/signals/ and <repo>/.worktrees/<x>/.kasmos/signals/,
// with processing/ and failed/ sub-folders. Dot-files and folders are never signals.
// Every folder and file here is reached through openContainedDir: a link anywhere on the way (the
// signals folder, failed/, processing/, .kasmos, .worktrees/<x>) is refused, never followed.
import { existsSync, fstatSync, lstatSync, readdirSync, renameSync, statSync, unlinkSync, writeSync, openSync, readSync, closeSync, type BigIntStats, type Dirent } from "node:fs";
import { join } from "node:path";
import { openContainedDir, type OpenedDirs, READ_NOFOLLOW, withOpened, WRITE_NOFOLLOW } from "../util/contained-fs.ts";

/** Bodies above this are refused (quarantined), never read into memory whole. */
export const MAX_SIGNAL_BYTES = 256 * 1024;

export const SIGNALS_REL = join(".kasmos", "signals");

export interface SignalDir {
  /** The repository root every other path here is inside of. */
  root: string;
  /** Absolute path of the signals folder. */
  path: string;
  /** Path relative to the repo root, e.g. ".kasmos/signals" or ".worktrees/plan-x/.kasmos/signals". */
  rel: string;
  /** Worktree folder name, or "" for the repo root. */
  worktree: string;
  /** The task this folder speaks for alone (a sandboxed planner's own folder, task-folders.ts). */
  owner?: string;
}

export function rootSignalDir(repo: string): SignalDir {
  return { root: repo, path: join(repo, SIGNALS_REL), rel: SIGNALS_REL, worktree: "" };
}

export function worktreesDir(repo: string): string {
  return join(repo, ".worktrees");
}

/** Folder names under each .worktrees/, by its mtime then: a repo with thousands of old worktrees is not listed every scan. */
const folderLists = new Map<string, { mtimeNs: bigint; names: string[] }>();

/** Sub-folder names of a folder such as .worktrees/ (no dot-folders); null when it cannot be listed. */
export function subFolders(wt: string): string[] | null {
  let mtimeNs: bigint | null = null;
  try {
    mtimeNs = statSync(wt, { bigint: true }).mtimeNs;
  } catch {
    return null;
  }
  const known = folderLists.get(wt);
  // Trusted only when that mtime is over a second old: a folder made in the same clock tick as the listing is never missed.
  if (known && known.mtimeNs === mtimeNs && Date.now() - Number(mtimeNs / 1_000_000n) > 1000) return known.names;
  let entries: Dirent[];
  try {
    entries = readdirSync(wt, { withFileTypes: true });
  } catch {
    return null;
  }
  const names = entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name);
  folderLists.set(wt, { mtimeNs, names });
  return names;
}

/**
 * Which worktree folders (names under .worktrees/) to scan and watch: given every candidate name, the
 * ones to keep. The daemon leaves out folders of finished tasks (they cannot signal), so a repo with
 * thousands of old worktrees costs no more per scan than one with a few.
 */
export type FolderFilter = (names: string[]) => string[];

/** Root signals folder first, then every worktree's (sorted), so root signals win dedup. */
export function signalDirs(repo: string, filter?: FolderFilter): SignalDir[] {
  const dirs = [rootSignalDir(repo)];
  const wt = worktreesDir(repo);
  // existsSync first: a thrown ENOENT (with its stack) costs more than the extra syscall, every poll, every repo.
  if (!existsSync(wt)) return dirs;
  const listed = subFolders(wt);
  if (listed === null) return dirs;
  // Only git worktrees (a `.git` file points at the repo): a user's own folder that happens to sit under
  // .worktrees/ is not kasmos's to scan or to create signal folders in.
  const candidates = filter ? filter(listed) : listed; // by name first: a left-out folder costs no stat at all
  const names = candidates.filter((name) => lstatSync(join(wt, name, ".git"), { throwIfNoEntry: false })?.isFile() === true);
  names.sort();
  for (const name of names) {
    const rel = join(".worktrees", name, SIGNALS_REL);
    dirs.push({ root: repo, path: join(repo, rel), rel, worktree: name });
  }
  return dirs;
}

/** Create the signals folder (and its processing/ and failed/) without following a link on the way. */
export function ensureSignalDirs(dir: SignalDir, mode = 0o755): void {
  for (const sub of ["", "/processing", "/failed"]) openContainedDir(dir.root, dir.rel + sub, mode).close();
}

export interface FoundFile {
  dir: SignalDir;
  name: string;
  path: string;
  /** Identity of this particular file (name + inode + times + size): a re-written file is a new signal. */
  key: string;
  size: number;
  mtimeMs: number;
  regular: boolean;
}

export function fileKey(dir: SignalDir, name: string, st: BigIntStats): string {
  return `file:${join(dir.rel, name)}#${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${st.size}`;
}

/**
 * Candidate signal files of one folder, oldest first (then by name). Missing or unreadable folder → [];
 * a link on the way throws LinkRefusedError (the caller reports it).
 */
export function listSignalFiles(dir: SignalDir, opened?: OpenedDirs): FoundFile[] {
  return withOpened(opened, (o) => {
    let at: string;
    try {
      at = o.path(dir.root, dir.rel);
    } catch (err) {
      if ((err as { code?: string }).code === "ELINKREFUSED") throw err;
      return [];
    }
    let entries: Dirent[];
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return [];
    }
    return foundFiles(dir, at, entries);
  });
}

function foundFiles(dir: SignalDir, at: string, entries: Dirent[]): FoundFile[] {
  const out: FoundFile[] = [];
  for (const e of entries) {
    const name = e.name;
    // d_type spares a stat per sub-folder (processing/, failed/, …): this runs for every repo every poll.
    if (name.startsWith(".") || e.isDirectory()) continue;
    const path = join(dir.path, name);
    let st: BigIntStats;
    try {
      st = lstatSync(`${at}/${name}`, { bigint: true });
    } catch {
      continue; // vanished between readdir and stat
    }
    if (st.isDirectory()) continue;
    out.push({ dir, name, path, key: fileKey(dir, name, st), size: Number(st.size), mtimeMs: Number(st.mtimeNs / 1_000_000n), regular: st.isFile() });
  }
  out.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

type BodyResult = { ok: true; body: string } | { ok: false; reason: string };

/**
 * Read a signal file's body (at most MAX_SIGNAL_BYTES + 1 bytes; the caller refuses oversized bodies).
 * Opened with O_NOFOLLOW | O_NONBLOCK in its folder, and only a regular file is read: a link or FIFO
 * swapped in after the listing is refused, never followed or waited on.
 */
export function readSignalBody(dir: SignalDir, name: string, sizeHint = 0, opened?: OpenedDirs): BodyResult {
  let fd: number;
  try {
    fd = withOpened(opened, (o) => openSync(`${o.path(dir.root, dir.rel)}/${name}`, READ_NOFOLLOW));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ELOOP") return { ok: false, reason: "not a regular file (a symbolic link was swapped in)" };
    return { ok: false, reason: `cannot read: ${(err as Error).message}` };
  }
  try {
    if (!fstatSync(fd).isFile()) return { ok: false, reason: "not a regular file (symlink, fifo or device)" };
    return readBody(fd, sizeHint);
  } finally {
    closeSync(fd);
  }
}

function readBody(fd: number, sizeHint: number): BodyResult {
  // Sized from the stat (most bodies are empty or tiny); one extra byte detects growth past the cap.
  const buf = Buffer.allocUnsafe(Math.min(Math.max(sizeHint, 0), MAX_SIGNAL_BYTES) + 1);
  let n = 0;
  while (n < buf.length) {
    const r = readSync(fd, buf, n, buf.length - n, n); // from offset 0 on every (re-)read
    if (r === 0) break;
    n += r;
  }
  if (n > MAX_SIGNAL_BYTES) return { ok: false, reason: `body too large (over ${MAX_SIGNAL_BYTES} bytes)` };
  if (n === buf.length) return readBody(fd, Math.min(MAX_SIGNAL_BYTES, Math.max(buf.length * 4, 4096))); // grew since stat: re-read
  return { ok: true, body: buf.subarray(0, n).toString("utf8") };
}

/** File names are at most 255 bytes; failed/ names get suffixes, so long ones are shortened with a hash. */
const MAX_NAME_BYTES = 255;
const SUFFIX_ROOM = 40; // ".<timestamp>" (25) + ".reason" (7), with margin

function fitName(name: string): string {
  if (Buffer.byteLength(name) + SUFFIX_ROOM <= MAX_NAME_BYTES) return name;
  const hash = new Bun.CryptoHasher("sha256").update(name).digest("hex").slice(0, 12);
  let head = name;
  while (Buffer.byteLength(head) + 1 + hash.length + SUFFIX_ROOM > MAX_NAME_BYTES) head = head.slice(0, -1);
  return `${head}~${hash}`;
}

/** An entry by that path, whatever it is (a dangling link counts: it is never followed). */
function present(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

/**
 * Move a bad signal into failed/ with a sibling `<name>.reason` (`<RFC3339 time> <reason>`). Returns the
 * path it now has (by the folder's name, for messages).
 */
export function quarantineFile(dir: SignalDir, name: string, reason: string, now: string, opened?: OpenedDirs): string | null {
  return withOpened(opened, (o) => quarantineIn(o.path(dir.root, dir.rel), o.path(dir.root, `${dir.rel}/failed`, 0o755), name, reason, now, join(dir.path, "failed")));
}

function quarantineIn(from: string, failed: string, name: string, reason: string, now: string, shownAs: string): string | null {
  const base = fitName(name);
  let target = base;
  if (present(`${failed}/${target}`) || present(`${failed}/${target}.reason`)) target = `${base}.${now.replace(/[:.]/g, "-")}`;
  // The reason is written first (complete, via rename) so a quarantined file never sits without it.
  const original = base === name ? "" : ` (original name: ${name})`;
  const tmp = `${failed}/${target}.reason.tmp`;
  const fd = openSync(tmp, WRITE_NOFOLLOW, 0o644);
  try {
    writeSync(fd, `${now} ${reason.replace(/\n/g, " ")}${original}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(`${from}/${name}`, `${failed}/${target}`);
  } catch (err) {
    unlinkSync(tmp);
    if ((err as { code?: string }).code === "ENOENT") return null; // already handled (e.g. after a crash)
    throw err;
  }
  renameSync(tmp, `${failed}/${target}.reason`);
  return join(shownAs, target);
}

/** Delete a consumed signal file (never through a link); absent is fine (already consumed before a crash). */
export function consumeFile(dir: SignalDir, name: string, opened?: OpenedDirs): void {
  try {
    withOpened(opened, (o) => unlinkSync(`${o.path(dir.root, dir.rel)}/${name}`));
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
}

/**
 * Crash recovery for files left in processing/ (by the original kasmos or `signal process` style tools):
 * move them back, unless a newer file with the same name is waiting (then the stale copy goes).
 */
export function recoverProcessing(dir: SignalDir): number {
  let held: ReturnType<typeof openContainedDir>;
  let proc: ReturnType<typeof openContainedDir>;
  try {
    held = openContainedDir(dir.root, dir.rel);
  } catch (err) {
    if ((err as { code?: string }).code === "ELINKREFUSED") throw err;
    return 0;
  }
  try {
    proc = openContainedDir(dir.root, `${dir.rel}/processing`);
  } catch (err) {
    held.close();
    if ((err as { code?: string }).code === "ELINKREFUSED") throw err;
    return 0;
  }
  try {
    return recoverIn(held.path, proc.path);
  } finally {
    proc.close();
    held.close();
  }
}

function recoverIn(dir: string, proc: string): number {
  let names: string[];
  try {
    names = readdirSync(proc);
  } catch {
    return 0;
  }
  let moved = 0;
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const from = `${proc}/${name}`;
    const to = `${dir}/${name}`;
    try {
      if (lstatSync(from).isDirectory()) continue;
      if (present(to)) unlinkSync(from);
      else {
        renameSync(from, to);
        moved++;
      }
    } catch {
      // raced with another recovery: nothing to do
    }
  }
  return moved;
}

/**
 * Retention of quarantined files: `failed/` keeps at most `maxFiles` quarantined signals (each with its
 * .reason) and none older than `maxDays` (0 = no age limit); the oldest go first. Returns how many
 * signals were removed (dryRun: would be). Their rows and audit entries follow [retention] days in the store.
 */
export function pruneQuarantine(dir: SignalDir, opts: { maxFiles: number; maxDays: number; nowMs: number; dryRun?: boolean }): number {
  let held: ReturnType<typeof openContainedDir>;
  try {
    held = openContainedDir(dir.root, `${dir.rel}/failed`);
  } catch (err) {
    if ((err as { code?: string }).code === "ELINKREFUSED") throw err;
    return 0;
  }
  try {
    return pruneIn(held.path, opts);
  } finally {
    held.close();
  }
}

function pruneIn(failed: string, opts: { maxFiles: number; maxDays: number; nowMs: number; dryRun?: boolean }): number {
  let names: string[];
  try {
    names = readdirSync(failed);
  } catch {
    return 0;
  }
  const entries: { name: string; mtimeMs: number }[] = [];
  for (const n of names) {
    if (n.endsWith(".reason") || n.endsWith(".reason.tmp")) continue;
    const st = lstatSync(`${failed}/${n}`, { throwIfNoEntry: false });
    if (st) entries.push({ name: n, mtimeMs: st.mtimeMs });
  }
  entries.sort((a, b) => a.mtimeMs - b.mtimeMs);
  const cutoff = opts.maxDays > 0 ? opts.nowMs - opts.maxDays * 86_400_000 : Number.NEGATIVE_INFINITY;
  let removed = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const over = entries.length - i > opts.maxFiles;
    if (!over && e.mtimeMs >= cutoff) break;
    for (const f of opts.dryRun ? [] : [e.name, `${e.name}.reason`]) {
      try {
        unlinkSync(`${failed}/${f}`); // unlink never follows: a link in failed/ is removed, not its target
      } catch {
        // already gone
      }
    }
    removed++;
  }
  return removed;
}
