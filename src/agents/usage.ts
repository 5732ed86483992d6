// Token usage from the agents' own records, read incrementally: Claude Code's session transcript
// (JSONL, one line per content block, each carrying its message's full usage: counted once per
// message id), codex's session rollout (cumulative token_count events: the last one is the total) and
// opencode's session database (totals per session). Each reader returns the agent's absolute totals
// per model and a cursor, so the next read starts where this one stopped.
import { Database } from "bun:sqlite";
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";

export interface TokenTotals {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

export type UsageByModel = Record<string, TokenTotals>;

export interface UsageCursor {
  /** Bytes of the transcript already read (complete lines only). */
  offset: number;
  /** Id of the last message counted (a message streamed over several lines is counted once). */
  lastId: string;
}

export const EMPTY_CURSOR: UsageCursor = { offset: 0, lastId: "" };
const MAX_READ = 16 * 1024 * 1024; // per read: a huge transcript is caught up over several passes

export function zero(): TokenTotals {
  return { input: 0, output: 0, cacheWrite: 0, cacheRead: 0 };
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/** New complete lines of `file` after `offset` (bounded), and the offset after them. */
export function readNewLines(file: string, offset: number): { lines: string[]; offset: number } {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return { lines: [], offset };
  }
  try {
    const size = fstatSync(fd).size;
    if (size < offset) offset = 0; // truncated or replaced: start over
    const len = Math.min(size - offset, MAX_READ);
    if (len <= 0) return { lines: [], offset };
    const buf = Buffer.allocUnsafe(len);
    const n = readSync(fd, buf, 0, len, offset);
    const text = buf.subarray(0, n).toString("utf8");
    const end = text.lastIndexOf("\n");
    if (end < 0) return { lines: [], offset }; // a line still being written
    const done = text.slice(0, end);
    return { lines: done.split("\n"), offset: offset + Buffer.byteLength(done) + 1 };
  } finally {
    closeSync(fd);
  }
}

function add(into: UsageByModel, model: string, t: TokenTotals): void {
  const cur = into[model] ?? zero();
  into[model] = { input: cur.input + t.input, output: cur.output + t.output, cacheWrite: cur.cacheWrite + t.cacheWrite, cacheRead: cur.cacheRead + t.cacheRead };
}

function clone(u: UsageByModel): UsageByModel {
  return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, { ...v }]));
}

/** Claude Code: assistant lines' message.usage, once per message id, added to `prev`. */
export function readClaudeTranscript(file: string, cursor: UsageCursor, prev: UsageByModel): { totals: UsageByModel; cursor: UsageCursor } {
  const { lines, offset } = readNewLines(file, cursor.offset);
  const totals = clone(prev);
  let lastId = cursor.lastId;
  for (const line of lines) {
    if (!line.includes('"assistant"')) continue;
    let d: { type?: unknown; message?: { id?: unknown; model?: unknown; usage?: Record<string, unknown> } };
    try {
      d = JSON.parse(line) as typeof d;
    } catch {
      continue;
    }
    const m = d.message;
    if (d.type !== "assistant" || !m?.usage) continue;
    const id = typeof m.id === "string" ? m.id : "";
    if (id !== "" && id === lastId) continue; // another content block of the message just counted
    lastId = id;
    const model = typeof m.model === "string" && m.model !== "" ? m.model : "unknown";
    if (model === "<synthetic>") continue; // Claude Code's own placeholder messages, no API call
    const u = m.usage;
    add(totals, model, { input: num(u.input_tokens), output: num(u.output_tokens), cacheWrite: num(u.cache_creation_input_tokens), cacheRead: num(u.cache_read_input_tokens) });
  }
  return { totals, cursor: { offset, lastId } };
}

/**
 * codex: the rollout's token_count events are cumulative (`info.total_token_usage`, whose input_tokens
 * include the cached ones): the newest is the session's total. The model comes from turn_context.
 */
export function readCodexRollout(file: string, cursor: UsageCursor, prev: UsageByModel): { totals: UsageByModel; cursor: UsageCursor } {
  const { lines, offset } = readNewLines(file, cursor.offset);
  let model = cursor.lastId || Object.keys(prev)[0] || "unknown";
  let latest: TokenTotals | null = null;
  for (const line of lines) {
    if (!line.includes("token_count") && !line.includes("turn_context")) continue;
    let d: { type?: unknown; payload?: { type?: unknown; model?: unknown; info?: { total_token_usage?: Record<string, unknown> } | null } };
    try {
      d = JSON.parse(line) as typeof d;
    } catch {
      continue;
    }
    if (d.type === "turn_context" && typeof d.payload?.model === "string") model = d.payload.model;
    const t = d.payload?.type === "token_count" ? d.payload.info?.total_token_usage : undefined;
    if (t) {
      const cached = num(t.cached_input_tokens);
      latest = { input: Math.max(0, num(t.input_tokens) - cached), output: num(t.output_tokens), cacheWrite: num(t.cache_write_input_tokens), cacheRead: cached };
    }
  }
  if (latest === null) return { totals: prev, cursor: { offset, lastId: model } };
  return { totals: { [model]: latest }, cursor: { offset, lastId: model } };
}

/** codex's rollout file of a thread: $CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread-id>.jsonl (recent days first). */
export function findCodexRollout(codexHome: string, threadId: string, now = new Date()): string | null {
  if (!/^[0-9a-f-]{8,}$/i.test(threadId)) return null;
  for (let back = 0; back < 3; back++) {
    const d = new Date(now.getTime() - back * 86_400_000);
    const dir = join(codexHome, "sessions", String(d.getFullYear()), String(d.getMonth() + 1).padStart(2, "0"), String(d.getDate()).padStart(2, "0"));
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    const hit = names.find((n) => n.startsWith("rollout-") && n.endsWith(`-${threadId}.jsonl`));
    if (hit) return join(dir, hit);
  }
  return null;
}

/**
 * opencode: the session this agent run created — in its working directory, whose first user message
 * names the agent's prompt file — and that session's totals (input excludes cached tokens).
 */
/** The session's model column: JSON {providerID, modelID} or a plain "provider/model" string. */
function sessionModel(raw: string | null): string | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as { providerID?: unknown; modelID?: unknown; id?: unknown };
    if (typeof v.modelID === "string") return typeof v.providerID === "string" ? `${v.providerID}/${v.modelID}` : v.modelID;
    if (typeof v.id === "string") return typeof v.providerID === "string" ? `${v.providerID}/${v.id}` : v.id;
  } catch {
    // not JSON: the name itself
  }
  return raw;
}

export function readOpencodeSession(dbFile: string, cwd: string, promptFile: string, model: string): UsageByModel | null {
  if (!existsSync(dbFile)) return null;
  let db: Database;
  try {
    db = new Database(dbFile, { readonly: true });
  } catch {
    return null;
  }
  try {
    db.exec("PRAGMA busy_timeout = 2000");
    const row = db
      .query<{ tokens_input: number; tokens_output: number; tokens_cache_read: number; tokens_cache_write: number; model: string | null }, { dir: string; like: string }>(
        `SELECT s.tokens_input, s.tokens_output, s.tokens_cache_read, s.tokens_cache_write, s.model FROM session s
         WHERE s.directory = $dir AND s.parent_id IS NULL AND EXISTS (
           SELECT 1 FROM part p JOIN message m ON m.id = p.message_id
           WHERE m.session_id = s.id AND json_extract(m.data, '$.role') = 'user' AND json_extract(p.data, '$.text') LIKE $like)
         ORDER BY s.time_created DESC LIMIT 1`,
      )
      .get({ dir: cwd, like: `%${promptFile}%` });
    if (!row) return null;
    const m = sessionModel(row.model) ?? (model || "unknown");
    return { [m]: { input: num(row.tokens_input), output: num(row.tokens_output), cacheWrite: num(row.tokens_cache_write), cacheRead: num(row.tokens_cache_read) } };
  } catch {
    return null; // another schema: nothing to read, never an error for the agent
  } finally {
    db.close();
  }
}
