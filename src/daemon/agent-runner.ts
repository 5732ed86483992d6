// Runs the agents tasks need. Each pass reconciles, per repo, the agents the store says a task needs
// (lifecycle/agents.ts) with the tmux sessions that exist:
//  - a session that ended is recorded; if its task still expected it and no signal arrived, that is
//    a stuck agent (event + attention item), and a wave coder's task fails so the wave can settle;
//  - an expected agent with no live session starts (unless one with that title already ended since
//    the task last changed: no respawn loops, no double starts);
//  - a live agent that is no longer expected is stopped in the background (bounded grace).
// Derived from state, so a restart, a SIGKILL or a CLI transition needs no replay.
import { agentVisibleEnv } from "../agents/private-env.ts";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { AgentEventBody, RestartReply } from "../api/agents.ts";
import type { AgentActivity, Harness } from "../agents/harness/types.ts";
import { activityFromEvent, firstMeaningfulLine, lastLinesOf, lastPaneLines, matchDialog, nudgeText, screenQuote } from "../agents/supervise.ts";
import { resolveBranchHead } from "../agents/git.ts";
import { type AgentCommand, type AgentRole, buildCommand, profilesFromConfig, resolveProfile } from "../agents/programs.ts";
import { buildPrompt, type PromptCommon, type PromptInput } from "../agents/prompts.ts";
import { ForeignSessionError, type SessionInfo, Tmux } from "../agents/tmux.ts";
import { agentSessionTitle, recordedSessionTitle } from "../agents/session-name.ts";
import { ensureWorktree, isCheckoutFolder, worktreePath } from "../agents/worktree.ts";
import { WorktreePreparer } from "../agents/worktree-setup.ts";
import { PortPool } from "../agents/ports.ts";
import { configDir } from "../config/paths.ts";
import { ensurePrivateDir, writePrivateFile } from "../config/private-state.ts";
import { repoProcessorConfig } from "../config/processor.ts";
import { effectiveConfig, loadRepoOverrides } from "../config/repo.ts";
import type { DaemonConfig } from "../config/schema.ts";
import { type ExpectedAgent, expectedAgents, waveCoderTitle } from "../lifecycle/agents.ts";
import { extractMetadata, headerContext, parsePlan } from "../lifecycle/plan-parser.ts";
import { failWaveTask, holdTask, processSignal, releaseRaisedHold } from "../lifecycle/processor.ts";
import type { Action } from "../lifecycle/model.ts";
import { ACTIVE_STATUSES } from "../lifecycle/types.ts";
import { type AgentRow, addNudge, clearAttention as clearAttentionOf, endAgent, endedSince, insertAgent, latestAgentByTitle, listAgents, liveAgentByTitle, liveAgents, markRestarted, setActivity, setAttention, setLastLines } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { readSmallRegularFile } from "../agents/record-file.ts";
import { harnessOfAgent, UsageCollector } from "../agents/usage-collector.ts";
import { Limiter } from "../util/limiter.ts";
import { realOr } from "../util/repo-root.ts";
import { checkBudget, utcDay } from "../lifecycle/budget.ts";
import { daySpend, holdOf, taskSpend } from "../store/budget.ts";
import { refuseIfNothingCanStart, RestartRefused } from "./restart-checks.ts";
import { type Db, nowIso, writeTx } from "../store/db.ts";
import { commitResult, snapshotOf } from "../store/effects.ts";
import { branchProblem, getTask, type TaskRow } from "../store/tasks.ts";
import { projectsMaybeNeedingAgents, tasksMaybeNeedingAgents } from "../store/task-queries.ts";
import type { EventHub } from "./events.ts";
import { StartGate, type StartQueueState } from "../runner/start-gate.ts";
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
  /** The daemon's socket, handed to agents (their hooks and `kasmos` commands talk to this daemon). */
  socketPath?: string;
  /** Ask for a scan pass of one repo soon (an agent reported something). */
  kick?: (project: string) => void;
}

/** How long a dead pane may lack its exit status before the agent's end is recorded without one. */
const DEAD_STATUS_WAIT_MS = 5000;

/** Variables of the daemon's own environment that must not reach agents. */

/** The folder of agents' prompt files (one sub-folder per project; gc sweeps it). */
export function promptsDir(): string {
  return join(configDir(), "prompts");
}

/** Where an agent's prompt is written (and read back for its reminder and its usage lookup). */
export function promptFileOf(project: string, title: string): string {
  return join(promptsDir(), project, `${title}.md`);
}

/** The folder of agents' per-run files (one sub-folder per project, then per title; gc sweeps it). */
export function runsDir(): string {
  return join(configDir(), "run");
}

/** An agent's per-run files: its CLI's generated settings, and the exit status its pane's shell writes. */
export function runDirOf(project: string, title: string): string {
  return join(runsDir(), project, title);
}

export class AgentRunner {
  /** Per-task chains: reconcile work for one task never interleaves. */
  private chains = new Map<string, Promise<void>>();
  private killing = new Set<number>();

  /** Token usage from the agents' own records (asynchronous, bounded). */
  private usage: UsageCollector;

  /** `[worktree]` copy and setup before a worktree's first agent; KASMOS_PORT per live agent. */
  private preparer = new WorktreePreparer({ kick: (p) => this.deps.kick?.(p), report: (project, task, ok, message) => recordAudit(this.deps.db, { kind: "worktree_prepared", project, task, message, level: ok ? "info" : "error" }) });
  private ports = new PortPool((project, title) => join(runDirOf(project, title), "port"));

  constructor(private deps: RunnerDeps) {
    this.usage = new UsageCollector({ db: deps.db, log: deps.log, env: () => process.env, promptFileOf, onChanged: (project, task) => this.enforceBudget(project, task) });
  }

  sessionTitle(a: { project: string; task: string; title: string; session?: string }): string {
    return a.session === undefined ? agentSessionTitle(a.project, a.task, a.title) : recordedSessionTitle({ ...a, session: a.session });
  }

  private sessionsCache: Promise<SessionInfo[] | null> | null = null;
  /** When the pass's session list was asked for: an agent recorded after that is not in it (starts run beside the pass). */
  private sessionsAt = 0;
  private passes = 0;

  /** Projects that may need reconciling this pass (one query for all repos), null = not computed yet. */
  private busyProjects: Set<string> | null = null;

  /** A scan pass begins: its idle checks read a fresh snapshot (rounds take their own session list). */
  newPass(): void {
    this.passes++;
    this.busyProjects = null;
  }

  private sessions(): Promise<SessionInfo[] | null> {
    // One `tmux list-panes` per pass, shared by every repo, and only when some repo needs it.
    if (this.sessionsCache === null) this.sessionsAt = Date.now();
    this.sessionsCache ??= this.deps.tmux.list().catch((err: unknown) => {
      this.deps.log.warn(`tmux list failed: ${(err as Error).message}`);
      return null;
    });
    return this.sessionsCache;
  }

  /** Nothing to do for a repo without live agents or tasks that may need one (one query per pass). */
  idle(project: string): boolean {
    this.busyProjects ??= new Set(projectsMaybeNeedingAgents(this.deps.db));
    return !this.busyProjects.has(project);
  }

  /** Repos waiting for a reconcile round, and whether a round is running. */
  private queued = new Map<string, RepoEntry>();
  private rounds: Promise<void> | null = null;

  /**
   * Reconcile this repo beside the scan loop: requests coalesce per repo and rounds run one at a time,
   * each with a fresh session list. The scan pass never waits for tmux, so a signal in another repo is
   * not held up by 100 agents' supervision (fleet-agents: p99 64 ms with 100 agents before).
   */
  schedule(repo: RepoEntry): void {
    this.queued.set(repo.project, repo);
    this.rounds ??= this.runRounds();
  }

  private async runRounds(): Promise<void> {
    try {
      // Bounded: every round takes what was queued before it; a steady stream of requests still ends rounds.
      for (let i = 0; i < 1_000_000 && this.queued.size > 0; i++) {
        const repos = [...this.queued.values()];
        this.queued.clear();
        this.sessionsCache = null;
        this.busyProjects = null;
        for (const repo of repos) {
          try {
            await this.reconcile(repo);
          } catch (err) {
            this.deps.log.error(`agents of ${repo.project}: ${(err as Error).message}`);
          }
        }
      }
    } finally {
      this.rounds = null; // no await between the loop's last check and here: nothing queued is left behind
    }
  }

  /** Wait until no reconcile round runs (daemon stop, tests). */
  async settled(): Promise<void> {
    for (let i = 0; i < 1000 && this.rounds; i++) await this.rounds;
  }

  /** The daemon stops: worktree setups under way are killed. */
  stopSetups(): Promise<void> {
    return this.preparer.stop();
  }

  /**
   * Agents whose pane shows dead without an exit status, since when. tmux 3.3a marks a pane dead when
   * its terminal closes, a moment before it has reaped the process (measured: `pane_dead` 1 with an
   * empty `pane_dead_status`), and now and then never shows the status at all; the pane's shell writes
   * it to the agent's `exit-status` file, which Tmux.list reads then. Without either (a session from
   * before that file, a shell killed outright), judged at a later listing or after DEAD_STATUS_WAIT_MS
   * with an unknown status.
   */
  private deadNoStatus = new Map<number, number>();

  private statusPending(agentId: number): boolean {
    const since = this.deadNoStatus.get(agentId);
    if (since === undefined) this.deadNoStatus.set(agentId, Date.now());
    return since === undefined || Date.now() - since < DEAD_STATUS_WAIT_MS;
  }

  /** One repo of a reconcile round (see schedule()). */
  async reconcile(repo: RepoEntry): Promise<void> {
    this.repos.set(repo.project, repo);
    if (this.idle(repo.project)) return;
    const sessions = await this.sessions();
    if (sessions === null) return;
    const byName = new Map(sessions.map((s) => [s.name, s]));
    // 1. sessions that ended
    for (const a of liveAgents(this.deps.db, { project: repo.project })) {
      if (this.killing.has(a.id)) continue; // being stopped: stop() records how it ended
      if (Date.parse(a.startedAt) >= this.sessionsAt) continue; // started after the list was taken: judged next pass
      const found = byName.get(a.session);
      // A session under this name recorded for another identity or another daemon is not this agent's.
      const s = found && (found.title === undefined || found.title === this.sessionTitle(a)) && !this.deps.tmux.foreign(found.owner) ? found : undefined;
      if (s && !s.dead) continue;
      if (s && s.exitStatus === null && this.statusPending(a.id)) continue;
      this.deadNoStatus.delete(a.id);
      const status = s?.exitStatus ?? null;
      // Why it exited: the last lines it printed (the pane stays after exit: remain-on-exit).
      const lines = s ? await this.exitLines(a) : [];
      const why = firstMeaningfulLine(lines, this.harnessOf(a).noise);
      writeTx(this.deps.db, () => {
        endAgent(this.deps.db, a.id, "exited", status, s ? `exited with status ${status ?? "?"}${why ? `: ${why}` : ""}` : "session gone");
        if (lines.length > 0) setLastLines(this.deps.db, a.id, lines.join("\n"));
        recordAudit(this.deps.db, { kind: "agent_finished", project: a.project, task: a.task, message: `${a.role} ${a.title} ${s ? `exited (status ${status ?? "?"})` : "session gone"}${why ? `: ${why}` : ""}`, detail: { title: a.title, exit_status: status, last_lines: lines } });
      });
      this.paneSeen.delete(a.id);
      this.startGate.done(a);
      void this.usage.collect(a);
      await this.afterExit(repo, a, status, why);
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
    for (const [task, agents] of liveByTask) {
      if (active.has(task)) continue;
      // A task that reached done got there by its agent's signal: let that agent finish its turn. Any
      // other end (cancelled, deleted) stops its agents at once.
      const finished = getTask(this.deps.db, repo.project, task)?.status === "done";
      for (const a of agents) this.stop(a, finished ? "superseded" : "task no longer active");
    }
    this.deps.hub.pump();
  }

  private async reconcileTask(repo: RepoEntry, t: TaskRow, live: AgentRow[], sessions: Map<string, SessionInfo>): Promise<void> {
    // A task on budget hold needs no agent until the limit is raised or an operator resumes it.
    if ((holdOf(this.deps.db, repo.project, t.name)?.hold ?? "") !== "" && this.enforceBudget(repo.project, t.name)) {
      for (const a of live) this.stop(a, "budget");
      return;
    }
    const want = expectedAgents(snapshotOf(this.deps.db, t)); // subtasks are loaded only for wave phases
    const wantTitles = new Set(want.map((w) => w.title));
    const spawns: Promise<void>[] = [];
    for (const w of want) {
      if (live.some((a) => a.title === w.title)) continue;
      const key = `${repo.project}/${w.title}`;
      if (this.spawning.has(key)) continue; // a start already under way (from an earlier pass)
      if (this.stopping.has(key)) continue; // its stop is under way: started on a pass after it finished
      // Ended naturally since the task last changed → stuck, not a respawn loop (until an operator restarts it).
      if (endedSince(this.deps.db, repo.project, t.name, w.title, t.updatedAt)) continue;
      const started = this.spawn(repo, t, w, sessions).finally(() => this.spawning.delete(key));
      this.spawning.set(key, started);
      spawns.push(started);
    }
    // Starts run beside the scan loop (bounded), never inside the pass: a signal landing during a start
    // storm is not kept waiting for it. The superseded agents stop once the new ones started.
    const superseded = live.filter((a) => !wantTitles.has(a.title));
    if (superseded.length > 0) void Promise.all(spawns).then(() => {
      for (const a of superseded) this.stop(a, "superseded");
    });
    for (const a of live) {
      if (!wantTitles.has(a.title)) continue;
      await this.supervise(repo, a, sessions.get(a.session) ?? null);
      if (this.passes % 10 === 0) void this.usage.collect(a);
    }
  }

  // ---- supervision: what running agents are doing ------------------------------------------------

  /** Per agent id: the pane's last output time (tmux window_activity) when we last looked at it. */
  private paneSeen = new Map<number, number>();
  /** Attention items already raised, per agent id and activity timestamp: never twice for one state. */
  private reported = new Set<string>();
  private answeredTrust = new Set<number>();

  private harnessOf(a: AgentRow): Harness {
    return harnessOfAgent(a);
  }

  private async exitLines(a: AgentRow): Promise<string[]> {
    try {
      return lastPaneLines(await this.deps.tmux.capture(this.sessionTitle(a), { start: -200 }), 20);
    } catch {
      return [];
    }
  }

  private async paneText(a: AgentRow, lines = 40): Promise<string> {
    try {
      return await this.deps.tmux.capture(this.sessionTitle(a), { start: -lines });
    } catch {
      return "";
    }
  }

  /** Raise an attention item once per (agent, state). */
  private raise(a: AgentRow, key: string, kind: "agent_waiting" | "stuck_detected" | "attention", text: string, detail: Record<string, unknown> = {}): void {
    const k = `${a.id}:${key}`;
    if (this.reported.has(k)) return;
    this.reported.add(k);
    writeTx(this.deps.db, () => {
      setAttention(this.deps.db, a.project, a.task, text);
      recordAudit(this.deps.db, { kind, project: a.project, task: a.task, message: text, detail: { title: a.title, ...detail }, level: "warn" });
    });
    this.deps.log.warn(`${a.project}/${a.task}: ${text}`);
    this.deps.hub.pump();
  }

  /**
   * One look at a running agent that its task still needs. Hooks (claude, codex) say when a turn ends
   * or a person is needed; for the rest, and for screens shown before any hook runs, the pane is read —
   * only when tmux says it changed since the last look (window_activity), so idle agents cost nothing.
   */
  private async supervise(repo: RepoEntry, a: AgentRow, s: SessionInfo | null): Promise<void> {
    if (!s || s.dead || this.killing.has(a.id)) return;
    const sup = this.deps.config().supervision;
    const h = this.harnessOf(a);
    const now = Date.now();
    const seen = this.paneSeen.get(a.id);
    const changed = seen === undefined || s.activityAt !== seen;
    // tmux's activity clock counts whole seconds: output later in the second it read (a second ago at
    // most) would not change it, so a pane active that recently is read again at the next look.
    this.paneSeen.set(a.id, Math.floor(now / 1000) - 1 <= s.activityAt ? -1 : s.activityAt);
    let activity = (a.activity || "starting") as AgentActivity;
    const since = a.activityAt ? Date.parse(a.activityAt) : Date.parse(a.startedAt);

    // Screens: the pane is read while the CLI has not reported itself yet, or always for CLIs without hooks.
    if (changed && (!h.reportsTurns || activity === "starting" || activity === "waiting")) {
      const pane = await this.paneText(a);
      const dialog = matchDialog(h, pane);
      if (dialog?.safeKeys && dialog.kind === "trust" && !this.answeredTrust.has(a.id)) {
        // The one answer kasmos gives for the user: trust of kasmos's own folder (preflight should have made it unnecessary).
        this.answeredTrust.add(a.id);
        for (const key of dialog.safeKeys) await this.deps.tmux.sendKeys(this.sessionTitle(a), key).catch(() => undefined);
        recordAudit(this.deps.db, { kind: "agent_preflight", project: a.project, task: a.task, message: `${a.title}: answered "${dialog.what}" with trust (kasmos's own folder ${a.cwd})`, detail: { title: a.title } });
        return;
      }
      if (dialog) {
        this.startGate.done(a); // it waits for a person, not for the CPU: the next agent may start
        if (activity !== "waiting") setActivity(this.deps.db, a.id, "waiting", dialog.what);
        const first = screenQuote(dialog, pane, h.noise);
        if (dialog.kind === "error") this.raise(a, "dialog:error", "stuck_detected", `${a.role} ${a.title} cannot work: ${dialog.what}${first ? ` — "${first}"` : ""} (fix the cause, then: kas task retry ${a.task}; look: kas agent capture ${a.title})`, { pane: lastPaneLines(pane, 20) });
        else this.raise(a, `dialog:${dialog.kind}`, "agent_waiting", `${a.role} ${a.title} is waiting: ${dialog.what}${first ? ` — "${first}"` : ""} (answer it with \`kas agent send ${a.title} …\` or attach: tmux -L ${this.deps.tmux.socketName} attach -t ${s.name})`, { pane: lastPaneLines(pane, 20) });
        return;
      }
      if (!h.reportsTurns && activity !== "working") {
        this.startGate.done(a); // a CLI without reports: its first screen is the sign it is up
        setActivity(this.deps.db, a.id, "working", "");
        activity = "working";
      }
    }
    if (!h.reportsTurns && activity === "working" && !changed && s.activityAt > 0 && now / 1000 - s.activityAt >= sup.idle_after_sec) {
      setActivity(this.deps.db, a.id, "idle", `no output for ${sup.idle_after_sec} s`);
      return; // reacted to on the next look, like a reported turn end
    }
    if (h.reportsTurns && activity === "starting" && now - since >= sup.start_timeout_sec * 1000) {
      const first = firstMeaningfulLine(lastPaneLines(await this.paneText(a), 20), h.noise);
      this.raise(a, "start-timeout", "stuck_detected", `${a.role} ${a.title} shows no sign of work after ${sup.start_timeout_sec} s${first ? `: "${first}"` : ""} (look: kas agent capture ${a.title}; restart: kas agent restart ${a.title})`);
      return;
    }
    if (activity === "waiting") {
      const pane = lastPaneLines(await this.paneText(a), 20);
      const first = a.activityNote || firstMeaningfulLine(pane, h.noise);
      this.raise(a, `waiting:${a.activityAt ?? ""}`, "agent_waiting", `${a.role} ${a.title} is waiting for input: ${first} (answer: kas agent send ${a.title} '…'; look: kas agent capture ${a.title})`, { pane });
      return;
    }
    if (activity === "idle" && now - since >= sup.nudge_after_sec * 1000) {
      // Its turn ended and its task still expects it: it has not emitted its signal.
      if (a.nudges < sup.nudges) {
        const text = nudgeText(this.promptOf(a));
        try {
          await this.deps.tmux.sendText(this.sessionTitle(a), text);
        } catch (err) {
          this.deps.log.warn(`nudge ${a.title}: ${(err as Error).message}`);
          return;
        }
        writeTx(this.deps.db, () => {
          addNudge(this.deps.db, a.id);
          recordAudit(this.deps.db, { kind: "agent_nudged", project: a.project, task: a.task, message: `${a.role} ${a.title} ended its turn without its signal: reminded (${a.nudges + 1}/${sup.nudges})`, detail: { title: a.title, text } });
        });
        this.deps.log.info(`${a.project}/${a.task}: nudged ${a.title} (${a.nudges + 1}/${sup.nudges})`);
        this.deps.hub.pump();
        return;
      }
      this.raise(a, `idle:${a.nudges}`, "stuck_detected", `${a.role} ${a.title} ended its turn without its signal${sup.nudges > 0 ? ` (reminded ${a.nudges} time${a.nudges === 1 ? "" : "s"})` : ""}: look with kas agent capture ${a.title}, then kas agent send ${a.title} '…' or kas agent restart ${a.title}`);
    }
  }

  // ---- budgets ------------------------------------------------------------------------------------

  private repos = new Map<string, RepoEntry>();

  /**
   * Hold a task that crossed a budget (its agents stop, nothing new starts, attention says how to go
   * on), warn once at 80 %, and release a hold whose limit was raised. Returns whether the task is held.
   */
  enforceBudget(project: string, task: string): boolean {
    const { db } = this.deps;
    const repo = this.repos.get(project);
    const daemonCfg = this.deps.config();
    const limits = repo ? effectiveConfig(daemonCfg, loadRepoOverrides(repo.path).overrides).budget : daemonCfg.budget;
    const h = holdOf(db, project, task);
    if (!h) return false;
    if (limits.task_usd <= 0 && limits.task_tokens <= 0 && limits.day_usd <= 0 && h.hold === "") return false;
    const today = utcDay(nowIso());
    const verdict = checkBudget(taskSpend(db, project, task, daemonCfg.pricing), h.base, { usd: limits.day_usd > 0 ? daySpend(db, today, daemonCfg.pricing) : 0, date: today }, limits);
    if (h.hold !== "") {
      if (verdict.state === "over") return true;
      const t = getTask(db, project, task);
      if (!t) return false;
      const result = releaseRaisedHold(snapshotOf(db, t), repoProcessorConfig(daemonCfg, repo?.path), nowIso());
      writeTx(db, () => commitResult(db, { project, task, result, signalId: null, signalType: "resume", source: "daemon (the limit was raised)" }));
      this.deps.log.info(`${project}/${task}: budget hold released (limit raised)`);
      this.deps.hub.pump();
      this.deps.kick?.(project);
      return false;
    }
    if (verdict.state === "ok") return false;
    if (verdict.state === "warn") {
      const key = `${project}/${task}:${verdict.limit}:${h.base.at}`;
      if (this.warned.has(key)) return false;
      this.warned.add(key);
      const seen = db
        .query<{ n: number }, { project: string; task: string; like: string; since: string }>("SELECT COUNT(*) AS n FROM audit_events WHERE project = $project AND task = $task AND kind = 'budget_warning' AND message LIKE $like AND timestamp >= $since")
        .get({ project, task, like: `%${verdict.limit}%`, since: h.base.at || "0" });
      if ((seen?.n ?? 0) === 0) {
        recordAudit(db, { kind: "budget_warning", project, task, message: verdict.text, level: "warn", detail: { limit: verdict.limit } });
        this.deps.log.warn(`${project}/${task}: ${verdict.text}`);
        this.deps.hub.pump();
      }
      return false;
    }
    const text = `on hold: ${verdict.text} — raise [budget] ${verdict.limit} (daemon.toml${verdict.limit === "day_usd" ? "" : " or .kasmos/config.toml"}) and kas daemon reload, or run kas task resume ${task}`;
    const t = getTask(db, project, task);
    if (!t) return false;
    const result = holdTask(snapshotOf(db, t), verdict.text, repoProcessorConfig(daemonCfg, repo?.path), nowIso());
    if (result.outcome !== "done") return false; // a finished task is not held
    writeTx(db, () => {
      commitResult(db, { project, task, result, signalId: null, signalType: "budget_hold", source: "daemon", detail: { limit: verdict.limit } });
      setAttention(db, project, task, text);
    });
    this.deps.log.warn(`${project}/${task}: ${text}`);
    for (const a of liveAgents(db, { project, task })) this.stop(a, "budget");
    this.deps.hub.pump();
    return true;
  }

  private warned = new Set<string>();

  private promptOf(a: AgentRow): string {
    return readSmallRegularFile(promptFileOf(a.project, a.title), 4 * 1024 * 1024) ?? ""; // the agent could swap it for a FIFO
  }

  /** A report from the agent's own CLI (hooks, notify): its activity now. */
  onAgentEvent(ev: AgentEventBody): { activity: string } | null {
    const a = liveAgentByTitle(this.deps.db, ev.project, ev.title);
    if (!a) return null;
    const read = activityFromEvent(ev.cli, ev.event, ev.payload);
    if (read === null) return { activity: "" };
    setActivity(this.deps.db, a.id, read.activity, read.note);
    if (read.activity !== "starting") this.startGate.done(a); // it is up: the next agent may start
    // Tokens are in the CLI's records by each report (a tool about to run, a turn ended): budgets act on them.
    this.usage.onReport(a, ev);
    if (read.activity === "waiting") recordAudit(this.deps.db, { kind: "agent_waiting", project: a.project, task: a.task, message: `${a.role} ${a.title}: ${read.note || "waiting for input"}`, detail: { title: a.title, event: ev.event } });
    // A person is needed: say so now. Everything else (a nudge after nudge_after_sec, stopping a finished
    // agent) waits for the next timer pass — a pass per hook report would delay signals (12 reports/s
    // from 40 agents measured +6 ms on the signal p99).
    if (read.activity === "waiting") this.deps.kick?.(a.project);
    return { activity: read.activity };
  }

  private async afterExit(repo: RepoEntry, a: AgentRow, status: number | null, why = ""): Promise<void> {
    const t = getTask(this.deps.db, a.project, a.task);
    if (!t) return;
    const still = expectedAgents(snapshotOf(this.deps.db, t)).some((w) => w.title === a.title);
    if (!still) return; // it signalled (or was superseded): a normal end
    const cfg = repoProcessorConfig(this.deps.config(), repo.path);
    if (a.role === "coder" && a.wave > 0) {
      // A wave coder ends its work by exiting: status 0 completes its task, anything else fails it.
      const snap = snapshotOf(this.deps.db, t);
      const reason = status === 0 ? "" : `session ended (status ${status ?? "?"}) without implement-task-finished${why ? `: ${why}` : ""}`;
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
    const msg = `${a.role} ${a.title} exited (status ${status ?? "?"}) without its signal${why ? `: ${why}` : ""} (restart: kas agent restart ${a.title})`;
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
    void this.stopJob(a, reason, { replaced, final, waitTurn: reason === "superseded" });
  }

  /** Stops in flight, by project/title: that title does not start again until its stop finished. */
  private stopping = new Map<string, Promise<void>>();
  /**
   * At most 4 tmux processes of stops at once across every repo: a storm of 100 stops must not take the
   * CPU from the scan loop (each stop is 2 tmux calls; the grace wait between them runs none).
   */
  private stopSlots = new Limiter(4);

  /**
   * One stop, beside the scan loop: after a start of the same title finished, (for a superseded agent)
   * once its turn ended, C-c, grace, kill-session; then the row, usage and audit. Resolves when recorded.
   */
  private stopJob(a: AgentRow, reason: string, o: { replaced?: boolean; final?: boolean; restarted?: boolean; waitTurn?: boolean }): Promise<void> {
    const key = `${a.project}/${a.title}`;
    const before = this.stopping.get(key);
    if (this.killing.has(a.id) && before) return before;
    this.killing.add(a.id);
    const job: Promise<void> = (async () => {
      await before; // an earlier stop of this title (another row)
      await this.spawning.get(key); // and a start of it: never stopped halfway
      let turnEnded: boolean | null = null;
      try {
        // An agent that just signalled may still be finishing its turn (its last tool call returning):
        // stop it once the turn ended, bounded by stop_grace_sec.
        if (o.waitTurn) turnEnded = await this.turnEnded(a);
        await this.deps.tmux.kill(this.sessionTitle(a), { graceMs: KILL_GRACE_MS, gate: this.stopSlots.run });
      } catch (err) {
        this.deps.log.warn(`kill ${a.title}: ${(err as Error).message}`);
      }
      await this.usage.collect(a);
      writeTx(this.deps.db, () => {
        if (endAgent(this.deps.db, a.id, o.final ? "exited" : "killed", null, reason)) {
          if (o.final) setAttention(this.deps.db, a.project, a.task, `${a.role} ${a.title} ${reason}`);
          if (o.restarted) markRestarted(this.deps.db, a.project, a.title);
          recordAudit(this.deps.db, { kind: "agent_killed", project: a.project, task: a.task, message: `${a.role} ${a.title} stopped: ${reason}${turnEnded === false ? " (its turn had not ended after stop_grace_sec)" : ""}`, detail: { title: a.title, replaced: o.replaced ?? false, turn_ended: turnEnded } });
        }
      });
    })().finally(() => {
      this.killing.delete(a.id);
      this.paneSeen.delete(a.id);
      this.deadNoStatus.delete(a.id);
      this.startGate.done(a);
      if (this.stopping.get(key) === job) this.stopping.delete(key);
      this.deps.hub.pump();
    });
    this.stopping.set(key, job);
    return job;
  }

  /**
   * Wait (bounded by stop_grace_sec) until the agent's turn is over: its hook said so, or its pane went
   * quiet. True = it ended, false = the grace ran out, null = not waited for (generic programs).
   */
  private async turnEnded(a: AgentRow): Promise<boolean | null> {
    const h = this.harnessOf(a);
    if (h.name === "generic") return null;
    const deadline = Date.now() + this.deps.config().supervision.stop_grace_sec * 1000;
    const quietMs = 2000;
    while (Date.now() < deadline) {
      if (h.reportsTurns) {
        const row = liveAgentByTitle(this.deps.db, a.project, a.title);
        if (!row || row.id !== a.id || row.activity === "idle" || row.activity === "waiting" || row.activity === "ended") return true;
      } else {
        const last = await this.stopSlots.run(() => this.deps.tmux.lastActivity(this.sessionTitle(a))).catch(() => null);
        if (last === null || Date.now() - last * 1000 >= quietMs) return true;
      }
      await Bun.sleep(h.reportsTurns ? 250 : 1000); // a tmux call per look: once a second
    }
    return false;
  }

  /** The environment every agent gets: the daemon's own (API keys, IS_SANDBOX, …) minus its private variables and GitHub tokens. */
  private baseEnv(): Record<string, string> {
    return agentVisibleEnv(process.env);
  }

  // ---- operator recovery ------------------------------------------------------------------------

  /**
   * Restart one agent in place: a live one is stopped and started again, an ended or failed one starts
   * again; the task keeps its phase. A failed wave coder's task is retried (retry_wave). Throws RestartRefused.
   */
  async restart(repo: RepoEntry, title: string): Promise<RestartReply> {
    const row = latestAgentByTitle(this.deps.db, repo.project, title);
    const t = row ? getTask(this.deps.db, repo.project, row.task) : this.taskOfTitle(repo.project, title);
    if (!t) throw new RestartRefused(404, `no agent or task for ${title} in ${repo.project}`);
    refuseIfNothingCanStart(t, () => this.enforceBudget(repo.project, t.name), `cannot restart ${title}`);
    return this.restartTitles(repo, t, [title]);
  }

  /** Every agent the task needs now that is missing, failed or ended without its signal (and failed wave tasks). */
  async retryTask(repo: RepoEntry, task: string): Promise<RestartReply> {
    const t = getTask(this.deps.db, repo.project, task);
    if (!t) throw new RestartRefused(404, `task not found: ${task}`);
    refuseIfNothingCanStart(t, () => this.enforceBudget(repo.project, t.name), `nothing to retry for ${t.name}`);
    const want = expectedAgents(snapshotOf(this.deps.db, t)).map((w) => w.title);
    // Alive but stuck (an attention item raised for it: an error screen, no start, a dialog) counts as not running.
    const stuck = (a: AgentRow): boolean => a.activity === "waiting" || [...this.reported].some((k) => k.startsWith(`${a.id}:`));
    const live = new Set(liveAgents(this.deps.db, { project: repo.project, task }).filter((a) => !stuck(a)).map((a) => a.title));
    return this.restartTitles(repo, t, want.filter((x) => !live.has(x)), true);
  }

  /** A title that never ran: which task it belongs to, from the title scheme (<task>-plan, -W1-T2, -review-3, …). */
  private taskOfTitle(project: string, title: string): TaskRow | null {
    const m = /^(.+)-(?:plan|architect|coder|W\d+-T\d+|review-\d+|fix-\d+|verify-\d+)$/.exec(title);
    return m?.[1] ? getTask(this.deps.db, project, m[1]) : null;
  }

  private async restartTitles(repo: RepoEntry, t: TaskRow, titles: string[], failedWaves = false): Promise<RestartReply> {
    const { db } = this.deps;
    const restarted: string[] = [];
    if (t.branch) this.preparer.forget(worktreePath(repo.path, t.branch)); // a failed setup runs again
    // A wave coder whose task failed: retry the wave's failed tasks (the processor's retry_wave).
    const snap = snapshotOf(db, t);
    const exec = snap.execution;
    const failedSubs = (snap.subtasks ?? []).filter((x) => x.wave === exec.wave && x.status === "failed");
    const failedTitles = failedSubs.map((f) => waveCoderTitle(t.name, f.wave, f.number));
    const wantsFailedWave = failedSubs.length > 0 && (failedWaves || titles.some((x) => failedTitles.includes(x)));
    if (wantsFailedWave) {
      const cfg = repoProcessorConfig(this.deps.config(), repo.path);
      const result = processSignal({ task: snap, taskName: t.name, type: "retry_wave", payload: { body: "", fsmApplied: false, origin: "", reviewedSha: "", reviewedBaseSha: "", waveNumber: exec.wave, taskNumber: 0 }, source: "user", head: null, now: nowIso() }, cfg);
      if (result.outcome === "done") {
        writeTx(db, () => {
          for (const title of failedTitles) markRestarted(db, repo.project, title);
          commitResult(db, { project: repo.project, task: t.name, result, signalId: null, signalType: "retry_wave", source: "operator:restart" });
        });
        restarted.push(...failedTitles);
      }
    }
    const fresh = getTask(db, repo.project, t.name) ?? t;
    const want = new Set(expectedAgents(snapshotOf(db, fresh)).map((w) => w.title));
    const refused: string[] = [];
    for (const title of titles) {
      if (restarted.includes(title)) continue;
      if (!want.has(title)) {
        refused.push(title);
        continue;
      }
      const live = liveAgentByTitle(db, repo.project, title);
      writeTx(db, () => {
        markRestarted(db, repo.project, title);
        clearAttentionOf(db, repo.project, t.name);
        recordAudit(db, { kind: "agent_restarted", project: repo.project, task: t.name, message: `${title} restarted by operator${live ? " (running session stopped)" : ""}`, detail: { title } });
      });
      if (live) await this.stopNow(live, "restarted by operator");
      restarted.push(title);
    }
    if (restarted.length === 0) {
      const needs = [...want];
      const state = `${fresh.status}${snap.execution.phase ? `, ${snap.execution.phase}` : ""}`;
      const note = refused.length > 0 ? `${refused.join(", ")} is not needed in the task's current state (${state}); it needs ${needs.length > 0 ? needs.join(", ") : "no agent"}` : needs.length > 0 ? `every agent it needs is running (${needs.join(", ")})` : `its current state (${state}) needs no agent: nothing runs for it until it moves on (kas task show ${t.name})`;
      if (!failedWaves) throw new RestartRefused(409, `cannot restart ${titles.join(", ")}: ${note}`);
      this.deps.hub.pump();
      return { task: t.name, restarted, note };
    }
    this.deps.hub.pump();
    this.deps.kick?.(repo.project);
    return { task: t.name, restarted, note: "" };
  }

  /** Stop every live agent of a repo (it was unregistered); recorded as ended, not restarted. */
  stopRepo(project: string, reason: string): void {
    for (const a of liveAgents(this.deps.db, { project })) this.stop(a, reason, false, true);
  }

  /** Stop now (no turn wait) and record it; resolves once the session is gone. */
  private stopNow(a: AgentRow, reason: string): Promise<void> {
    return this.stopJob(a, reason, { restarted: true });
  }

  /** Starts in flight, by project/title (a later pass never queues a second one; a stop of it waits). */
  private spawning = new Map<string, Promise<void>>();
  /** At most 6 starts at once across every repo (each runs tmux and git). */
  private startSlots = new Limiter(6);
  /** Agents starting at once, across every repo (see StartGate): the rest wait for a slot. */
  private startGate = new StartGate();

  /** Agent starts in progress and waiting (status). */
  startQueue(): StartQueueState {
    return this.startGate.state();
  }

  private stillExpected(project: string, task: string, title: string): boolean {
    const t = getTask(this.deps.db, project, task);
    return t !== null && (ACTIVE_STATUSES as readonly string[]).includes(t.status) && expectedAgents(snapshotOf(this.deps.db, t)).some((w) => w.title === title);
  }

  private async spawn(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, sessions: Map<string, SessionInfo> = new Map()): Promise<void> {
    const { log } = this.deps;
    const key = `${repo.project}/${t.name}`;
    const prev = this.chains.get(key) ?? Promise.resolve();
    const who = { project: repo.project, task: t.name, title: w.title };
    const run = prev
      .then(() => this.startGate.enter(who))
      .then(async () => {
        // It may have waited for a slot: start only what the task still needs.
        if (!this.stillExpected(repo.project, t.name, w.title)) return false;
        return this.startSlots.run(() => this.spawnNow(repo, t, w, sessions));
      })
      .then((began) => {
        if (!began) this.startGate.done(who);
      })
      .catch((err: unknown) => {
        this.startGate.done(who);
        try {
          this.recordFailedStart(repo, t, w, "", (err as Error).message);
        } catch (e) {
          log.error(`${key}: cannot record failed start: ${(e as Error).message}`);
        }
      });
    this.chains.set(key, run);
    await run;
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
    const profile = resolveProfile(role, { daemon: profilesFromConfig(daemonCfg.agents, daemonCfg.default_program), repo: profilesFromConfig(overrides.agents, overrides.default_program ?? "") });
    const fail = (why: string, refused = false): false => {
      this.recordFailedStart(repo, t, w, profile.program, why, refused);
      return false;
    };

    // Cheap checks first: a missing program must not cost a git worktree.
    const promptFile = promptFileOf(repo.project, w.title);
    const runDir = runDirOf(repo.project, w.title);
    const kasmosBin = join(this.deps.binDir, "kasmos");
    const hookCommand = [kasmosBin, "agent", "hook"];
    let cmd: AgentCommand;
    try {
      cmd = buildCommand(profile, { promptFile, hookCommand, runDir });
    } catch (err) {
      return fail((err as Error).message);
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
    const env: Record<string, string> = { ...this.baseEnv(), ...cmd.env };
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
      const pre = await cmd.harness.preflight({ folders, skipPermissions: profile.skipPermissions, env, isRoot: process.getuid?.() === 0, executable: resolved });
      if (!pre.ok) return fail(`${pre.refusal.reason} — fix: ${pre.refusal.fix}`, true);
      for (const note of pre.notes) recordAudit(db, { kind: "agent_preflight", project: repo.project, task: t.name, message: `${w.title}: ${note}`, detail: { title: w.title } });
    } catch (err) {
      return fail(`preflight for ${cmd.harness.name}: ${(err as Error).message}`, true);
    }
    const prompt = await this.prompt(repo, t, w, cwd, eff, kasmosBin);
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
    const sessionTitle = this.sessionTitle({ project: repo.project, task: t.name, title: w.title });
    let started: { name: string; panePid: number };
    try {
      // A dead session of an earlier attempt with this title would block the name (the pass's
      // session list says whether there is one: no extra tmux call in the common case).
      const old = sessions.get(tmux.sessionName(sessionTitle));
      if (old && tmux.foreign(old.owner)) return fail(new ForeignSessionError(old.name, old.owner ?? "", tmux.socketName).message, true);
      if (old) await tmux.kill(sessionTitle, { graceMs: 0 }).catch(() => false);
      await this.syncServerEnv(env);
      started = await tmux.spawn({ title: sessionTitle, cwd, argv: cmd.argv, env, nice: eff.resources.agent_nice, exitStatusFile: join(runDir, "exit-status") });
      // The stagger counts from the process start, not from the decision to start: preflight, the
      // worktree and the spawn in between can take a while on a busy machine (CI: 2.88 s apart for 3 s).
      if (staggerKey !== null) this.lastStart.set(staggerKey, Date.now());
    } catch (err) {
      return fail(`tmux: ${(err as Error).message}`);
    }
    const baseSha = role === "master" ? ((await resolveBranchHead(repo.path, t.branch))?.sha ?? "") : "";
    writeTx(db, () => {
      insertAgent(db, { project: repo.project, task: t.name, title: w.title, role: w.role, wave: w.wave ?? 0, taskNumber: w.taskNumber ?? 0, session: started.name, cwd, program: cmd.argv.join(" ").slice(0, 500), baseSha, harness: cmd.harness.name });
      recordAudit(db, { kind: "agent_spawned", project: repo.project, task: t.name, message: `${w.role} ${w.title} started in ${cwd}`, detail: { title: w.title, session: started.name, pid: started.panePid, program: exe, cwd, harness: cmd.harness.name, nice: eff.resources.agent_nice } });
    });
    log.info(`${repo.project}/${t.name}: ${w.role} ${w.title} started (${cmd.harness.name}, session ${started.name}, pid ${started.panePid})`);
    this.deps.hub.pump();
    return true;
  }

  /**
   * Sessions get their environment explicitly (-e for every variable), but tmux adds its server's global
   * environment underneath: a server that outlived an earlier daemon would hand agents variables this
   * daemon no longer has. Once per daemon run, drop those from the global environment.
   */
  private serverEnvSynced = false;
  /** Per (harness, repo): when an agent of a staggered CLI last started. */
  private lastStart = new Map<string, number>();
  private async syncServerEnv(env: Record<string, string>): Promise<void> {
    if (this.serverEnvSynced) return;
    this.serverEnvSynced = true;
    await this.deps.tmux.pruneGlobalEnv(new Set(Object.keys(env))).catch((err: unknown) => this.deps.log.warn(`tmux environment: ${(err as Error).message}`));
  }

  private async prompt(repo: RepoEntry, t: TaskRow, w: ExpectedAgent, cwd: string, eff: DaemonConfig, kasmosBin: string): Promise<string> {
    const common: PromptCommon = { project: repo.project, task: t.name, repoPath: repo.path, worktreePath: cwd, branch: t.branch, description: t.description, kasmosBin };
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
      if (!lines) return await this.deps.tmux.capture(this.sessionTitle(a), { start: "-" });
      // The last N lines of output: the visible screen's empty bottom lines do not count.
      return lastLinesOf(await this.deps.tmux.capture(this.sessionTitle(a), { start: -(lines + 200) }), lines);
    } catch {
      return "";
    }
  }

  async send(project: string, title: string, text: string): Promise<boolean> {
    const a = liveAgentByTitle(this.deps.db, project, title);
    if (!a) return false;
    await this.deps.tmux.sendText(this.sessionTitle(a), text);
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
