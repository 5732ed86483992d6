// `kasmos doctor`: environment checks. Each check returns one CheckResult; an `error` that fails means
// the daemon cannot run (missing tmux/git, broken daemon.toml, unusable socket dir), a `warn` that fails
// degrades something (agent program missing for a role, no GitHub token, low inotify limits, …).
// The agent programs' and CLIs' checks live in agents.ts, what every check shares in common.ts.
import { isOwnRuntimeDir } from "../runtime/runtime-dir.ts";
import { accessSync, constants, existsSync, lstatSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute } from "node:path";
import { AGENT_ROLES, profilesFromConfig, resolveProfile } from "../agents/programs.ts";
import { configDir, defaultConfigPath } from "../config/paths.ts";
import { loadRepoOverrides, repoConfigPath } from "../config/repo.ts";
import { repoPathProblem, repoWarnings } from "../engine/repos.ts";
import { MAX_SOCKET_PATH_BYTES, probeSocket, resolveSocketPath } from "../runtime/socket.ts";
import { type CheckResult, type ConfigOutcome, loadConfigOutcome, pass, problem, runTool } from "./common.ts";
import { myUid } from "../util/process.ts";
import { type AgentScope, agentProblems, checkAgentClis, checkAgents } from "./agents.ts";
import { checkWaveLimit } from "./wave-limit.ts";
import { checkSandbox } from "./sandbox.ts";
import { checkWorktreeSettings } from "./worktree.ts";
import { checkSocketSafety } from "./socket-safety.ts";
import { checkPrices, observedModels } from "./pricing.ts";
import { checkRemote } from "./remote.ts";
import type { DaemonView } from "../api/doctor.ts";
import { status } from "../api/status.ts";
import { fetchDaemonView } from "./daemon-view.ts";
import { checkPrivateFiles, checkRegisteredRepos } from "./state-checks.ts";

export interface DoctorOptions {
  configPath?: string | undefined;
  socketFlag?: string | undefined;
}

export const MIN_TMUX = [3, 0] as const;
export const MIN_INOTIFY_WATCHES = 8192;
export const MIN_INOTIFY_INSTANCES = 128;

function mode(m: number): string {
  return `0${(m & 0o777).toString(8).padStart(3, "0")}`;
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
    const r = await fetch(`http://kasmos${status.path}`, { unix: socket, signal: AbortSignal.timeout(3000) } as RequestInit & { unix: string });
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
  if (outcome.error === null) results.push(checkWorktreeSettings(outcome.loaded.config.worktree), await checkSandbox(outcome.loaded.config));
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
