// Undo preflight's trust of a task worktree once gc removed it: the entries kasmos added to a CLI's
// config (Claude Code's ~/.claude.json projects["<path>"], codex's [projects."<path>"] trust_level =
// "trusted") would otherwise pile up, one per task. Each harness that trusts folders removes its own
// (untrust), under its CLI's lock, written atomically, leaving the rest of the file as it was.
import { harnessNames, harnessOf } from "./index.ts";

/** Remove every CLI's trust of `folders` (gone worktrees); what was removed, as "<cli>: <folder>". Never throws. */
export async function untrustFolders(env: Record<string, string | undefined>, folders: readonly string[]): Promise<{ removed: string[]; errors: string[] }> {
  const removed: string[] = [];
  const errors: string[] = [];
  for (const h of harnessNames().map(harnessOf)) {
    if (!h.untrust) continue;
    try {
      for (const f of await h.untrust(env, folders)) removed.push(`${h.name}: ${f}`);
    } catch (err) {
      errors.push(`${h.name}: ${(err as Error).message}`);
    }
  }
  return { removed, errors };
}
