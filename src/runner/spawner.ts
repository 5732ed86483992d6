// Starting agents: per task one start at a time (ordered), at most 6 starting processes across every
// repo, and at most the start gate's few agents coming up at once. A start checks what is cheap first
// (program, worktree path, the CLI's own gates), then prepares the worktree, writes the prompt and the
// CLI's files, and opens the tmux session. A start that fails or is refused is recorded (row, audit,
// attention) so the reconciler stops retrying until the task changes or an operator restarts it.
import type { TypedStart } from "../agents/harness/types.ts";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { resolveBranchHead } from "../agents/git.ts";
import { PortPool } from "../agents/ports.ts";
import { agentVisibleEnv } from "../agents/private-env.ts";
import { repoCommandsRefusal } from "../usecases/trust-repo-config.ts";
import { type AgentCommand, type AgentRole, buildCommand, profilesFromConfig, resolveProfile } from "../agents/programs.ts";
import { ForeignSessionError, type SessionInfo } from "../agents/tmux.ts";
import { ensureWorktree, isCheckoutFolder, worktreePath } from "../agents/worktree.ts";
import { WorktreePreparer } from "../agents/worktree-setup.ts";
import { ensurePrivateDir, writePrivateFile } from "../config/private-state.ts";
import { repoProcessorConfig } from "../config/processor.ts";
import { effectiveConfig, loadRepoOverrides } from "../config/repo.ts";
import { type ExpectedAgent, expectedAgents } from "../lifecycle/agents.ts";
import { failWaveTask } from "../lifecycle/processor.ts";
import type { Action } from "../lifecycle/model.ts";
import { ACTIVE_STATUSES } from "../lifecycle/types.ts";
import { endAgent, insertAgent, latestAgentByTitle, liveAgentByTitle, liveAgents, setAttention } from "../store/agents.ts";
import { harnessOf } from "../agents/harness/index.ts";
import { recordAudit } from "../store/audit.ts";
import { nowIso, writeTx } from "../store/db.ts";
import { commitResult, snapshotOf } from "../store/effects.ts";
import { branchProblem, getTask, type TaskRow } from "../store/tasks.ts";
import { Limiter } from "../util/limiter.ts";
import { defaultSocketPath, homeDir } from "../config/paths.ts";
import type { SandboxMode } from "../config/schema.ts";
import type { SandboxPolicy } from "../sandbox/policy.ts";
import { policySummary, type SandboxDecision, sandboxDecision, type SandboxedCommand, sandboxedCommand, sandboxModeFor } from "../sandbox/spawn.ts";
import { realOr } from "../util/repo-root.ts";
import type { RepoEntry } from "../engine/repos.ts";
import { type RunnerDeps, sessionTitleOf } from "./context.ts";
import { promptFileOf, runDirOf } from "./paths.ts";
import { agentPrompt } from "./prompt.ts";
import type { Pauses } from "./pauses.ts";
import type { StartGate } from "./start-gate.ts";

export class Spawner {
  /** Per-task chains: one task's starts never interleave. */
  private chains = new Map<string, Promise<void>>();
  /** Starts in flight, by project/title (a later pass never queues a second one; a stop of it waits). */
  private spawning = new Map<string, Promise<void>>();
  /** At most 6 starts at once across every repo (each runs tmux and git). */
  private startSlots = new Limiter(6);
  /** Per (harness, repo): when an agent of a staggered CLI last started. */
  private lastStart = new Map<string, number>();
  /**
   * Sessions get their environment explicitly (-e for every variable), but tmux adds its server's global
   * environment underneath: a server that outlived an earlier daemon would hand agents variables this
   * daemon no longer has. Once per daemon run, drop those from the global environment.
   */
  private serverEnvSynced = false;
  /** "agents run unsandboxed" was logged (once per daemon run). */
  private sandboxFallbackLogged = false;

  /** `[worktree]` copy and setup before a worktree's first agent; KASMOS_PORT per live agent. */
  private preparer: WorktreePreparer;
  private ports = new PortPool((project, title) => join(runDirOf(project, title), "port"));

  constructor(
    private deps: RunnerDeps,
    private gate: StartGate,
    /** A failed wave coder's start failed its task: the processor's actions (attention, stops). */
    private onActions: (repo: RepoEntry, task: string, actions: Action[]) => void,
    /** CLIs paused at a usage or rate limit: none of their agents starts meanwhile. */
    private pauses: Pauses,
    /** Type a start's first message once the agent's first screen shows (HarnessCommand.typeAfterStart). */
    private typeOnFirstScreen: (agentId: number, first: TypedStart) => void = () => undefined,
  ) {
    this.preparer = new WorktreePreparer({ kick: (p) => deps.kick?.(p), report: (project, task, ok, message) => recordAudit(deps.db, { kind: "worktree_prepared", project, task, message, level: ok ? "info" : "error" }) });
  }

  /** Titles whose next start continues their last session (a restart, a lost tmux server), by project/title. */
  private resumeWanted = new Set<string>();

  /** The next start of this title continues its last CLI session, when its CLI can (`fresh`: a new session). */
  resumeNext(project: string, title: string, fresh = false): void {
    if (fresh) this.resumeWanted.delete(`${project}/${title}`);
    else this.resumeWanted.add(`${project}/${title}`);
  }

  /** This title's next start will try to continue its session. */
  resumes(project: string, title: string): boolean {
    return this.resumeWanted.has(`${project}/${title}`);
  }

  /** The session id of the title's last run, when it ran `harness` and that CLI can resume it. */
  private sessionToResume(project: string, title: string, harness: string): string | null {
    const last = latestAgentByTitle(this.deps.db, project, title);
    if (!last || last.harness !== harness || last.transcript === "") return null;
    return harnessOf(harness).sessionFrom?.(last.transcript) ?? null;
  }

  /** The start of this project/title under way, if any. */
  startOf(key: string): Promise<void> | undefined {
    return this.spawning.get(key);
  }

  /** A failed `[worktree]` setup of this worktree runs again at the next start. */
  forgetSetup(worktree: string): void {
    this.preparer.forget(worktree);
  }

  /** The daemon stops: worktree setups under way are killed. */
  stopSetups(): Promise<void> {
    return this.preparer.stop();
  }

  /** Start the agent in the background, once (a start of this title already under way is left to finish). */
  start(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, sessions: Map<string, SessionInfo>): Promise<void> | null {
    const key = `${repo.project}/${w.title}`;
    if (this.spawning.has(key)) return null;
    const started = this.spawn(repo, t, w, sessions).finally(() => this.spawning.delete(key));
    this.spawning.set(key, started);
    return started;
  }

  private async spawn(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, sessions: Map<string, SessionInfo>): Promise<void> {
    const key = `${repo.project}/${t.name}`;
    const prev = this.chains.get(key) ?? Promise.resolve();
    const who = { project: repo.project, task: t.name, title: w.title };
    const run = prev
      .then(() => this.gate.enter(who))
      .then(async () => {
        // It may have waited for a slot: start only what the task still needs.
        if (!this.stillExpected(repo.project, t.name, w.title)) return false;
        return this.startSlots.run(() => this.spawnNow(repo, t, w, sessions));
      })
      .then((began) => {
        if (!began) this.gate.done(who);
      })
      .catch((err: unknown) => {
        this.gate.done(who);
        try {
          this.recordFailedStart(repo, t, w, "", (err as Error).message);
        } catch (e) {
          this.deps.log.error(`${key}: cannot record failed start: ${(e as Error).message}`);
        }
      });
    this.chains.set(key, run);
    await run;
  }

  private stillExpected(project: string, task: string, title: string): boolean {
    const t = getTask(this.deps.db, project, task);
    return t !== null && (ACTIVE_STATUSES as readonly string[]).includes(t.status) && expectedAgents(snapshotOf(this.deps.db, t)).some((w) => w.title === title);
  }

  /**
   * A start that failed or was refused: recorded (row, audit, attention) so the reconciler stops retrying
   * until the task changes or an operator restarts it. A wave coder's task fails, so the wave settles
   * and retry_wave / `kas agent restart` can bring it back.
   */
  private recordFailedStart(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, program: string, why: string, refused = false): void {
    const { db } = this.deps;
    const text = refused ? `${w.role} ${w.title} not started: ${why}` : `${w.role} could not start: ${why}`;
    let actions: Action[] = [];
    writeTx(db, () => {
      const row = insertAgent(db, { project: repo.project, task: t.name, title: w.title, role: w.role, wave: w.wave ?? 0, taskNumber: w.taskNumber ?? 0, session: "", cwd: "", program });
      endAgent(db, row.id, "failed", null, why);
      recordAudit(db, { kind: refused ? "agent_refused" : "agent_failed", project: repo.project, task: t.name, message: `${w.role} ${w.title} ${refused ? "not started" : "could not start"}: ${why}`, detail: { title: w.title, program }, level: "error" });
      if (w.mode === "wave" && w.wave && w.taskNumber) {
        const cfg = repoProcessorConfig(this.deps.config(), repo.path);
        const fresh = getTask(db, repo.project, t.name) ?? t;
        const result = failWaveTask(snapshotOf(db, fresh), w.wave, w.taskNumber, `agent could not start: ${why}`, cfg, nowIso());
        if (result.outcome === "done") {
          commitResult(db, { project: repo.project, task: t.name, result, signalId: null, signalType: "wave_task_failed", source: `agent:${w.title}` });
          actions = result.actions;
        }
      }
      setAttention(db, repo.project, t.name, `${text} (after fixing it: kas agent restart ${w.title})`);
    });
    this.deps.log.error(`${repo.project}/${t.name}: ${text}`);
    this.onActions(repo, t.name, actions.filter((x) => x.kind !== "wave_failed"));
    this.deps.hub.pump();
  }

  /** One start; true when an agent session began (its start slot is then held until it shows life). */
  private async spawnNow(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, sessions: Map<string, SessionInfo>): Promise<boolean> {
    const { db, log, tmux } = this.deps;
    if (liveAgentByTitle(db, repo.project, w.title)) return false; // never twice
    const daemonCfg = this.deps.config();
    const overrides = loadRepoOverrides(repo.path).overrides;
    const eff = effectiveConfig(daemonCfg, overrides);
    const role = w.role as AgentRole;
    const daemonProfiles = profilesFromConfig(daemonCfg.agents, daemonCfg.default_program);
    const profile = resolveProfile(role, { daemon: daemonProfiles, repo: profilesFromConfig(overrides.agents, overrides.default_program ?? "") });
    const fail = (why: string, refused = false): false => {
      this.recordFailedStart(repo, t, w, profile.program, why, refused);
      return false;
    };
    // A cloned repo's own file does not choose what runs here until the user approved it.
    const untrusted = repoCommandsRefusal(db, repo, role, daemonProfiles, profile);
    if (untrusted) return fail(`${untrusted.reason} — fix: ${untrusted.fix}`, true);
    const sandbox = await this.sandboxFor(sandboxModeFor(daemonCfg, overrides, role));
    if (sandbox.kind === "refused") return fail(`${sandbox.reason} — fix: ${sandbox.fix}`, true);

    // Cheap checks first: a missing program must not cost a git worktree.
    const promptFile = promptFileOf(repo.project, w.title);
    const runDir = runDirOf(repo.project, w.title);
    const kasmosBin = join(this.deps.binDir, "kasmos");
    const hookCommand = [kasmosBin, "agent", "hook"];
    let cmd: AgentCommand;
    const resumeKey = `${repo.project}/${w.title}`;
    let resumed = "";
    try {
      cmd = buildCommand(profile, { promptFile, hookCommand, runDir, sandboxed: sandbox.kind === "bwrap" });
      // Resume, not restart: the session the title's last run had, when it ran this same CLI.
      const session = this.resumeWanted.has(resumeKey) ? this.sessionToResume(repo.project, w.title, cmd.harness.name) : null;
      if (session !== null) {
        cmd = buildCommand(profile, { promptFile, hookCommand, runDir, sandboxed: sandbox.kind === "bwrap", resume: session });
        resumed = session;
      }
    } catch (err) {
      return fail((err as Error).message);
    }
    // A CLI at its account's limit starts nothing until the reset (other CLIs go on); a later pass starts it.
    const heldUntil = this.pauses.cliHeldUntil(cmd.harness.name);
    if (heldUntil !== null) {
      setTimeout(() => this.deps.kick?.(repo.project), heldUntil - Date.now() + 50).unref?.();
      return false;
    }
    // CLIs that trip over simultaneous starts in one repo start one at a time; the rest come back on a
    // later pass (never a sleep inside the pass: signals would wait for it).
    const staggerMs = cmd.harness.staggerMs ?? 0;
    const staggerKey = staggerMs > 0 ? `${cmd.harness.name}\0${repo.project}` : null;
    if (staggerKey !== null) {
      const wait = (this.lastStart.get(staggerKey) ?? 0) + staggerMs - Date.now();
      if (wait > 0) {
        setTimeout(() => this.deps.kick?.(repo.project), wait + 10).unref?.();
        return false;
      }
      this.lastStart.set(staggerKey, Date.now());
    }
    // The environment every agent gets: the daemon's own (API keys, IS_SANDBOX, …) minus its private variables and GitHub tokens.
    const env: Record<string, string> = { ...agentVisibleEnv(process.env), ...cmd.env };
    const path = `${this.deps.binDir}:${process.env.PATH ?? "/usr/bin:/bin"}`;
    env.PATH = path;
    const exe = cmd.argv[0]!;
    const resolved = exe.includes("/") ? (existsSync(exe) ? exe : null) : Bun.which(exe, { PATH: path });
    if (!resolved) return fail(`agent program not found: ${exe} (set [agents.${role}] program in daemon.toml or .kasmos/config.toml)`);

    // Where it works: planner and architect in the repo root, everyone else in the task's worktree.
    let cwd = repo.path;
    if (role !== "planner" && role !== "architect") {
      if (!t.branch) return fail("task has no branch");
      const bp = branchProblem(t.branch);
      if (bp) return fail(bp);
      try {
        // Fast path: an existing checkout (its .git file) needs no git calls; else create/repair it.
        const known = worktreePath(repo.path, t.branch);
        // Never outside <repo>/.worktrees/, whatever the branch says.
        if (!resolve(known).startsWith(`${resolve(repo.path, ".worktrees")}/`)) return fail(`worktree path escapes .worktrees/: ${known}`);
        cwd = isCheckoutFolder(known) ? known : (await ensureWorktree(repo.path, t.branch)).path;
      } catch (err) {
        return fail(`worktree for ${t.branch}: ${(err as Error).message}`);
      }
      const prep = this.preparer.state({ project: repo.project, task: t.name, repo: repo.path, worktree: cwd, cfg: eff.worktree, logDir: runDirOf(repo.project, t.name) });
      if (prep.kind !== "ready") return prep.kind === "failed" ? fail(prep.why) : false; // pending: a later pass starts it
    }
    // The CLI's own gates and state: trust kasmos's folders (only those), refuse what a person must do.
    const folders = [...new Set([repo.path, cwd].map((f) => realOr(f)))];
    try {
      // Sandboxed, the CLI runs without its bypass flag: none of that flag's gates apply.
      const pre = await cmd.harness.preflight({ folders, skipPermissions: profile.skipPermissions && sandbox.kind !== "bwrap", env, isRoot: process.getuid?.() === 0, executable: resolved });
      if (!pre.ok) return fail(`${pre.refusal.reason} — fix: ${pre.refusal.fix}`, true);
      for (const note of pre.notes) recordAudit(db, { kind: "agent_preflight", project: repo.project, task: t.name, message: `${w.title}: ${note}`, detail: { title: w.title } });
    } catch (err) {
      return fail(`preflight for ${cmd.harness.name}: ${(err as Error).message}`, true);
    }
    const prompt = await agentPrompt(repo, t, w, cwd, eff, kasmosBin);
    ensurePrivateDir(dirname(promptFile)); // 0700 folders, 0600 files, whatever the umask (they hold prompts and settings)
    writePrivateFile(promptFile, prompt);
    ensurePrivateDir(runDir);
    for (const [name, text] of Object.entries(cmd.files)) writePrivateFile(join(runDir, name), text);
    const port = this.ports.take(eff.worktree.ports, repo.project, w.title, liveAgents(db));
    if (port.error !== null) return fail(port.error);
    if (port.port !== null) env.KASMOS_PORT = String(port.port);
    Object.assign(env, {
      KASMOS_MANAGED: "1",
      KASMOS_PROJECT: repo.project,
      KASMOS_TASK: t.name,
      KASMOS_AGENT_TYPE: role,
      KASMOS_INSTANCE_TITLE: w.title,
      KASMOS_PROMPT_FILE: promptFile,
      KASMOS_REPO: repo.path,
    });
    if (this.deps.socketPath) env.KASMOS_SOCKET = this.deps.socketPath;
    if (process.env.KASMOS_STORE) env.KASMOS_STORE = process.env.KASMOS_STORE;
    if (w.mode === "wave") {
      env.KASMOS_WAVE = String(w.wave ?? 0);
      env.KASMOS_TASK_NUMBER = String(w.taskNumber ?? 0);
      env.KASMOS_PEERS = String(w.peers ?? 0);
    }
    let argv = cmd.argv;
    let policy: SandboxPolicy | null = null;
    if (sandbox.kind === "bwrap") {
      delete env.KASMOS_STORE; // the store is not there inside: its commands go through the daemon
      const identity = { project: repo.project, task: t.name, title: w.title };
      let sandboxed: SandboxedCommand;
      try {
        sandboxed = sandboxedCommand(sandbox.bwrap, { config: eff.sandbox, identity, role, harness: cmd.harness, repoPath: repo.path, cwd, runDir, promptFile, argv: cmd.argv, executable: resolved, kasmosBin, env, home: homeDir(), controlSocket: this.deps.socketPath ?? defaultSocketPath() });
      } catch (err) {
        return fail(`sandbox: ${(err as Error).message}`, true); // e.g. a link where its own signals folder goes
      }
      argv = sandboxed.argv;
      policy = sandboxed.policy;
      Object.assign(env, sandboxed.env);
    }
    const sessionTitle = sessionTitleOf({ project: repo.project, task: t.name, title: w.title });
    let started: { name: string; panePid: number };
    try {
      // A dead session of an earlier attempt with this title would block the name (the pass's
      // session list says whether there is one: no extra tmux call in the common case).
      const old = sessions.get(tmux.sessionName(sessionTitle));
      if (old && tmux.foreign(old.owner)) return fail(new ForeignSessionError(old.name, old.owner ?? "", tmux.socketName).message, true);
      if (old) await tmux.kill(sessionTitle, { graceMs: 0 }).catch(() => false);
      await this.syncServerEnv(env);
      started = await tmux.spawn({ title: sessionTitle, cwd, argv, env, nice: eff.resources.agent_nice, exitStatusFile: join(runDir, "exit-status") });
      // The stagger counts from the process start, not from the decision to start: preflight, the
      // worktree and the spawn in between can take a while on a busy machine (CI: 2.88 s apart for 3 s).
      if (staggerKey !== null) this.lastStart.set(staggerKey, Date.now());
      this.resumeWanted.delete(resumeKey);
    } catch (err) {
      return fail(`tmux: ${(err as Error).message}`);
    }
    const baseSha = role === "master" ? ((await resolveBranchHead(repo.path, t.branch))?.sha ?? "") : "";
    writeTx(db, () => {
      const row = insertAgent(db, { project: repo.project, task: t.name, title: w.title, role: w.role, wave: w.wave ?? 0, taskNumber: w.taskNumber ?? 0, session: started.name, cwd, program: cmd.argv.join(" ").slice(0, 500), baseSha, harness: cmd.harness.name, sandbox: policy ? policySummary(policy) : `off (${sandbox.kind === "off" ? sandbox.why : ""})` });
      recordAudit(db, { kind: "agent_spawned", project: repo.project, task: t.name, message: `${w.role} ${w.title} started in ${cwd}${resumed ? ` (continuing its ${cmd.harness.name} session ${resumed})` : ""}`, detail: { title: w.title, session: started.name, pid: started.panePid, program: exe, cwd, harness: cmd.harness.name, resumed, nice: eff.resources.agent_nice, sandbox: policy ? { mode: "bwrap", write: policy.write, read: policy.read, env: policy.env, network: policy.network, hide: policy.hide } : { mode: "off", why: sandbox.kind === "off" ? sandbox.why : "" } } });
      if (cmd.typeAfterStart !== undefined) this.typeOnFirstScreen(row.id, cmd.typeAfterStart);
    });
    log.info(`${repo.project}/${t.name}: ${w.role} ${w.title} started (${cmd.harness.name}, session ${started.name}, pid ${started.panePid})`);
    this.deps.hub.pump();
    return true;
  }

  /** The sandbox decision for a mode; an unsandboxed `auto` is said once in the log per daemon run. */
  private async sandboxFor(mode: SandboxMode): Promise<SandboxDecision> {
    const d = await sandboxDecision(mode);
    if (d.kind === "off" && mode === "auto" && !this.sandboxFallbackLogged) {
      this.sandboxFallbackLogged = true;
      this.deps.log.warn(`agents run unsandboxed: ${d.why} ([sandbox] mode = "auto"; kas doctor says more)`);
    }
    return d;
  }

  private async syncServerEnv(env: Record<string, string>): Promise<void> {
    if (this.serverEnvSynced) return;
    this.serverEnvSynced = true;
    await this.deps.tmux.pruneGlobalEnv(new Set(Object.keys(env))).catch((err: unknown) => this.deps.log.warn(`tmux environment: ${(err as Error).message}`));
  }
}
