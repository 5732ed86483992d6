// The folders kasmos keeps in a repository, checked before it reads, moves, writes or deletes there:
// none may be a symbolic link (a cloned repo could point .kasmos/signals at ~/docs, whose files would
// then be quarantined and later deleted), and kasmos must be able to use its own .kasmos folder.
// Each answer is one line for status `problem`, doctor and `kas daemon add`.
import { accessSync, constants, lstatSync } from "node:fs";
import { join } from "node:path";
import { linkProblem } from "../util/contained-fs.ts";

/** Folders (relative to the repo root) that must be real folders when present. */
const OWN_FOLDERS = [".kasmos", ".kasmos/signals", ".kasmos/signals/processing", ".kasmos/signals/failed", ".worktrees", ".git/info"];
/** Folders kasmos itself must be able to list, create in and delete in. */
const USED_FOLDERS = [".kasmos", ".kasmos/signals"];

/** A repo's folders are re-checked this often while it is scanned (a link or chmod after registration). */
export const LAYOUT_CHECK_MS = 5000;
const lastChecks = new Map<string, number>();

/** True (and noted) when `repo`'s layout was last checked over LAYOUT_CHECK_MS ago. */
export function layoutCheckDue(repo: string, now = Date.now()): boolean {
  const last = lastChecks.get(repo);
  if (last !== undefined && now - last < LAYOUT_CHECK_MS) return false;
  if (lastChecks.size >= 10_000) lastChecks.clear();
  lastChecks.set(repo, now);
  return true;
}

/** Why kasmos must not work in this repository's own folders, or null. */
export function repoLayoutProblem(repo: string): string | null {
  for (const rel of OWN_FOLDERS) {
    const p = linkProblem(join(repo, rel));
    if (p !== null) return p;
  }
  const exclude = join(repo, ".git", "info", "exclude");
  if (lstatQuiet(exclude)?.isSymbolicLink()) return `${exclude} is a symbolic link: kasmos never writes through links in a repository; replace it with a file`;
  for (const rel of USED_FOLDERS) {
    const p = accessProblem(join(repo, rel));
    if (p !== null) return p;
  }
  return null;
}

/**
 * A folder of ours whose mode keeps us out. The owner's bits are read as well as access(2): root passes
 * access() on a mode-000 folder, yet such a folder is a mistake to report, not a place to work.
 */
function accessProblem(abs: string): string | null {
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (!st) return null;
  const mode = (st.mode & 0o777).toString(8).padStart(3, "0");
  const fix = `chmod u+rwx ${abs}`;
  const mine = typeof process.getuid === "function" && st.uid === process.getuid();
  if (mine && (st.mode & 0o700) !== 0o700) return `${abs} has mode ${mode}: kasmos cannot read and write its signals there (${fix})`;
  try {
    // Not W_OK: an immutable folder (chattr +i) fails it, yet its signals are still read and applied.
    accessSync(abs, constants.R_OK | constants.X_OK);
  } catch (err) {
    return `${abs} (mode ${mode}, owner uid ${st.uid}) cannot be used: ${(err as { code?: string }).code ?? (err as Error).message} (${fix}, or chown it)`;
  }
  return null;
}

/** lstat, or undefined when there is nothing to look at: a linked worktree's .git is a file (ENOTDIR). */
function lstatQuiet(abs: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(abs, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
