// Reconcile, per repo, the agents the store says a task needs (lifecycle/agents.ts) with the tmux
// sessions that exist:
//  - a session that ended is recorded; if its task still expected it and no signal arrived, that is
//    a stuck agent (event + attention item), and a wave coder's task fails so the wave can settle;
//  - an expected agent with no live session starts (unless one with that title already ended since
//    the task last changed: no respawn loops, no double starts);
//  - a live agent that is no longer expected is stopped in the background (bounded grace).
// Derived from state, so a restart, a SIGKILL or a CLI transition needs no replay.
import { firstMeaningfulLine } from "../agents/supervise.ts";
import type { SessionInfo } from "../agents/tmux.ts";
import { harnessOfAgent, type UsageCollector } from "../agents/usage-collector.ts";
import { repoProcessorConfig } from "../config/processor.ts";
import { expectedAgents } from "../lifecycle/agents.ts";
import type { Action } from "../lifecycle/model.ts";
import { failWaveTask, processSignal } from "../lifecycle/processor.ts";
import { ACTIVE_STATUSES } from "../lifecycle/types.ts";
import { type AgentRow, endAgent, endedSince, liveAgents, setAttention, setLastLines } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { holdOf } from "../store/budget.ts";
import { nowIso, writeTx } from "../store/db.ts";
import { commitResult, snapshotOf } from "../store/effects.ts";
import { projectsMaybeNeedingAgents, tasksMaybeNeedingAgents } from "../store/task-queries.ts";
import { getTask, type TaskRow } from "../store/tasks.ts";
import type { RepoEntry } from "../engine/repos.ts";
import type { BudgetGuard } from "./budget.ts";
import { type RunnerDeps, sessionTitleOf } from "./context.ts";
import type { Spawner } from "./spawner.ts";
import type { StartGate } from "./start-gate.ts";
import type { Stopper } from "./stopper.ts";
import type { Supervisor } from "./supervisor.ts";

/** How long a dead pane may lack its exit status before the agent's end is recorded without one. */
const DEAD_STATUS_WAIT_MS = 5000;
/** Times per title and daemon run an agent whose session vanished is started again continuing its session. */
const LOST_RESUMES = 3;

export interface ReconcilerParts {
  supervisor: Supervisor;
  spawner: Spawner;
  stopper: Stopper;
  budget: BudgetGuard;
  usage: UsageCollector;
  gate: StartGate;
  onActions: (repo: RepoEntry, task: string, actions: Action[]) => void;
}

export class Reconciler {
  private sessionsCache: Promise<SessionInfo[] | null> | null = null;
  /** When the pass's session list was asked for: an agent recorded after that is not in it (starts run beside the pass). */
  private sessionsAt = 0;
  private passes = 0;
  /** Projects that may need reconciling this pass (one query for all repos), null = not computed yet. */
  private busyProjects: Set<string> | null = null;
  /** Repos waiting for a reconcile round, and whether a round is running. */
  private queued = new Map<string, RepoEntry>();
  private rounds: Promise<void> | null = null;
  /**
   * Agents whose pane shows dead without an exit status, since when. tmux 3.3a marks a pane dead when
   * its terminal closes, a moment before it has reaped the process (measured: `pane_dead` 1 with an
   * empty `pane_dead_status`), and now and then never shows the status at all; the pane's shell writes
   * it to the agent's `exit-status` file, which Tmux.list reads then. Without either (a session from
   * before that file, a shell killed outright), judged at a later listing or after DEAD_STATUS_WAIT_MS
   * with an unknown status.
   */
  private deadNoStatus = new Map<number, number>();
  /** Per project/title: how often its vanished session was resumed in this daemon run. */
  private lostResumes = new Map<string, number>();

  constructor(
    private deps: RunnerDeps,
    private parts: ReconcilerParts,
  ) {}

  /** A scan pass begins: its idle checks read a fresh snapshot (rounds take their own session list). */
  newPass(): void {
    this.passes++;
    this.busyProjects = null;
  }

  /** The agent's stop is recorded: its end is not judged again. */
  forget(agentId: number): void {
    this.deadNoStatus.delete(agentId);
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

  /**
   * An agent whose session vanished continues its CLI session at its next start, when its CLI names one
   * (at most LOST_RESUMES times per title and daemon run: a session that keeps vanishing is not chased).
   */
  private resumeLost(a: AgentRow): boolean {
    const session = a.transcript === "" ? null : (harnessOfAgent(a).sessionFrom?.(a.transcript) ?? null);
    const key = `${a.project}/${a.title}`;
    const n = this.lostResumes.get(key) ?? 0;
    if (session === null || n >= LOST_RESUMES) return false;
    this.lostResumes.set(key, n + 1);
    this.parts.spawner.resumeNext(a.project, a.title);
    return true;
  }

  private statusPending(agentId: number): boolean {
    const since = this.deadNoStatus.get(agentId);
    if (since === undefined) this.deadNoStatus.set(agentId, Date.now());
    return since === undefined || Date.now() - since < DEAD_STATUS_WAIT_MS;
  }

  /** One repo of a reconcile round (see schedule()). */
  async reconcile(repo: RepoEntry): Promise<void> {
    const { supervisor, stopper, usage, gate } = this.parts;
    this.parts.budget.noteRepo(repo);
    if (this.idle(repo.project)) return;
    const sessions = await this.sessions();
    if (sessions === null) return;
    const byName = new Map(sessions.map((s) => [s.name, s]));
    // 1. sessions that ended
    for (const a of liveAgents(this.deps.db, { project: repo.project })) {
      if (stopper.isStopping(a.id)) continue; // being stopped: the stop records how it ended
      if (Date.parse(a.startedAt) >= this.sessionsAt) continue; // started after the list was taken: judged next pass
      const found = byName.get(a.session);
      // A session under this name recorded for another identity or another daemon is not this agent's.
      const s = found && (found.title === undefined || found.title === sessionTitleOf(a)) && !this.deps.tmux.foreign(found.owner) ? found : undefined;
      if (s && !s.dead) continue;
      if (s && s.exitStatus === null && this.statusPending(a.id)) continue;
      this.deadNoStatus.delete(a.id);
      const status = s?.exitStatus ?? null;
      // Why it exited: the last lines it printed (the pane stays after exit: remain-on-exit).
      const lines = s ? await supervisor.exitLines(a) : [];
      const why = firstMeaningfulLine(lines, harnessOfAgent(a).noise);
      // No session at all (the tmux server went: a reboot, a kill): it did not end, it was cut off — it
      // starts again continuing its CLI session, where its CLI can.
      const lost = !s && this.resumeLost(a);
      const gone = lost ? "session gone (tmux server lost): starting again, continuing its session" : "session gone";
      writeTx(this.deps.db, () => {
        endAgent(this.deps.db, a.id, "exited", status, s ? `exited with status ${status ?? "?"}${why ? `: ${why}` : ""}` : gone);
        if (lines.length > 0) setLastLines(this.deps.db, a.id, lines.join("\n"));
        recordAudit(this.deps.db, { kind: "agent_finished", project: a.project, task: a.task, message: `${a.role} ${a.title} ${s ? `exited (status ${status ?? "?"})` : gone}${why ? `: ${why}` : ""}`, detail: { title: a.title, exit_status: status, last_lines: lines, resume: lost } });
      });
      supervisor.forget(a.id);
      gate.done(a);
      void usage.collect(a);
      if (!lost) await this.afterExit(repo, a, status, why);
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
    const active = new Set(work.map((t) => t.name));
    for (const [task, agents] of liveByTask) {
      if (active.has(task)) continue;
      // A task that reached done got there by its agent's signal: let that agent finish its turn. Any
      // other end (cancelled, deleted) stops its agents at once.
      const finished = getTask(this.deps.db, repo.project, task)?.status === "done";
      for (const a of agents) stopper.stop(a, finished ? "superseded" : "task no longer active");
    }
    this.deps.hub.pump();
  }

  private async reconcileTask(repo: RepoEntry, t: TaskRow, live: AgentRow[], sessions: Map<string, SessionInfo>): Promise<void> {
    const { supervisor, spawner, stopper, usage, budget } = this.parts;
    // A task on budget hold needs no agent until the limit is raised or an operator resumes it.
    if ((holdOf(this.deps.db, repo.project, t.name)?.hold ?? "") !== "" && budget.enforce(repo.project, t.name)) {
      for (const a of live) stopper.stop(a, "budget");
      return;
    }
    const want = expectedAgents(snapshotOf(this.deps.db, t)); // subtasks are loaded only for wave phases
    const wantTitles = new Set(want.map((w) => w.title));
    const spawns: Promise<void>[] = [];
    for (const w of want) {
      if (live.some((a) => a.title === w.title)) continue;
      const key = `${repo.project}/${w.title}`;
      if (spawner.startOf(key)) continue; // a start already under way (from an earlier pass)
      if (stopper.titleStopping(key)) continue; // its stop is under way: started on a pass after it finished
      // Ended naturally since the task last changed → stuck, not a respawn loop (until an operator restarts it).
      if (endedSince(this.deps.db, repo.project, t.name, w.title, t.updatedAt) && !spawner.resumes(repo.project, w.title)) continue;
      const started = spawner.start(repo, t, w, sessions);
      if (started) spawns.push(started);
    }
    // Starts run beside the scan loop (bounded), never inside the pass: a signal landing during a start
    // storm is not kept waiting for it. The superseded agents stop once the new ones started.
    const superseded = live.filter((a) => !wantTitles.has(a.title));
    if (superseded.length > 0) void Promise.all(spawns).then(() => {
      for (const a of superseded) stopper.stop(a, "superseded");
    });
    for (const a of live) {
      if (!wantTitles.has(a.title)) continue;
      await supervisor.look(a, sessions.get(a.session) ?? null, stopper.isStopping(a.id));
      if (this.passes % 10 === 0) void usage.collect(a);
    }
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
      this.parts.onActions(repo, a.task, result.actions);
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
}
