// Shared helpers for the store suite: a real SQLite file in a fresh temp dir per test.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Db, openStore } from "../../src/store/db.ts";

export interface TempStore {
  dir: string;
  path: string;
  db: Db;
  cleanup: () => void;
}

export function tempStore(): TempStore {
  const dir = mkdtempSync(join(tmpdir(), "kasmos-store-"));
  const path = join(dir, "kasmos.db");
  const db = openStore(path);
  return {
    dir,
    path,
    db,
    cleanup: () => {
      try {
        db.close(false);
      } catch {
        // already closed by the test
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
