// Runs the agents tasks need. Each pass reconciles, per repo, the agents the store says a task needs
// (lifecycle/agents.ts) with the tmux sessions that exist:
//  - a session that ended is recorded; if its task still expected it and no signal arrived, that is
//    a stuck agent (event + attention item), and a wave coder's task fails so the wave can settle;
//  - an expected agent with no live session starts (unless one with that title already ended since
//    the task last changed: no respawn loops, no double starts);
//  - a live agent that is no longer expected is stopped in the background (bounded grace).
// Derived from state, so a restart, a SIGKILL or a CLI transition needs no replay.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { resolveBranchHead } from "../agents/git.ts";
import { type AgentRole, buildCommand, profilesFromConfig, resolveProfile } from "../agents/programs.ts";
import { buildPrompt, type PromptCommon, type PromptInput } from "../agents/prompts.ts";
import { type SessionInfo, Tmux } from "../agents/tmux.ts";
import { ensureWorktree, worktreePath } from "../agents/worktree.ts";
import { configDir } from "../config/paths.ts";
import { repoProcessorConfig } from "../config/processor.ts";
import { effectiveConfig, loadRepoOverrides } from "../config/repo.ts";
import type { DaemonConfig } from "../config/schema.ts";
import { type ExpectedAgent, expectedAgents } from "../lifecycle/agents.ts";
import { extractMetadata, headerContext, parsePlan } from "../lifecycle/plan-parser.ts";
import { type Action, failWaveTask, processSignal } from "../lifecycle/processor.ts";
import { ACTIVE_STATUSES } from "../lifecycle/types.ts";
import { type AgentRow, endAgent, insertAgent, listAgents, liveAgentByTitle, liveAgents, setAttention } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { type Db, nowIso, writeTx } from "../store/db.ts";
import { commitResult, snapshotOf } from "../store/effects.ts";
import { branchProblem, getTask, projectsMaybeNeedingAgents, type TaskRow, tasksMaybeNeedingAgents } from "../store/tasks.ts";
import type { EventHub } from "./events.ts";
import type { Logger } from "./log.ts";
import type { RepoEntry } from "./repos.ts";

const KILL_GRACE_MS = 3000;

export interface RunnerDeps {
  db: Db;
  log: Logger;
  hub: EventHub;
  tmux: Tmux;
  config: () => DaemonConfig;
  /** Directory holding the kasmos binary, put first on agents' PATH. */
  binDir: string;
}


export class AgentRunner {
  /** Per-task chains: reconcile work for one task never interleaves. */
  private chains = new Map<string, Promise<void>>();
  private killing = new Set<number>();

  constructor(private deps: RunnerDeps) {}

  sessionTitle(project: string, title: string): string {
    return `${project}--${title}`;
  }

  private sessionsCache: Promise<SessionInfo[] | null> | null = null;

  /** Projects that may need reconciling this pass (one query for all repos), null = not computed yet. */
  private busyProjects: Set<string> | null = null;

  /** Forget the per-pass snapshots (called at the start of every scan pass). */
  newPass(): void {
    this.sessionsCache = null;
    this.busyProjects = null;
  }

  private sessions(): Promise<SessionInfo[] | null> {
    // One `tmux list-panes` per pass, shared by every repo, and only when some repo needs it.
    this.sessionsCache ??= this.deps.tmux.list().catch((err: unknown) => {
      this.deps.log.warn(`tmux list failed: ${(err as Error).message}`);
      return null;
    });
    return this.sessionsCache;
  }

  /** Nothing to do for a repo without live agents or tasks that may need one (one query per pass). */
  private idle(project: string): boolean {
    this.busyProjects ??= new Set(projectsMaybeNeedingAgents(this.deps.db));
    return !this.busyProjects.has(project);
  }

  /** One reconcile pass over a repo (called by the scan loop after signals were processed). */
  async reconcile(repo: RepoEntry): Promise<void> {
    if (this.idle(repo.project)) return;
    const sessions = await this.sessions();
    if (sessions === null) return;
    const byName = new Map(sessions.map((s) => [s.name, s]));
    // 1. sessions that ended
    for (const a of liveAgents(this.deps.db, { project: repo.project })) {
      if (this.killing.has(a.id)) continue; // being stopped: stop() records how it ended
      const s = byName.get(a.session);
      if (s && !s.dead) continue;
      const status = s?.exitStatus ?? null;
      endAgent(this.deps.db, a.id, "exited", status, s ? `exited with status ${status ?? "?"}` : "session gone");
      recordAudit(this.deps.db, { kind: "agent_finished", project: a.project, task: a.task, message: `${a.role} ${a.title} ${s ? `exited (status ${status ?? "?"})` : "session gone"}`, detail: { title: a.title, exit_status: status } });
      await this.afterExit(repo, a, status);
    }
    // 2. start expected agents, stop superseded ones
    const liveByTask = new Map<string, AgentRow[]>();
    for (const a of liveAgents(this.deps.db, { project: repo.project })) liveByTask.set(a.task, [...(liveByTask.get(a.task) ?? []), a]);
    const tasks = tasksMaybeNeedingAgents(this.deps.db, repo.project, [...liveByTask.keys()]);
    // Tasks are independent: start their agents concurrently (a bounded pool), so 20 tasks × 3
    // coders don't queue behind each other — each task's own starts stay ordered (spawn chains).
    // tasksMaybeNeedingAgents already filtered on what a task may need (plus tasks with live agents).
    const work = tasks.filter((t) => (ACTIVE_STATUSES as readonly string[]).includes(t.status));
    const POOL = 6;
    for (let i = 0; i < work.length; i += POOL) {
      await Promise.all(work.slice(i, i + POOL).map((t) => this.reconcileTask(repo, t, liveByTask.get(t.name) ?? [], byName)));
    }
    // live agents whose task is gone or no longer active
    const active = new Set(tasks.filter((t) => (ACTIVE_STATUSES as readonly string[]).includes(t.status)).map((t) => t.name));
    for (const [task, agents] of liveByTask) if (!active.has(task)) for (const a of agents) this.stop(a, "task no longer active");
    this.deps.hub.pump();
  }

  private async reconcileTask(repo: RepoEntry, t: TaskRow, live: AgentRow[], sessions: Map<string, SessionInfo>): Promise<void> {
    const want = expectedAgents(snapshotOf(this.deps.db, t)); // subtasks are loaded only for wave phases
    const wantTitles = new Set(want.map((w) => w.title));
    const spawns: Promise<void>[] = [];
    for (const w of want) {
      if (live.some((a) => a.title === w.title)) continue;
      // Ended naturally since the task last changed → stuck, not a respawn loop.
      const ended = listAgents(this.deps.db, { project: repo.project, task: t.name, limit: 50 }).find(
        (a) => a.title === w.title && (a.state === "exited" || a.state === "failed") && (a.endedAt ?? "") > t.updatedAt,
      );
      if (ended) continue;
      spawns.push(this.spawn(repo, t, w, sessions));
    }
    // Start the new agents first; the superseded ones stop in the background afterwards.
    await Promise.all(spawns);
    for (const a of live) if (!wantTitles.has(a.title)) this.stop(a, "superseded");
  }

  private async afterExit(repo: RepoEntry, a: AgentRow, status: number | null): Promise<void> {
    const t = getTask(this.deps.db, a.project, a.task);
    if (!t) return;
    const still = expectedAgents(snapshotOf(this.deps.db, t)).some((w) => w.title === a.title);
    if (!still) return; // it signalled (or was superseded): a normal end
    const cfg = repoProcessorConfig(this.deps.config(), repo.path);
    if (a.role === "coder" && a.wave > 0) {
      // A wave coder ends its work by exiting: status 0 completes its task, anything else fails it.
      const snap = snapshotOf(this.deps.db, t);
      const reason = status === 0 ? "" : `session ended (status ${status ?? "?"}) without implement-task-finished`;
      const result =
        status === 0
          ? processSignal(
              { task: snap, taskName: t.name, type: "implement_task_finished", payload: { body: "", fsmApplied: false, origin: "", reviewedSha: "", reviewedBaseSha: "", waveNumber: a.wave, taskNumber: a.taskNumber }, source: "agent", head: null, now: nowIso() },
              cfg,
            )
          : failWaveTask(snap, a.wave, a.taskNumber, reason, cfg, nowIso());
      writeTx(this.deps.db, () => commitResult(this.deps.db, { project: a.project, task: a.task, result, signalId: null, signalType: status === 0 ? "implement_task_finished" : "wave_task_failed", source: `agent:${a.title}` }));
      this.onActions(repo, a.task, result.actions);
      this.deps.log.info(`${a.project}/${a.task}: ${a.title} exited (${status ?? "?"}): ${result.result}`);
      return;
    }
    const msg = `${a.role} ${a.title} exited (status ${status ?? "?"}) without its signal`;
    writeTx(this.deps.db, () => {
      recordAudit(this.deps.db, { kind: "stuck_detected", project: a.project, task: a.task, message: msg, detail: { title: a.title, exit_status: status }, level: "warn" });
      setAttention(this.deps.db, a.project, a.task, msg);
    });
    this.deps.log.warn(`${a.project}/${a.task}: ${msg}`);
  }

  /** Attention items and forced respawns from a committed result's actions. */
  onActions(repo: RepoEntry, task: string, actions: Action[]): void {
    for (const act of actions) {
      switch (act.kind) {
        case "review_cycle_limit":
          this.attention(repo.project, task, `review-fix cycle limit reached (${act.cycle}/${act.limit}): fix by hand or raise max_review_fix_cycles`);
          break;
        case "wave_failed":
          this.attention(repo.project, task, `wave ${act.wave} needs a decision (${act.failed} of ${act.total} tasks failed): retry_wave, implement_wave or cancel`);
          break;
        case "pause_agent":
          // A rejected master approval: stop that master; a fresh one starts (same round).
          for (const a of liveAgents(this.deps.db, { project: repo.project, task })) if (a.role === act.agent) this.stop(a, "approval rejected", true);
          break;
        default:
          break;
      }
    }
  }

  private attention(project: string, task: string, text: string): void {
    writeTx(this.deps.db, () => {
      setAttention(this.deps.db, project, task, text);
      recordAudit(this.deps.db, { kind: "attention", project, task, message: text, level: "warn" });
    });
    this.deps.hub.pump();
  }

  /**
   * Stop in the background: the scan loop never waits for an agent's grace period. `final` records
   * it as ended (no automatic restart until the task changes), e.g. when an operator kills it.
   */
  stop(a: AgentRow, reason: string, replaced = false, final = false): void {
    if (this.killing.has(a.id)) return;
    this.killing.add(a.id);
    void (async () => {
      try {
        await this.deps.tmux.kill(this.sessionTitle(a.project, a.title), { graceMs: KILL_GRACE_MS });
      } catch (err) {
        this.deps.log.warn(`kill ${a.title}: ${(err as Error).message}`);
      }
      writeTx(this.deps.db, () => {
        if (endAgent(this.deps.db, a.id, final ? "exited" : "killed", null, reason)) {
          if (final) setAttention(this.deps.db, a.project, a.task, `${a.role} ${a.title} ${reason}`);
          recordAudit(this.deps.db, { kind: "agent_killed", project: a.project, task: a.task, message: `${a.role} ${a.title} stopped: ${reason}`, detail: { title: a.title, replaced } });
        }
      });
      this.killing.delete(a.id);
      this.deps.hub.pump();
    })();
  }

  private async spawn(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, sessions: Map<string, SessionInfo> = new Map()): Promise<void> {
    const { log } = this.deps;
    const key = `${repo.project}/${t.name}`;
    const prev = this.chains.get(key) ?? Promise.resolve();
    const run = prev.then(() => this.spawnNow(repo, t, w, sessions)).catch((err: unknown) => {
      try {
        this.recordFailedStart(repo, t, w, "", (err as Error).message);
      } catch (e) {
        log.error(`${key}: cannot record failed start: ${(e as Error).message}`);
      }
    });
    this.chains.set(key, run);
    await run;
  }

  /** A start that failed: recorded (row, audit, attention) so the reconciler stops retrying until the task changes. */
  private recordFailedStart(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, program: string, why: string): void {
    const { db } = this.deps;
    writeTx(db, () => {
      const row = insertAgent(db, { project: repo.project, task: t.name, title: w.title, role: w.role, wave: w.wave ?? 0, taskNumber: w.taskNumber ?? 0, session: "", cwd: "", program });
      endAgent(db, row.id, "failed", null, why);
      recordAudit(db, { kind: "agent_failed", project: repo.project, task: t.name, message: `${w.role} ${w.title} could not start: ${why}`, detail: { title: w.title, program }, level: "error" });
      setAttention(db, repo.project, t.name, `${w.role} could not start: ${why}`);
    });
    this.deps.log.error(`${repo.project}/${t.name}: ${w.role} ${w.title} could not start: ${why}`);
    this.deps.hub.pump();
  }

  private async spawnNow(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, sessions: Map<string, SessionInfo>): Promise<void> {
    const { db, log, tmux } = this.deps;
    if (liveAgentByTitle(db, repo.project, w.title)) return; // never twice
    const daemonCfg = this.deps.config();
    const overrides = loadRepoOverrides(repo.path).overrides;
    const eff = effectiveConfig(daemonCfg, overrides);
    const role = w.role as AgentRole;
    const profile = resolveProfile(role, { daemon: profilesFromConfig(daemonCfg.agents, daemonCfg.default_program), repo: profilesFromConfig(overrides.agents, overrides.default_program ?? "") });
    const fail = (why: string): void => this.recordFailedStart(repo, t, w, profile.program, why);

    // Cheap checks first: a missing program must not cost a git worktree.
    const promptFile = join(configDir(), "prompts", repo.project, `${w.title}.md`);
    let argv: string[];
    try {
      argv = buildCommand(profile, { promptFile, prompt: "" }).argv;
    } catch (err) {
      return fail((err as Error).message);
    }
    const path = `${this.deps.binDir}:${process.env.PATH ?? "/usr/bin:/bin"}`;
    const exe = argv[0]!;
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
        cwd = existsSync(join(known, ".git")) ? known : (await ensureWorktree(repo.path, t.branch)).path;
      } catch (err) {
        return fail(`worktree for ${t.branch}: ${(err as Error).message}`);
      }
    }
    const prompt = await this.prompt(repo, t, w, cwd, eff);
    mkdirSync(dirname(promptFile), { recursive: true, mode: 0o700 });
    writeFileSync(promptFile, prompt);
    argv = buildCommand(profile, { promptFile, prompt }).argv;
    const env: Record<string, string> = {
      PATH: path,
      HOME: process.env.HOME ?? "",
      KASMOS_MANAGED: "1",
      KASMOS_PROJECT: repo.project,
      KASMOS_TASK: t.name,
      KASMOS_AGENT_TYPE: role,
      KASMOS_INSTANCE_TITLE: w.title,
      KASMOS_PROMPT_FILE: promptFile,
      KASMOS_REPO: repo.path,
    };
    if (process.env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = process.env.XDG_RUNTIME_DIR;
    if (process.env.KASMOS_STORE) env.KASMOS_STORE = process.env.KASMOS_STORE;
    if (w.mode === "wave") {
      env.KASMOS_WAVE = String(w.wave ?? 0);
      env.KASMOS_TASK_NUMBER = String(w.taskNumber ?? 0);
      env.KASMOS_PEERS = String(w.peers ?? 0);
    }
    const sessionTitle = this.sessionTitle(repo.project, w.title);
    let started: { name: string; panePid: number };
    try {
      // A dead session of an earlier attempt with this title would block the name (the pass's
      // session list says whether there is one: no extra tmux call in the common case).
      if (sessions.has(tmux.sessionName(sessionTitle))) await tmux.kill(sessionTitle, { graceMs: 0 }).catch(() => false);
      started = await tmux.spawn({ title: sessionTitle, cwd, argv, env });
    } catch (err) {
      return fail(`tmux: ${(err as Error).message}`);
    }
    const baseSha = role === "master" ? ((await resolveBranchHead(repo.path, t.branch))?.sha ?? "") : "";
    writeTx(db, () => {
      insertAgent(db, { project: repo.project, task: t.name, title: w.title, role: w.role, wave: w.wave ?? 0, taskNumber: w.taskNumber ?? 0, session: started.name, cwd, program: argv.join(" ").slice(0, 500), baseSha });
      recordAudit(db, { kind: "agent_spawned", project: repo.project, task: t.name, message: `${w.role} ${w.title} started in ${cwd}`, detail: { title: w.title, session: started.name, pid: started.panePid, program: exe, cwd } });
    });
    log.info(`${repo.project}/${t.name}: ${w.role} ${w.title} started (session ${started.name}, pid ${started.panePid})`);
    this.deps.hub.pump();
  }

  private async prompt(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, cwd: string, eff: DaemonConfig): Promise<string> {
    const common: PromptCommon = { project: repo.project, task: t.name, repoPath: repo.path, worktreePath: cwd, branch: t.branch, description: t.description };
    let input: PromptInput;
    switch (w.role) {
      case "planner":
        input = { ...common, role: "planner" };
        break;
      case "architect":
        input = { ...common, role: "architect", plan: t.content };
        break;
      case "coder":
        if (w.mode === "wave") {
          const plan = parsePlan(t.content);
          const task = plan.ok ? plan.plan.waves.flatMap((x) => x.tasks).find((x) => x.number === w.taskNumber) : undefined;
          input = { ...common, role: "coder", mode: "wave", waveNumber: w.wave ?? 1, taskNumber: w.taskNumber ?? 1, taskTitle: w.taskTitle ?? task?.title ?? "", taskBody: task?.body ?? "", peers: w.peers ?? 0, headerContext: headerContext(extractMetadata(t.content)) };
        } else input = { ...common, role: "coder", mode: "single", plan: t.content };
        break;
      case "reviewer":
        input = { ...common, role: "reviewer", round: w.round ?? 1, previousFeedback: t.latestFeedback, plan: t.content };
        break;
      case "fixer":
        input = { ...common, role: "fixer", round: w.round ?? 1, feedback: t.latestFeedback };
        break;
      case "master": {
        const head = await resolveBranchHead(repo.path, t.branch);
        input = {
          ...common,
          role: "master",
          round: w.round ?? 1,
          baseSha: head?.baseSha ?? "",
          headSha: head?.sha ?? "",
          selfFixMaxLines: eff.readiness_self_fix_max_lines,
          maxVerifyCycles: eff.readiness_max_verify_cycles,
          verifyCycle: t.verifyCycle + 1, // 1-based: "this is verify round N of M"
          plan: t.content,
        };
        break;
      }
    }
    return buildPrompt(input);
  }

  // ---- instances (API / CLI) ---------------------------------------------------------------

  async capture(project: string, title: string, lines?: number): Promise<string | null> {
    const a = liveAgentByTitle(this.deps.db, project, title) ?? listAgents(this.deps.db, { project, limit: 1000 }).find((x) => x.title === title) ?? null;
    if (!a) return null;
    try {
      return await this.deps.tmux.capture(this.sessionTitle(project, title), lines ? { start: -lines } : { start: "-" });
    } catch {
      return "";
    }
  }

  async send(project: string, title: string, text: string): Promise<boolean> {
    if (!liveAgentByTitle(this.deps.db, project, title)) return false;
    await this.deps.tmux.sendText(this.sessionTitle(project, title), text);
    recordAudit(this.deps.db, { kind: "prompt_sent", project, message: `prompt sent to ${title} (${text.length} chars)`, detail: { title } });
    return true;
  }

  kill(project: string, title: string): boolean {
    const a = liveAgentByTitle(this.deps.db, project, title);
    if (!a) return false;
    this.stop(a, "killed by operator", false, true);
    return true;
  }
}
