// Claude Code (`claude`). Facts this file relies on (2.1.x, checked against the real CLI):
// - `claude "<text>"` opens the interactive REPL with a first message; --model, --dangerously-skip-permissions.
// - In a folder it has not seen it shows a workspace-trust dialog ("No, exit" preselected) even with
//   --dangerously-skip-permissions; accepting stores projects["<realpath>"].hasTrustDialogAccepted = true
//   in $CLAUDE_CONFIG_DIR/.claude.json, else ~/.claude.json. kasmos writes that entry for its own folders.
// - A trusted main repo covers its linked worktrees (<repo>/.worktrees/x); kasmos records both.
// - Gates a person passes once, which kasmos never passes for them (the spawn is refused with the fix):
//   first-run setup (hasCompletedOnboarding), "Detected a custom API key … use this API key?" for
//   ANTHROPIC_API_KEY (customApiKeyResponses.approved holds the key's last 20 characters; default
//   answer No), the one-time "Bypass Permissions mode" disclaimer ("skipDangerousModePermissionPrompt":
//   true in settings.json; default answer No).
// - As root, --dangerously-skip-permissions prints "… cannot be used with root/sudo privileges …" and
//   exits 1 unless IS_SANDBOX=1.
// - Without --dangerously-skip-permissions the default permission mode is "auto", whose checks run at
//   Anthropic: a custom ANTHROPIC_BASE_URL makes it ask for every action.
// - `--settings <file>` adds settings (hooks) for one run without touching the user's files; hooks get
//   a JSON object on stdin (hook_event_name, session_id, transcript_path, cwd, notification_type, …).
// - An API error that ends a turn fires StopFailure instead of Stop, with `error` (rate_limit, overloaded,
//   server_error, authentication_failed, billing_error, …) and the text it shows as last_assistant_message
//   (2.1.328 against an API key: "API Error: Request rejected (429) · <the API's message>", "Invalid API key ·
//   Fix external API key"; no reset time — the API's reset headers never reach the screen). It retries
//   429/529/5xx itself first, showing "✻ 529 Overloaded · retrying in 35s · attempt 7/10".
// - Its session transcript (JSONL under its projects folder) has one line per content block, each
//   carrying its message's full usage: counted once per message id.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readNewLines } from "../record-file.ts";
import { addTotals, cloneUsage, noteRejected, type UsageByModel, type UsageCursor, type UsageRead } from "../usage.ts";
import { ClaudeMessageUsage, checkUsage } from "../usage-values.ts";
import { childObject, type JsonObject, readJsonObject, updateJsonFile } from "./config-file.ts";
import { resetTimeFrom } from "./reset-time.ts";
import type { ActivityReading, Harness, PreflightContext, PreflightResult, Stall, StallReason } from "./types.ts";
import { agentHome, hookArgv, payloadString, shellLine } from "./util.ts";

/** The hook events kasmos listens to. */
export const CLAUDE_HOOK_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "Stop", "StopFailure", "Notification", "SessionEnd"] as const;

/** The StopFailure `error` values that are a stall, by reason (the rest — a bad request, an unknown model — are not the provider refusing). */
const FAILURE_REASONS: Record<string, StallReason> = {
  rate_limit: "rate_limit",
  overloaded: "overloaded",
  server_error: "overloaded",
  authentication_failed: "auth",
  oauth_org_not_allowed: "auth",
  verification_required: "auth",
  cloud_credential_error: "auth",
  account_on_hold: "auth",
  billing_error: "billing",
};

/** The words Claude Code uses for a subscription's usage limit (not a per-minute rate limit). */
const USAGE_LIMIT_WORDS = /usage limit|hit your (?:\S+ )?limit|limit reached|limit will reset|resets \d/i;

/** A StopFailure report → the stall it shows, or null when the failure is not the provider refusing. */
export function claudeStallFromFailure(payload: Record<string, unknown>, now: number = Date.now()): Stall | null {
  const reason = FAILURE_REASONS[payloadString(payload.error)];
  if (!reason) return null;
  const note = payloadString(payload.last_assistant_message);
  const limit = reason === "rate_limit" && USAGE_LIMIT_WORDS.test(note) ? "usage_limit" : reason;
  return { reason: limit, resetAt: resetTimeFrom(note, now), retrying: false, note };
}

export function claudeConfigDir(env: Record<string, string | undefined>): string | null {
  const d = env.CLAUDE_CONFIG_DIR?.trim();
  return d ? d : null;
}

/** The global config file Claude Code reads (onboarding, API-key approvals, per-folder trust). */
export function claudeStateFile(env: Record<string, string | undefined>): string {
  const dir = claudeConfigDir(env);
  return dir ? join(dir, ".claude.json") : join(agentHome(env), ".claude.json");
}

/** The user settings file (permissions, the bypass disclaimer). */
export function claudeSettingsFile(env: Record<string, string | undefined>): string {
  const dir = claudeConfigDir(env);
  return dir ? join(dir, "settings.json") : join(agentHome(env), ".claude", "settings.json");
}

function hasCredentials(env: Record<string, string | undefined>, state: Record<string, unknown> | null): boolean {
  if (env.ANTHROPIC_API_KEY || env.ANTHROPIC_AUTH_TOKEN || env.CLAUDE_CODE_OAUTH_TOKEN) return true;
  if (env.CLAUDE_CODE_USE_BEDROCK || env.CLAUDE_CODE_USE_VERTEX) return true;
  if (state && (state.oauthAccount || state.primaryApiKey)) return true;
  const dir = claudeConfigDir(env) ?? join(agentHome(env), ".claude");
  return Bun.file(join(dir, ".credentials.json")).size > 0;
}

function apiKeyApproved(state: Record<string, unknown>, key: string): boolean {
  const responses = state.customApiKeyResponses;
  if (!responses || typeof responses !== "object") return false;
  const approved = (responses as Record<string, unknown>).approved;
  return Array.isArray(approved) && approved.includes(key.slice(-20));
}

export async function claudePreflight(ctx: PreflightContext): Promise<PreflightResult> {
  const stateFile = claudeStateFile(ctx.env);
  const settingsFile = claudeSettingsFile(ctx.env);
  if (ctx.skipPermissions && ctx.isRoot && ctx.env.IS_SANDBOX !== "1") {
    return {
      ok: false,
      refusal: {
        reason: "Claude Code refuses --dangerously-skip-permissions when run as root",
        fix: "run the daemon as a normal user, or — only inside a sandbox (container, VM) — set IS_SANDBOX=1 in the daemon's environment (systemd: Environment=IS_SANDBOX=1), or set skip_permissions = false for this role",
      },
    };
  }
  const state = readJsonObject(stateFile);
  if (!hasCredentials(ctx.env, state)) {
    return {
      ok: false,
      refusal: {
        reason: "Claude Code is not logged in and no API key is set",
        fix: "run `claude` once in a terminal and log in, or set ANTHROPIC_API_KEY in the daemon's environment",
      },
    };
  }
  const key = ctx.env.ANTHROPIC_API_KEY ?? "";
  if (key !== "" && !ctx.env.ANTHROPIC_AUTH_TOKEN && state?.hasCompletedOnboarding === true && !apiKeyApproved(state, key)) {
    return {
      ok: false,
      refusal: {
        reason: "Claude Code would ask whether to use ANTHROPIC_API_KEY (\"Detected a custom API key\", default No) — that key was never approved",
        fix: `run \`claude\` once in a terminal with the same ANTHROPIC_API_KEY and answer Yes (it records the key's last 20 characters under customApiKeyResponses.approved in ${stateFile})`,
      },
    };
  }
  if (!state || state.hasCompletedOnboarding !== true) {
    return {
      ok: false,
      refusal: {
        reason: `Claude Code's first-run setup was never completed (${stateFile} has no hasCompletedOnboarding)`,
        fix: "run `claude` once in a terminal and finish its first-run screens",
      },
    };
  }
  if (ctx.skipPermissions) {
    const settings = readJsonObject(settingsFile);
    if (settings?.skipDangerousModePermissionPrompt !== true) {
      return {
        ok: false,
        refusal: {
          reason: "Claude Code's one-time Bypass Permissions disclaimer was never accepted",
          fix: `run \`claude --dangerously-skip-permissions\` once in a terminal and choose "Yes, I accept" (it records "skipDangerousModePermissionPrompt": true in ${settingsFile}), or set skip_permissions = false for this role`,
        },
      };
    }
  }
  const trusted: string[] = [];
  await updateJsonFile(stateFile, (obj) => {
    const projects = childObject(obj, "projects", stateFile);
    let changed = false;
    for (const folder of ctx.folders) {
      const entry = childObject(projects, folder, stateFile);
      if (entry.hasTrustDialogAccepted === true) continue;
      entry.hasTrustDialogAccepted = true;
      trusted.push(folder);
      changed = true;
    }
    return changed;
  });
  return { ok: true, notes: trusted.map((f) => `trusted ${f} for Claude Code`) };
}

/** Claude Code lines: assistant lines' message.usage, once per message id, added to `prev`. */
export function parseClaudeLines(lines: readonly string[], cursor: UsageCursor, prev: UsageByModel): { totals: UsageByModel; lastId: string; rejected: string[] } {
  const totals = cloneUsage(prev);
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
      noteRejected(rejected, `message ${id || "(no id)"}: ${u.why}`);
      continue;
    }
    addTotals(totals, model, { input: u.value.input_tokens ?? 0, output: u.value.output_tokens ?? 0, cacheWrite: u.value.cache_creation_input_tokens ?? 0, cacheRead: u.value.cache_read_input_tokens ?? 0 });
  }
  return { totals, lastId, rejected };
}

/** Claude Code's transcript (inside `roots`, Claude's projects folder): new lines since `cursor`, added to `prev`. */
export async function readClaudeTranscript(file: string, cursor: UsageCursor, prev: UsageByModel, roots: readonly string[]): Promise<UsageRead> {
  const { lines, offset, capped } = await readNewLines(file, cursor.offset, roots);
  const r = parseClaudeLines(lines, cursor, prev);
  return { totals: r.totals, cursor: { offset, lastId: r.lastId }, rejected: r.rejected, capped };
}

/** Remove the trust kasmos recorded for `folders` (gone worktrees): what was removed. */
async function claudeUntrust(env: Record<string, string | undefined>, folders: readonly string[]): Promise<string[]> {
  const file = claudeStateFile(env);
  if (!existsSync(file)) return [];
  const removed: string[] = [];
  await updateJsonFile(file, (obj) => {
    const projects = obj.projects;
    if (!projects || typeof projects !== "object" || Array.isArray(projects)) return false;
    for (const f of folders) {
      if (!Object.hasOwn(projects, f)) continue;
      delete (projects as JsonObject)[f];
      removed.push(f);
    }
    return removed.length > 0;
  });
  return removed;
}

/**
 * A hook report → the agent's activity: SessionStart/UserPromptSubmit/PreToolUse → working, Stop →
 * idle (turn ended), StopFailure → idle with the stall (an API error ended the turn), Notification permission_prompt (or any other needing a person) → waiting,
 * idle_prompt → idle, SessionEnd → ended.
 */
export function claudeActivity(event: string, payload: Record<string, unknown>): ActivityReading | null {
  switch (event) {
    case "SessionStart":
    case "UserPromptSubmit":
    case "PreToolUse":
      return { activity: "working", note: "" };
    case "Stop":
      return { activity: "idle", note: "" };
    case "StopFailure": {
      // The turn ended on an API error: idle, with the stall when the provider refused it.
      const stall = claudeStallFromFailure(payload);
      const note = payloadString(payload.last_assistant_message) || payloadString(payload.error);
      return stall ? { activity: "idle", note, stall } : { activity: "idle", note };
    }
    case "SessionEnd":
      return { activity: "ended", note: payloadString(payload.reason) };
    case "Notification": {
      const type = payloadString(payload.notification_type);
      const message = payloadString(payload.message);
      if (type === "idle_prompt") return { activity: "idle", note: message };
      if (type === "auth_success") return null;
      return { activity: "waiting", note: message || type || "Claude Code needs your attention" };
    }
    default:
      return null;
  }
}

/**
 * Inside kasmos's sandbox: never ask (dontAsk refuses what is not allowed instead of prompting) and
 * allow the work's tools. The sandbox, not Claude Code's permission checks, bounds what they reach;
 * no bypass flag, so neither the one-time disclaimer nor IS_SANDBOX as root.
 */
const SANDBOXED_PERMISSIONS = { defaultMode: "dontAsk", allow: ["Bash", "Edit", "Write", "Read", "Glob", "Grep", "NotebookEdit", "WebFetch", "WebSearch", "TodoWrite", "Task"] };

export const claude: Harness<"claude"> = {
  name: "claude",
  minVersion: "2.1.0",
  testedVersion: "2.1.328",
  reportsTurns: true,
  command({ words, profile, pointer, hookCommand, runDir, sandboxed, resume }) {
    const hook = (event: string) => [{ hooks: [{ type: "command", command: shellLine(hookArgv(hookCommand, "claude", event)), timeout: 10 }] }];
    const hooks: Record<string, unknown> = {};
    for (const e of CLAUDE_HOOK_EVENTS) hooks[e] = hook(e);
    const settings = join(runDir, "claude-settings.json");
    return {
      argv: [
        ...words,
        ...(profile.model ? ["--model", profile.model] : []),
        ...(profile.skipPermissions && !sandboxed ? ["--dangerously-skip-permissions"] : []),
        // The same conversation, the pointer as its next message (the session's transcript is in this folder's project).
        ...(resume ? ["--resume", resume] : []),
        "--settings",
        settings,
        ...profile.flags,
        pointer,
      ],
      env: {},
      files: { "claude-settings.json": `${JSON.stringify({ hooks, ...(sandboxed && profile.skipPermissions ? { permissions: SANDBOXED_PERMISSIONS } : {}) }, null, 2)}\n` },
    };
  },
  activityFromEvent: claudeActivity,
  preflight: claudePreflight,
  untrust: claudeUntrust,
  // The hooks give transcript_path; each assistant line carries message.usage (once per message id).
  readUsage: async (ctx, cursor, prev) => (ctx.transcript ? readClaudeTranscript(ctx.transcript, cursor, prev, ctx.roots) : null),
  transcriptFrom: (_event, payload) => (typeof payload.transcript_path === "string" && payload.transcript_path !== "" ? payload.transcript_path : null),
  recordRoots: (env) => [join(claudeConfigDir(env) ?? join(agentHome(env), ".claude"), "projects")],
  // <projects>/<folder>/<session-id>.jsonl: the session `--resume` continues.
  sessionFrom: (transcript) => /\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i.exec(transcript)?.[1] ?? null,
  stateFiles: (env) => [claudeStateFile(env)],
  sandboxState: (env) => ({
    paths: [claudeConfigDir(env) ?? join(agentHome(env), ".claude"), claudeStateFile(env)],
    env: ["ANTHROPIC_*", "CLAUDE_*", "CLAUDECODE", "DISABLE_*", "MAX_THINKING_TOKENS", "MCP_*", "AWS_REGION", "AWS_PROFILE", "GOOGLE_CLOUD_PROJECT", "CLOUD_ML_REGION"],
  }),
  dialogs: [
    // "❯ No, exit" is preselected: Down selects "Yes, I trust this folder", Enter confirms.
    { kind: "trust", pattern: /Quick safety check|Yes, I trust this folder/i, safeKeys: ["Down", "Enter"], what: "Claude Code asks whether to trust this folder" },
    { kind: "login", pattern: /Detected a custom API key|Do you want to use this API key\?/i, what: "Claude Code asks whether to use ANTHROPIC_API_KEY" },
    { kind: "disclaimer", pattern: /Bypass Permissions mode/i, what: "Claude Code shows its one-time Bypass Permissions disclaimer" },
    { kind: "login", pattern: /Select login method|Log in with your Anthropic account|Invalid API key|Please run \/login|Unable to connect to Anthropic services/i, what: "Claude Code needs a login" },
    { kind: "onboarding", pattern: /Choose the text style|Let's get started/i, what: "Claude Code shows its first-run setup" },
    { kind: "permission", pattern: /Do you want to proceed\?|Do you want to (make this edit|create|allow)/i, what: "Claude Code asks for permission" },
    { kind: "error", pattern: /Credit balance is too low|Invalid auth token|API Error: (?:[45]\d\d\b|Connection error)/, what: "Claude Code shows a fatal error" },
  ],
  // Recorded from 2.1.328 against the loopback model answering the API's own errors (test/real-agents/limits.test.ts).
  stalls: [
    { reason: "rate_limit", pattern: /^\s*[✻✽✶✳✢·*]?\s*429\b.*retrying in/, retrying: true },
    { reason: "overloaded", pattern: /^\s*[✻✽✶✳✢·*]?\s*(?:529|5\d\d)\b.*retrying in/, retrying: true },
    { reason: "usage_limit", pattern: /usage limit reached|hit your (?:\S+ )?limit|\blimit reached\s*[∙·•]\s*resets|Claude AI usage limit/i },
    { reason: "rate_limit", pattern: /API Error: (?:Request rejected \(429\)|429\b)/ },
    { reason: "overloaded", pattern: /API Error: (?:Repeated 529|(?:Request failed \()?5\d\d\b|.*\bOverloaded\b)/ },
    { reason: "auth", pattern: /Invalid API key · Fix external API key|OAuth token has expired|API Error: (?:Request rejected \()?401\b/ },
    { reason: "billing", pattern: /Credit balance is too low/ },
  ],
  noise: /^[\s│╭╮╰╯─━┃┏┓┗┛>❯✻✽·*]*$|^\s*\? for shortcuts|^\s*⏵⏵|bypass permissions on/i,
};
