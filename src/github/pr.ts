// PR creation when a task reaches done: push the verified head of
// the task branch, then adopt the open PR for that branch or create one. Every attempt's outcome is
// stored on the task (pr_create_state / pr_create_error / pr_create_attempts) and returned; nothing
// throws. Transient failures are retried by the daemon's sweep with exponential backoff.
import { setAttention } from "../store/agents.ts";
import { recordAudit } from "../store/audit.ts";
import { type Db, writeTx } from "../store/db.ts";
import { getTask, type TaskRow } from "../store/tasks.ts";
import { listSubtasks } from "../store/subtasks.ts";
import { applyTaskUpdate, type TaskUpdate } from "../store/task-update.ts";
import { parsePlan } from "../lifecycle/plan-parser.ts";
import { type GhError, type GitHub, isTransient } from "./client.ts";
import { baseRef, changedFiles, commitLines, pushBranch, revParse } from "./git.ts";
import { resolveOrigin, type RepoRef } from "./remote.ts";
import { PullRequest, PullRequestList, Repository } from "./schemas.ts";
import { listPrRetriesDue, recordPrRun } from "./store.ts";

export type PrCreateState = "created" | "adopted" | "skipped" | "failed" | "blocked" | "stale";

export interface PrOutcome {
  state: PrCreateState;
  /** Why (empty for created/adopted). */
  reason: string;
  url?: string;
  number?: number;
  /** The PR was already recorded on the task: nothing was called or written. */
  alreadyRecorded?: boolean;
  /** Attempts in the current series after this one (0 when nothing was recorded). */
  attempts: number;
  /** failed only: when the sweep may retry (epoch ms); null = no more automatic retries. */
  retryAt?: number | null;
  /** Set when GitHub rate-limited the client. */
  rateLimitedUntil?: number;
}

export const PR_MAX_ATTEMPTS = 5;
export const PR_RETRY_BASE_MS = 30_000;
export const PR_RETRY_CAP_MS = 30 * 60_000;

/** When attempt number `attempts + 1` may run: 30 s · 2^(attempts-1), capped at 30 min (epoch ms). */
export function nextRetryAt(attempts: number, now: number): number {
  const n = Math.max(1, Math.floor(attempts));
  const delay = Math.min(PR_RETRY_CAP_MS, PR_RETRY_BASE_MS * 2 ** Math.min(n - 1, 30));
  return now + delay;
}

/** Only transient failures are retried automatically, and only below the attempt bound. */
export function shouldRetry(state: string, attempts: number): boolean {
  return state === "failed" && attempts < PR_MAX_ATTEMPTS;
}

export interface PrDeps {
  db: Db;
  github: GitHub;
  /** Clock (epoch ms). */
  now?: () => number;
}

export interface EnsurePrRequest {
  project: string;
  task: string;
  /** Repository checkout (the task branch lives here). */
  repo: string;
  /** Effective auto_create_pr (daemon value, or the repo's override). Ignored for trigger "manual". */
  autoCreatePr: boolean;
  /** "done" (task just reached done) and "manual" start a new attempt series; "retry" continues it. */
  trigger?: "done" | "retry" | "manual";
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

/** Blocked = needs a human; failed = transient. */
function classify(e: GhError): "failed" | "blocked" {
  return isTransient(e) ? "failed" : "blocked";
}

function prTitle(task: TaskRow): string {
  const desc = task.description.trim().split("\n")[0]?.trim() ?? "";
  if (desc !== "") return desc.slice(0, 250);
  const plan = parsePlan(task.content);
  const goal = plan.ok ? plan.plan.goal : "";
  return (goal || task.name).slice(0, 250);
}

export interface PrBodyInput {
  task: TaskRow;
  subtasks: { number: number; title: string; status: string; wave: number }[];
  base: string;
  commits: string[];
  files: string[];
}

const BODY_LIMIT = 60_000;

function list(lines: string[], limit: number): string[] {
  const out = lines.slice(0, limit);
  if (lines.length > limit) out.push(`… and ${lines.length - limit} more`);
  return out;
}

/** PR body: plan tasks, review summary, commits and changed files. Pure. */
export function buildPrBody(input: PrBodyInput): string {
  const { task } = input;
  const parts: string[] = [];
  const plan = parsePlan(task.content);
  if (plan.ok && plan.plan.goal) parts.push(`**Goal:** ${plan.plan.goal}`);
  parts.push("## Plan");
  const done = new Map(input.subtasks.map((s) => [s.number, s.status]));
  const isDone = (n: number) => ["complete", "done", "closed"].includes(done.get(n) ?? "");
  if (plan.ok) {
    for (const w of plan.plan.waves) {
      parts.push(`**Wave ${w.number}${w.title ? `: ${w.title}` : ""}**`);
      for (const t of w.tasks) parts.push(`- [${isDone(t.number) || task.status === "done" ? "x" : " "}] Task ${t.number}: ${t.title}`);
    }
  } else if (input.subtasks.length > 0) {
    for (const s of input.subtasks) parts.push(`- [${isDone(s.number) ? "x" : " "}] Task ${s.number}: ${s.title}`);
  } else {
    parts.push(`_${task.name}_ (no structured plan)`);
  }
  parts.push("", "## Review");
  const v = task.verification;
  parts.push(`- Review cycles: ${task.reviewCycle}; verify cycles: ${task.verifyCycle}`);
  if (v) parts.push(`- Verified ${short(v.sha)} by ${v.by || "?"}${v.origin ? ` (${v.origin})` : ""}${v.at ? ` at ${v.at}` : ""}`);
  const feedback = task.latestFeedback.trim();
  if (feedback !== "") parts.push("", "<details><summary>Latest review feedback</summary>", "", feedback.slice(0, 20_000), "", "</details>");
  parts.push("", `## Commits (${input.commits.length}, against \`${input.base}\`)`, "```", ...list(input.commits, 100), "```");
  parts.push("", `## Changed files (${input.files.length})`, "```", ...list(input.files, 300), "```");
  parts.push("", "_Opened by kasmos._");
  const body = parts.join("\n");
  return body.length > BODY_LIMIT ? `${body.slice(0, BODY_LIMIT)}\n\n… (truncated)` : body;
}

/**
 * Push the task branch and create (or adopt) its PR. Returns the outcome; it is also stored on the task
 * (except `alreadyRecorded`). Concurrent calls for the same task share one attempt.
 */
export function ensurePullRequest(deps: PrDeps, req: EnsurePrRequest): Promise<PrOutcome> {
  return deps.github.once(`pr:${req.project}/${req.task}`, async () => {
    try {
      return await attempt(deps, req);
    } catch (err) {
      // Defensive: store/git errors must not escape to the daemon loop.
      const reason = `internal error: ${(err as Error).message}`;
      try {
        return record(deps, req, { state: "failed", reason });
      } catch {
        return { state: "failed", reason, attempts: 0, retryAt: null };
      }
    }
  });
}

type Draft = Omit<PrOutcome, "attempts" | "retryAt">;

async function attempt(deps: PrDeps, req: EnsurePrRequest): Promise<PrOutcome> {
  const { db, github } = deps;
  const task = getTask(db, req.project, req.task);
  if (!task) return { state: "skipped", reason: `task not found: ${req.project}/${req.task}`, attempts: 0 };
  if (task.prNumber !== null && task.prUrl !== "" && task.prState !== "closed" && task.prState !== "merged") {
    const state = task.prCreateState === "adopted" ? "adopted" : "created";
    return { state, reason: `pr already recorded: ${task.prUrl}`, url: task.prUrl, number: task.prNumber, alreadyRecorded: true, attempts: task.prCreateAttempts };
  }
  const done = (d: Draft) => record(deps, req, d);

  if (!req.autoCreatePr && req.trigger !== "manual") return done({ state: "skipped", reason: "auto_create_pr is disabled by config" });
  const origin = await resolveOrigin(req.repo);
  if (!origin.ok) return done({ state: "skipped", reason: origin.reason });
  const refused = await github.precheck();
  if (refused?.kind === "no_token") return done({ state: "skipped", reason: refused.message });
  if (refused) return done(fromError(refused));

  const branch = task.branch.trim() || `plan/${task.name}`;
  const head = await revParse(req.repo, `refs/heads/${branch}`);
  if (head === null) return done({ state: "blocked", reason: `branch ${branch} does not exist in ${req.repo}` });
  const verified = task.verification?.sha ?? "";
  if (verified === "") return done({ state: "stale", reason: `verification missing: branch ${branch} head is ${short(head)} but the task has no verified SHA` });
  if (verified !== head) return done({ state: "stale", reason: `head_changed_after_verification: verified ${short(verified)}, head is now ${short(head)}` });

  const { owner, repo } = origin.ref;
  const repoInfo = await github.request("GET", `/repos/${owner}/${repo}`, Repository);
  if (!repoInfo.ok) return done(fromError(repoInfo.error));
  const base = repoInfo.data.default_branch;
  if (base === branch) return done({ state: "blocked", reason: `task branch ${branch} is the default branch` });

  const pushed = await pushBranch(req.repo, branch, head);
  if (!pushed.ok) return done({ state: pushed.rejected ? "blocked" : "failed", reason: pushed.reason });
  try {
    writeTx(db, () => recordAudit(db, { kind: "git_push", project: req.project, task: task.name, message: `pushed ${branch} (${short(head)}) to origin`, detail: { branch, sha: head } }));
  } catch {
    // audit is best effort here; the outcome row below is what matters
  }

  const existing = await findOpenPr(github, origin.ref, branch);
  if (!existing.ok) return done(fromError(existing.error));
  if (existing.pr) return done({ state: "adopted", reason: "", url: existing.pr.html_url, number: existing.pr.number });

  const ref = (await baseRef(req.repo, base)) ?? base;
  const [commits, files] = await Promise.all([commitLines(req.repo, ref, head), changedFiles(req.repo, ref, head)]);
  const body = buildPrBody({ task, subtasks: listSubtasks(db, task.project, task.name), base, commits, files });
  const created = await github.request("POST", `/repos/${owner}/${repo}/pulls`, PullRequest, {
    body: { title: prTitle(task), head: branch, base, body, maintainer_can_modify: true },
  });
  if (created.ok) return done({ state: "created", reason: "", url: created.data.html_url, number: created.data.number });
  // Lost a race (another kasmos, a human): adopt the PR that now exists.
  if (created.error.kind === "validation" && /already exists/i.test(created.error.message)) {
    const again = await findOpenPr(github, origin.ref, branch);
    if (again.ok && again.pr) return done({ state: "adopted", reason: "", url: again.pr.html_url, number: again.pr.number });
  }
  return done(fromError(created.error));
}

function fromError(e: GhError): Draft {
  const d: Draft = { state: classify(e), reason: e.message };
  if (e.rateLimitedUntil !== undefined) d.rateLimitedUntil = e.rateLimitedUntil;
  return d;
}

async function findOpenPr(github: GitHub, ref: RepoRef, branch: string): Promise<{ ok: true; pr: PullRequest | null } | { ok: false; error: GhError }> {
  const r = await github.request("GET", `/repos/${ref.owner}/${ref.repo}/pulls`, PullRequestList, {
    query: { head: `${ref.owner}:${branch}`, state: "open", per_page: 10 },
  });
  if (!r.ok) return r;
  return { ok: true, pr: r.data.find((p) => p.head.ref === branch && p.state === "open") ?? null };
}

/** Store one attempt's outcome (task columns, retry schedule, audit) in one transaction. */
function record(deps: PrDeps, req: EnsurePrRequest, d: Draft): PrOutcome {
  const { db } = deps;
  const now = (deps.now ?? Date.now)();
  return writeTx(db, () => {
    const before = getTask(db, req.project, req.task);
    if (!before) return { ...d, attempts: 0, retryAt: null };
    const attempts = req.trigger === "retry" ? before.prCreateAttempts + 1 : 1;
    const ok = d.state === "created" || d.state === "adopted";
    const update: TaskUpdate = { prCreateState: d.state, prCreateError: ok ? "" : d.reason, prCreateAttempts: attempts };
    if (ok && d.url !== undefined && d.number !== undefined) Object.assign(update, { prUrl: d.url, prNumber: d.number, prState: "open" });
    applyTaskUpdate(db, before.project, before.name, update);
    let retryAt: number | null = null;
    if (shouldRetry(d.state, attempts)) retryAt = Math.max(nextRetryAt(attempts, now), d.rateLimitedUntil ?? 0);
    recordPrRun(db, before.project, before.name, now, retryAt);
    if (d.state === "skipped") skipped(db, before, req, d.reason);
    else {
      recordAudit(db, {
        kind: ok ? "pr_created" : "pr_failed",
        project: before.project,
        task: before.name,
        level: ok ? "info" : d.state === "blocked" ? "error" : "warn",
        message: ok ? `PR ${d.state}: ${d.url}` : `PR creation ${d.state}: ${d.reason}`,
        detail: { state: d.state, reason: d.reason, url: d.url ?? "", number: d.number ?? null, attempts, retry_at: retryAt === null ? null : new Date(retryAt).toISOString() },
      });
    }
    const out: PrOutcome = { ...d, attempts };
    if (d.state === "failed") out.retryAt = retryAt;
    return out;
  });
}

/**
 * A PR that was not even tried is said where the user looks: an audit row (the event stream) and, when
 * a PR was expected (auto_create_pr on, or asked for), an attention item with the way on.
 */
function skipped(db: Db, task: TaskRow, req: EnsurePrRequest, reason: string): void {
  const expected = req.trigger === "manual" || req.autoCreatePr;
  recordAudit(db, { kind: "pr_skipped", project: task.project, task: task.name, level: expected ? "warn" : "info", message: `PR skipped: ${reason}`, detail: { reason } });
  if (!expected) return;
  const branch = task.branch.trim() || `plan/${task.name}`;
  const way = /origin/.test(reason) ? `add a GitHub remote (git -C ${req.repo} remote add origin <url>), then push and open the PR yourself: git push -u origin ${branch}` : `open the PR yourself (git push -u origin ${branch}), or fix the cause for the next task`;
  setAttention(db, task.project, task.name, `PR skipped: ${reason}; ${way}`);
}

/** Tasks whose failed PR creation is due for an automatic retry (call ensurePullRequest with trigger "retry"). */
export function prRetriesDue(db: Db, now: number = Date.now(), project?: string): TaskRow[] {
  return listPrRetriesDue(db, now, PR_MAX_ATTEMPTS, project);
}
