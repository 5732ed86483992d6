// Approvals of repositories' own config files (`kas daemon trust`): which file content, by digest,
// the user said may name the programs kasmos runs for that repository.
import type { Database } from "bun:sqlite";

export interface RepoConfigApproval {
  path: string;
  digest: string;
  /** The command entries the approved file named (what the user saw). */
  commands: string[];
  approvedAt: string;
}

interface Row {
  path: string;
  digest: string;
  commands: string;
  approved_at: string;
}

export function repoConfigApproval(db: Database, path: string): RepoConfigApproval | null {
  const row = db.query<Row, [string]>("SELECT path, digest, commands, approved_at FROM repo_config_trust WHERE path = ?").get(path);
  if (!row) return null;
  let commands: string[] = [];
  try {
    const parsed: unknown = JSON.parse(row.commands);
    if (Array.isArray(parsed)) commands = parsed.filter((c): c is string => typeof c === "string");
  } catch {
    // A damaged row still says which digest was approved; the list is only what the user saw.
  }
  return { path: row.path, digest: row.digest, commands, approvedAt: row.approved_at };
}

export function approveRepoConfig(db: Database, a: { path: string; digest: string; commands: string[] }): void {
  db.query("INSERT INTO repo_config_trust (path, digest, commands, approved_at) VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET digest = excluded.digest, commands = excluded.commands, approved_at = excluded.approved_at").run(
    a.path,
    a.digest,
    JSON.stringify(a.commands),
    new Date().toISOString(),
  );
}
