// Daemon configuration keys, defaults (product page, binding) and per-key validation (valibot).
import * as v from "valibot";
import { AGENT_ROLES, type AgentRole } from "../lifecycle/roles.ts";
import { levenshtein } from "../util/levenshtein.ts";
import type { ModelPrice } from "./pricing.ts";

export { levenshtein };

export interface PrMonitorConfig {
  enabled: boolean;
  poll_interval_sec: number;
  reactions: string[];
}

export interface GithubConfig {
  /** REST API base URL (GitHub Enterprise: https://<host>/api/v3). */
  api_url: string;
}

export interface AgentRoleConfig {
  program?: string;
  flags?: string[];
  model?: string;
  skip_permissions?: boolean;
  /** This role's sandbox mode (overrides `[sandbox] mode`). */
  sandbox?: SandboxMode;
}

export const SANDBOX_MODES = ["auto", "bwrap", "off"] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** How agents are confined (kasmos additions; src/sandbox/). */
export interface SandboxConfig {
  /** auto: bubblewrap when this machine can run it, else unsandboxed (doctor warns); bwrap: always (a start is refused where it cannot run); off: never. */
  mode: SandboxMode;
  /** Extra folders agents may write (`~/` allowed): build caches such as ~/.cache/bun. */
  write: string[];
  /** Extra folders agents may read. */
  read: string[];
  /** Extra variable names agents keep (exact, or a prefix ending in `*`). */
  env: string[];
  /**
   * "off": no network inside (its own empty network namespace); a list of host names ("*.example.com"
   * matches its subdomains): only those, through the daemon's filtering proxy, everything else refused.
   */
  network: "on" | "off" | string[];
}

export interface OrchestrationConfig {
  blueprint_skip_threshold: number;
  /** Wave tasks running at once: "auto" (the default) = what the machine holds (config/wave-limit.ts); 0 = all. */
  max_parallel_wave_tasks: number | "auto";
}

/** How kasmos watches running agents (kasmos additions). */
export interface SupervisionConfig {
  /** Reminders typed into an agent that ended its turn without its signal, before an attention item. */
  nudges: number;
  /** Seconds an agent's turn must have ended (no signal) before it is nudged. */
  nudge_after_sec: number;
  /** Seconds of pane silence that count as "turn ended" for CLIs that do not report turns themselves. */
  idle_after_sec: number;
  /** Seconds a started agent may show no sign of work before its pane is reported. */
  start_timeout_sec: number;
  /** Seconds a finished agent may take to end its turn before it is stopped anyway. */
  stop_grace_sec: number;
  /** Seconds an agent stays paused at a usage or rate limit whose CLI names no reset time. */
  limit_wait_sec: number;
  /** Seconds a working agent of a CLI that reports its turns may show one unchanged screen no harness knows before it is an attention item. */
  unknown_screen_sec: number;
}

/** How long kasmos keeps what it no longer needs (kasmos additions). */
export interface RetentionConfig {
  /**
   * Age limit in days (0 = forever) for quarantined signal files, prompt files, and the finished signal,
   * audit and ended agent rows of tasks done or cancelled that long ago (and of no task).
   */
  days: number;
  /** Days after a task is done or cancelled before its worktree is removed (once pushed or merged, never dirty). */
  worktree_grace_days: number;
  /** Minutes between garbage collections in the daemon (0 = only `kas daemon gc`). */
  gc_interval_min: number;
  /** At most this many quarantined signal files per signals folder (the oldest go first). */
  quarantine_max_files: number;
}

/** Spending limits (kasmos additions; 0 = no limit). */
export interface BudgetConfig {
  /** USD per task (its agents' tokens at the configured prices). */
  task_usd: number;
  /** Tokens per task (all kinds). */
  task_tokens: number;
  /** USD per day across every repository (UTC day). */
  day_usd: number;
}

export const NOTIFY_KINDS = ["waiting", "stuck", "failed", "cap", "budget", "done", "paused", "resumed"] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

/** Notifications on what needs a person (kasmos additions). */
export interface NotifyConfig {
  /** Program run with the event as JSON on stdin ("" = none). */
  command: string;
  /** URL the event is POSTed to ("" = none). */
  webhook: string;
  /** Webhook body: the event as JSON, a Slack message, or an ntfy message. */
  format: "json" | "slack" | "ntfy";
  /** notify-send / osascript when present. */
  desktop: boolean;
  /** Only these kinds ([] = all). */
  kinds: NotifyKind[];
  /** Only these repos (project names, [] = all). */
  repos: string[];
  /** One reminder when an attention item is still open this long after its notification (0 = none). */
  reminder_after_sec: number;
}

/** How agents share the machine with the daemon (kasmos additions). */
export interface ResourcesConfig {
  /**
   * Scheduling niceness (0–19) of every agent process and of its session's autogroup; 0 = the daemon's
   * own priority. Agents can saturate every core; the daemon must still react to a signal at once.
   */
  agent_nice: number;
}

/** The opt-in web dashboard served by the daemon (kasmos additions; src/web/). */
export interface WebConfig {
  /** "<host>:<port>" to listen on ("" = off; `kas web` can start it for this run). */
  listen: string;
  /** A listen address other than loopback is refused unless this is true. */
  allow_remote: boolean;
  /** PEM certificate and key files: HTTPS instead of HTTP (both or neither). */
  tls_cert: string;
  tls_key: string;
}

export interface DaemonConfig {
  poll_interval_sec: number;
  repos: string[];
  auto_advance: boolean;
  auto_advance_waves: boolean;
  auto_review_fix: boolean;
  auto_readiness_review: boolean;
  max_review_fix_cycles: number;
  readiness_self_fix_max_lines: number;
  readiness_max_verify_cycles: number;
  socket_path: string;
  watch_signals: boolean;
  pr_monitor: PrMonitorConfig;
  /** Push the branch and open a GitHub PR when a task reaches done. */
  auto_create_pr: boolean;
  github: GithubConfig;
  /** Program for roles without an [agents.<role>] program ("" = claude). */
  default_program: string;
  agents: Partial<Record<AgentRole, AgentRoleConfig>>;
  orchestration: OrchestrationConfig;
  supervision: SupervisionConfig;
  retention: RetentionConfig;
  resources: ResourcesConfig;
  budget: BudgetConfig;
  notify: NotifyConfig;
  worktree: WorktreeConfig;
  web: WebConfig;
  sandbox: SandboxConfig;
  /** `[pricing."<model>"]`: USD per million tokens (kasmos addition; see src/config/pricing.ts). */
  pricing: Record<string, ModelPrice>;
}

export function defaultConfig(): DaemonConfig {
  return {
    poll_interval_sec: 2.0,
    repos: [],
    auto_advance: false,
    auto_advance_waves: true,
    auto_review_fix: true,
    auto_readiness_review: true,
    max_review_fix_cycles: 0,
    readiness_self_fix_max_lines: 80,
    readiness_max_verify_cycles: 2,
    socket_path: "",
    watch_signals: true,
    pr_monitor: { enabled: false, poll_interval_sec: 60.0, reactions: ["eyes"] },
    auto_create_pr: true,
    github: { api_url: "https://api.github.com" },
    default_program: "",
    agents: {},
    orchestration: { blueprint_skip_threshold: 2, max_parallel_wave_tasks: "auto" },
    supervision: { nudges: 1, nudge_after_sec: 3, idle_after_sec: 120, start_timeout_sec: 90, stop_grace_sec: 60, limit_wait_sec: 300, unknown_screen_sec: 120 },
    retention: { days: 90, quarantine_max_files: 1000, worktree_grace_days: 7, gc_interval_min: 60 },
    resources: { agent_nice: 10 },
    budget: { task_usd: 0, task_tokens: 0, day_usd: 0 },
    notify: { command: "", webhook: "", format: "json", desktop: false, kinds: [], repos: [], reminder_after_sec: 1800 },
    worktree: { copy: [], setup: "", setup_timeout_sec: 600, teardown: "", teardown_timeout_sec: 60, ports: "40000-40999" },
    web: { listen: "", allow_remote: false, tls_cert: "", tls_key: "" },
    sandbox: { mode: "auto", write: [], read: [], env: [], network: "on" },
    pricing: {},
  };
}

export interface WorktreeConfig {
  /** Globs relative to the repo root: untracked files copied into each new task worktree. */
  copy: string[];
  /** Shell command run in a new worktree before its first agent starts (daemon.toml only). */
  setup: string;
  setup_timeout_sec: number;
  /** Shell command run in a worktree before gc removes it (daemon.toml only). */
  teardown: string;
  teardown_timeout_sec: number;
  /** "<first>-<last>": each live agent gets a port of its own as KASMOS_PORT ("" = none). */
  ports: string;
}

/** "127.0.0.1:7777", "[::1]:7777", "localhost:7777" → host and port; null when malformed. */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65_535) return null; // 0: any free port (the URL `kas web` prints names the one taken)
  return { host: m[1] ?? m[2]!, port };
}

/** Loopback: reachable from this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Why a [web] table cannot be used (checked across its keys), or null. */
export function webConfigProblem(web: WebConfig): string | null {
  const at = parseListen(web.listen);
  if (at && !isLoopbackHost(at.host) && !web.allow_remote) return `web.listen = "${web.listen}" is not a loopback address: anyone who can reach it could try to log in; set [web] allow_remote = true to serve it anyway (with tls_cert and tls_key, or only on a private network)`;
  if ((web.tls_cert === "") !== (web.tls_key === "")) return "web.tls_cert and web.tls_key go together: set both (HTTPS) or neither (HTTP)";
  return null;
}

/** "40000-40999" → its bounds; null when malformed, reversed or outside 1024-65535. */
export function parsePortRange(text: string): { first: number; last: number } | null {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  if (!m) return null;
  const first = Number(m[1]);
  const last = Number(m[2]);
  return first >= 1024 && last <= 65_535 && first <= last ? { first, last } : null;
}

/**
 * Why a copy pattern is refused, or null: it must stay inside the repo (no absolute path, no `..`,
 * no backslash escapes) and not reach into git's or kasmos's own folders.
 */
export function copyPatternProblem(p: string): string | null {
  if (p.trim() === "") return "an empty pattern";
  if (p.startsWith("/") || p.startsWith("~")) return `${p}: an absolute path (patterns are relative to the repo root)`;
  if (p.includes("\\")) return `${p}: a backslash`;
  const parts = p.split("/");
  if (parts.includes("..")) return `${p}: ".." leaves the repo`;
  if ([".git", ".worktrees", ".kasmos"].includes(parts[0] ?? "")) return `${p}: inside ${parts[0]}/ (git's or kasmos's own folder)`;
  return null;
}
const COPY_PATTERNS_EXPECTED = "an array of at most 100 glob patterns relative to the repo root (no absolute path, no \"..\", not in .git/, .worktrees/ or .kasmos/)";
export const copyPatterns = v.pipe(v.array(v.pipe(v.string(), v.maxLength(1000))), v.maxLength(100), v.check((a) => a.every((p) => copyPatternProblem(p) === null)));

export interface KeySpec {
  /** Dotted key as written in TOML, e.g. "pr_monitor.enabled". */
  key: string;
  /** Human description of the accepted type, used in error messages. */
  expected: string;
  schema: v.GenericSchema;
}

const bool = v.boolean();
const SANDBOX_MODE_EXPECTED = '"auto", "bwrap" or "off"';
/**
 * Every interval, duration and count has a floor and a ceiling: `poll_interval_sec = 1e-9` would spin
 * the idle daemon on every core, and a huge count or limit is a typo, not a wish.
 */
export const MIN_INTERVAL_SEC = 0.1;
const seconds = v.pipe(v.number(), v.finite(), v.minValue(MIN_INTERVAL_SEC), v.maxValue(86_400));
const SECONDS = `a number of seconds from ${MIN_INTERVAL_SEC} to 86400`;
const wholeNumber = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
/** Review/verify cycles and wave/blueprint counts (shared with .kasmos/config.toml). */
export const cycleCount = (min: number) => wholeNumber(min, 1000);
export const waveTaskCount = wholeNumber(0, 10_000);
export const lineCount = wholeNumber(1, 1_000_000);
export const usdLimit = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1_000_000));
export const tokenLimit = wholeNumber(0, 1e15);

export const TOP_LEVEL_KEYS: KeySpec[] = [
  { key: "poll_interval_sec", expected: SECONDS, schema: seconds },
  { key: "repos", expected: "an array of path strings", schema: v.array(v.pipe(v.string(), v.minLength(1))) },
  { key: "auto_advance", expected: "a boolean (true or false)", schema: bool },
  { key: "auto_advance_waves", expected: "a boolean (true or false)", schema: bool },
  { key: "auto_review_fix", expected: "a boolean (true or false)", schema: bool },
  { key: "auto_readiness_review", expected: "a boolean (true or false)", schema: bool },
  { key: "max_review_fix_cycles", expected: "a whole number from 0 to 1000 (0 = unlimited)", schema: cycleCount(0) },
  { key: "readiness_self_fix_max_lines", expected: "a whole number from 1 to 1000000", schema: lineCount },
  { key: "readiness_max_verify_cycles", expected: "a whole number from 1 to 1000", schema: cycleCount(1) },
  { key: "socket_path", expected: "a path string (\"\" = default)", schema: v.string() },
  { key: "watch_signals", expected: "a boolean (true or false)", schema: bool },
];

export const PR_MONITOR_KEYS: KeySpec[] = [
  { key: "pr_monitor.enabled", expected: "a boolean (true or false)", schema: bool },
  { key: "pr_monitor.poll_interval_sec", expected: SECONDS, schema: seconds },
  { key: "pr_monitor.reactions", expected: "an array of reaction names", schema: v.array(v.string()) },
];

/** kasmos additions for GitHub PR creation. */
export const GITHUB_KEYS: KeySpec[] = [
  { key: "auto_create_pr", expected: "a boolean (true or false)", schema: bool },
  {
    key: "github.api_url",
    expected: "an http(s) URL",
    schema: v.pipe(v.string(), v.regex(/^https?:\/\/[^\s/]+/), v.url()),
  },
];

/** kasmos additions for agent orchestration (not on the product page). */
export const ORCHESTRATION_KEYS: KeySpec[] = [
  { key: "default_program", expected: "a program name or path", schema: v.string() },
  { key: "orchestration.blueprint_skip_threshold", expected: "a whole number from 0 to 1000", schema: cycleCount(0) },
  { key: "orchestration.max_parallel_wave_tasks", expected: "a whole number from 0 to 10000 (0 = all at once) or \"auto\" (from cores and memory)", schema: v.union([waveTaskCount, v.literal("auto")]) },
  ...AGENT_ROLES.flatMap((role): KeySpec[] => [
    { key: `agents.${role}.program`, expected: "a program name or path", schema: v.string() },
    { key: `agents.${role}.flags`, expected: "an array of argument strings", schema: v.array(v.string()) },
    { key: `agents.${role}.model`, expected: "a model name", schema: v.string() },
    { key: `agents.${role}.skip_permissions`, expected: "a boolean (true or false)", schema: bool },
    { key: `agents.${role}.sandbox`, expected: SANDBOX_MODE_EXPECTED, schema: v.picklist(SANDBOX_MODES) },
  ]),
];

/** kasmos additions: how running agents are watched. */
export const SUPERVISION_KEYS: KeySpec[] = [
  { key: "supervision.nudges", expected: "a whole number from 0 to 100", schema: wholeNumber(0, 100) },
  { key: "supervision.nudge_after_sec", expected: SECONDS, schema: seconds },
  { key: "supervision.idle_after_sec", expected: SECONDS, schema: seconds },
  { key: "supervision.start_timeout_sec", expected: SECONDS, schema: seconds },
  { key: "supervision.stop_grace_sec", expected: SECONDS, schema: seconds },
  { key: "supervision.limit_wait_sec", expected: SECONDS, schema: seconds },
  { key: "supervision.unknown_screen_sec", expected: SECONDS, schema: seconds },
];

/** kasmos additions: what is kept, for how long. */
export const RETENTION_KEYS: KeySpec[] = [
  { key: "retention.days", expected: "a whole number of days >= 0 (0 = forever)", schema: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000)) },
  { key: "retention.worktree_grace_days", expected: "a whole number of days >= 0 (0 = as soon as the task is done)", schema: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000)) },
  { key: "retention.gc_interval_min", expected: "a whole number of minutes >= 0 (0 = only on demand)", schema: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(525_600)) },
  { key: "retention.quarantine_max_files", expected: "a whole number >= 1", schema: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000_000)) },
];

/** kasmos additions: how agents share the machine with the daemon. */
export const RESOURCES_KEYS: KeySpec[] = [
  { key: "resources.agent_nice", expected: "a whole number from 0 to 19 (0 = the daemon's own priority)", schema: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(19)) },
];

/** kasmos additions: spending limits (0 = none). */
export const BUDGET_KEYS: KeySpec[] = [
  { key: "budget.task_usd", expected: "a number of USD from 0 to 1000000 (0 = no limit)", schema: usdLimit },
  { key: "budget.task_tokens", expected: "a whole number of tokens from 0 to 1e15 (0 = no limit)", schema: tokenLimit },
  { key: "budget.day_usd", expected: "a number of USD from 0 to 1000000 (0 = no limit)", schema: usdLimit },
];

/** kasmos additions: notifications. */
export const NOTIFY_KEYS: KeySpec[] = [
  { key: "notify.command", expected: "a command line (\"\" = none)", schema: v.string() },
  { key: "notify.webhook", expected: "an http(s) URL (\"\" = none)", schema: v.union([v.literal(""), v.pipe(v.string(), v.regex(/^https?:\/\/[^\s/]+/), v.url())]) },
  { key: "notify.format", expected: '"json", "slack" or "ntfy"', schema: v.picklist(["json", "slack", "ntfy"]) },
  { key: "notify.desktop", expected: "a boolean (true or false)", schema: bool },
  { key: "notify.kinds", expected: `an array of ${NOTIFY_KINDS.join(", ")}`, schema: v.array(v.picklist(NOTIFY_KINDS)) },
  { key: "notify.repos", expected: "an array of project names", schema: v.array(v.string()) },
  { key: "notify.reminder_after_sec", expected: "a number of seconds >= 0 (0 = no reminder)", schema: v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(604_800)) },
];

/** kasmos additions: how a task's worktree is made ready to build (src/agents/worktree-setup.ts). */
export const WORKTREE_KEYS: KeySpec[] = [
  { key: "worktree.copy", expected: COPY_PATTERNS_EXPECTED, schema: copyPatterns },
  { key: "worktree.setup", expected: "a shell command (\"\" = none)", schema: v.pipe(v.string(), v.maxLength(10_000)) },
  { key: "worktree.setup_timeout_sec", expected: SECONDS, schema: seconds },
  { key: "worktree.teardown", expected: "a shell command (\"\" = none)", schema: v.pipe(v.string(), v.maxLength(10_000)) },
  { key: "worktree.teardown_timeout_sec", expected: SECONDS, schema: seconds },
  { key: "worktree.ports", expected: "a port range \"<first>-<last>\" within 1024-65535 (\"\" = no KASMOS_PORT)", schema: v.pipe(v.string(), v.check((s) => s === "" || parsePortRange(s) !== null)) },
];

/** kasmos additions: the web dashboard (src/web/). */
export const WEB_KEYS: KeySpec[] = [
  { key: "web.listen", expected: "\"<host>:<port>\" such as \"127.0.0.1:7777\" (\"\" = off)", schema: v.pipe(v.string(), v.check((s) => s === "" || parseListen(s) !== null)) },
  { key: "web.allow_remote", expected: "a boolean (true or false)", schema: bool },
  { key: "web.tls_cert", expected: "a path to a PEM certificate (\"\" = plain HTTP)", schema: v.string() },
  { key: "web.tls_key", expected: "a path to a PEM private key (\"\" = plain HTTP)", schema: v.string() },
];

/** An absolute path or one under `~/`: a relative one would depend on the daemon's working folder. */
const sandboxPaths = v.pipe(v.array(v.pipe(v.string(), v.check((p) => p.startsWith("/") || p === "~" || p.startsWith("~/")))), v.maxLength(200));
const SANDBOX_PATHS = "an array of absolute paths or paths under ~/";

/** kasmos additions: how agents are confined (src/sandbox/). */
export const SANDBOX_KEYS: KeySpec[] = [
  { key: "sandbox.mode", expected: SANDBOX_MODE_EXPECTED, schema: v.picklist(SANDBOX_MODES) },
  { key: "sandbox.write", expected: SANDBOX_PATHS, schema: sandboxPaths },
  { key: "sandbox.read", expected: SANDBOX_PATHS, schema: sandboxPaths },
  { key: "sandbox.env", expected: "an array of variable names (a trailing * matches a prefix)", schema: v.pipe(v.array(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/))), v.maxLength(200)) },
  {
    key: "sandbox.network",
    expected: '"on", "off", or an array of host names allowed through the daemon\'s proxy ("*.example.com" for its subdomains)',
    schema: v.union([v.picklist(["on", "off"]), v.pipe(v.array(v.pipe(v.string(), v.regex(/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/))), v.maxLength(500))]),
  },
];

export const ALL_KEYS: KeySpec[] = [...TOP_LEVEL_KEYS, ...PR_MONITOR_KEYS, ...GITHUB_KEYS, ...ORCHESTRATION_KEYS, ...SUPERVISION_KEYS, ...RETENTION_KEYS, ...RESOURCES_KEYS, ...BUDGET_KEYS, ...NOTIFY_KEYS, ...WORKTREE_KEYS, ...WEB_KEYS, ...SANDBOX_KEYS];

export function nearestKey(key: string): string {
  let best = ALL_KEYS[0]!.key;
  let bestD = Number.POSITIVE_INFINITY;
  for (const spec of ALL_KEYS) {
    const candidates = [spec.key, spec.key.split(".").pop()!];
    for (const c of candidates) {
      const d = levenshtein(key, c);
      if (d < bestD) {
        bestD = d;
        best = spec.key;
      }
    }
  }
  return best;
}

/** One `[pricing."<model>"]` table: USD per million tokens. */
const usdPerMillion = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(1_000_000));
export const PriceSchema = v.object({
  input: usdPerMillion,
  output: usdPerMillion,
  cache_write: v.optional(usdPerMillion, 0),
  cache_read: v.optional(usdPerMillion, 0),
});
