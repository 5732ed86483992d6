// The agent runner: runs the agents tasks need, in tmux sessions, beside the scan loop. A facade over
// its parts, each with one job and its own state: Reconciler (what should run vs what runs), Spawner
// and StartGate (starting), Stopper (stopping), Supervisor (what running agents do, their reports),
// BudgetGuard (holds), OperatorActions (restart, retry, kill, send, capture). Its methods are what the
// daemon's routes and lifecycle call.
import type { AgentEventBody, RestartReply } from "../api/agents.ts";
import { UsageCollector } from "../agents/usage-collector.ts";
import type { Action } from "../lifecycle/model.ts";
import type { AgentRow } from "../store/agents.ts";
import type { RepoEntry } from "../engine/repos.ts";
import { applyActions } from "./actions.ts";
import { BudgetGuard } from "./budget.ts";
import { type RunnerDeps, sessionTitleOf } from "./context.ts";
import { OperatorActions } from "./operator.ts";
import { promptFileOf } from "./paths.ts";
import { Pauses } from "./pauses.ts";
import { Reconciler } from "./reconciler.ts";
import { Spawner } from "./spawner.ts";
import { StartGate, type StartQueueState } from "./start-gate.ts";
import { Stopper } from "./stopper.ts";
import { Supervisor } from "./supervisor.ts";

export type { RunnerDeps } from "./context.ts";

export class AgentRunner {
  private gate = new StartGate();
  /** Token usage from the agents' own records (asynchronous, bounded). */
  private usage: UsageCollector;
  private budget: BudgetGuard;
  private supervisor: Supervisor;
  private spawner: Spawner;
  private stopper: Stopper;
  private reconciler: Reconciler;
  private operator: OperatorActions;

  constructor(private deps: RunnerDeps) {
    this.usage = new UsageCollector({ db: deps.db, log: deps.log, env: () => process.env, promptFileOf, onChanged: (project, task) => this.budget.enforce(project, task) });
    this.budget = new BudgetGuard(deps, (a, reason) => this.stop(a, reason));
    const pauses = new Pauses(deps);
    this.supervisor = new Supervisor(deps, this.gate, this.usage, pauses);
    this.spawner = new Spawner(deps, this.gate, (repo, task, actions) => this.onActions(repo, task, actions), pauses, (id, first) => this.supervisor.typeOnFirstScreen(id, first));
    this.stopper = new Stopper(deps, this.usage, (key) => this.spawner.startOf(key), (a) => this.stopped(a));
    this.reconciler = new Reconciler(deps, { supervisor: this.supervisor, spawner: this.spawner, stopper: this.stopper, budget: this.budget, usage: this.usage, gate: this.gate, onActions: (repo, task, actions) => this.onActions(repo, task, actions) });
    this.operator = new OperatorActions(deps, { budget: this.budget, spawner: this.spawner, stopper: this.stopper, supervisor: this.supervisor });
  }

  /** A stop was recorded: no part looks at that agent again, and its start slot (if any) is free. */
  private stopped(a: AgentRow): void {
    this.supervisor.forget(a.id);
    this.reconciler.forget(a.id);
    this.gate.done(a);
  }

  sessionTitle(a: { project: string; task: string; title: string; session?: string }): string {
    return sessionTitleOf(a);
  }

  // ---- the scan loop ----

  newPass(): void {
    this.reconciler.newPass();
  }

  idle(project: string): boolean {
    return this.reconciler.idle(project);
  }

  schedule(repo: RepoEntry): void {
    this.reconciler.schedule(repo);
  }

  reconcile(repo: RepoEntry): Promise<void> {
    return this.reconciler.reconcile(repo);
  }

  /** Wait until no reconcile round runs (daemon stop, tests). */
  settled(): Promise<void> {
    return this.reconciler.settled();
  }

  /** The daemon stops: worktree setups under way are killed. */
  stopSetups(): Promise<void> {
    return this.spawner.stopSetups();
  }

  /** Agent starts in progress and waiting (status). */
  startQueue(): StartQueueState {
    return this.gate.state();
  }

  // ---- lifecycle and agents' reports ----

  /** Attention items and forced respawns from a committed result's actions. */
  onActions(repo: RepoEntry, task: string, actions: Action[]): void {
    applyActions(this.deps, (a, reason, replaced) => this.stop(a, reason, replaced), repo.project, task, actions);
  }

  /** A report from the agent's own CLI (hooks, notify): its activity now; null when no such agent runs. */
  onAgentEvent(ev: AgentEventBody): { activity: string } | null {
    return this.supervisor.onReport(ev);
  }

  /** Hold, warn or release the task by its budget; true when it is held. */
  enforceBudget(project: string, task: string): boolean {
    return this.budget.enforce(project, task);
  }

  /**
   * Stop in the background: the scan loop never waits for an agent's grace period. `final` records
   * it as ended (no automatic restart until the task changes), e.g. when an operator kills it.
   */
  stop(a: AgentRow, reason: string, replaced = false, final = false): void {
    this.stopper.stop(a, reason, replaced, final);
  }

  // ---- operators ----

  restart(repo: RepoEntry, title: string, fresh = false): Promise<RestartReply> {
    return this.operator.restart(repo, title, fresh);
  }

  retryTask(repo: RepoEntry, task: string): Promise<RestartReply> {
    return this.operator.retryTask(repo, task);
  }

  stopRepo(project: string, reason: string): void {
    this.operator.stopRepo(project, reason);
  }

  capture(project: string, title: string, lines?: number): Promise<string | null> {
    return this.operator.capture(project, title, lines);
  }

  send(project: string, title: string, text: string): Promise<boolean> {
    return this.operator.send(project, title, text);
  }

  kill(project: string, title: string): boolean {
    return this.operator.kill(project, title);
  }
}
