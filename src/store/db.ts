// The embedded store: one bun:sqlite file under ~/.config/kasmos/, shared by the daemon and the CLI.
// WAL + busy timeout make several writers (daemon, CLI, tests) safe; schema changes are versioned
// migrations applied inside a transaction so a crash mid-migration leaves the previous version.
import { Database } from "bun:sqlite";
import { closeSync, existsSync, mkdirSync } from "node:fs";
import { openPrivateAppend, storeFiles, tighten } from "../config/private-state.ts";
import { dirname } from "node:path";
import { MIGRATIONS } from "./migrations.ts";
import { StoreError } from "./errors.ts";

export type Db = Database;

export interface OpenOptions {
  /** Skip directory creation (for `:memory:`). */
  memory?: boolean;
}

export function openStore(path: string, opts: OpenOptions = {}): Db {
  const memory = opts.memory || path === ":memory:";
  try {
    if (!memory) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // Created 0600 before SQLite opens it (its WAL and shm then take the same mode), whatever the
      // umask; an older store others could read is tightened (reported by doctor when it cannot be).
      if (!existsSync(path)) closeSync(openPrivateAppend(path));
      for (const f of storeFiles(path)) tighten(f);
    }
    const db = new Database(path, { create: true, strict: true });
    db.exec("PRAGMA busy_timeout = 30000");
    // A new store returns freed pages to the file system in steps (retention: src/store/retention.ts).
    // It only takes effect before the first table exists; older stores switch with a one-time VACUUM
    // (`kas daemon gc`).
    if (db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM sqlite_schema").get()?.n === 0) db.exec("PRAGMA auto_vacuum = INCREMENTAL");
    if (!memory) db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    migrate(db);
    return db;
  } catch (err) {
    // One clear line with the path and a way out, instead of a bare SQLite message.
    const msg = (err as Error).message;
    const corrupt = /not a database|malformed|corrupt/i.test(msg);
    throw new StoreError(
      "invalid",
      corrupt
        ? `cannot open the store ${path}: ${msg}; move it aside (mv ${path} ${path}.broken) to start with an empty store, or restore a backup`
        : `cannot open the store ${path}: ${msg}`,
    );
  }
}

export function schemaVersion(db: Db): number {
  const row = db.query<{ user_version: number }, []>("PRAGMA user_version").get();
  return row?.user_version ?? 0;
}

/** Apply every migration newer than the file's `user_version`, each in an IMMEDIATE transaction. */
export function migrate(db: Db): void {
  for (let i = 0; i < MIGRATIONS.length; i++) {
    const version = i + 1;
    if (schemaVersion(db) >= version) continue;
    const step = MIGRATIONS[i]!;
    // A table rebuild runs with foreign keys off (only settable outside a transaction) and is checked before commit.
    const fkOn = step.rebuildsTables === true && db.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()?.foreign_keys === 1;
    if (fkOn) db.exec("PRAGMA foreign_keys = OFF");
    try {
      db.transaction(() => {
        // Re-check inside the write lock: another process may have migrated meanwhile.
        if (schemaVersion(db) >= version) return;
        step(db);
        if (step.rebuildsTables && db.query("PRAGMA foreign_key_check").all().length > 0) throw new Error(`migration ${version} broke a foreign key`);
        db.exec(`PRAGMA user_version = ${version}`);
      }).immediate();
    } finally {
      if (fkOn) db.exec("PRAGMA foreign_keys = ON");
    }
  }
}

/** Run `fn` in an IMMEDIATE transaction (takes the write lock up front, so read-validate-write is atomic). */
export function writeTx<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** `(${prefix}0, ${prefix}1, …)` for an SQL IN list, with the values added to `params` (named-parameter style). */
export function inList(prefix: string, values: readonly (string | number)[], params: Record<string, string | number | null>): string {
  return `(${values.map((v, i) => {
    params[`${prefix}${i}`] = v;
    return `$${prefix}${i}`;
  }).join(", ")})`;
}

/**
 * Changes whenever the store may have changed: this connection's row changes (total_changes) and other
 * connections' commits (data_version, e.g. a CLI process). Equal values mean nothing was written since.
 */
export function storeVersion(db: Db): string {
  const own = db.query<{ c: number }, []>("SELECT total_changes() AS c").get()?.c ?? 0;
  const others = db.query<{ data_version: number }, []>("PRAGMA data_version").get()?.data_version ?? 0;
  return `${own}:${others}`;
}
