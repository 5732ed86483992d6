// Git queries the lifecycle needs (async, bounded): a task branch's HEAD and its merge-base.
import type { BranchHead } from "../lifecycle/model.ts";
import { runGit } from "../util/git.ts";

async function git(repo: string, args: string[], timeoutMs = 5000): Promise<string | null> {
  const r = await runGit(["-C", repo, ...args], { timeoutMs });
  return r.code === 0 && !r.timedOut ? r.stdout.trim() : null;
}

/** HEAD of `branch` and its merge-base with the repo's checked-out HEAD; null when the branch does not resolve. */
export async function resolveBranchHead(repo: string, branch: string): Promise<BranchHead | null> {
  if (!branch || branch.startsWith("-")) return null;
  const sha = await git(repo, ["rev-parse", "--verify", "--quiet", `${branch}^{commit}`]);
  if (!sha || !/^[0-9a-f]{40}$/.test(sha)) return null;
  const base = (await git(repo, ["merge-base", sha, "HEAD"])) ?? "";
  return { sha, baseSha: /^[0-9a-f]{40}$/.test(base) ? base : "" };
}

/** Lines added + deleted between two commits (a master's self-fix size); null when git cannot tell. */
export async function linesChanged(repo: string, from: string, to: string): Promise<number | null> {
  if (!/^[0-9a-f]{40}$/.test(from) || !/^[0-9a-f]{40}$/.test(to)) return null;
  if (from === to) return 0;
  const out = await git(repo, ["diff", "--numstat", from, to]);
  if (out === null) return null;
  let n = 0;
  for (const line of out.split("\n")) {
    const [a, d] = line.split("\t");
    if (a && d && a !== "-") n += Number(a) + Number(d);
  }
  return n;
}
