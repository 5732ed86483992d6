// A project is a repository, not its directory's basename: every repository path the daemon or the
// CLI meets gets one key, kept in the store (project_paths, migration 14) so the daemon, the CLI and
// agents name it alike. The key is the basename while that is free, else `<basename>~<8 hex of the
// path's hash>` (longer if that is taken too): /x/c/web is "web", /y/d/web "web~1b2c3d4e". Keys never
// change once given (store rows, sessions, prompt and run folders hang off them).
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { type Db, nowIso, writeTx } from "./db.ts";

/** The key of `path` (a repository root, by real path), or null when it has none yet. */
export function projectKeyOf(db: Db, path: string): string | null {
  return db.query<{ project: string }, [string]>("SELECT project FROM project_paths WHERE path = ?").get(path)?.project ?? null;
}

/** The repository path of a project key, or null. */
export function pathOfProjectKey(db: Db, project: string): string | null {
  return db.query<{ path: string }, [string]>("SELECT path FROM project_paths WHERE project = ?").get(project)?.path ?? null;
}

/** The key of `path`, given now if it has none (first come, first served: the basename, else a hashed one). */
export function ensureProjectKey(db: Db, path: string): string {
  const known = projectKeyOf(db, path);
  if (known !== null) return known;
  return writeTx(db, () => {
    // Another process may have given it a key between the read and the write lock.
    const raced = projectKeyOf(db, path);
    if (raced !== null) return raced;
    const base = basename(path) || "root";
    const hash = createHash("sha256").update(path).digest("hex");
    const taken = db.query<{ n: number }, [string]>("SELECT COUNT(*) AS n FROM project_paths WHERE project = ?");
    let key = base;
    for (let len = 8; (taken.get(key)?.n ?? 0) > 0; len += 4) key = len > hash.length ? `${base}~${hash}~${len}` : `${base}~${hash.slice(0, len)}`;
    db.query("INSERT INTO project_paths (project, path, created_at) VALUES (?, ?, ?)").run(key, path, nowIso());
    return key;
  });
}
