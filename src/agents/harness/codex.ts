// OpenAI codex (`codex`). Facts this file relies on (0.16x, checked against the real CLI):
// - `codex "<text>"` opens the TUI with a first message; --model, --dangerously-bypass-approvals-and-sandbox
//   (--full-auto keeps the sandbox, which blocks git commits in linked worktrees).
// - "Trust this folder?" appears in unseen folders, bypass flag or not; accepting writes
//   [projects."<path>"] trust_level = "trusted" to $CODEX_HOME/config.toml (default ~/.codex), for the
//   realpath (a linked worktree's main repo when accepted by hand; an entry for the worktree works too).
// - Without auth.json or a custom model_provider it shows its sign-in screen, even with OPENAI_API_KEY.
// - By default work is handed to one shared background app-server per CODEX_HOME that outlives the
//   session and keeps the first agent's environment: `--disable daemon_auto_start` keeps one process
//   per agent with its own KASMOS_* variables.
// - `-c notify=[…]` runs a program at each turn end with a JSON object as its last argument.
// - The shell tool's environment comes from a login-shell snapshot (/etc/profile resets PATH): prompts name
//   kasmos by absolute path. Other variables (KASMOS_*) survive.
// - notify also fires for its title-generation side request ("Generate a concise …"): ignored.
// - A refused turn sends no notify; the TUI shows it as a "■ …" cell (0.169 against the loopback model
//   answering the APIs' own errors): "■ You’ve hit your usage limit. … try again at 9:24 PM." (ChatGPT
//   plan limit, usage_limit_reached), "■ exceeded retry limit, last status: 429 Too Many Requests, …",
//   "■ unexpected status 401 Unauthorized: Incorrect API key provided: …"; while it retries itself,
//   "◦ Reconnecting... 5/5 (23s • esc to interrupt)" above "└ Unexpected status 503 Service Unavailable: …",
//   or "• Server is busy, reconnecting 1/5 (0s • …)" above "└ Exceeded retry limit, last status: 429 …".
// - Its session rollout ($CODEX_HOME/sessions/…/rollout-<time>-<thread-id>.jsonl) holds cumulative
//   token_count events: the last one is the total.
import { AGENT_PRIVATE_ENV } from "../private-env.ts";
import { existsSync, readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { parseTOML } from "confbox";
import { readNewLines } from "../record-file.ts";
import { noteRejected, type UsageByModel, type UsageCursor, type UsageRead } from "../usage.ts";
import { checkUsage, CodexTotalUsage, type TokenTotals } from "../usage-values.ts";
import { ConfigFileError, withFileLock, writeAtomic } from "./config-file.ts";
import type { ActivityReading, Harness, PreflightContext, PreflightResult } from "./types.ts";
import { agentHome, hookArgv, payloadString } from "./util.ts";

/** codex's own side request that names a thread ("Generate a concise … title"): not the agent's turn. */
export function isCodexTitleRequest(payload: Record<string, unknown>): boolean {
  const inputs = Array.isArray(payload["input-messages"]) ? payload["input-messages"] : [];
  return typeof inputs[0] === "string" && inputs[0].startsWith("Generate a concise");
}

export function codexHome(env: Record<string, string | undefined>): string {
  const d = env.CODEX_HOME?.trim();
  return d ? d : join(agentHome(env), ".codex");
}

export function tomlString(s: string): string {
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** `"a","b"` TOML array of strings, for a `-c key=[…]` override. */
function tomlArray(items: readonly string[]): string {
  return `[${items.map(tomlString).join(",")}]`;
}

type TomlTable = Record<string, unknown>;

function readToml(path: string): { text: string; data: TomlTable } {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new ConfigFileError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (text.trim() === "") return { text, data: {} };
  try {
    return { text, data: parseTOML<TomlTable>(text) };
  } catch (err) {
    throw new ConfigFileError(`${path} is not valid TOML (${(err as Error).message}); kasmos will not rewrite it — fix it`);
  }
}

function projectTrust(data: TomlTable, folder: string): string | undefined {
  const projects = data.projects;
  if (!projects || typeof projects !== "object") return undefined;
  const entry = (projects as TomlTable)[folder];
  if (!entry || typeof entry !== "object") return undefined;
  const level = (entry as TomlTable).trust_level;
  return typeof level === "string" ? level : "";
}

/** The env_key variable of the configured custom provider, or null when it names none. */
function providerKey(data: TomlTable, id: string): string | null {
  const providers = data.model_providers;
  const table = providers && typeof providers === "object" ? (providers as TomlTable)[id] : undefined;
  const key = table && typeof table === "object" ? (table as TomlTable).env_key : undefined;
  return typeof key === "string" && key !== "" ? key : null;
}

export async function codexPreflight(ctx: PreflightContext): Promise<PreflightResult> {
  const home = codexHome(ctx.env);
  const file = join(home, "config.toml");
  const { data } = readToml(file);
  const customProvider = typeof data.model_provider === "string" && data.model_provider !== "";
  const signedIn = Bun.file(join(home, "auth.json")).size > 0;
  // 0.169 shows its sign-in screen without auth.json or a custom provider, even with OPENAI_API_KEY set.
  if (!customProvider && !signedIn) {
    return {
      ok: false,
      refusal: { reason: "codex is not signed in (it would stop at its sign-in screen)", fix: `run \`codex login\` once in a terminal (or configure a model_provider with its [model_providers.<id>] table in ${file})` },
    };
  }
  const key = customProvider ? providerKey(data, String(data.model_provider)) : null;
  if (key && AGENT_PRIVATE_ENV.test(key)) {
    // Set in the daemon's environment, yet never in the agent's: codex would stop on it all the same.
    return {
      ok: false,
      refusal: {
        reason: `codex's model_provider "${String(data.model_provider)}" reads its key from ${key}, a name kasmos never hands to agents (its own KASMOS_* variables and GitHub tokens)`,
        fix: `give the key another name: env_key = "OPENAI_COMPAT_API_KEY" (say) in ${file}, and set that variable in the daemon's environment`,
      },
    };
  }
  const missingKey = key && !(ctx.env[key] ?? "") ? key : null;
  if (missingKey) {
    return {
      ok: false,
      refusal: {
        reason: `codex's model_provider "${String(data.model_provider)}" reads its key from ${missingKey}, which is not set (codex would stop on "Missing environment variable: ${missingKey}")`,
        fix: `set ${missingKey} in the daemon's environment (export it before kas daemon start, or Environment=${missingKey}=… in the systemd unit), then restart the daemon`,
      },
    };
  }
  const trusted: string[] = [];
  await withFileLock(file, () => {
    const { text, data: now } = readToml(file);
    let out = text;
    for (const folder of ctx.folders) {
      const level = projectTrust(now, folder);
      if (level === "trusted") continue;
      if (level !== undefined && level !== "") {
        throw new ConfigFileError(`${file} sets trust_level = "${level}" for ${folder}; kasmos will not override it — remove that entry`);
      }
      const header = `[projects.${tomlString(folder)}]`;
      if (level === "") out = out.replace(header, `${header}\ntrust_level = "trusted"`);
      else out = `${out}${out === "" || out.endsWith("\n") ? "" : "\n"}\n${header}\ntrust_level = "trusted"\n`;
      trusted.push(folder);
    }
    if (trusted.length > 0) writeAtomic(file, out);
  });
  return { ok: true, notes: trusted.map((f) => `trusted ${f} for codex`) };
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
      noteRejected(rejected, `token_count: ${t.why}`);
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

/** `text` without the `[projects."<folder>"]` table kasmos wrote (the line before it too when blank); unchanged otherwise. */
export function withoutCodexTrust(text: string, folder: string): string {
  const lines = text.split("\n");
  const header = `[projects.${tomlString(folder)}]`;
  const at = lines.findIndex((l) => l.trim() === header);
  if (at < 0) return text;
  let end = at + 1;
  while (end < lines.length && !/^\s*\[/.test(lines[end]!)) end++;
  const body = lines.slice(at + 1, end).map((l, i) => ({ l: l.trim(), i: at + 1 + i })).filter((x) => x.l !== "" && !x.l.startsWith("#"));
  if (body.length !== 1 || !/^trust_level\s*=\s*"trusted"$/.test(body[0]!.l)) return text;
  const start = at > 0 && lines[at - 1]!.trim() === "" ? at - 1 : at;
  lines.splice(start, body[0]!.i - start + 1);
  return lines.join("\n");
}

/** Remove the trust kasmos recorded for `folders` (gone worktrees): what was removed. */
async function codexUntrust(env: Record<string, string | undefined>, folders: readonly string[]): Promise<string[]> {
  const file = join(codexHome(env), "config.toml");
  if (!existsSync(file)) return [];
  const removed: string[] = [];
  await withFileLock(file, () => {
    const text = readFileSync(file, "utf8");
    let out = text;
    for (const f of folders) {
      const next = withoutCodexTrust(out, f);
      if (next !== out) removed.push(f);
      out = next;
    }
    if (out !== text) writeAtomic(file, out);
  });
  return removed;
}

/** A notify report → the agent's activity: a turn completed → idle; an approval request → waiting. */
export function codexActivity(event: string, payload: Record<string, unknown>): ActivityReading | null {
  const type = payloadString(payload.type);
  // codex also notifies for its own side request that names the thread (title generation).
  if (isCodexTitleRequest(payload)) return null;
  if (event === "notify" && (type === "agent-turn-complete" || type === "")) return { activity: "idle", note: payloadString(payload["last-assistant-message"]).slice(0, 500) };
  if (type === "approval-requested") return { activity: "waiting", note: "codex asks for approval" };
  return null;
}

export const codex: Harness<"codex"> = {
  name: "codex",
  minVersion: "0.160.0",
  testedVersion: "0.169.0",
  reportsTurns: true,
  command({ words, profile, pointer, hookCommand, sandboxed, resume }) {
    return {
      argv: [
        ...words,
        // `codex resume <thread-id> [PROMPT]` takes the same options: the thread's conversation, the pointer as its next message.
        ...(resume ? ["resume", resume] : []),
        ...(profile.model ? ["--model", profile.model] : []),
        // Sandboxed: never ask, and no sandbox of its own (its bubblewrap cannot nest inside kasmos's).
        ...(profile.skipPermissions ? (sandboxed ? ["--ask-for-approval", "never", "--sandbox", "danger-full-access"] : ["--dangerously-bypass-approvals-and-sandbox"]) : []),
        "--disable",
        "daemon_auto_start",
        "-c",
        `notify=${tomlArray(hookArgv(hookCommand, "codex", "notify"))}`,
        ...profile.flags,
        pointer,
      ],
      env: {},
      files: {},
    };
  },
  activityFromEvent: codexActivity,
  preflight: codexPreflight,
  untrust: codexUntrust,
  // notify names the thread; its rollout file holds cumulative token_count events.
  readUsage: async (ctx, cursor, prev) => (ctx.transcript ? readCodexRollout(ctx.transcript, cursor, prev, ctx.roots) : null),
  transcriptFrom: (_event, payload, env) => {
    const thread = payload["thread-id"];
    if (isCodexTitleRequest(payload)) return null;
    return typeof thread === "string" ? findCodexRollout(codexHome(env), thread) : null;
  },
  recordRoots: (env) => [join(codexHome(env), "sessions")],
  // rollout-<time>-<thread-id>.jsonl: the thread `codex resume` continues.
  sessionFrom: (transcript) => /-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i.exec(transcript)?.[1] ?? null,
  stateFiles: (env) => [join(codexHome(env), "config.toml")],
  sandboxState: (env) => {
    const home = codexHome(env);
    const { data } = readToml(join(home, "config.toml"));
    const key = typeof data.model_provider === "string" ? providerKey(data, data.model_provider) : null;
    return { paths: [home], env: ["OPENAI_*", "CODEX_*", "AZURE_OPENAI_*", ...(key ? [key] : [])] };
  },
  dialogs: [
    { kind: "trust", pattern: /Trust this folder\?|Do you trust the contents of this directory/i, safeKeys: ["1", "Enter"], what: "codex asks whether to trust this folder" },
    { kind: "login", pattern: /Choose how you want to use Codex|Sign in with ChatGPT/i, what: "codex needs a sign-in" },
    { kind: "permission", pattern: /Allow command\?|Would you like to run the following command|Approve/i, what: "codex asks for approval" },
    // The TUI shows a fatal error as a "■ …" cell above its prompt (0.169: "■ Missing environment variable: `X`.").
    { kind: "error", pattern: /^\s*■\s+\S|Missing environment variable: |exceeded retry limit, last status/m, what: "codex shows a fatal error" },
  ],
  // Beside its usage-limit line (x-codex-primary-used-percent 100) it offers a cheaper model: Esc keeps the current one.
  popups: [{ pattern: /Approaching rate limits|Switch to \S+ for lower credit usage\?/, keys: ["Escape"] }],
  // Recorded from 0.169.0 against the loopback model answering the APIs' own errors (test/real-agents/limits.test.ts).
  stalls: [
    { reason: "usage_limit", pattern: /You[’']ve hit your usage limit|usage limit has been reached|Usage limit reached|You're out of credits/i },
    // Its own retries: "◦ Reconnecting... 5/5 (23s • esc to interrupt)", "• Server is busy, reconnecting 1/5 (0s • …)".
    { reason: "overloaded", pattern: /reconnecting(?:\.\.\.)? \d+\/\d+/i, retrying: true },
    { reason: "rate_limit", pattern: /exceeded retry limit, last status: 429|unexpected status 429/i },
    { reason: "auth", pattern: /unexpected status 401|Incorrect API key provided|invalid_api_key|access token could not be refreshed|Your session has expired|log in again/i },
    { reason: "overloaded", pattern: /exceeded retry limit, last status: 5\d\d|unexpected status 5\d\d|stream disconnected before completion|error sending request for url/i },
  ],
  noise: /^[\s│╭╮╰╯─>›▌•]*$|^\s*⏎ send|esc to interrupt/i,
};
