// GitHub in the daemon: open (or adopt) the PR when a task is done, retry failed attempts with
// backoff, and — with [pr_monitor] enabled — turn human PR reviews into fixer rounds. Everything
// runs off the scan loop (async, bounded by the client); nothing here can crash or stall it.
import { repoProcessorConfig } from "../config/processor.ts";
import { effectiveConfig, loadRepoOverrides } from "../config/repo.ts";
import { ensurePullRequest, GitHub, MONITORED_STATUSES, pollPullRequests, prRetriesDue, type PrOutcome, type ReviewInstruction } from "../github/index.ts";
import { applyPrReview, verificationStale } from "../lifecycle/processor.ts";
import type { Action } from "../lifecycle/model.ts";
import { setAttention } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { type Db, nowIso, writeTx } from "../store/db.ts";
import { commitResult, snapshotOf } from "../store/effects.ts";
import { getTask } from "../store/tasks.ts";
import { tasksNeedingPrAll, tasksWithOpenPr } from "../store/task-queries.ts";
import { pushBranch } from "../github/git.ts";
import type { DaemonConfig } from "../config/schema.ts";
import type { Logger } from "../runtime/log.ts";
import type { ScanLoop } from "./scan-loop.ts";
import type { EventHub } from "./events.ts";
import type { RepoEntry, RepoRegistry } from "./repos.ts";

/** What of the running daemon the worker uses (the daemon itself, src/server/running-daemon.ts, is one). */
export interface GitHubWorkerHost {
  /** The config in force (read anew on each use: a reload replaces it). */
  readonly config: DaemonConfig;
  readonly db: Db;
  readonly log: Logger;
  readonly registry: Pick<RepoRegistry, "list" | "get">;
  readonly loop: Pick<ScanLoop, "kick">;
}

/** ensure() calls (git push, GitHub API calls) at once: a sweep that finds many never starts them all together. */
const ENSURE_CONCURRENCY = 4;

export class GitHubWorker {
  private github: GitHub;
  private apiUrl: string;
  private monitorTimer: ReturnType<typeof setTimeout> | null = null;
  private polling = false;
  private stopped = false;
  /** ensure() calls waiting for a slot (repo/task once each) and how many run now: at most ENSURE_CONCURRENCY. */
  private queue = new Map<string, { repo: RepoEntry; task: string; trigger: "done" | "retry" }>();
  private running = new Set<string>();

  constructor(
    private d: GitHubWorkerHost,
    private hub: EventHub,
  ) {
    this.apiUrl = d.config.github.api_url;
    this.github = this.client();
  }

  private client(): GitHub {
    return new GitHub({ apiUrl: this.d.config.github.api_url, warn: (m: string) => this.d.log.warn(`github: ${m}`) });
  }

  /** Config (re)loaded: a new client clears a 401 pause; the monitor follows enabled/interval. */
  onConfig(): void {
    this.github = this.client();
    this.apiUrl = this.d.config.github.api_url;
    this.scheduleMonitor(1000);
  }

  stop(): void {
    this.stopped = true;
    this.queue.clear();
    if (this.monitorTimer) clearTimeout(this.monitorTimer);
  }

  onActions(repo: RepoEntry, task: string, actions: Action[]): void {
    if (actions.some((a) => a.kind === "create_pr")) this.enqueue(repo, task, "done", true);
  }

  /** Timer passes: retry failed PR attempts whose backoff has elapsed. */
  /**
   * PR work the lifecycle did not start: retries that are due, and tasks verified and done without any
   * PR attempt (e.g. the operator approved from the CLI, or the daemon died right after the commit).
   * Selected in SQL over every repo at once (partial indexes, names only); `repoOf` gives the healthy
   * registered repo of a project (others are left for later).
   */
  sweep(repoOf: (project: string) => RepoEntry | undefined): void {
    const retries = prRetriesDue(this.d.db, Date.now());
    const fresh = tasksNeedingPrAll(this.d.db);
    for (const t of retries) {
      const repo = repoOf(t.project);
      if (repo) this.enqueue(repo, t.name, "retry", false);
    }
    for (const t of fresh) {
      const repo = repoOf(t.project);
      if (repo) this.enqueue(repo, t.name, "done", false);
    }
  }

  /**
   * Queue one ensure() per task; a few run at once. A task already queued is not queued twice; one
   * running is queued behind itself only for a new round (`afterRunning`: the lifecycle asked again),
   * never by the sweep (the running attempt is what the sweep would start).
   */
  private enqueue(repo: RepoEntry, task: string, trigger: "done" | "retry", afterRunning: boolean): void {
    const key = `${repo.project}\0${task}`;
    const queued = this.queue.get(key);
    // A "done" (new round) wins over a "retry" of the same task.
    if (queued) {
      if (trigger === "done") queued.trigger = "done";
      return;
    }
    if (this.running.has(key) && !afterRunning) return;
    this.queue.set(key, { repo, task, trigger });
    this.drain();
  }

  private drain(): void {
    for (const [key, job] of this.queue) {
      if (this.stopped || this.running.size >= ENSURE_CONCURRENCY) return;
      if (this.running.has(key)) continue; // one ensure() per task at a time; the queued one follows
      this.queue.delete(key);
      this.running.add(key);
      void this.ensure(job.repo, job.task, job.trigger)
        .catch((err: unknown) => this.d.log.error(`${job.repo.project}/${job.task}: PR: ${(err as Error).message}`))
        .finally(() => {
          this.running.delete(key);
          this.drain();
        });
    }
  }

  private autoCreatePr(repo: RepoEntry): boolean {
    return loadRepoOverrides(repo.path).overrides.auto_create_pr ?? this.d.config.auto_create_pr;
  }

  private async ensure(repo: RepoEntry, task: string, trigger: "done" | "retry"): Promise<void> {
    const t = getTask(this.d.db, repo.project, task);
    if (t?.prUrl && t.prState !== "closed" && t.prState !== "merged") {
      // The PR exists: a later round (e.g. after PR review feedback) only has to update its branch.
      if (trigger === "done" && t.verification?.sha && this.autoCreatePr(repo)) {
        const r = await pushBranch(repo.path, t.branch, t.verification.sha);
        writeTx(this.d.db, () =>
          recordAudit(this.d.db, { kind: "git_push", project: repo.project, task, message: r.ok ? `pushed ${t.branch} (${t.verification!.sha.slice(0, 7)}) to update ${t.prUrl}` : `push of ${t.branch} failed: ${r.reason}`, level: r.ok ? "info" : "warn" }),
        );
        this.hub.pump();
      }
      return;
    }
    let out: PrOutcome;
    try {
      out = await ensurePullRequest({ db: this.d.db, github: this.github }, { project: repo.project, task, repo: repo.path, autoCreatePr: this.autoCreatePr(repo), trigger });
    } catch (err) {
      this.d.log.error(`${repo.project}/${task}: PR: ${(err as Error).message}`);
      return;
    }
    if (out.alreadyRecorded) return;
    this.d.log.info(`${repo.project}/${task}: PR ${out.state}${out.url ? ` ${out.url}` : ""}${out.reason ? `: ${out.reason}` : ""}`);
    if (out.state === "stale") this.backToVerifying(repo, task, out.reason);
    this.hub.pump();
  }

  /** The branch moved after verification: the FSM's verification_stale (done → verifying) and a fresh master. */
  private backToVerifying(repo: RepoEntry, task: string, reason: string): void {
    writeTx(this.d.db, () => {
      const t = getTask(this.d.db, repo.project, task);
      if (!t || t.status !== "done") return;
      const result = verificationStale(snapshotOf(this.d.db, t), reason, repoProcessorConfig(this.d.config, repo.path), nowIso());
      commitResult(this.d.db, { project: repo.project, task, result, signalId: null, signalType: "verification_stale", source: "github:pr" });
      if (result.outcome !== "done") return;
      setAttention(this.d.db, repo.project, task, `verification went stale before the PR: ${reason}`);
      recordAudit(this.d.db, { kind: "attention", project: repo.project, task, message: `verification went stale before the PR: ${reason}`, level: "warn" });
    });
    this.d.loop.kick(repo.project);
  }

  // ---- PR monitor ---------------------------------------------------------------------------

  private scheduleMonitor(delayMs: number): void {
    if (this.monitorTimer) clearTimeout(this.monitorTimer);
    this.monitorTimer = null;
    if (this.stopped || !this.d.config.pr_monitor.enabled) return;
    this.monitorTimer = setTimeout(() => void this.poll(), delayMs);
  }

  private async poll(): Promise<void> {
    const cfg = this.d.config;
    const next = cfg.pr_monitor.poll_interval_sec * 1000;
    if (this.polling || !cfg.pr_monitor.enabled) return this.scheduleMonitor(next);
    const until = this.github.rateLimitedUntil;
    if (until && until > Date.now()) return this.scheduleMonitor(Math.min(until - Date.now() + 100, 3_600_000));
    this.polling = true;
    try {
      const tasks = this.d.registry.list().flatMap((repo) => {
        if (repo.problem) return [];
        const eff = effectiveConfig(cfg, loadRepoOverrides(repo.path).overrides);
        return tasksWithOpenPr(this.d.db, repo.project, MONITORED_STATUSES)
          .map((task) => ({ task, repo: repo.path, autoReviewFix: eff.auto_review_fix, maxReviewFixCycles: eff.max_review_fix_cycles }));
      });
      if (tasks.length > 0) {
        const r = await pollPullRequests({ db: this.d.db, github: this.github, reactions: cfg.pr_monitor.reactions, apply: (i, db) => this.apply(i, db) }, tasks);
        for (const e of r.errors) this.d.log.warn(`github: ${e.project}/${e.task}: ${e.message}`);
        if (r.paused) this.d.log.warn(`github: monitor paused until reload: ${r.paused}`);
        for (const i of r.instructions) this.d.loop.kick(i.project);
        if (r.instructions.length > 0 || r.reactionsPosted > 0) this.hub.pump();
      }
    } catch (err) {
      this.d.log.error(`github: PR monitor: ${(err as Error).message}`);
    } finally {
      this.polling = false;
      this.scheduleMonitor(next);
    }
  }

  /** Inside the monitor's transaction: the review is marked processed together with its effect. */
  private apply(i: ReviewInstruction, db: Db): void {
    const t = getTask(db, i.project, i.task);
    if (!t) return;
    const who = i.authors.map((a) => `@${a}`).join(", ");
    switch (i.kind) {
      case "fix": {
        const result = applyPrReview(snapshotOf(db, t), `PR #${i.prNumber} review by ${who}:\n\n${i.feedback}`, repoProcessorConfig(this.d.config, this.d.registry.get(i.project)?.path), nowIso());
        commitResult(db, { project: i.project, task: i.task, result, signalId: null, signalType: "pr_review", source: `github:${i.prUrl}` });
        break;
      }
      case "cycle_limit":
        setAttention(db, i.project, i.task, `PR #${i.prNumber} review by ${who} asks for changes, but the review-fix cycle limit is reached (${i.reviewCycle}/${i.maxReviewFixCycles})`);
        recordAudit(db, { kind: "attention", project: i.project, task: i.task, message: `PR review over the cycle limit (${i.reviewCycle}/${i.maxReviewFixCycles})`, level: "warn" });
        break;
      case "manual":
        setAttention(db, i.project, i.task, `PR #${i.prNumber} review by ${who} asks for changes (auto_review_fix is off)`);
        recordAudit(db, { kind: "attention", project: i.project, task: i.task, message: `PR review needs a human (${who})`, level: "warn" });
        break;
    }
  }
}
