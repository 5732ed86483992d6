// A repository's own .kasmos/config.toml is its author's word, not the user's: the programs (and their
// arguments) it names run only once the user approved that exact file (`kas daemon trust`, like
// direnv's allow); a changed file needs approval again.
import type { Database } from "bun:sqlite";
import { type AgentProfile, type AgentProfilesConfig, type AgentRole, profilesFromConfig, resolveProfile } from "../agents/programs.ts";
import { loadRepoOverrides, repoConfigPath, type RepoOverrides } from "../config/repo.ts";
import { approveRepoConfig, repoConfigApproval } from "../store/repo-trust.ts";

export interface RepoTrustRefusal {
  reason: string;
  fix: string;
}

/** The repo's `[agents.<role>]` without the entries that name commands (program, flags). */
function withoutCommands(agents: RepoOverrides["agents"]): RepoOverrides["agents"] {
  const out: RepoOverrides["agents"] = {};
  for (const [role, a] of Object.entries(agents) as [AgentRole, NonNullable<RepoOverrides["agents"][AgentRole]>][]) {
    out[role] = { ...(a.model !== undefined ? { model: a.model } : {}), ...(a.skip_permissions !== undefined ? { skip_permissions: a.skip_permissions } : {}) };
  }
  return out;
}

/**
 * Why `role`'s agent may not start as `profile` (resolved with the repo's file), or null when it may:
 * the program or flags it would run come from the repo's file and that file, as it is now, was never
 * approved. A role the file's commands do not reach starts as usual.
 */
export function repoCommandsRefusal(db: Database, repo: { path: string; project: string }, role: AgentRole, daemon: AgentProfilesConfig, profile: AgentProfile): RepoTrustRefusal | null {
  const file = loadRepoOverrides(repo.path);
  if (file.commands.length === 0 || file.digest === null) return null;
  const own = resolveProfile(role, { daemon, repo: profilesFromConfig(withoutCommands(file.overrides.agents), "") });
  if (own.program === profile.program && own.flags.join("\0") === profile.flags.join("\0")) return null;
  const approval = repoConfigApproval(db, repo.path);
  if (approval?.digest === file.digest) return null;
  return {
    reason: `${repoConfigPath(repo.path)} names commands kasmos has not been allowed to run (${file.commands.join("; ")})${approval ? ": the file changed since you approved it" : ""}`,
    fix: `read that file; if you accept what it runs, approve it with \`kas daemon trust ${repo.project}\`, then \`kas task retry <task>\``,
  };
}

export type TrustOutcome =
  | { status: "trusted" | "unchanged"; digest: string; commands: string[] }
  | { status: "nothing_to_trust"; reason: string };

/** Approve the repo file as it is now (its digest and the commands it names). */
export function trustRepoConfig(db: Database, repoPath: string): TrustOutcome {
  const file = loadRepoOverrides(repoPath);
  if (file.digest === null) return { status: "nothing_to_trust", reason: `${repoConfigPath(repoPath)} does not exist` };
  if (file.error !== null && file.commands.length === 0) return { status: "nothing_to_trust", reason: file.error };
  const before = repoConfigApproval(db, repoPath);
  if (before?.digest === file.digest) return { status: "unchanged", digest: file.digest, commands: file.commands };
  approveRepoConfig(db, { path: repoPath, digest: file.digest, commands: file.commands });
  return { status: "trusted", digest: file.digest, commands: file.commands };
}
