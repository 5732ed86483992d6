// `kasmos doctor`: environment checks. Each check returns one CheckResult; an `error` that fails means
// the daemon cannot run (missing tmux/git, broken daemon.toml, unusable socket dir), a `warn` that fails
// degrades something (agent program missing for a role, no GitHub token, low inotify limits, …).
import { isOwnRuntimeDir } from "../daemon/runtime-dir.ts";
import { accessSync, constants, existsSync, lstatSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute } from "node:path";
import { type AgentProfile, type AgentProfilesConfig, type AgentRole, AGENT_ROLES, buildCommand, profilesFromConfig, resolveProfile } from "../agents/programs.ts";
import { HARNESSES, harnessNameFor } from "../agents/harness/index.ts";
import { agentVisibleEnv } from "../agents/private-env.ts";
import type { HarnessName } from "../agents/harness/types.ts";
import { parseVersion, versionAtLeast } from "../agents/harness/util.ts";
import { ConfigError, type LoadedConfig, loadConfig } from "../config/load.ts";
import { configDir, defaultConfigPath } from "../config/paths.ts";
import { loadRepoOverrides, repoConfigPath } from "../config/repo.ts";
import { repoPathProblem, repoWarnings } from "../daemon/repos.ts";
import { MAX_SOCKET_PATH_BYTES, probeSocket, resolveSocketPath } from "../daemon/socket.ts";
import { checkWaveLimit } from "./wave-limit.ts";
import { checkWorktreeSettings } from "./worktree.ts";
import { checkSocketSafety } from "./socket-safety.ts";
import { checkPrices, observedModels } from "./pricing.ts";
import { checkRemote } from "./remote.ts";
import { type DaemonView, fetchDaemonView } from "./daemon-view.ts";
import { checkPrivateFiles, checkRegisteredRepos } from "./state-checks.ts";

export type Severity = "error" | "warn";

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What a failure means: "error" blocks the daemon (exit 1), "warn" degrades it. */
  severity: Severity;
  /** One line: what was found. */
  detail: string;
  /** One line: how to fix it ("" when ok). */
  fix: string;
}

export interface DoctorOptions {
  configPath?: string | undefined;
  socketFlag?: string | undefined;
}

export const MIN_TMUX = [3, 0] as const;
export const MIN_INOTIFY_WATCHES = 8192;
export const MIN_INOTIFY_INSTANCES = 128;

const pass = (name: string, severity: Severity, detail: string): CheckResult => ({ name, ok: true, severity, detail, fix: "" });
const problem = (name: string, severity: Severity, detail: string, fix: string): CheckResult => ({ name, ok: false, severity, detail: oneLine(detail), fix: oneLine(fix) });

function oneLine(s: string): string {
  return s
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .join("; ");
}

function myUid(): number {
  return typeof process.getuid === "function" ? process.getuid() : -1;
}

function mode(m: number): string {
  return `0${(m & 0o777).toString(8).padStart(3, "0")}`;
}

/** Run a short-lived tool; null when it cannot be started or times out. */
function runTool(argv: string[], timeoutMs = 5000): { code: number; stdout: string; stderr: string } | null {
  try {
    const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
    if (r.exitCode === null) return null;
    return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  } catch {
    return null;
  }
}

/** "tmux 3.3a" → [3, 3]; "tmux next-3.4" → [3, 4]; "tmux master" → null. */
export function parseTmuxVersion(text: string): [number, number] | null {
  const m = /(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

export function checkTmux(): CheckResult {
  const fix = "install tmux >= 3.0 (apt install tmux / dnf install tmux / brew install tmux) and make sure it is on PATH";
  const bin = Bun.which("tmux");
  if (!bin) return problem("tmux", "error", "tmux not found on PATH: the daemon runs every agent in a tmux session", fix);
  const r = runTool([bin, "-V"]);
  if (!r || r.code !== 0) return problem("tmux", "error", `${bin} -V failed${r ? `: ${r.stderr.trim()}` : ""}`, fix);
  const text = r.stdout.trim();
  const v = parseTmuxVersion(text);
  if (!v) return pass("tmux", "error", `${text} (${bin}; version not numeric, assuming recent)`);
  if (v[0] < MIN_TMUX[0] || (v[0] === MIN_TMUX[0] && v[1] < MIN_TMUX[1])) {
    return problem("tmux", "error", `${text} is too old (${bin}); kasmos needs tmux >= ${MIN_TMUX.join(".")}`, fix);
  }
  return pass("tmux", "error", `${text} (${bin})`);
}

export function checkGit(): CheckResult {
  const fix = "install git (apt install git / dnf install git / brew install git) and make sure it is on PATH";
  const bin = Bun.which("git");
  if (!bin) return problem("git", "error", "git not found on PATH: worktrees, branches and commits need it", fix);
  const r = runTool([bin, "--version"]);
  if (!r || r.code !== 0) return problem("git", "error", `${bin} --version failed${r ? `: ${r.stderr.trim()}` : ""}`, fix);
  return pass("git", "error", `${r.stdout.trim()} (${bin})`);
}

/** Never prints the token, only where it came from. With a daemon running, its environment is what counts. */
export function checkGithubToken(view: DaemonView | null = null): CheckResult {
  for (const name of ["GH_TOKEN", "GITHUB_TOKEN"]) {
    const v = process.env[name];
    if (view ? view.env.includes(name) : v && v.trim().length > 0) return pass("github token", "warn", `$${name} is set${view ? " in the daemon's environment" : ""}`);
  }
  const gh = Bun.which("gh");
  if (gh) {
    const r = runTool([gh, "auth", "token"]);
    if (r && r.code === 0 && r.stdout.trim().length > 0) return pass("github token", "warn", `from \`gh auth token\` (${gh})`);
  }
  return problem(
    "github token",
    "warn",
    `no GitHub token: GH_TOKEN and GITHUB_TOKEN are unset${view ? ` in the daemon's environment (pid ${view.pid})` : ""}${gh ? " and `gh auth token` returned none" : " and gh is not installed"} (PR creation and pr_monitor will not work)`,
    "export GH_TOKEN=<token> in the daemon's environment, or run `gh auth login`",
  );
}

export type ConfigOutcome = { loaded: LoadedConfig; error: null } | { loaded: null; error: string };

export function loadConfigOutcome(path: string | undefined): ConfigOutcome {
  try {
    return { loaded: loadConfig(path), error: null };
  } catch (err) {
    if (err instanceof ConfigError) return { loaded: null, error: err.message };
    return { loaded: null, error: `${path && path.length > 0 ? path : defaultConfigPath()}: ${(err as Error).message}` };
  }
}

export function checkConfig(outcome: ConfigOutcome, path: string): CheckResult {
  if (outcome.error !== null) {
    return problem("config", "error", `invalid: ${outcome.error}`, `edit ${path} and fix the key(s) named above (kas daemon config shows the effective values)`);
  }
  const { loaded } = outcome;
  if (!loaded.fileExists) return pass("config", "error", `${loaded.path} not found: embedded defaults apply`);
  if (loaded.warnings.length > 0) {
    const strip = (w: string): string => (w.startsWith(`${loaded.path}: `) ? w.slice(loaded.path.length + 2) : w);
    return problem(
      "config",
      "warn",
      `${loaded.path}: ${loaded.warnings.length} warning${loaded.warnings.length === 1 ? "" : "s"}: ${loaded.warnings.map(strip).join("; ")}`,
      `remove or rename the unknown key(s) in ${loaded.path}`,
    );
  }
  return pass("config", "error", `${loaded.path} is valid`);
}


/** Directory of the kasmos binary: the daemon puts it first on agents' PATH. */
export function agentBinDir(): string {
  if (process.env.KASMOS_BIN_DIR) return process.env.KASMOS_BIN_DIR;
  return Bun.isStandaloneExecutable ? dirname(process.execPath) : dirname(Bun.main);
}

/** Where the agent runner would find the program's executable, or why it would not. */
export function resolveAgentExecutable(profile: AgentProfile): { exe: string; path: string | null; error: string | null } {
  let argv: string[];
  try {
    argv = buildCommand(profile, { promptFile: "/tmp/kasmos-doctor.md" }).argv;
  } catch (err) {
    return { exe: profile.program, path: null, error: (err as Error).message };
  }
  const exe = argv[0]!;
  if (exe.includes("/")) {
    if (!existsSync(exe)) return { exe, path: null, error: `${exe} does not exist` };
    try {
      if (statSync(exe).isDirectory()) return { exe, path: null, error: `${exe} is a directory` };
      accessSync(exe, constants.X_OK);
    } catch {
      return { exe, path: null, error: `${exe} is not executable` };
    }
    return { exe, path: exe, error: null };
  }
  const found = Bun.which(exe, { PATH: `${agentBinDir()}:${process.env.PATH ?? "/usr/bin:/bin"}` });
  return found ? { exe, path: found, error: null } : { exe, path: null, error: `"${exe}" not found on PATH` };
}

interface AgentScope {
  daemon: AgentProfilesConfig;
  repo?: AgentProfilesConfig;
}

/** Which file and key set a role's program (for the fix line). */
function programSource(role: AgentRole, scope: AgentScope, daemonPath: string, repoPath?: string): string {
  const set = (s: string | undefined): boolean => s !== undefined && s.trim() !== "";
  if (repoPath && set(scope.repo?.[role]?.program)) return `[agents.${role}] program in ${repoPath}`;
  if (set(scope.daemon[role]?.program)) return `[agents.${role}] program in ${daemonPath}`;
  if (repoPath && set(scope.repo?.default_program)) return `default_program in ${repoPath}`;
  if (set(scope.daemon.default_program)) return `default_program in ${daemonPath}`;
  return `default_program in ${daemonPath}`;
}

function roleList(rs: AgentRole[]): string {
  return rs.length === AGENT_ROLES.length ? "all roles" : rs.join(", ");
}

function agentProblems(scope: AgentScope, roles: readonly AgentRole[], daemonPath: string, repoPath?: string): { ok: string[]; bad: { detail: string; fix: string }[] } {
  const ok = new Map<string, AgentRole[]>();
  // Grouped by (error, source): six roles on one missing default program make one entry.
  const bad = new Map<string, { error: string; exe: string; source: string; roles: AgentRole[] }>();
  for (const role of roles) {
    const profile = resolveProfile(role, scope);
    const r = resolveAgentExecutable(profile);
    if (r.error === null) {
      const key = r.exe === r.path ? r.exe : `${r.exe} (${r.path})`;
      ok.set(key, [...(ok.get(key) ?? []), role]);
    } else {
      const source = programSource(role, scope, daemonPath, repoPath);
      const key = `${r.error}\0${source}`;
      const entry = bad.get(key) ?? { error: r.error, exe: r.exe, source, roles: [] };
      entry.roles.push(role);
      bad.set(key, entry);
    }
  }
  return {
    ok: [...ok].map(([prog, rs]) => `${prog}: ${roleList(rs)}`),
    bad: [...bad.values()].map((b) => ({
      detail: `${roleList(b.roles)}: ${b.error}`,
      fix: `install ${b.exe}, or point ${b.source} at an installed agent CLI`,
    })),
  };
}

/**
 * Every role's program, resolved like the agent runner does. Severity warn: the daemon runs without it;
 * only tasks that reach that role stop with "<role> could not start" attention.
 */
export function checkAgents(outcome: ConfigOutcome): CheckResult {
  if (outcome.error !== null) return problem("agents", "warn", "skipped: daemon.toml is invalid (see config)", "fix the config first, then run kas doctor again");
  const cfg = outcome.loaded.config;
  const { ok, bad } = agentProblems({ daemon: profilesFromConfig(cfg.agents, cfg.default_program) }, AGENT_ROLES, outcome.loaded.path);
  if (bad.length > 0) {
    return problem("agents", "warn", `${bad.map((b) => b.detail).join("; ")}${ok.length > 0 ? ` (ok: ${ok.join("; ")})` : ""}`, bad.map((b) => b.fix).filter((f, i, a) => a.indexOf(f) === i).join("; "));
  }
  return pass("agents", "warn", ok.join("; "));
}

/**
 * One check per agent CLI the config uses (claude, codex, opencode): found, its version against the
 * oldest kasmos was tested with, and the gates preflight would refuse a spawn for (not logged in, no
 * API key, first-run setup or the bypass disclaimer never done, root without IS_SANDBOX), plus whether
 * the config file kasmos records folder trust in is writable. Severity warn: only tasks reaching a
 * role with that CLI are affected.
 */
export async function checkAgentClis(outcome: ConfigOutcome, view: DaemonView | null = null): Promise<CheckResult[]> {
  if (outcome.error !== null) return [];
  const byCli = cliUses(outcome.loaded.config);
  // The gates are the daemon's: its environment, its user (asked when it runs, else this shell's, said so).
  const where = view ? ` (the daemon's environment, pid ${view.pid})` : " (this shell's environment: no daemon running)";
  const out: CheckResult[] = [];
  for (const [name, e] of byCli) {
    const h = HARNESSES[name];
    const check = `cli ${name}`;
    const v = runTool([e.path, "--version"], 15_000);
    const version = v && v.code === 0 ? parseVersion(v.stdout) : null;
    if (version === null) {
      out.push(problem(check, "warn", `${e.path} --version failed${v ? `: ${(v.stderr || v.stdout).trim().split("\n")[0] ?? ""}` : ""}`, `reinstall ${name}, or point [agents.<role>] program at a working ${name}`));
      continue;
    }
    const vs = version.join(".");
    if (h.minVersion && !versionAtLeast(version, h.minVersion)) {
      out.push(problem(check, "warn", `${name} ${vs} is older than ${h.minVersion}, the oldest kasmos supports`, `upgrade ${name} (npm install -g …) to ${h.minVersion} or newer`));
      continue;
    }
    const env = { ...process.env } as Record<string, string | undefined>;
    let pre = view?.clis[name] ?? null;
    if (pre === null) {
      try {
        const local = await h.preflight({ folders: [], skipPermissions: e.skip, env: agentVisibleEnv(process.env), isRoot: myUid() === 0, executable: e.path });
        pre = local.ok ? { ok: true } : { ok: false, ...local.refusal };
      } catch (err) {
        out.push(problem(check, "warn", `${name} ${vs}: ${(err as Error).message}`, `fix the file named above`));
        continue;
      }
    }
    if (!pre.ok) {
      out.push(problem(check, "warn", `${name} ${vs} (${roleList(e.roles)}): ${pre.reason}${where}`, pre.fix));
      continue;
    }
    const unwritable = (h.stateFiles?.(env) ?? []).filter((f) => {
      try {
        accessSync(existsSync(f) ? f : dirname(f), constants.W_OK);
        return false;
      } catch {
        return existsSync(f) || existsSync(dirname(f));
      }
    });
    if (unwritable.length > 0) {
      out.push(problem(check, "warn", `${name} ${vs}: ${unwritable.join(", ")} is not writable: kasmos cannot record trust of its worktrees`, `chmod u+w ${unwritable.join(" ")}`));
      continue;
    }
    out.push(pass(check, "warn", `${name} ${vs} at ${e.path} (${roleList(e.roles)}): ready${h.minVersion ? ` (minimum ${h.minVersion})` : ""}${where}`));
  }
  return out;
}

/** The agent CLIs (with a harness) the config's roles resolve to, with their roles and skip_permissions. */
export function cliUses(cfg: LoadedConfig["config"]): Map<HarnessName, { path: string; roles: AgentRole[]; skip: boolean }> {
  const scope: AgentScope = { daemon: profilesFromConfig(cfg.agents, cfg.default_program) };
  const byCli = new Map<HarnessName, { path: string; roles: AgentRole[]; skip: boolean }>();
  for (const role of AGENT_ROLES) {
    const profile = resolveProfile(role, scope);
    const r = resolveAgentExecutable(profile);
    if (r.path === null) continue; // reported by the agents check
    const h = harnessNameFor(r.exe);
    if (h === "generic") continue;
    const e = byCli.get(h) ?? { path: r.path, roles: [], skip: false };
    e.roles.push(role);
    e.skip ||= profile.skipPermissions;
    byCli.set(h, e);
  }
  return byCli;
}

/**
 * One check per repo of daemon.toml `repos`: the directory is a git work tree, its .kasmos/config.toml
 * parses, and the programs that config sets (repo [agents.*] or default_program) resolve. Roles the repo
 * does not override are covered by the "agents" check.
 */
export function checkRepo(repo: string, outcome: ConfigOutcome & { error: null }): CheckResult {
  const name = `repo ${basename(repo) || repo}`;
  if (!isAbsolute(repo)) return problem(name, "warn", `${repo}: path must be absolute`, `use an absolute path in repos of ${outcome.loaded.path}`);
  const pathProblem = repoPathProblem(repo);
  if (pathProblem) return problem(name, "warn", `${pathProblem} (the daemon skips this repo)`, `fix or remove the entry in repos of ${outcome.loaded.path}`);
  const noCommits = repoWarnings(repo);
  if (noCommits.length > 0) return problem(name, "warn", noCommits[0]!, `cd ${repo} && git commit --allow-empty -m init`);
  const { overrides, error } = loadRepoOverrides(repo);
  if (error) return problem(name, "warn", error, `fix ${repoConfigPath(repo)} (or delete it to use the daemon's values)`);
  const cfg = outcome.loaded.config;
  const scope: AgentScope = { daemon: profilesFromConfig(cfg.agents, cfg.default_program), repo: profilesFromConfig(overrides.agents, overrides.default_program) };
  // Roles whose program the repo file decides (resolveProfile: repo role → daemon role → repo default → daemon default).
  const set = (s: string | undefined): boolean => (s ?? "").trim() !== "";
  const overridden = AGENT_ROLES.filter((r) => set(overrides.agents[r]?.program) || (!set(cfg.agents[r]?.program) && set(overrides.default_program)));
  const { ok, bad } = agentProblems(scope, overridden, outcome.loaded.path, repoConfigPath(repo));
  if (bad.length > 0) return problem(name, "warn", `${repo}: ${bad.map((b) => b.detail).join("; ")}`, bad.map((b) => b.fix).filter((f, i, a) => a.indexOf(f) === i).join("; "));
  const hasFile = existsSync(repoConfigPath(repo));
  return pass(name, "warn", `${repo}${hasFile ? `: .kasmos/config.toml ok${ok.length > 0 ? `, agents ${ok.join("; ")}` : ""}` : " (no .kasmos/config.toml)"}`);
}

export function checkConfigDir(dir = configDir()): CheckResult {
  const name = "config dir";
  if (!existsSync(dir)) return pass(name, "error", `${dir} does not exist yet (created 0700 on first use)`);
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    return problem(name, "error", `${dir}: ${(err as Error).message}`, `check the permissions of ${dirname(dir)}`);
  }
  if (!st.isDirectory()) return problem(name, "error", `${dir} is not a directory`, `move ${dir} away; kasmos keeps its config, store and logs there`);
  const uid = myUid();
  if (uid >= 0 && st.uid !== uid) return problem(name, "error", `${dir} is owned by uid ${st.uid}, not by you (uid ${uid})`, `chown -R ${uid} ${dir}`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    return problem(name, "error", `${dir} is not writable (mode ${mode(st.mode)})`, `chmod 700 ${dir}`);
  }
  if ((st.mode & 0o077) !== 0) {
    return problem(name, "warn", `${dir} has mode ${mode(st.mode)}: other users can read the task store, logs and agent prompts`, `chmod 700 ${dir}`);
  }
  return pass(name, "error", `${dir} (${mode(st.mode)}, yours)`);
}

export function checkSocketDir(socket: string): CheckResult {
  const name = "socket dir";
  const bytes = Buffer.byteLength(socket);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    return problem(name, "error", `socket path is ${bytes} bytes, over the unix limit of ${MAX_SOCKET_PATH_BYTES}: ${socket}`, "set a shorter socket_path in daemon.toml (or --socket)");
  }
  const dir = dirname(socket);
  if (!existsSync(dir)) return pass(name, "error", `${dir} does not exist yet (the daemon creates it 0700)`);
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    return problem(name, "error", `${dir}: ${(err as Error).message}`, `check the permissions of ${dirname(dir)}`);
  }
  if (st.isSymbolicLink()) {
    try {
      st = statSync(dir);
    } catch (err) {
      return problem(name, "error", `${dir} is a dangling symlink: ${(err as Error).message}`, `remove ${dir}`);
    }
  }
  if (!st.isDirectory()) return problem(name, "error", `${dir} is not a directory`, `remove ${dir} or set socket_path elsewhere`);
  const uid = myUid();
  if (uid >= 0 && st.uid !== uid) {
    return problem(name, "error", `${dir} is owned by uid ${st.uid}, not by you (uid ${uid}): another user could hijack the socket`, `remove ${dir} (as its owner) or set socket_path to a directory you own`);
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    return problem(name, "error", `${dir} is not writable (mode ${mode(st.mode)})`, `chmod 700 ${dir}`);
  }
  if ((st.mode & 0o077) !== 0) {
    return isOwnRuntimeDir(dir) // the daemon tightens these itself on start
      ? problem(name, "warn", `${dir} has mode ${mode(st.mode)}, expected 0700 (the daemon tightens it on start)`, `chmod 700 ${dir}`)
      : problem(name, "error", `${dir} has mode ${mode(st.mode)}, expected 0700: other users can replace the socket`, `chmod 700 ${dir}, or set socket_path inside a private directory`);
  }
  return pass(name, "error", `${dir} (0700, yours)`);
}

export type SocketProbe = "alive" | "stale" | "absent";

export async function checkSocket(socket: string): Promise<{ result: CheckResult; state: SocketProbe }> {
  const name = "socket";
  let st;
  try {
    st = lstatSync(socket);
  } catch {
    return { result: pass(name, "error", `${socket}: none (daemon not running)`), state: "absent" };
  }
  if (!st.isSocket()) {
    return {
      result: problem(name, "error", `${socket} exists but is not a unix socket: the daemon refuses to start`, `move ${socket} away or set socket_path elsewhere`),
      state: "stale",
    };
  }
  const state = await probeSocket(socket, 1000);
  if (state === "stale") {
    return { result: problem(name, "warn", `${socket} is stale: nobody is listening (the daemon removes it on start)`, `rm ${socket}`), state };
  }
  if (state === "absent") return { result: pass(name, "error", `${socket}: none (daemon not running)`), state };
  const uid = myUid();
  if (uid >= 0 && st.uid !== uid) {
    return { result: problem(name, "error", `${socket} is owned by uid ${st.uid}, not by you (uid ${uid})`, `stop that process and remove ${socket}, or use another socket_path`), state };
  }
  if ((st.mode & 0o177) !== 0) {
    return { result: problem(name, "warn", `${socket} has mode ${mode(st.mode)}, expected 0600`, `chmod 600 ${socket}, or restart the daemon (kas daemon stop && kas daemon start)`), state };
  }
  return { result: pass(name, "error", `${socket} (0600, daemon listening)`), state };
}

function readInt(path: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

export function checkInotify(root = "/proc/sys/fs/inotify"): CheckResult {
  const name = "inotify";
  const watches = readInt(`${root}/max_user_watches`);
  const instances = readInt(`${root}/max_user_instances`);
  if (watches === null && instances === null) return pass(name, "warn", "limits not readable (not Linux?): skipped");
  const low: string[] = [];
  const fixes: string[] = [];
  if (watches !== null && watches < MIN_INOTIFY_WATCHES) {
    low.push(`max_user_watches=${watches} (< ${MIN_INOTIFY_WATCHES})`);
    fixes.push("fs.inotify.max_user_watches=524288");
  }
  if (instances !== null && instances < MIN_INOTIFY_INSTANCES) {
    low.push(`max_user_instances=${instances} (< ${MIN_INOTIFY_INSTANCES})`);
    fixes.push("fs.inotify.max_user_instances=512");
  }
  if (low.length > 0) {
    return problem(name, "warn", `${low.join(", ")}: signal watching may fail (signals are then only noticed by the slower poll)`, `sudo sysctl ${fixes.join(" ")} (persist it in /etc/sysctl.d/60-kasmos.conf)`);
  }
  return pass(name, "warn", `max_user_watches=${watches ?? "?"}, max_user_instances=${instances ?? "?"}`);
}

/** Informational: a daemon that is not running is not a problem. */
export async function checkDaemon(socket: string, state: SocketProbe): Promise<CheckResult> {
  const name = "daemon";
  if (state !== "alive") return pass(name, "warn", "not running (start it with `kas daemon start`)");
  try {
    const r = await fetch("http://kasmos/v1/status", { unix: socket, signal: AbortSignal.timeout(3000) } as RequestInit & { unix: string });
    const s = (await r.json()) as { pid?: number; version?: string; repo_count?: number };
    if (r.ok && typeof s.pid === "number") return pass(name, "warn", `running (pid ${s.pid}, version ${s.version ?? "?"}, ${s.repo_count ?? 0} repo${s.repo_count === 1 ? "" : "s"})`);
    return pass(name, "warn", `something listens on ${socket} but /v1/status answered ${r.status}`);
  } catch (err) {
    return pass(name, "warn", `socket is held but the daemon did not answer: ${(err as Error).message}`);
  }
}

/** All checks, in display order. */
export async function runChecks(opts: DoctorOptions = {}): Promise<CheckResult[]> {
  const configPath = opts.configPath && opts.configPath.length > 0 ? opts.configPath : defaultConfigPath();
  const outcome = loadConfigOutcome(configPath);
  const socket = resolveSocketPath(opts.socketFlag, outcome.loaded?.config.socket_path);
  const safety = checkSocketSafety(socket);
  // Never ask a socket another account could have put there.
  const view = safety.ok && (await probeSocket(socket, 1000)) === "alive" ? await fetchDaemonView(socket) : null;
  const results: CheckResult[] = [checkTmux(), checkGit(), checkGithubToken(view), checkConfig(outcome, configPath), checkAgents(outcome), ...(await checkAgentClis(outcome, view)), checkPrices(outcome, observedModels())];
  if (outcome.error === null) for (const repo of outcome.loaded.config.repos) results.push(checkRepo(repo, outcome), ...(repoPathProblem(repo) ? [] : [await checkRemote(repo, outcome.loaded)]));
  results.push(...checkRegisteredRepos(outcome.error === null ? outcome.loaded.config.repos : []), checkConfigDir(), checkPrivateFiles());
  results.push(checkWaveLimit(outcome.loaded?.config.orchestration.max_parallel_wave_tasks ?? "auto"));
  if (outcome.error === null) results.push(checkWorktreeSettings(outcome.loaded.config.worktree));
  results.push(checkSocketDir(socket), safety);
  const sock = await checkSocket(socket);
  // Never ask a socket another account could have put there.
  results.push(sock.result, checkInotify(), safety.ok ? await checkDaemon(socket, sock.state) : pass("daemon", "warn", "not asked: the socket path is not safe (see socket path)"));
  return results;
}

/** Exit status of `kas doctor`: 1 when an error-severity check failed. */
export function hasErrors(results: CheckResult[]): boolean {
  return results.some((r) => !r.ok && r.severity === "error");
}
