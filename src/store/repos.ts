// Registered repositories persisted in the store.
import { type Db, nowIso } from "./db.ts";

export interface StoredRepo {
  project: string;
  path: string;
  added_at: string;
}

export function listStoredRepos(db: Db): StoredRepo[] {
  return db.query<StoredRepo, []>("SELECT project, path, added_at FROM repos ORDER BY added_at, project").all();
}

export function insertStoredRepo(db: Db, project: string, path: string): void {
  db.query("INSERT OR REPLACE INTO repos (project, path, added_at) VALUES (?, ?, ?)").run(project, path, nowIso());
}

export function deleteStoredRepo(db: Db, project: string): boolean {
  return db.query("DELETE FROM repos WHERE project = ?").run(project).changes > 0;
}
