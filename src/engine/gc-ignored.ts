// Which git-ignored files in a finished task's worktree gc may delete with it. Build output (below)
// can be made again; anything else ignored (`.env` with keys, logs, notes, local databases) may be
// the only copy, so the worktree is kept and listed unless `kas daemon gc --force`.
import { KASMOS_EXCLUDES } from "../agents/worktree.ts";

/** Folders, at any depth, whose ignored contents count as build output (README: Retention). */
export const BUILD_OUTPUT_DIRS: ReadonlySet<string> = new Set(["node_modules", "dist", "build", "target", "out", "coverage", ".cache", "__pycache__", ".pytest_cache", ".next", ".turbo", ".venv"]);
/** File endings that count as build output wherever they are. */
export const BUILD_OUTPUT_SUFFIXES = [".pyc", ".o", ".class"] as const;

/** kasmos's own folders (its signals, its cache): never the user's, never a reason to keep. */
function kasmosOwn(entry: string): boolean {
  return KASMOS_EXCLUDES.some((x) => `/${entry}`.startsWith(x));
}

export function isBuildOutput(entry: string): boolean {
  const parts = entry.split("/").filter((p) => p.length > 0);
  const dirs = entry.endsWith("/") ? parts : parts.slice(0, -1);
  return dirs.some((d) => BUILD_OUTPUT_DIRS.has(d)) || BUILD_OUTPUT_SUFFIXES.some((s) => entry.endsWith(s));
}

/** Ignored entries split into what gc deletes silently (build output) and what keeps the worktree. */
export function classifyIgnored(entries: string[]): { build: string[]; valuable: string[] } {
  const build: string[] = [];
  const valuable: string[] = [];
  for (const e of entries) {
    if (kasmosOwn(e)) continue;
    (isBuildOutput(e) ? build : valuable).push(e);
  }
  return { build, valuable };
}

/** "a, b, c and 4 more" */
export function listShort(entries: string[], n = 5): string {
  return `${entries.slice(0, n).join(", ")}${entries.length > n ? ` and ${entries.length - n} more` : ""}`;
}
