// What one sandboxed agent sees: the folders it may write, the ones it may only read, the variables it
// keeps and whether it reaches the network. Everything else of the machine is absent inside: the rest
// of $HOME (keys, tokens, other CLIs' logins), other repositories and worktrees, kasmos's own config,
// store, logs and the other agents' run folders.
import { existsSync, lstatSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";

export type SandboxNetwork = "on" | "off";

export interface SandboxPolicy {
  /** Folders (or single files) bound read-write, at the same path. */
  write: string[];
  /** Folders (or single files) bound read-only, at the same path. */
  read: string[];
  /** Variable names the agent keeps (exact names, or a prefix ending in `*`); every other one is unset. */
  env: string[];
  network: SandboxNetwork;
  /** With network "off": the hosts it may still reach through the daemon's filtering proxy. */
  hosts?: string[];
  /** Folders inside a writable one that are emptied inside (a planner's repo root hides the task worktrees). */
  hide: string[];
  /** Folders bound read-write at another path (a planner's own signals folder over the repo's); they must exist. */
  mounts: { from: string; to: string }[];
  /** The agent's working folder inside. */
  cwd: string;
  /** The user's home: an empty folder inside, where only the binds above appear. */
  home: string;
}

/** The system's read-only part: programs, libraries and settings, never a user's files. */
export const SYSTEM_READ = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/nix/store"];

/**
 * Variables every CLI needs to run in a terminal and reach its model: locale, terminal, proxies and
 * certificates. A CLI's own key and settings come from its harness; the user adds names in
 * `[sandbox] env`.
 */
export const BASE_ENV = [
  "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "COLORTERM", "TERM_PROGRAM", "LANG", "LANGUAGE", "LC_*", "TZ",
  "TMPDIR", "NO_COLOR", "FORCE_COLOR", "http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
  "NO_PROXY", "ALL_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "KASMOS_*",
];

export interface PolicyInput {
  home: string;
  /** The agent's working folder: its task worktree, or the repo root for planner and architect. */
  cwd: string;
  /** The repo's git common dir (commits and refs land there from a worktree). */
  gitCommonDir: string | null;
  /** The agent's own run folder (prompt, settings, hook wiring): read-only inside. */
  runDir: string;
  /** The CLI's own state (logins, sessions), from its harness; created when missing so the CLI can write. */
  cliState: string[];
  /** Programs the agent runs by path: the CLI, kasmos (for hooks); their folders are bound read-only. */
  programs: string[];
  /** The agent's PATH: its folders outside $HOME are bound read-only so the tools on it still run. */
  path: string;
  /** Variables the CLI needs (its key, base URL), from its harness. */
  cliEnv: string[];
  /** Folders inside `cwd` to show empty (another task's worktrees under a planner's repo root). */
  hide?: string[];
  /** Folders bound read-write at another path inside. */
  mounts?: { from: string; to: string }[];
  /** `[sandbox]` of the user's config. */
  config: { write: string[]; read: string[]; env: string[]; network: SandboxNetwork };
}

/** `~/x` and `~` against home; other relative paths are refused by the config schema before this. */
export function expandHome(p: string, home: string): string {
  if (p === "~") return home;
  if (p.startsWith("~/")) return join(home, p.slice(2));
  return p;
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** Folders that, bound read-only, would hand the agent what the sandbox hides: `/`, $HOME or one above it. */
function tooWide(dir: string, home: string): boolean {
  const d = resolve(dir);
  return d === sep || d === home || (home + sep).startsWith(d + sep);
}

/**
 * The folder holding a program, and its package root when it sits in node_modules (an npm CLI needs
 * the rest of its package). A folder that would show $HOME (a script in a folder above it) gives way
 * to the program file alone.
 */
function programFolders(program: string, home: string): string[] {
  const out = new Set<string>();
  for (const p of [program, real(program)]) {
    if (!isAbsolute(p)) continue;
    out.add(tooWide(dirname(p), home) ? p : dirname(p));
    const i = p.lastIndexOf(`${sep}node_modules${sep}`);
    if (i >= 0 && !tooWide(p.slice(0, i), home)) out.add(p.slice(0, i + `${sep}node_modules`.length));
  }
  return [...out];
}

export function buildPolicy(input: PolicyInput): SandboxPolicy {
  const home = resolve(input.home);
  const write = [input.cwd, ...(input.gitCommonDir ? [input.gitCommonDir] : []), ...input.cliState, ...input.config.write.map((p) => expandHome(p, home))];
  const read = [
    ...SYSTEM_READ.filter((p) => existsSync(p)),
    ...input.path.split(":").filter((p) => isAbsolute(p) && !tooWide(p, home) && !p.startsWith(home + sep) && existsSync(p)),
    ...input.programs.flatMap((p) => programFolders(p, home)),
    input.runDir,
    ...input.config.read.map((p) => expandHome(p, home)),
  ];
  const writeSet = dedupe(write);
  const readSet = dedupe(read).filter((p) => !writeSet.includes(p));
  return {
    write: writeSet,
    // A folder inside one already bound read-only adds nothing, unless a writable bind lies between.
    read: readSet.filter((p) => !readSet.some((q) => within(p, q) && !writeSet.some((w) => within(p, w) && within(w, q)))),
    env: [...new Set([...BASE_ENV, ...input.cliEnv, ...input.config.env])],
    network: input.config.network,
    hide: dedupe(input.hide ?? []),
    mounts: (input.mounts ?? []).map((m) => ({ from: resolve(m.from), to: resolve(m.to) })),
    cwd: input.cwd,
    home,
  };
}

/** `p` lies strictly inside `dir`. */
function within(p: string, dir: string): boolean {
  return p !== dir && p.startsWith(dir === sep ? dir : dir + sep);
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs.map((x) => resolve(x)))];
}

/** True when `p` exists and is a link: bound as a link, never followed to a place the policy did not name. */
export function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
