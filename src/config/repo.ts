// Per-repository overrides: <repo>/.kasmos/config.toml. Read on demand and
// cached by mtime; a broken file is reported and ignored (daemon values apply), never fatal.
import { statSync } from "node:fs";
import { join } from "node:path";
import { parseTOML } from "confbox/toml";
import * as v from "valibot";
import { MAX_CONFIG_BYTES, readBoundedText } from "../util/bounded-read.ts";
import { withContainedDir } from "../util/contained-fs.ts";
import { AGENT_ROLES, type AgentRole } from "../lifecycle/roles.ts";
import { type AgentRoleConfig, SANDBOX_MODES, type SandboxMode, copyPatterns, cycleCount, type DaemonConfig, lineCount, tokenLimit, usdLimit, waveTaskCount } from "./schema.ts";

export interface RepoOverrides {
  auto_advance?: boolean;
  auto_advance_waves?: boolean;
  auto_review_fix?: boolean;
  auto_readiness_review?: boolean;
  max_review_fix_cycles?: number;
  readiness_self_fix_max_lines?: number;
  readiness_max_verify_cycles?: number;
  auto_create_pr?: boolean;
  blueprint_skip_threshold?: number;
  max_parallel_wave_tasks?: number | "auto";
  default_program?: string;
  /** `[budget]` of the repo: its tasks' limits (day_usd stays daemon-wide). */
  budget?: { task_usd?: number; task_tokens?: number };
  agents: Partial<Record<AgentRole, AgentRoleConfig>>;
  /** `[worktree] copy` of the repo (setup and teardown are commands: daemon.toml only). */
  worktree?: { copy?: string[] };
  /** `[sandbox]` of the repo: it may only tighten the daemon's (bwrap instead of auto, network off). */
  sandbox?: { mode?: SandboxMode; network?: "off" };
}

const Agent = v.object({
  program: v.optional(v.string()),
  flags: v.optional(v.array(v.string())),
  model: v.optional(v.string()),
  skip_permissions: v.optional(v.boolean()),
  sandbox: v.optional(v.picklist(SANDBOX_MODES)),
});
const RepoFile = v.object({
  default_program: v.optional(v.string()),
  ui: v.optional(
    v.object({
      auto_advance: v.optional(v.boolean()),
      auto_advance_waves: v.optional(v.boolean()),
      auto_review_fix: v.optional(v.boolean()),
      auto_readiness_review: v.optional(v.boolean()),
      max_review_fix_cycles: v.optional(cycleCount(0)),
      readiness_self_fix_max_lines: v.optional(lineCount),
      readiness_max_verify_cycles: v.optional(cycleCount(1)),
      auto_create_pr: v.optional(v.boolean()),
    }),
  ),
  orchestration: v.optional(v.object({ blueprint_skip_threshold: v.optional(cycleCount(0)), max_parallel_wave_tasks: v.optional(v.union([waveTaskCount, v.literal("auto")])) })),
  budget: v.optional(v.object({ task_usd: v.optional(usdLimit), task_tokens: v.optional(tokenLimit) })),
  agents: v.optional(v.record(v.picklist(AGENT_ROLES), Agent)),
  worktree: v.optional(v.looseObject({ copy: v.optional(copyPatterns) })),
  sandbox: v.optional(v.looseObject({ mode: v.optional(v.picklist(SANDBOX_MODES)), network: v.optional(v.picklist(["on", "off"])) })),
});

/**
 * What of a repo's `[sandbox]` (and `[agents.<role>] sandbox`) is refused: a repository's author may
 * tighten the sandbox its agents run in, never loosen it.
 */
function sandboxLoosening(f: { sandbox?: Record<string, unknown>; agents?: Partial<Record<string, { sandbox?: SandboxMode }>> }): string[] {
  const out: string[] = [];
  if (f.sandbox?.mode === "off") out.push('mode = "off"');
  for (const k of ["write", "read", "env"]) if (f.sandbox !== undefined && k in f.sandbox) out.push(k);
  for (const [role, a] of Object.entries(f.agents ?? {})) if (a?.sandbox === "off") out.push(`agents.${role}.sandbox = "off"`);
  return out;
}

/** Keys of a repo's `[worktree]` that name commands: a repository's author does not choose what kasmos runs. */
const DAEMON_ONLY_WORKTREE_KEYS = ["setup", "teardown", "setup_timeout_sec", "teardown_timeout_sec", "ports"];

/**
 * One repo's file as kasmos uses it: the overrides, why a present file was ignored, the file's digest
 * (what `kas daemon trust` approves) and the entries that name a command kasmos would run.
 */
export interface RepoConfigFile {
  overrides: RepoOverrides;
  error: string | null;
  /** sha256 of the file's bytes; null when there is no file (or it could not be read). */
  digest: string | null;
  /** `key = value` of each entry naming a program or its arguments: they run only once the file is trusted. */
  commands: string[];
}

const cache = new Map<string, { mtimeMs: number; value: RepoConfigFile }>();

export function repoConfigPath(repo: string): string {
  return join(repo, ".kasmos", "config.toml");
}

/** The entries of a repo file that name a command: its author would choose what kasmos runs. */
function commandEntries(o: RepoOverrides): string[] {
  const out: string[] = [];
  if (o.default_program !== undefined) out.push(`default_program = ${JSON.stringify(o.default_program)}`);
  for (const role of AGENT_ROLES) {
    const a = o.agents[role];
    if (a?.program !== undefined) out.push(`agents.${role}.program = ${JSON.stringify(a.program)}`);
    if (a?.flags !== undefined) out.push(`agents.${role}.flags = ${JSON.stringify(a.flags)}`);
  }
  return out;
}

/** Overrides for one repo; `error` says why a present file was ignored. */
export function loadRepoOverrides(repo: string): RepoConfigFile {
  const path = repoConfigPath(repo);
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return { overrides: { agents: {} }, error: null, digest: null, commands: [] };
  }
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit.value;
  let value: RepoConfigFile;
  let digest: string | null = null;
  try {
    // Inside the repo only: neither .kasmos nor the file itself is followed as a link.
    const text = withContainedDir(repo, ".kasmos", (at) => readBoundedText(`${at}/config.toml`, MAX_CONFIG_BYTES, true));
    digest = new Bun.CryptoHasher("sha256").update(text).digest("hex");
    const raw = parseTOML(text);
    // Unknown keys (TUI settings of the original, hooks, …) are tolerated: this file is shared.
    const parsed = v.safeParse(v.looseObject(RepoFile.entries), raw);
    if (!parsed.success) {
      const i = parsed.issues[0];
      value = { overrides: { agents: {} }, error: `${path}: ${i?.path?.map((p) => String(p.key)).join(".") ?? ""}: ${i?.message ?? "invalid"} (ignored; daemon values apply)`, digest, commands: [] };
    } else {
      const f = parsed.output;
      const daemonOnly = DAEMON_ONLY_WORKTREE_KEYS.filter((k) => f.worktree !== undefined && k in f.worktree);
      const loosening = sandboxLoosening(f);
      const agents = (f.agents ?? {}) as Partial<Record<AgentRole, AgentRoleConfig>>;
      // A role's "off" from a repo is dropped (refused below); bwrap/auto stay (tightening or nothing).
      for (const a of Object.values(agents)) if (a?.sandbox === "off") delete a.sandbox;
      const sandbox = { ...(f.sandbox?.mode === "bwrap" ? { mode: "bwrap" as const } : {}), ...(f.sandbox?.network === "off" ? { network: "off" as const } : {}) };
      const problems = [
        ...(daemonOnly.length > 0 ? [`[worktree] ${daemonOnly.join(", ")} ignored: only daemon.toml's [worktree] may set them (a repository does not choose the commands kasmos runs)`] : []),
        ...(loosening.length > 0 ? [`[sandbox] ${loosening.join(", ")} refused: a repository may tighten the sandbox (mode = "bwrap", network = "off"), never loosen it; only daemon.toml's [sandbox] may`] : []),
      ];
      const overrides: RepoOverrides = {
        ...(f.ui ?? {}),
        ...(f.orchestration ?? {}),
        ...(f.default_program !== undefined ? { default_program: f.default_program } : {}),
        ...(f.budget !== undefined ? { budget: f.budget } : {}),
        agents,
        ...(f.worktree?.copy !== undefined ? { worktree: { copy: f.worktree.copy } } : {}),
        ...(Object.keys(sandbox).length > 0 ? { sandbox } : {}),
      };
      value = {
        overrides,
        digest,
        commands: commandEntries(overrides),
        error: problems.length > 0 ? `${path}: ${problems.join("; ")}` : null,
      };
    }
  } catch (err) {
    const why = (err as { code?: string }).code === "ELOOP" ? "is a symbolic link: kasmos never follows links in a repository" : (err as Error).message.split("\n")[0];
    value = { overrides: { agents: {} }, error: `${path}: ${why} (ignored; daemon values apply)`, digest, commands: [] };
  }
  cache.set(path, { mtimeMs, value });
  return value;
}

/** The daemon config with one repo's overrides applied. auto_advance needs the daemon-level flag too. */
export function effectiveConfig(daemon: DaemonConfig, o: RepoOverrides): DaemonConfig {
  return {
    ...daemon,
    auto_advance: daemon.auto_advance && (o.auto_advance ?? true),
    auto_advance_waves: o.auto_advance_waves ?? daemon.auto_advance_waves,
    auto_review_fix: o.auto_review_fix ?? daemon.auto_review_fix,
    auto_readiness_review: o.auto_readiness_review ?? daemon.auto_readiness_review,
    max_review_fix_cycles: o.max_review_fix_cycles ?? daemon.max_review_fix_cycles,
    readiness_self_fix_max_lines: o.readiness_self_fix_max_lines ?? daemon.readiness_self_fix_max_lines,
    readiness_max_verify_cycles: o.readiness_max_verify_cycles ?? daemon.readiness_max_verify_cycles,
    auto_create_pr: o.auto_create_pr ?? daemon.auto_create_pr,
    default_program: o.default_program ?? daemon.default_program,
    budget: {
      task_usd: o.budget?.task_usd ?? daemon.budget.task_usd,
      task_tokens: o.budget?.task_tokens ?? daemon.budget.task_tokens,
      day_usd: daemon.budget.day_usd,
    },
    // The repo's copy list adds to the daemon's; commands and ports stay the daemon's.
    worktree: { ...daemon.worktree, copy: [...new Set([...daemon.worktree.copy, ...(o.worktree?.copy ?? [])])] },
    // A repo may only tighten: bwrap over auto/off, network off.
    sandbox: {
      ...daemon.sandbox,
      ...(o.sandbox?.mode === "bwrap" ? { mode: "bwrap" as const } : {}),
      ...(o.sandbox?.network === "off" ? { network: "off" as const } : {}),
    },
    orchestration: {
      blueprint_skip_threshold: o.blueprint_skip_threshold ?? daemon.orchestration.blueprint_skip_threshold,
      max_parallel_wave_tasks: o.max_parallel_wave_tasks ?? daemon.orchestration.max_parallel_wave_tasks,
    },
  };
}
