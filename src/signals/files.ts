// Signal files on disk: where they live, how they are listed, read, quarantined and recovered.
// Layout (reference §2.2): <repo>/.kasmos/signals/ and <repo>/.worktrees/<x>/.kasmos/signals/,
// with processing/ and failed/ sub-folders. Dot-files and folders are never signals.
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync, openSync, readSync, closeSync, type BigIntStats, type Dirent } from "node:fs";
import { join } from "node:path";

/** Bodies above this are refused (quarantined), never read into memory whole. */
export const MAX_SIGNAL_BYTES = 256 * 1024;

export const SIGNALS_REL = join(".kasmos", "signals");

export interface SignalDir {
  /** Absolute path of the signals folder. */
  path: string;
  /** Path relative to the repo root, e.g. ".kasmos/signals" or ".worktrees/plan-x/.kasmos/signals". */
  rel: string;
  /** Worktree folder name, or "" for the repo root. */
  worktree: string;
}

export function rootSignalDir(repo: string): SignalDir {
  return { path: join(repo, SIGNALS_REL), rel: SIGNALS_REL, worktree: "" };
}

export function worktreesDir(repo: string): string {
  return join(repo, ".worktrees");
}

/** Folder names under each .worktrees/, by its mtime then: a repo with thousands of old worktrees is not listed every scan. */
const folderLists = new Map<string, { mtimeNs: bigint; names: string[] }>();

/** Sub-folder names of .worktrees/ (no dot-folders); null when it cannot be listed. */
function worktreeFolders(wt: string): string[] | null {
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

/** Root signals folder first, then every worktree's (sorted), so root signals win dedup (reference §2.5). */
export function signalDirs(repo: string, filter?: FolderFilter): SignalDir[] {
  const dirs = [rootSignalDir(repo)];
  const wt = worktreesDir(repo);
  // existsSync first: a thrown ENOENT (with its stack) costs more than the extra syscall, every poll, every repo.
  if (!existsSync(wt)) return dirs;
  const listed = worktreeFolders(wt);
  if (listed === null) return dirs;
  // Only git worktrees (a `.git` file points at the repo): a user's own folder that happens to sit under
  // .worktrees/ is not kasmos's to scan or to create signal folders in.
  const candidates = filter ? filter(listed) : listed; // by name first: a left-out folder costs no stat at all
  const names = candidates.filter((name) => lstatSync(join(wt, name, ".git"), { throwIfNoEntry: false })?.isFile() === true);
  names.sort();
  for (const name of names) {
    const rel = join(".worktrees", name, SIGNALS_REL);
    dirs.push({ path: join(repo, rel), rel, worktree: name });
  }
  return dirs;
}

export function ensureSignalDirs(dir: string): void {
  for (const sub of ["", "processing", "failed"]) mkdirSync(join(dir, sub), { recursive: true, mode: 0o755 });
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

/** Candidate signal files of one folder, oldest first (then by name). Missing folder → []. */
export function listSignalFiles(dir: SignalDir): FoundFile[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir.path, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: FoundFile[] = [];
  for (const e of entries) {
    const name = e.name;
    // d_type spares a stat per sub-folder (processing/, failed/, …): this runs for every repo every poll.
    if (name.startsWith(".") || e.isDirectory()) continue;
    const path = join(dir.path, name);
    let st: BigIntStats;
    try {
      st = lstatSync(path, { bigint: true });
    } catch {
      continue; // vanished between readdir and stat
    }
    if (st.isDirectory()) continue;
    out.push({ dir, name, path, key: fileKey(dir, name, st), size: Number(st.size), mtimeMs: Number(st.mtimeNs / 1_000_000n), regular: st.isFile() });
  }
  out.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/** Read at most MAX_SIGNAL_BYTES + 1 bytes; the caller refuses oversized bodies. */
export function readSignalBody(path: string, sizeHint = 0): { ok: true; body: string } | { ok: false; reason: string } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    return { ok: false, reason: `cannot read: ${(err as Error).message}` };
  }
  try {
    // Sized from the stat (most bodies are empty or tiny); one extra byte detects growth past the cap.
    const buf = Buffer.allocUnsafe(Math.min(Math.max(sizeHint, 0), MAX_SIGNAL_BYTES) + 1);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > MAX_SIGNAL_BYTES) return { ok: false, reason: `body too large (over ${MAX_SIGNAL_BYTES} bytes)` };
    if (n === buf.length) return readSignalBody(path, Math.min(MAX_SIGNAL_BYTES, Math.max(buf.length * 4, 4096))); // grew since stat: re-read
    return { ok: true, body: buf.subarray(0, n).toString("utf8") };
  } finally {
    closeSync(fd);
  }
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

/** Move a bad signal into failed/ with a sibling `<name>.reason` (`<RFC3339 time> <reason>`). Returns the new path. */
export function quarantineFile(dir: SignalDir, name: string, reason: string, now: string): string | null {
  const failed = join(dir.path, "failed");
  mkdirSync(failed, { recursive: true, mode: 0o755 });
  const base = fitName(name);
  let target = join(failed, base);
  if (existsSync(target) || existsSync(`${target}.reason`)) target = join(failed, `${base}.${now.replace(/[:.]/g, "-")}`);
  // The reason is written first (complete, via rename) so a quarantined file never sits without it.
  const original = base === name ? "" : ` (original name: ${name})`;
  const tmp = `${target}.reason.tmp`;
  writeFileSync(tmp, `${now} ${reason.replace(/\n/g, " ")}${original}\n`);
  try {
    renameSync(join(dir.path, name), target);
  } catch (err) {
    unlinkSync(tmp);
    if ((err as { code?: string }).code === "ENOENT") return null; // already handled (e.g. after a crash)
    throw err;
  }
  renameSync(tmp, `${target}.reason`);
  return target;
}

/** Delete a consumed signal file; absent is fine (already consumed before a crash). */
export function consumeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
}

/**
 * Crash recovery for files left in processing/ (by the original kasmos or `signal process` style tools):
 * move them back, unless a newer file with the same name is waiting (then the stale copy goes).
 */
export function recoverProcessing(dir: SignalDir): number {
  const proc = join(dir.path, "processing");
  let names: string[];
  try {
    names = readdirSync(proc);
  } catch {
    return 0;
  }
  let moved = 0;
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const from = join(proc, name);
    const to = join(dir.path, name);
    try {
      if (lstatSync(from).isDirectory()) continue;
      if (existsSync(to)) unlinkSync(from);
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
  const failed = join(dir.path, "failed");
  let names: string[];
  try {
    names = readdirSync(failed);
  } catch {
    return 0;
  }
  const entries: { name: string; mtimeMs: number }[] = [];
  for (const n of names) {
    if (n.endsWith(".reason") || n.endsWith(".reason.tmp")) continue;
    const st = lstatSync(join(failed, n), { throwIfNoEntry: false });
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
        unlinkSync(join(failed, f));
      } catch {
        // already gone
      }
    }
    removed++;
  }
  return removed;
}
