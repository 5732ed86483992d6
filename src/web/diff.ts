// A task branch's diff against the default branch, for GET …/tasks/:name/diff: from the merge base, as
// a pull request shows it. git runs off the event loop (runGit) with its usual time limit.
import { MAX_PATCH_BYTES, type TaskDiff } from "../api/diff.ts";
import { defaultBranch } from "../agents/worktree.ts";
import type { Daemon } from "../server/running-daemon.ts";
import { getTask } from "../store/tasks.ts";
import { Refused } from "../util/errors.ts";
import { runGit } from "../util/git.ts";

export async function branchDiff(d: Daemon, project: string, name: string): Promise<TaskDiff> {
  const repo = d.registry.get(project);
  if (!repo) throw new Refused("not_found", `repo not registered: ${project}`);
  const task = getTask(d.db, project, name);
  if (!task) throw new Refused("not_found", `no task ${name} in ${project}`);
  const branch = task.branch.trim() || `plan/${task.name}`;
  if (branch.startsWith("-")) throw new Refused("invalid", `invalid branch name: ${branch}`);
  const base = await defaultBranch(repo.path);
  const known = await runGit(["-C", repo.path, "rev-parse", "--verify", "--quiet", `refs/heads/${branch}`]);
  if (known.code !== 0) throw new Refused("not_found", `task ${name} has no branch ${branch} yet`);
  const range = `${base}...${branch}`;
  const [numstat, patch] = await Promise.all([
    runGit(["-C", repo.path, "diff", "--no-color", "--no-ext-diff", "--numstat", "-z", range, "--"]),
    runGit(["-C", repo.path, "diff", "--no-color", "--no-ext-diff", range, "--"]),
  ]);
  for (const r of [numstat, patch]) if (r.code !== 0) throw new Refused("unavailable", `git diff ${range} failed: ${r.stderr.trim() || (r.timedOut ? "timed out" : `exit ${r.code}`)}`);
  const truncated = Buffer.byteLength(patch.stdout) > MAX_PATCH_BYTES;
  return { base, branch, files: parseNumstat(numstat.stdout), patch: truncated ? Buffer.from(patch.stdout).subarray(0, MAX_PATCH_BYTES).toString() : patch.stdout, truncated };
}

/** `git diff --numstat -z`: "<add>\t<del>\t<path>\0", a rename as "<add>\t<del>\t\0<from>\0<to>\0"; "-" counts for binary files. */
export function parseNumstat(text: string): TaskDiff["files"] {
  const parts = text.split("\0");
  const files: TaskDiff["files"] = [];
  for (let i = 0; i < parts.length; i++) {
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(parts[i]!);
    if (!m) continue;
    let path = m[3]!;
    if (path === "") {
      path = `${parts[i + 1] ?? ""} → ${parts[i + 2] ?? ""}`;
      i += 2;
    }
    files.push({ path, additions: m[1] === "-" ? null : Number(m[1]), deletions: m[2] === "-" ? null : Number(m[2]) });
  }
  return files;
}
