// opencode (`opencode`). Facts this file relies on (1.18.x, checked against the real CLI):
// - `opencode --prompt "<text>"` opens the TUI with a first message; --model provider/model; --auto
//   answers its permission prompts itself (reading the prompt file outside the repo asks for
//   "Access external directory" otherwise).
// - No first-run gates once a provider is configured; no folder trust. Writes only .git/opencode in the repo.
// - Turn ends are not reported to kasmos: its plugin mechanism would work (OPENCODE_CONFIG_CONTENT), but
//   any plugin makes every start install @opencode-ai/plugin from npm under a cross-process lock first
//   (a 70 s stall without a registry), so the pane watcher decides (output silence).
// - Two TUIs started at the same instant in a project opencode has never opened were reported to hang
//   after "init" (not reproduced here in 12 paired starts): the runner spaces opencode starts in one
//   repo by staggerMs.
// - Its usage: the session this agent run created — in its working directory, whose first user message
//   names the agent's prompt file — and that session's totals (input excludes cached tokens), from its
//   SQLite database. bun:sqlite is synchronous and the database is the agent's to replace (a FIFO would
//   block the open, a locked database waits busy_timeout), so the query runs in a worker thread with a
//   time bound: a worker that does not answer is dropped and the next read starts a fresh one. The file
//   is checked first like any record file (record-file.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openRecord, RecordRefused } from "../record-file.ts";
import type { UsageByModel } from "../usage.ts";
import { checkUsage, OpencodeSessionUsage } from "../usage-values.ts";
import type { Harness } from "./types.ts";
import { activityByName, agentHome } from "./util.ts";

const QUERY_TIMEOUT_MS = 5000;

// Plain JavaScript run by the worker (a Blob URL: nothing to bundle or ship beside the binary).
const WORKER_CODE = `
import { Database } from "bun:sqlite";
const SQL = \`SELECT s.id AS session_id, s.tokens_input, s.tokens_output, s.tokens_cache_read, s.tokens_cache_write, s.model FROM session s
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
  /** The id of this run's session in opencode's database (what `--session` continues); null when none yet. */
  session: string | null;
}

/** opencode's session ids ("ses_" and an ordered random part): anything else is not passed on as one. */
const SESSION_ID = /^ses_[0-9A-Za-z]{8,64}$/;

/**
 * The totals of this run's session in `dbFile` (inside `roots`, opencode's data folder); null totals
 * when there is nothing to read (no database, another schema, no session yet). Throws RecordRefused
 * for a file that is not an ordinary database file of this account, Error when the worker timed out.
 */
export async function readOpencodeSession(dbFile: string, roots: readonly string[], cwd: string, promptFile: string, model: string): Promise<OpencodeRead> {
  try {
    await (await openRecord(dbFile, roots)).close();
  } catch (err) {
    if (err instanceof RecordRefused && err.missing) return { totals: null, rejected: [], session: null };
    throw err;
  }
  const r = await query(dbFile, cwd, `%${promptFile}%`);
  if (r.error !== undefined || !r.row) return { totals: null, rejected: [], session: null }; // another schema, or no session yet
  const id = r.row.session_id;
  const session = typeof id === "string" && SESSION_ID.test(id) ? id : null;
  const t = checkUsage(OpencodeSessionUsage, r.row);
  if (!t.ok) return { totals: null, rejected: [`session: ${t.why}`], session };
  const m = sessionModel(r.row.model) ?? (model || "unknown");
  return { totals: { [m]: { input: t.value.tokens_input ?? 0, output: t.value.tokens_output ?? 0, cacheWrite: t.value.tokens_cache_write ?? 0, cacheRead: t.value.tokens_cache_read ?? 0 } }, rejected: [], session };
}

/** opencode's data folder (its session database lives there). */
function opencodeDataDir(env: Record<string, string | undefined>): string {
  return join(xdgDir(env, "XDG_DATA_HOME", ".local/share"), "opencode");
}

function xdgDir(env: Record<string, string | undefined>, name: string, fallback: string): string {
  return env[name]?.trim() || join(agentHome(env), fallback);
}

/** opencode.json and the variables its `{env:NAME}` options read (a provider's key or URL). */
function opencodeEnvRefs(env: Record<string, string | undefined>): { file: string; names: string[] } {
  const file = join(xdgDir(env, "XDG_CONFIG_HOME", ".config"), "opencode", "opencode.json");
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return { file, names: [] };
  }
  return { file, names: [...new Set([...text.matchAll(/\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!))] };
}

export const opencode: Harness<"opencode"> = {
  name: "opencode",
  minVersion: "1.18.0",
  testedVersion: "1.18.33",
  reportsTurns: false,
  staggerMs: 3000,
  command({ words, profile, pointer, resume }) {
    const options = [...(profile.model ? ["--model", profile.model] : []), ...(profile.skipPermissions ? ["--auto"] : []), ...profile.flags];
    // `--session <id>` continues that session but leaves --prompt unsent (1.18.33): the pointer is
    // typed as its next message once the TUI is up. A session whose CLI was killed mid-turn reopens
    // still busy and holds a new message back: Escape ends that turn first. Ready = its footer drawn
    // (a quiet moment alone is not enough on a busy machine: it pauses while it loads the session).
    if (resume) return { argv: [...words, "--session", resume, ...options], env: {}, files: {}, typeAfterStart: { ready: /ctrl\+p commands/, keys: ["Escape"], text: pointer } };
    return { argv: [...words, ...options, "--prompt", pointer], env: {}, files: {} };
  },
  // kasmos wires no plugin (above); one of the user's, or a wrapper, may still report by name.
  activityFromEvent: activityByName,
  // Totals of the session this run created (its first message names the prompt file), from opencode's database.
  readUsage: async (ctx, cursor) => {
    const r = await readOpencodeSession(join(opencodeDataDir(ctx.env), "opencode.db"), ctx.roots, ctx.cwd, ctx.promptFile, ctx.model);
    return r.totals || r.rejected.length > 0 || r.session ? { totals: r.totals ?? {}, cursor, rejected: r.rejected, ...(r.session ? { session: r.session } : {}) } : null;
  },
  // opencode names no transcript: its record of this run is the session id the usage read found.
  sessionFrom: (record) => (SESSION_ID.test(record) ? record : null),
  recordRoots: (env) => [opencodeDataDir(env)],
  sandboxState: (env) => ({
    paths: [
      opencodeDataDir(env),
      join(xdgDir(env, "XDG_CONFIG_HOME", ".config"), "opencode"),
      join(xdgDir(env, "XDG_STATE_HOME", ".local/state"), "opencode"),
      join(xdgDir(env, "XDG_CACHE_HOME", ".cache"), "opencode"),
    ],
    env: ["OPENCODE*", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", ...opencodeEnvRefs(env).names],
  }),
  async preflight(ctx) {
    // A provider option written "{env:NAME}" (opencode.json) needs NAME in the agent's environment.
    const { file, names } = opencodeEnvRefs(ctx.env);
    const missing = names.filter((n) => !(ctx.env[n] ?? ""));
    if (missing.length === 0) return { ok: true, notes: [] };
    return {
      ok: false,
      refusal: {
        reason: `${file} reads ${missing.map((n) => `{env:${n}}`).join(", ")} but ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not set (opencode would fail to reach its provider)`,
        fix: `set ${missing.join(", ")} in the daemon's environment (export before kas daemon start, or Environment= in the systemd unit), then restart the daemon`,
      },
    };
  },
  // Recorded from 1.18.33 against the loopback model answering the APIs' own errors (Chat Completions):
  // it retries limits and overloads itself, honouring retry-after ("■■■■ The usage limit has been reached
  // [retrying in 17s attempt #5]"), so those are left to it; a rejected key is shown in the session.
  stalls: [
    { reason: "usage_limit", pattern: /usage limit has been reached.*\[retrying in /i, retrying: true },
    { reason: "rate_limit", pattern: /(?:Rate limit reached|Too Many Requests).*\[retrying in /i, retrying: true },
    { reason: "overloaded", pattern: /\[retrying in [^\]]*attempt #\d+\]/, retrying: true },
    { reason: "auth", pattern: /Incorrect API key provided|invalid x-api-key|invalid_api_key/i },
  ],
  dialogs: [
    { kind: "permission", pattern: /Permission required|Allow once\s+Allow always/i, what: "opencode asks for permission" },
    { kind: "error", pattern: /API key is missing|Model not found: |Failed to initialize provider|AI_LoadAPIKeyError|ProviderInitError/, what: "opencode shows a fatal error" },
  ],
  noise: /^[\s│┃╭╮╰╯─>]*$/,
};
