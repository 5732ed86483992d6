// One agent's start under the sandbox: which mode applies to it (daemon, role, repo: a repo only
// tightens), whether this machine can run it, and the command line that runs the CLI inside
// bubblewrap. The pane's own shell stays outside (it records the exit status); the agent's token
// reaches it as a file in its run folder, its socket is the agents' one (agent-gate.ts).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import type { Harness } from "../agents/harness/types.ts";
import type { AgentRole } from "../lifecycle/roles.ts";
import type { RepoOverrides } from "../config/repo.ts";
import type { DaemonConfig, SandboxConfig, SandboxMode } from "../config/schema.ts";
import { writePrivateFile } from "../config/private-state.ts";
import { agentSocketPath, NET_BRIDGE_PORT, netProxyPath } from "../server/agent-paths.ts";
import { mintAgentToken } from "../server/agent-token.ts";
import { gitCommonDirSync } from "../util/repo-root.ts";
import { SIGNALS_REL } from "../signals/files.ts";
import { ensureTaskSignalDir } from "../signals/task-folders.ts";
import { bwrapArgs } from "./bwrap.ts";
import { buildPolicy, type SandboxPolicy } from "./policy.ts";
import { sandboxAvailability } from "./probe.ts";

const STRENGTH: Record<SandboxMode, number> = { off: 0, auto: 1, bwrap: 2 };

/** The mode for `role`: its daemon setting (role, else `[sandbox] mode`), raised — never lowered — by the repo's file. */
export function sandboxModeFor(daemon: DaemonConfig, repo: RepoOverrides, role: AgentRole): SandboxMode {
  const own = daemon.agents[role]?.sandbox ?? daemon.sandbox.mode;
  const fromRepo = repo.agents[role]?.sandbox ?? repo.sandbox?.mode;
  return fromRepo !== undefined && STRENGTH[fromRepo] > STRENGTH[own] ? fromRepo : own;
}

/** Whether an agent runs sandboxed: with which bwrap, or why not (off, or refused with the fix). */
export type SandboxDecision = { kind: "off"; why: string } | { kind: "refused"; reason: string; fix: string } | { kind: "bwrap"; bwrap: string };

/** What `mode` means on this machine (the trial run is made once per daemon run). */
export async function sandboxDecision(mode: SandboxMode): Promise<SandboxDecision> {
  if (mode === "off") return { kind: "off", why: '[sandbox] mode = "off"' };
  const avail = await sandboxAvailability();
  if (avail.ok) return { kind: "bwrap", bwrap: avail.bwrap };
  if (mode === "bwrap") return { kind: "refused", reason: `the sandbox (bwrap) is required but cannot run here: ${avail.reason}`, fix: avail.fix };
  return { kind: "off", why: avail.reason };
}

export interface SandboxedCommand {
  argv: string[];
  /** Variables the sandboxed agent gets instead of kasmos's usual ones (its socket, its token file). */
  env: Record<string, string>;
  policy: SandboxPolicy;
}

export interface SandboxSpawnInput {
  /** `[sandbox]` with the repo's tightening applied. */
  config: SandboxConfig;
  identity: { project: string; task: string; title: string };
  role: AgentRole;
  harness: Harness;
  repoPath: string;
  cwd: string;
  runDir: string;
  promptFile: string;
  /** The CLI's argv (the first word resolved to `executable`). */
  argv: string[];
  executable: string;
  kasmosBin: string;
  /** The agent's environment as kasmos built it (names not kept by the policy are unset inside). */
  env: Record<string, string>;
  home: string;
  controlSocket: string;
}

/**
 * What of git's own files an agent may not change, though they lie in folders it writes: whatever
 * makes git run a program or read another config — the common dir's config and hooks, the worktree's
 * `.git` link and its admin folder's `commondir`/`gitdir` (they say where that config is), every other
 * worktree's admin folder. The daemon runs git in these folders; an agent that could change them
 * could make it run a program of its choice outside the sandbox. Its own admin folder (HEAD, index,
 * logs) stays writable.
 */
function gitGuards(cwd: string, common: string | null): { read: string[]; write: string[] } {
  if (!common) return { read: [], write: [] };
  const hooks = join(common, "hooks");
  if (!existsSync(hooks)) mkdirSync(hooks, { recursive: true }); // else an agent could create it
  const read = [join(common, "config"), hooks, join(common, "worktrees")];
  const write: string[] = [];
  const link = join(cwd, ".git");
  try {
    if (statSync(link).isFile()) {
      read.push(link);
      const admin = /^gitdir:\s*(.+)$/m.exec(readFileSync(link, "utf8"))?.[1]?.trim();
      if (admin && isAbsolute(admin) && resolve(admin).startsWith(`${resolve(common, "worktrees")}/`)) {
        write.push(admin);
        read.push(join(admin, "commondir"), join(admin, "gitdir"));
      }
    }
  } catch {
    // no link: the repo root (its .git is the common dir)
  }
  return { read: read.filter((p) => existsSync(p)), write };
}

/**
 * The interpreter a script names in its `#!` line (`#!/usr/bin/env node` → node on the agent's PATH):
 * bound with the program, or an npm CLI under a node kept in $HOME (nvm) would not start inside.
 */
export function interpreterOf(program: string, path: string): string | null {
  let head = "";
  try {
    const fd = openSync(program, "r");
    try {
      const buf = Buffer.alloc(256);
      head = buf.subarray(0, readSync(fd, buf, 0, 256, 0)).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  const m = /^#!\s*(\S+)(?:\s+(?:-S\s+)?(\S+))?/.exec(head);
  if (!m) return null;
  if (basename(m[1]!) === "env" && m[2]) return Bun.which(m[2], { PATH: path });
  return isAbsolute(m[1]!) ? m[1]! : null;
}

/** A file or folder of the CLI's state: created when missing so the bind (and the CLI's first write) works. */
function ensureState(p: string): void {
  if (existsSync(p)) return;
  // A name with a dot and no slash after it is a file (~/.claude.json); the rest are folders.
  if (/^.+\.[a-z]+$/i.test(p.split("/").pop() ?? "")) {
    mkdirSync(dirname(p), { recursive: true, mode: 0o700 });
    writeFileSync(p, "{}\n", { mode: 0o600, flag: "wx" });
  } else {
    mkdirSync(p, { recursive: true, mode: 0o700 });
  }
}

/** The command line that runs the agent's CLI under its policy (`bwrap`: from sandboxDecision). */
export function sandboxedCommand(bwrap: string, input: SandboxSpawnInput): SandboxedCommand {
  const state = input.harness.sandboxState?.(input.env) ?? { paths: [], env: [] };
  for (const p of state.paths) ensureState(p);
  // The repo's git common dir (commits and refs of every worktree land there), by the one git rule:
  // an inherited GIT_DIR must not point the guards at another repository.
  const common = gitCommonDirSync(input.repoPath);
  const socketDir = dirname(agentSocketPath(input.controlSocket));
  const tokenFile = join(input.runDir, "agent-token");
  writePrivateFile(tokenFile, `${mintAgentToken(input.identity)}\n`);
  const home = resolve(input.home);
  const planner = input.role === "planner" || input.role === "architect";
  const worktrees = join(input.repoPath, ".worktrees");
  const guards = gitGuards(input.cwd, common);
  // In the repo root, the signals folder it sees is its task's own (a LinkRefusedError when a link or
  // FIFO stands where that goes): the repo's real one, which speaks for every task, stays out of reach.
  // .kasmos is bound onto itself so that, a mount point, it cannot be renamed away and re-made with a
  // signals folder of the agent's choosing beside the bound one.
  const atRoot = resolve(input.cwd) === resolve(input.repoPath);
  const ownSignals = atRoot ? ensureTaskSignalDir(input.identity.project, input.identity.task) : null;
  const kasmosDir = join(input.repoPath, ".kasmos");
  // A list of hosts: no network of its own; the bridge inside carries its proxy traffic to the daemon's filter.
  const hosts = Array.isArray(input.config.network) ? input.config.network : null;
  const policy = buildPolicy({
    home,
    cwd: input.cwd,
    gitCommonDir: common,
    runDir: input.runDir,
    cliState: [...state.paths, socketDir],
    programs: [input.executable, ...[interpreterOf(input.executable, input.env.PATH ?? "")].filter((p): p is string => p !== null), input.kasmosBin, ...input.argv.filter((w) => isAbsolute(w) && existsSync(w) && !w.startsWith(`${input.runDir}/`))],
    path: input.env.PATH ?? "/usr/bin:/bin",
    cliEnv: state.env,
    // A planner works in the repo root: the task worktrees under it stay out of its sight.
    hide: planner && existsSync(worktrees) ? [worktrees] : [],
    mounts: ownSignals ? [{ from: ownSignals.path, to: join(input.repoPath, SIGNALS_REL) }] : [],
    config: {
      ...input.config,
      network: hosts ? "off" : (input.config.network as "on" | "off"),
      write: [...input.config.write, ...guards.write, ...(ownSignals ? [kasmosDir] : [])],
      read: [
        ...input.config.read,
        input.promptFile,
        // git's identity and settings, read-only.
        join(home, ".gitconfig"),
        join(home, ".config", "git"),
        ...guards.read,
      ].filter((p) => existsSync(p)),
    },
  });
  const env: Record<string, string> = {
    KASMOS_SOCKET: agentSocketPath(input.controlSocket),
    KASMOS_AGENT_TOKEN_FILE: tokenFile,
    KASMOS_SANDBOX: "bwrap",
  };
  let bridge: string[] = [];
  if (hosts) {
    const proxy = `http://127.0.0.1:${NET_BRIDGE_PORT}`;
    Object.assign(env, { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, ALL_PROXY: "", all_proxy: "", NO_PROXY: "", no_proxy: "" });
    bridge = [input.kasmosBin, "agent", "net-bridge", "--to", netProxyPath(input.controlSocket), "--port", String(NET_BRIDGE_PORT), "--"];
    policy.hosts = hosts;
  }
  const names = [...new Set([...Object.keys(input.env), ...Object.keys(env), "TMUX", "TMUX_PANE", "KASMOS_STORE"])];
  return { argv: [bwrap, ...bwrapArgs(policy, names), ...bridge, ...input.argv], env, policy };
}

/** One line for the record (agent list, task show): what an agent may write, and its network. */
export function policySummary(p: SandboxPolicy): string {
  return `bwrap (network ${p.hosts ? `only ${p.hosts.join(", ")} through kasmos's proxy` : p.network}; writes ${p.write.join(", ")}; reads system, program and ${p.read.length} named folders; the rest of $HOME absent)`;
}
