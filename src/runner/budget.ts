// The budget guard: a task whose agents crossed a [budget] limit is held (its agents stop, nothing new
// starts, attention says how to go on), warned once at 80 %, and released when the limit is raised.
import { effectiveConfig, loadRepoOverrides } from "../config/repo.ts";
import { repoProcessorConfig } from "../config/processor.ts";
import { checkBudget, utcDay } from "../lifecycle/budget.ts";
import { holdTask, releaseRaisedHold } from "../lifecycle/processor.ts";
import { type AgentRow, liveAgents, setAttention } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { budgetWarnedSince, daySpend, holdOf, taskSpend } from "../store/budget.ts";
import { nowIso, writeTx } from "../store/db.ts";
import { commitResult, snapshotOf } from "../store/effects.ts";
import { getTask } from "../store/tasks.ts";
import type { RepoEntry } from "../engine/repos.ts";
import type { RunnerDeps } from "./context.ts";

export class BudgetGuard {
  /** Repos seen by reconcile: a repo's own .kasmos/config.toml may set its limits. */
  private repos = new Map<string, RepoEntry>();
  /** Warnings given this daemon run, per task, limit and hold base. */
  private warned = new Set<string>();

  constructor(
    private deps: RunnerDeps,
    private stop: (a: AgentRow, reason: string) => void,
  ) {}

  noteRepo(repo: RepoEntry): void {
    this.repos.set(repo.project, repo);
  }

  /**
   * Hold a task that crossed a budget (its agents stop, nothing new starts, attention says how to go
   * on), warn once at 80 %, and release a hold whose limit was raised. Returns whether the task is held.
   */
  enforce(project: string, task: string): boolean {
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
      if (!budgetWarnedSince(db, project, task, verdict.limit, h.base.at)) {
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
}
