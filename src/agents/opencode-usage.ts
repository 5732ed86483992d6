// opencode's usage: the session this agent run created — in its working directory, whose first user
// message names the agent's prompt file — and that session's totals (input excludes cached tokens),
// from opencode's SQLite database. bun:sqlite is synchronous and the database is the agent's to
// replace (a FIFO would block the open, a locked database waits busy_timeout), so the query runs in
// a worker thread with a time bound: a worker that does not answer is dropped and the next read
// starts a fresh one. The file is checked first like any record file (record-file.ts).
import { openRecord, RecordRefused } from "./record-file.ts";
import type { UsageByModel } from "./usage.ts";
import { checkUsage, OpencodeSessionUsage } from "./usage-values.ts";

const QUERY_TIMEOUT_MS = 5000;

// Plain JavaScript run by the worker (a Blob URL: nothing to bundle or ship beside the binary).
const WORKER_CODE = `
import { Database } from "bun:sqlite";
const SQL = \`SELECT s.tokens_input, s.tokens_output, s.tokens_cache_read, s.tokens_cache_write, s.model FROM session s
  WHERE s.directory = $dir AND s.parent_id IS NULL AND EXISTS (
    SELECT 1 FROM part p JOIN message m ON m.id = p.message_id
    WHERE m.session_id = s.id AND json_extract(m.data, '$.role') = 'user' AND json_extract(p.data, '$.text') LIKE $like)
  ORDER BY s.time_created DESC LIMIT 1\`;
self.onmessage = (e) => {
  const { id, file, dir, like } = e.data;
  let db = null;
  try {
    db = new Database(file, { readonly: true });
    db.exec("PRAGMA busy_timeout = 2000");
    postMessage({ id, row: db.query(SQL).get({ dir, like }) ?? null });
  } catch (err) {
    postMessage({ id, error: String(err && err.message || err) });
  } finally {
    try { db && db.close(); } catch {}
  }
};`;

interface Reply {
  id: number;
  row?: Record<string, unknown> | null;
  error?: string;
}

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

function dropWorker(why: string): void {
  const w = worker;
  worker = null;
  for (const p of pending.values()) p.reject(new Error(why));
  pending.clear();
  w?.terminate();
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(URL.createObjectURL(new Blob([WORKER_CODE], { type: "application/javascript" })));
  w.unref(); // never keeps the daemon up
  w.onmessage = (e: MessageEvent<Reply>) => {
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    p?.resolve(e.data);
  };
  w.onerror = (e) => {
    if (worker === w) dropWorker(`opencode usage reader failed: ${e.message}`);
  };
  worker = w;
  return w;
}

/** One query in the worker, bounded by QUERY_TIMEOUT_MS. */
function query(file: string, dir: string, like: string): Promise<Reply> {
  const w = ensureWorker();
  const id = nextId++;
  return new Promise<Reply>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (!pending.has(id)) return;
      if (worker === w) dropWorker(`${file} did not answer within ${QUERY_TIMEOUT_MS / 1000} s`);
    }, QUERY_TIMEOUT_MS);
    timer.unref?.();
    pending.set(id, {
      resolve: (r) => {
        clearTimeout(timer);
        resolve(r);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    w.postMessage({ id, file, dir, like });
  });
}

/** The session's model column: JSON {providerID, modelID} or a plain "provider/model" string. */
function sessionModel(raw: unknown): string | null {
  if (typeof raw !== "string" || raw === "") return null;
  try {
    const v = JSON.parse(raw) as { providerID?: unknown; modelID?: unknown; id?: unknown };
    if (typeof v.modelID === "string") return typeof v.providerID === "string" ? `${v.providerID}/${v.modelID}` : v.modelID;
    if (typeof v.id === "string") return typeof v.providerID === "string" ? `${v.providerID}/${v.id}` : v.id;
  } catch {
    // not JSON: the name itself
  }
  return raw;
}

export interface OpencodeRead {
  totals: UsageByModel | null;
  rejected: string[];
}

/**
 * The totals of this run's session in `dbFile` (inside `roots`, opencode's data folder); null totals
 * when there is nothing to read (no database, another schema, no session yet). Throws RecordRefused
 * for a file that is not an ordinary database file of this account, Error when the worker timed out.
 */
export async function readOpencodeSession(dbFile: string, roots: readonly string[], cwd: string, promptFile: string, model: string): Promise<OpencodeRead> {
  try {
    await (await openRecord(dbFile, roots)).close();
  } catch (err) {
    if (err instanceof RecordRefused && err.missing) return { totals: null, rejected: [] };
    throw err;
  }
  const r = await query(dbFile, cwd, `%${promptFile}%`);
  if (r.error !== undefined || !r.row) return { totals: null, rejected: [] }; // another schema, or no session yet
  const t = checkUsage(OpencodeSessionUsage, r.row);
  if (!t.ok) return { totals: null, rejected: [`session: ${t.why}`] };
  const m = sessionModel(r.row.model) ?? (model || "unknown");
  return { totals: { [m]: { input: t.value.tokens_input ?? 0, output: t.value.tokens_output ?? 0, cacheWrite: t.value.tokens_cache_write ?? 0, cacheRead: t.value.tokens_cache_read ?? 0 } }, rejected: [] };
}
