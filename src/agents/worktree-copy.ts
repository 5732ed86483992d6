// `[worktree] copy`: untracked files of the repo root (.env, local certificates, …) copied into a new
// task worktree. Nothing leaves the repository: patterns are checked by the config, every matched path
// is opened component by component without following a link, and only regular files of bounded size
// are copied (mode kept). Copies never overwrite what the branch checked out.
import { closeSync, constants, fchmodSync, fstatSync, linkSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { basename, dirname } from "node:path";
import { copyPatternProblem } from "../config/schema.ts";
import { openContainedDir, READ_NOFOLLOW } from "../util/contained-fs.ts";

/** Per copied file, in total, and how many files one worktree gets at most. */
export const COPY_MAX_FILE_BYTES = 64 * 1024 * 1024;
export const COPY_MAX_TOTAL_BYTES = 256 * 1024 * 1024;
export const COPY_MAX_FILES = 1000;

/** A copy that must not happen: the task gets an attention item with this message, no agent starts. */
export class CopyRefusedError extends Error {
  override name = "CopyRefusedError";
}

/** Folders never searched or copied from: git's, kasmos's, and every task worktree. */
const OWN_FOLDERS = [".git", ".worktrees", ".kasmos"];

/** Relative paths under `repo` matching the patterns (files and links: links are refused later, not skipped). */
async function matches(repo: string, patterns: string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const problem = copyPatternProblem(pattern);
    if (problem !== null) throw new CopyRefusedError(`[worktree] copy: ${problem}`);
    const glob = new Bun.Glob(pattern);
    for await (const rel of glob.scan({ cwd: repo, dot: true, onlyFiles: false, followSymlinks: false, throwErrorOnBrokenSymlink: false })) {
      const clean = rel.replace(/^\.\//, "");
      if (OWN_FOLDERS.includes(clean.split("/")[0] ?? "")) continue;
      found.add(clean);
      if (found.size > COPY_MAX_FILES) throw new CopyRefusedError(`[worktree] copy matches more than ${COPY_MAX_FILES} paths (narrow the patterns)`);
    }
  }
  return [...found].sort();
}

/**
 * Copy the repo root's files matching `patterns` into `worktree`. `exclude` gets every regular file
 * matched before any is written (a copy is excluded from git before it exists, also when a crash
 * comes between); returns them (copied now, or present from an earlier attempt or the branch). A match
 * that is a link (anywhere along its path), a FIFO or a device, or one too large, refuses the whole
 * copy with CopyRefusedError; a folder that matches is skipped (its files need a pattern of their own).
 */
export async function copyIntoWorktree(repo: string, worktree: string, patterns: string[], exclude: (rels: string[]) => void): Promise<string[]> {
  if (patterns.length === 0) return [];
  const files: string[] = [];
  let total = 0;
  for (const rel of await matches(repo, patterns)) {
    withSource(repo, rel, (_fd, size) => {
      total += size;
      if (total > COPY_MAX_TOTAL_BYTES) throw new CopyRefusedError(`[worktree] copy: more than ${COPY_MAX_TOTAL_BYTES} bytes in all`);
      files.push(rel);
    });
  }
  exclude(files);
  // Opened and checked again: a file swapped for a link since the first look is still refused.
  for (const rel of files) withSource(repo, rel, (fd, size, mode) => writeCopy(worktree, rel, fd, size, mode));
  return files;
}

/** Open a matched path of the repo without following a link and run `fn` on a regular file of bounded size; folders and vanished paths are skipped. */
function withSource(repo: string, rel: string, fn: (fd: number, size: number, mode: number) => void): void {
  if (/[\n\r]/.test(rel)) throw new CopyRefusedError(`[worktree] copy: ${JSON.stringify(rel)}: a name with a line break`);
  const dir = dirname(rel);
  let src: ReturnType<typeof openContainedDir>;
  try {
    src = openContainedDir(repo, dir === "." ? "" : dir);
  } catch (err) {
    throw new CopyRefusedError(`[worktree] copy: ${rel}: ${(err as Error).message}`);
  }
  try {
    let fd: number;
    try {
      fd = openSync(`${src.path}/${basename(rel)}`, READ_NOFOLLOW);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ELOOP") throw new CopyRefusedError(`[worktree] copy: ${rel} is a symbolic link: only regular files of the repository are copied`);
      if (code === "ENOENT") return; // gone since the scan
      throw new CopyRefusedError(`[worktree] copy: ${rel}: ${(err as Error).message}`);
    }
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) return;
      if (!st.isFile()) throw new CopyRefusedError(`[worktree] copy: ${rel} is not a regular file`);
      if (st.size > COPY_MAX_FILE_BYTES) throw new CopyRefusedError(`[worktree] copy: ${rel} is ${st.size} bytes (at most ${COPY_MAX_FILE_BYTES})`);
      fn(fd, st.size, st.mode & 0o777);
    } finally {
      closeSync(fd);
    }
  } finally {
    src.close();
  }
}

/**
 * Write one file into the worktree, unless the destination exists already (the branch's own file, or an
 * earlier copy). Written in full under kasmos's excluded cache folder first, then linked into place
 * (no-replace): a crash never leaves a half-written copy that a retry would keep.
 */
function writeCopy(worktree: string, rel: string, from: number, size: number, mode: number): void {
  const dir = dirname(rel);
  let dst: ReturnType<typeof openContainedDir>;
  let tmpDir: ReturnType<typeof openContainedDir>;
  try {
    dst = openContainedDir(worktree, dir === "." ? "" : dir, 0o755);
  } catch (err) {
    throw new CopyRefusedError(`[worktree] copy: ${rel}: in the worktree: ${(err as Error).message}`);
  }
  try {
    tmpDir = openContainedDir(worktree, ".kasmos/cache", 0o755);
  } catch (err) {
    dst.close();
    throw new CopyRefusedError(`[worktree] copy: ${rel}: in the worktree: ${(err as Error).message}`);
  }
  const tmp = `${tmpDir.path}/copy-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    const out = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(size, 1)));
      let at = 0;
      for (let n = 1; n > 0 && at < size; ) {
        n = readSync(from, buf, 0, Math.min(buf.length, size - at), at);
        for (let w = 0; w < n; ) w += writeSync(out, buf, w, n - w);
        at += n;
      }
      fchmodSync(out, mode);
    } finally {
      closeSync(out);
    }
    try {
      linkSync(tmp, `${dst.path}/${basename(rel)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
    }
  } finally {
    rmSync(tmp, { force: true });
    tmpDir.close();
    dst.close();
  }
}

/** A path as an anchored info/exclude line that matches only itself (glob characters escaped). */
export function excludeLineOf(rel: string): string {
  return `/${rel.replace(/[\\*?[\]!#]/g, (c) => `\\${c}`).replace(/ $/, "\\ ")}`;
}
