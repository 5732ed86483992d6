// Agent programs: which CLI runs each role and the argv that starts it.
// Pure: no fs, no env reads. The caller loads daemon.toml / <repo>/.kasmos/config.toml, writes the
// prompt file, sets KASMOS_PROMPT_FILE and spawns the argv directly (never through a shell).
import { harnessFor } from "./harness/index.ts";
import type { AgentProfile, Harness, HarnessCommand } from "./harness/types.ts";
import type { AgentRole } from "../lifecycle/roles.ts";

export type { AgentProfile } from "./harness/types.ts";

// Profiles are per role: the role list travels with them.
export { AGENT_ROLES, type AgentRole } from "../lifecycle/roles.ts";

/** `[agents.<role>]` tables plus the top-level `default_program`, as read from one config file. */
export type AgentProfilesConfig = Partial<Record<AgentRole, Partial<AgentProfile>>> & { default_program?: string };

/**
 * Used when neither the repo nor the daemon configures a program for the role. The Go daemon fell back to
 * `opencode`; kasmos defaults to `claude` because its adapter is the one whose first prompt and
 * skip-permissions flag are documented and stable (`claude "query"`, `--dangerously-skip-permissions`).
 */
export const DEFAULT_PROGRAM = "claude";

function nonEmpty(s: string | undefined): string | undefined {
  const t = s?.trim();
  return t === undefined || t === "" ? undefined : t;
}

/**
 * Resolve the profile for `role`. Each field is taken from the first layer that sets it:
 * repo `[agents.<role>]` → daemon `[agents.<role>]`; the program then falls back to repo
 * `default_program` → daemon `default_program` → {@link DEFAULT_PROGRAM} (a role-specific entry is more
 * specific than any default, as in the reference where `default_program` only serves unmapped agents).
 * Empty program/model strings count as unset; an explicit `flags` array (even empty) replaces the
 * daemon's. `skipPermissions` defaults to true: daemon-driven agents have nobody to answer prompts.
 */
export function resolveProfile(role: AgentRole, cfg: { daemon: AgentProfilesConfig; repo?: AgentProfilesConfig }): AgentProfile {
  const r = cfg.repo?.[role];
  const d = cfg.daemon[role];
  return {
    program:
      nonEmpty(r?.program) ?? nonEmpty(d?.program) ?? nonEmpty(cfg.repo?.default_program) ?? nonEmpty(cfg.daemon.default_program) ?? DEFAULT_PROGRAM,
    flags: [...(r?.flags ?? d?.flags ?? [])],
    model: nonEmpty(r?.model) ?? nonEmpty(d?.model) ?? "",
    skipPermissions: r?.skipPermissions ?? d?.skipPermissions ?? true,
  };
}

export type SplitResult = { ok: true; argv: string[] } | { ok: false; error: string };

/**
 * Split a command line the way a POSIX shell would for plain words: whitespace separates words;
 * '…' is literal; "…" allows \" \\ \$ \` escapes; a backslash outside quotes escapes the next
 * character. No expansion of any kind ($VAR, ~, globs) — the result is spawned as argv.
 */
export function splitCommandLine(line: string): SplitResult {
  const argv: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i] ?? "";
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: `unterminated single quote in ${JSON.stringify(line)}` };
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let closed = false;
      while (j < line.length) {
        const d = line[j] ?? "";
        if (d === '"') {
          closed = true;
          break;
        }
        const next = line[j + 1];
        if (d === "\\" && next !== undefined && '"\\$`'.includes(next)) {
          word += next;
          j += 2;
          continue;
        }
        word += d;
        j++;
      }
      if (!closed) return { ok: false, error: `unterminated double quote in ${JSON.stringify(line)}` };
      inWord = true;
      i = j + 1;
    } else if (c === "\\") {
      const next = line[i + 1];
      if (next === undefined) return { ok: false, error: `trailing backslash in ${JSON.stringify(line)}` };
      word += next;
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) argv.push(word);
      word = "";
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) argv.push(word);
  return { ok: true, argv };
}

export class ProgramError extends Error {
  override name = "ProgramError";
}

/** The first message of every agent: a pointer to its prompt file. */
export function promptFilePointer(promptFile: string): string {
  return `Read the file ${promptFile} and follow its instructions exactly; it is your complete task prompt.`;
}

export interface CommandContext {
  promptFile: string;
  /** `<kasmos> agent hook`: how the CLI's own hooks report to the daemon (absolute path). */
  hookCommand?: string[];
  /** A folder private to this agent run, for per-spawn files (hook settings). */
  runDir?: string;
  /** The CLI runs inside kasmos's sandbox: its own non-interactive permissions, never a bypass flag. */
  sandboxed?: boolean;
  /** A session of the CLI to continue (resume, not restart); absent = a new one. */
  resume?: string;
}

export interface AgentCommand extends HarnessCommand {
  harness: Harness;
}

/**
 * The argv (plus extra env and per-spawn files) that starts an interactive agent with the pointer to its
 * prompt file as its first message. Prompts never travel in argv: it is readable by every local user in
 * /proc/<pid>/cmdline, stored with the agent and capped in size. Each CLI's flags live in its harness
 * (src/agents/harness/). Throws ProgramError for an empty or unparsable program string.
 */
export function buildCommand(profile: AgentProfile, ctx: CommandContext): AgentCommand {
  const split = splitCommandLine(profile.program);
  if (!split.ok) throw new ProgramError(`agent program: ${split.error}`);
  const words = split.argv;
  const exe = words[0];
  if (exe === undefined || exe === "") throw new ProgramError("agent program is empty");
  const harness = harnessFor(exe);
  const cmd = harness.command({
    profile: { ...profile, model: profile.model.trim() },
    words,
    promptFile: ctx.promptFile,
    pointer: promptFilePointer(ctx.promptFile),
    hookCommand: ctx.hookCommand ?? ["kasmos", "agent", "hook"],
    runDir: ctx.runDir ?? "/tmp",
    sandboxed: ctx.sandboxed ?? false,
    ...(ctx.resume ? { resume: ctx.resume } : {}),
  });
  return { ...cmd, harness };
}

/** `[agents.<role>]` tables + `default_program` as written in TOML → resolveProfile's input. */
export function profilesFromConfig(
  agents: Partial<Record<string, { program?: string; flags?: string[]; model?: string; skip_permissions?: boolean } | undefined>>,
  defaultProgram: string | undefined,
): AgentProfilesConfig {
  const out: AgentProfilesConfig = {};
  if (defaultProgram) out.default_program = defaultProgram;
  for (const [role, a] of Object.entries(agents)) {
    if (!a) continue;
    const p: Partial<AgentProfile> = {};
    if (a.program !== undefined) p.program = a.program;
    if (a.flags !== undefined) p.flags = a.flags;
    if (a.model !== undefined) p.model = a.model;
    if (a.skip_permissions !== undefined) p.skipPermissions = a.skip_permissions;
    out[role as AgentRole] = p;
  }
  return out;
}
