// Token usage from the agents' own records, read incrementally: Claude Code's session transcript
// (JSONL, one line per content block, each carrying its message's full usage: counted once per
// message id), codex's session rollout (cumulative token_count events: the last one is the total) and
// opencode's session database (totals per session, opencode-usage.ts). Each reader returns the agent's
// absolute totals per model and a cursor, so the next read starts where this one stopped. The files
// are untrusted (record-file.ts) and so are their numbers (usage-values.ts): a record whose counts
// are not believable is rejected and reported, never counted.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { readNewLines } from "./record-file.ts";
import { ClaudeMessageUsage, checkUsage, CodexTotalUsage, type TokenTotals } from "./usage-values.ts";

export type { TokenTotals } from "./usage-values.ts";

export type UsageByModel = Record<string, TokenTotals>;

export interface UsageCursor {
  /** Bytes of the transcript already read (complete lines only). */
  offset: number;
  /** Id of the last message counted (a message streamed over several lines is counted once). */
  lastId: string;
}

/** One read: the new absolute totals, where the next read starts, and records rejected on the way. */
export interface UsageRead {
  totals: UsageByModel;
  cursor: UsageCursor;
  /** Why records were not counted (at most a few reasons, for the log and the audit). */
  rejected: string[];
  /** The record file reached its size bound: nothing past it is read. */
  capped?: boolean;
}

export const EMPTY_CURSOR: UsageCursor = { offset: 0, lastId: "" };
const MAX_REASONS = 5;

export function zero(): TokenTotals {
  return { input: 0, output: 0, cacheWrite: 0, cacheRead: 0 };
}

function add(into: UsageByModel, model: string, t: TokenTotals): void {
  const cur = into[model] ?? zero();
  into[model] = { input: cur.input + t.input, output: cur.output + t.output, cacheWrite: cur.cacheWrite + t.cacheWrite, cacheRead: cur.cacheRead + t.cacheRead };
}

function clone(u: UsageByModel): UsageByModel {
  return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, { ...v }]));
}

function reject(list: string[], why: string): void {
  if (list.length < MAX_REASONS) list.push(why);
}

/** Claude Code lines: assistant lines' message.usage, once per message id, added to `prev`. */
export function parseClaudeLines(lines: readonly string[], cursor: UsageCursor, prev: UsageByModel): { totals: UsageByModel; lastId: string; rejected: string[] } {
  const totals = clone(prev);
  const rejected: string[] = [];
  let lastId = cursor.lastId;
  for (const line of lines) {
    if (!line.includes('"assistant"')) continue;
    let d: { type?: unknown; message?: { id?: unknown; model?: unknown; usage?: unknown } };
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
    const u = checkUsage(ClaudeMessageUsage, m.usage);
    if (!u.ok) {
      reject(rejected, `message ${id || "(no id)"}: ${u.why}`);
      continue;
    }
    add(totals, model, { input: u.value.input_tokens ?? 0, output: u.value.output_tokens ?? 0, cacheWrite: u.value.cache_creation_input_tokens ?? 0, cacheRead: u.value.cache_read_input_tokens ?? 0 });
  }
  return { totals, lastId, rejected };
}

/** Claude Code's transcript (inside `roots`, Claude's projects folder): new lines since `cursor`, added to `prev`. */
export async function readClaudeTranscript(file: string, cursor: UsageCursor, prev: UsageByModel, roots: readonly string[]): Promise<UsageRead> {
  const { lines, offset, capped } = await readNewLines(file, cursor.offset, roots);
  const r = parseClaudeLines(lines, cursor, prev);
  return { totals: r.totals, cursor: { offset, lastId: r.lastId }, rejected: r.rejected, capped };
}

/**
 * codex lines: the rollout's token_count events are cumulative (`info.total_token_usage`, whose
 * input_tokens include the cached ones): the newest is the session's total. The model comes from turn_context.
 */
export function parseCodexLines(lines: readonly string[], cursor: UsageCursor, prev: UsageByModel): { totals: UsageByModel; model: string; rejected: string[] } {
  let model = cursor.lastId || Object.keys(prev)[0] || "unknown";
  let latest: TokenTotals | null = null;
  const rejected: string[] = [];
  for (const line of lines) {
    if (!line.includes("token_count") && !line.includes("turn_context")) continue;
    let d: { type?: unknown; payload?: { type?: unknown; model?: unknown; info?: { total_token_usage?: unknown } | null } };
    try {
      d = JSON.parse(line) as typeof d;
    } catch {
      continue;
    }
    if (d.type === "turn_context" && typeof d.payload?.model === "string") model = d.payload.model;
    const raw = d.payload?.type === "token_count" ? d.payload.info?.total_token_usage : undefined;
    if (!raw) continue;
    const t = checkUsage(CodexTotalUsage, raw);
    if (!t.ok) {
      reject(rejected, `token_count: ${t.why}`);
      continue;
    }
    const cached = t.value.cached_input_tokens ?? 0;
    latest = { input: Math.max(0, (t.value.input_tokens ?? 0) - cached), output: t.value.output_tokens ?? 0, cacheWrite: t.value.cache_write_input_tokens ?? 0, cacheRead: cached };
  }
  return { totals: latest === null ? prev : { [model]: latest }, model, rejected };
}

/** codex's rollout (inside `roots`, codex's sessions folder): the newest cumulative total. */
export async function readCodexRollout(file: string, cursor: UsageCursor, prev: UsageByModel, roots: readonly string[]): Promise<UsageRead> {
  const { lines, offset, capped } = await readNewLines(file, cursor.offset, roots);
  const r = parseCodexLines(lines, cursor, prev);
  return { totals: r.totals, cursor: { offset, lastId: r.model }, rejected: r.rejected, capped };
}

/** codex's rollout file of a thread: $CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread-id>.jsonl (recent days first). */
export async function findCodexRollout(codexHome: string, threadId: string, now = new Date()): Promise<string | null> {
  if (!/^[0-9a-f-]{8,}$/i.test(threadId)) return null;
  for (let back = 0; back < 3; back++) {
    const d = new Date(now.getTime() - back * 86_400_000);
    const dir = join(codexHome, "sessions", String(d.getFullYear()), String(d.getMonth() + 1).padStart(2, "0"), String(d.getDate()).padStart(2, "0"));
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    const hit = names.find((n) => n.startsWith("rollout-") && n.endsWith(`-${threadId}.jsonl`));
    if (hit) return join(dir, hit);
  }
  return null;
}

