// Warnings about a registered repo that status shows on every call (e.g. "no commits yet"), without a
// git process per repo per call: a loose ref answers most repos with one stat, the rest are asked
// once per WARNING_TTL_MS.
import { existsSync, lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoWarnings } from "./repos.ts";

const WARNING_TTL_MS = 30_000;
const cache = new Map<string, { at: number; warnings: string[] }>();

/** True when HEAD is a branch whose loose ref exists (the repo has a commit): no git call needed. */
function headRefExists(repo: string): boolean {
  const git = join(repo, ".git");
  if (!lstatSync(git, { throwIfNoEntry: false })?.isDirectory()) return false;
  try {
    const head = readFileSync(join(git, "HEAD"), "utf8").trim();
    if (/^[0-9a-f]{40,64}$/.test(head)) return true; // detached at a commit
    const ref = /^ref: (refs\/heads\/[^\s]+)$/.exec(head)?.[1];
    return ref !== undefined && !ref.includes("..") && existsSync(join(git, ref));
  } catch {
    return false;
  }
}

/** repoWarnings, cheap enough for every status call. */
export function statusWarnings(repo: string): string[] {
  if (headRefExists(repo)) return [];
  const now = Date.now();
  const known = cache.get(repo);
  if (known && now - known.at < WARNING_TTL_MS) return known.warnings;
  const warnings = repoWarnings(repo);
  if (cache.size >= 10_000) cache.clear();
  cache.set(repo, { at: now, warnings });
  return warnings;
}
