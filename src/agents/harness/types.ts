// One harness per agent CLI: everything kasmos knows about running that CLI unattended sits in one
// file (claude.ts, codex.ts, opencode.ts, generic.ts): its command and hook wiring, how its hook
// reports read, its screens, its usage records. Adding a CLI is adding a file and registering it
// (index.ts). Command building and event/pane reading are pure; preflight does the (bounded,
// idempotent) file work a CLI needs before it can start without a human, and reports the gates
// kasmos must not pass.
import type { UsageByModel, UsageCursor, UsageRead } from "../usage.ts";

/** What the agent is doing, as far as kasmos can tell. */
export type AgentActivity = "starting" | "working" | "idle" | "waiting" | "ended";

/** How kasmos read one of the CLI's own reports. */
export interface ActivityReading {
  activity: AgentActivity;
  /** The CLI's own words (a permission prompt's message, …). */
  note: string;
  /** The turn ended because the provider refused it (a limit, an outage, the login). */
  stall?: Stall;
}

/**
 * Why the provider refused the agent's requests. usage_limit: the account's plan is used up until a
 * reset; rate_limit: too many requests or tokens per minute; overloaded: 529/503/5xx or the network;
 * auth: the key or login was rejected (a person must fix it); billing: no credit left (likewise).
 */
export type StallReason = "usage_limit" | "rate_limit" | "overloaded" | "auth" | "billing";

export interface Stall {
  reason: StallReason;
  /** When the CLI says the limit lifts (ms since the epoch); null when it names no time. */
  resetAt: number | null;
  /** The CLI is still retrying on its own ("retrying in 8s · attempt 6/10"): the turn has not ended. */
  retrying: boolean;
  /** The CLI's own words. */
  note: string;
}

/** A pane line that shows a stall (the pane is the fallback when the CLI's reports say nothing). */
export interface StallPattern {
  reason: StallReason;
  pattern: RegExp;
  /** The line shows the CLI's own retry in progress. */
  retrying?: boolean;
}

/** Which CLI runs a role and how (resolved from the config files by programs.ts). */
export interface AgentProfile {
  /** Program name or path; may carry arguments (`"npx -y opencode-ai"`), split shell-like by buildCommand. */
  program: string;
  /** Extra arguments, placed after the adapter's own flags and before the prompt. */
  flags: string[];
  /** Model name, "" = the program's own default. */
  model: string;
  /** Start the agent without permission prompts (it runs unattended). */
  skipPermissions: boolean;
}

export interface CommandInput {
  profile: AgentProfile;
  /** Program words of the profile, already split (program may carry arguments). */
  words: string[];
  promptFile: string;
  /** First message: a pointer to the prompt file (prompts never travel in argv). */
  pointer: string;
  /** The command that reports an agent event to the daemon: `<kasmos> agent hook`, absolute path. */
  hookCommand: string[];
  /** A folder private to this agent run where the harness may write per-spawn files (settings, plugins). */
  runDir: string;
  /**
   * The CLI runs inside kasmos's sandbox (src/sandbox/): it gets its own non-interactive permission
   * settings that grant the work, never a bypass flag that needs a person's one-time acceptance.
   */
  sandboxed?: boolean;
  /** A session of this CLI to continue (its id, from the harness's sessionFrom); absent = a new session. */
  resume?: string;
}

/** A first message kasmos types into a CLI (HarnessCommand.typeAfterStart). */
export interface TypedStart {
  /** The CLI's screen when it takes input (its input bar, its footer). */
  ready: RegExp;
  keys: string[];
  text: string;
}

export interface HarnessCommand {
  argv: string[];
  /** Extra environment for this CLI (on top of the daemon's own and the KASMOS_* variables). */
  env: Record<string, string>;
  /** Files to write into runDir before the start: name → content. */
  files: Record<string, string>;
  /**
   * A first message kasmos types once the CLI's screen is up, for a start whose argv cannot carry it
   * (opencode continuing a session takes no --prompt): once the screen shows `ready` and has stood
   * still a moment, `keys` first (each on a look of its own), then `text` and Enter.
   */
  typeAfterStart?: TypedStart;
}

/**
 * A blocking screen the CLI can show, recognised from pane text. "error": the CLI stopped on a fatal
 * error (a missing key variable, a refused request) and sits at its prompt: alive, but it will not work.
 */
export interface Dialog {
  kind: "trust" | "permission" | "login" | "disclaimer" | "onboarding" | "error";
  pattern: RegExp;
  /** Keys that answer it safely (only for trusting kasmos's own folders); absent = a person must answer. */
  safeKeys?: string[];
  /** One line for the attention item. */
  what: string;
}

export interface PreflightContext {
  /** Real paths of the folders the agent works in (repo root and, for worktree roles, the worktree). */
  folders: string[];
  skipPermissions: boolean;
  /** The environment the agent will get (daemon env + KASMOS_*). */
  env: Record<string, string | undefined>;
  isRoot: boolean;
  /** The resolved program path. */
  executable: string;
}

/** A gate kasmos will not pass for the user: the spawn is refused with this reason and fix. */
export interface Refusal {
  reason: string;
  fix: string;
}

export type PreflightResult = { ok: true; notes: string[] } | { ok: false; refusal: Refusal };

export interface Harness<Name extends string = string> {
  /** The name the CLI's executable has (`/usr/bin/claude` → claude) and its hook reports carry (`--cli`). */
  name: Name;
  /** Oldest CLI version this harness was written and tested against (doctor warns below it). */
  minVersion: string | null;
  /** The CLI reports turn ends / prompts / session ends itself (hooks, notify); else the pane watcher decides. */
  reportsTurns: boolean;
  /** Minimum time between two starts of this CLI in one repo (CLIs that trip over simultaneous starts). */
  staggerMs?: number;
  /** The argv that starts the CLI, with its hook wiring: whatever makes it run `hookCommand --cli <name> --event <event>`. */
  command(input: CommandInput): HarnessCommand;
  /** One of the CLI's hook reports → the agent's activity; null = a report that says nothing about it. */
  activityFromEvent(event: string, payload: Record<string, unknown>): ActivityReading | null;
  /** Idempotent file work before a spawn (trust kasmos's folders, …) and gates that refuse it. */
  preflight(ctx: PreflightContext): Promise<PreflightResult>;
  /** Screens that block the CLI, most specific first. */
  dialogs: Dialog[];
  /** Pane lines that show the provider refusing the agent (limits, outages, a rejected login), most specific first. */
  stalls?: StallPattern[];
  /** Pop-ups the CLI may lay over its prompt with a choice that changes nothing when closed; closed with `keys` before kasmos types into it. */
  popups?: { pattern: RegExp; keys: string[] }[];
  /** The newest CLI version kasmos was tested with (the pinned one of the real-CLI tests); doctor and the daemon log say when the installed one is newer. */
  testedVersion?: string;
  /** Lines of the pane that say nothing about why it exited (banners, box borders, prompts). */
  noise?: RegExp;
  /**
   * The agent's token usage so far, from the CLI's own records (absolute totals per model), continuing
   * from `cursor`; null when there is nothing to read (yet). Records are untrusted (record-file.ts).
   */
  readUsage?: (ctx: UsageContext, cursor: UsageCursor, prev: UsageByModel) => Promise<UsageRead | null>;
  /** Where the CLI keeps this run's transcript, from one of its hook/notify reports; null = not in this one. */
  transcriptFrom?: (event: string, payload: Record<string, unknown>, env: Record<string, string | undefined>) => string | null | Promise<string | null>;
  /** The session id a transcript path of this CLI names (what `resume` continues); null when it names none. */
  sessionFrom?: (transcript: string) => string | null;
  /** The folders the CLI keeps its records in: a record path outside them is never read (nor stored). */
  recordRoots?: (env: Record<string, string | undefined>) => string[];
  /** Undo preflight's trust of `folders` once gc removed them; the folders whose trust was removed. */
  untrust?: (env: Record<string, string | undefined>, folders: readonly string[]) => Promise<string[]>;
  /**
   * What the CLI needs of the user's machine inside kasmos's sandbox: its own state (folders, or files
   * whose name has an extension; bound read-write, created when missing) and the variable names it
   * reads (exact, or a prefix ending in `*`). Absent: nothing beyond the base policy.
   */
  sandboxState?: (env: Record<string, string | undefined>) => SandboxState;
  /** Config files preflight edits (doctor checks they are writable). */
  stateFiles?: (env: Record<string, string | undefined>) => string[];
}

export interface SandboxState {
  paths: string[];
  env: string[];
}

export interface UsageContext {
  /** Transcript path the CLI reported (hooks, notify), "" when none. */
  transcript: string;
  /** The CLI's record folders (recordRoots). */
  roots: string[];
  cwd: string;
  promptFile: string;
  /** The model the agent was started with ("" = the CLI's default). */
  model: string;
  env: Record<string, string | undefined>;
}
