// doctor's checks of the agent programs each role runs and of the CLIs behind them (installed, new
// enough, logged in, their key variables in the environment agents get).
import { newerThanTested } from "../agents/cli-version.ts";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { type AgentProfile, type AgentProfilesConfig, type AgentRole, AGENT_ROLES, buildCommand, profilesFromConfig, resolveProfile } from "../agents/programs.ts";
import { harnessNameFor, harnessOf } from "../agents/harness/index.ts";
import { agentVisibleEnv } from "../agents/private-env.ts";
import { parseVersion, versionAtLeast } from "../agents/harness/util.ts";
import type { LoadedConfig } from "../config/load.ts";
import { type CheckResult, type ConfigOutcome, pass, problem, runTool } from "./common.ts";
import { myUid } from "../util/process.ts";
import type { DaemonView } from "../api/doctor.ts";
import { sandboxAvailability } from "../sandbox/probe.ts";
import { sandboxModeFor } from "../sandbox/spawn.ts";

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

export interface AgentScope {
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

export function agentProblems(scope: AgentScope, roles: readonly AgentRole[], daemonPath: string, repoPath?: string): { ok: string[]; bad: { detail: string; fix: string }[] } {
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
  const byCli = cliUses(outcome.loaded.config, (await sandboxAvailability()).ok);
  // The gates are the daemon's: its environment, its user (asked when it runs, else this shell's, said so).
  const where = view ? ` (the daemon's environment, pid ${view.pid})` : " (this shell's environment: no daemon running)";
  const out: CheckResult[] = [];
  for (const [name, e] of byCli) {
    const h = harnessOf(name);
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
    // Said beside whatever else this check finds: a newer CLI may be why it finds it.
    const newer = newerThanTested(h, version);
    const also = newer === null ? "" : `; ${newer}`;
    const env = { ...process.env } as Record<string, string | undefined>;
    let pre = view?.clis[name] ?? null;
    if (pre === null) {
      try {
        const local = await h.preflight({ folders: [], skipPermissions: e.skip, env: agentVisibleEnv(process.env), isRoot: myUid() === 0, executable: e.path });
        pre = local.ok ? { ok: true } : { ok: false, ...local.refusal };
      } catch (err) {
        out.push(problem(check, "warn", `${name} ${vs}: ${(err as Error).message}${also}`, `fix the file named above`));
        continue;
      }
    }
    if (!pre.ok) {
      out.push(problem(check, "warn", `${name} ${vs} (${roleList(e.roles)}): ${pre.reason}${where}${also}`, pre.fix));
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
      out.push(problem(check, "warn", `${name} ${vs}: ${unwritable.join(", ")} is not writable: kasmos cannot record trust of its worktrees${also}`, `chmod u+w ${unwritable.join(" ")}`));
      continue;
    }
    const ready = `${name} ${vs} at ${e.path} (${roleList(e.roles)}): ready${h.minVersion ? ` (minimum ${h.minVersion})` : ""}${where}`;
    if (newer !== null) {
      out.push(problem(check, "warn", `${ready}; but ${newer}`, `if its agents stop on unknown screens, install ${name} ${h.testedVersion} (the version kasmos's real-CLI tests pass with)`));
      continue;
    }
    out.push(pass(check, "warn", ready));
  }
  return out;
}

/**
 * The agent CLIs (with a harness) the config's roles resolve to, with their roles and whether any of
 * them starts it with its bypass flag: skip_permissions, unless the role runs in kasmos's sandbox
 * (`sandboxRuns`: bubblewrap runs here), where the CLI gets its own permission settings instead.
 */
export function cliUses(cfg: LoadedConfig["config"], sandboxRuns = false): Map<string, { path: string; roles: AgentRole[]; skip: boolean }> {
  const scope: AgentScope = { daemon: profilesFromConfig(cfg.agents, cfg.default_program) };
  const byCli = new Map<string, { path: string; roles: AgentRole[]; skip: boolean }>();
  for (const role of AGENT_ROLES) {
    const profile = resolveProfile(role, scope);
    const r = resolveAgentExecutable(profile);
    if (r.path === null) continue; // reported by the agents check
    const h = harnessNameFor(r.exe);
    if (h === "generic") continue;
    const e = byCli.get(h) ?? { path: r.path, roles: [], skip: false };
    e.roles.push(role);
    e.skip ||= profile.skipPermissions && !(sandboxRuns && sandboxModeFor(cfg, { agents: {} }, role) !== "off");
    byCli.set(h, e);
  }
  return byCli;
}

/**
 * One check per repo of daemon.toml `repos`: the directory is a git work tree, its .kasmos/config.toml
 * parses, and the programs that config sets (repo [agents.*] or default_program) resolve. Roles the repo
 * does not override are covered by the "agents" check.
 */
