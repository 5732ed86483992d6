// Who this store is (a random id made once, kept in the store so it survives restarts): the owner
// recorded in the tmux sessions its daemon starts.
import { randomBytes } from "node:crypto";
import type { Db } from "./db.ts";

export function storeId(db: Db): string {
  db.query("INSERT OR IGNORE INTO store_meta (key, value) VALUES ('id', ?)").run(randomBytes(12).toString("hex"));
  return db.query<{ value: string }, []>("SELECT value FROM store_meta WHERE key = 'id'").get()?.value ?? "";
}
