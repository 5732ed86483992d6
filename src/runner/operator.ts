// What an operator asks of agents (kas agent restart/kill/send/capture, kas task retry, a removed
// repo): restart in place, retry what a task is missing, stop, type into or read a pane.
import type { RestartReply } from "../api/agents.ts";
import { lastLinesOf } from "../agents/supervise.ts";
import { worktreePath } from "../agents/worktree.ts";
import { repoProcessorConfig } from "../config/processor.ts";
import { expectedAgents, waveCoderTitle } from "../lifecycle/agents.ts";
import { processSignal } from "../lifecycle/processor.ts";
import { clearAttention, latestAgentByTitle, listAgents, liveAgentByTitle, liveAgents, markRestarted } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { nowIso, writeTx } from "../store/db.ts";
import { commitResult, snapshotOf } from "../store/effects.ts";
import { getTask, type TaskRow } from "../store/tasks.ts";
import type { RepoEntry } from "../engine/repos.ts";
import type { BudgetGuard } from "./budget.ts";
import { type RunnerDeps, sessionTitleOf } from "./context.ts";
import { refuseIfNothingCanStart, RestartRefused } from "./restart-checks.ts";
import type { Spawner } from "./spawner.ts";
import type { Stopper } from "./stopper.ts";
import type { Supervisor } from "./supervisor.ts";

export class OperatorActions {
  constructor(
    private deps: RunnerDeps,
    private parts: { budget: BudgetGuard; spawner: Spawner; stopper: Stopper; supervisor: Supervisor },
  ) {}

  /**
   * Restart one agent in place: a live one is stopped and started again, an ended or failed one starts
   * again; the task keeps its phase. A failed wave coder's task is retried (retry_wave). Throws RestartRefused.
   */
  async restart(repo: RepoEntry, title: string, fresh = false): Promise<RestartReply> {
    const row = latestAgentByTitle(this.deps.db, repo.project, title);
    const t = row ? getTask(this.deps.db, repo.project, row.task) : this.taskOfTitle(repo.project, title);
    if (!t) throw new RestartRefused(404, `no agent or task for ${title} in ${repo.project}`);
    refuseIfNothingCanStart(t, () => this.parts.budget.enforce(repo.project, t.name), `cannot restart ${title}`);
    return this.restartTitles(repo, t, [title], false, fresh);
  }

  /** Every agent the task needs now that is missing, failed or ended without its signal (and failed wave tasks). */
  async retryTask(repo: RepoEntry, task: string): Promise<RestartReply> {
    const t = getTask(this.deps.db, repo.project, task);
    if (!t) throw new RestartRefused(404, `task not found: ${task}`);
    refuseIfNothingCanStart(t, () => this.parts.budget.enforce(repo.project, t.name), `nothing to retry for ${t.name}`);
    const want = expectedAgents(snapshotOf(this.deps.db, t)).map((w) => w.title);
    // Alive but stuck (an attention item raised for it: an error screen, no start, a dialog) counts as not running.
    const live = new Set(liveAgents(this.deps.db, { project: repo.project, task }).filter((a) => !this.parts.supervisor.isStuck(a)).map((a) => a.title));
    return this.restartTitles(repo, t, want.filter((x) => !live.has(x)), true);
  }

  /** A title that never ran: which task it belongs to, from the title scheme (<task>-plan, -W1-T2, -review-3, …). */
  private taskOfTitle(project: string, title: string): TaskRow | null {
    const m = /^(.+)-(?:plan|architect|coder|W\d+-T\d+|review-\d+|fix-\d+|verify-\d+)$/.exec(title);
    return m?.[1] ? getTask(this.deps.db, project, m[1]) : null;
  }

  /** `newSessions`: the restarted agents start new CLI sessions; else each continues its last one where its CLI can. */
  private async restartTitles(repo: RepoEntry, t: TaskRow, titles: string[], failedWaves = false, newSessions = false): Promise<RestartReply> {
    const { db } = this.deps;
    const restarted: string[] = [];
    if (t.branch) this.parts.spawner.forgetSetup(worktreePath(repo.path, t.branch)); // a failed setup runs again
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
        clearAttention(db, repo.project, t.name);
        recordAudit(db, { kind: "agent_restarted", project: repo.project, task: t.name, message: `${title} restarted by operator${live ? " (running session stopped)" : ""}`, detail: { title } });
      });
      if (live) await this.parts.stopper.stopNow(live, "restarted by operator");
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
    for (const title of restarted) this.parts.spawner.resumeNext(repo.project, title, newSessions);
    this.deps.hub.pump();
    this.deps.kick?.(repo.project);
    return { task: t.name, restarted, note: "" };
  }

  /** Stop every live agent of a repo (it was unregistered); recorded as ended, not restarted. */
  stopRepo(project: string, reason: string): void {
    for (const a of liveAgents(this.deps.db, { project })) this.parts.stopper.stop(a, reason, false, true);
  }

  async capture(project: string, title: string, lines?: number): Promise<string | null> {
    const a = liveAgentByTitle(this.deps.db, project, title) ?? listAgents(this.deps.db, { project, limit: 1000 }).find((x) => x.title === title) ?? null;
    if (!a) return null;
    try {
      if (!lines) return await this.deps.tmux.capture(sessionTitleOf(a), { start: "-" });
      // The last N lines of output: the visible screen's empty bottom lines do not count.
      return lastLinesOf(await this.deps.tmux.capture(sessionTitleOf(a), { start: -(lines + 200) }), lines);
    } catch {
      return "";
    }
  }

  async send(project: string, title: string, text: string): Promise<boolean> {
    const a = liveAgentByTitle(this.deps.db, project, title);
    if (!a) return false;
    await this.deps.tmux.sendText(sessionTitleOf(a), text);
    recordAudit(this.deps.db, { kind: "prompt_sent", project, message: `prompt sent to ${title} (${text.length} chars)`, detail: { title } });
    return true;
  }

  kill(project: string, title: string): boolean {
    const a = liveAgentByTitle(this.deps.db, project, title);
    if (!a) return false;
    this.parts.stopper.stop(a, "killed by operator", false, true);
    return true;
  }
}
