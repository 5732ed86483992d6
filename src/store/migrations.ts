// Versioned schema. Append only: never edit a shipped step; add a new one.
import type { Database } from "bun:sqlite";

export type Migration = (db: Database) => void;

export const MIGRATIONS: Migration[] = [
  // 1: repositories registered at run time (survive restarts; merged with the config's `repos`).
  (db) => {
    db.exec(`
      CREATE TABLE repos (
        project    TEXT PRIMARY KEY,
        path       TEXT NOT NULL UNIQUE,
        added_at   TEXT NOT NULL
      );
    `);
  },
];
