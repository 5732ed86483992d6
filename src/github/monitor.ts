// PR monitor: for tasks with an open PR, find
// human reviews asking for changes, acknowledge their inline comments with the configured reactions
// (once, recorded in the store), and hand the daemon one instruction per task. A processed review is
// recorded together with the decision (fix / cycle_limit / manual), so no poll repeats it. Never throws.
import { type Db, writeTx } from "../store/db.ts";
import { type TaskRow } from "../store/tasks.ts";
import { applyTaskUpdate } from "../store/task-update.ts";
import type * as v from "valibot";
import type { GhError, GhResult, GitHub } from "./client.ts";
import { type OriginResult, resolveOrigin, type RepoRef } from "./remote.ts";
import { PullRequest, Reaction, type Review, type ReviewComment, ReviewCommentList, ReviewList, type User } from "./schemas.ts";
import { isReactionPosted, isReviewProcessed, markReviewProcessed, recordReaction, type ReviewOutcome } from "./store.ts";

export const MONITORED_STATUSES = ["done", "reviewing", "verifying"] as const;
export const GITHUB_REACTIONS = ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"] as const;

export interface PollTask {
  task: TaskRow;
  /** Repository checkout (origin gives owner/repo). */
  repo: string;
  /** Effective auto_review_fix / max_review_fix_cycles (0 = unlimited) for this repo. */
  autoReviewFix: boolean;
  maxReviewFixCycles: number;
}

export interface ReviewInstruction {
  /**
   * fix: move the task back to implementing and spawn a fixer with `feedback`;
   * cycle_limit: the fix cap is reached — report it once (no fixer);
   * manual: auto_review_fix is off — surface the review to a human.
   */
  kind: ReviewOutcome;
  project: string;
  task: string;
  prNumber: number;
  prUrl: string;
  /** The reviews this instruction answers (usually one; several submitted between polls are combined). */
  reviewIds: number[];
  authors: string[];
  /** The review body (several: each under a "Review by @login (STATE)" heading). */
  feedback: string;
  /** Inline comments of those reviews, for the fixer prompt. */
  comments: { path: string; line: number | null; body: string }[];
  /** task.reviewCycle when decided, and the cap applied. */
  reviewCycle: number;
  maxReviewFixCycles: number;
}

export interface MonitorDeps {
  db: Db;
  github: GitHub;
  /** [pr_monitor] reactions. */
  reactions: string[];
  /**
   * Optional: apply an instruction (FSM transition + audit) synchronously inside the same write
   * transaction that marks its reviews processed: both land or neither. Throwing rolls back; the
   * reviews are retried next poll (reactions already posted are not posted again).
   */
  apply?: (instr: ReviewInstruction, db: Db) => void;
  now?: () => number;
}

export interface PollResult {
  /** New instructions, already recorded as processed (and applied when deps.apply was given). */
  instructions: ReviewInstruction[];
  reactionsPosted: number;
  /** Tasks whose PR was found closed/merged this poll (their pr_state was updated). */
  closed: { project: string; task: string; prState: "closed" | "merged" }[];
  /** GitHub is rate limiting: make no calls before this (epoch ms). */
  rateLimitedUntil: number | null;
  /** 401: calls paused until the client is rebuilt (config reload). */
  paused: string | null;
  /** The whole poll was skipped (no token). */
  skipped: string | null;
  /** Per-task problems (network, 5xx, …); retried next poll. */
  errors: { project: string; task: string; message: string }[];
}

export function isBot(user: User | null | undefined): boolean {
  if (!user) return true; // deleted accounts ("ghost") cannot be answered
  const login = user.login.toLowerCase();
  return user.type === "Bot" || login.endsWith("[bot]") || login.endsWith("-bot") || login === "dependabot";
}

/** A review that asks the author to act: a human's CHANGES_REQUESTED or COMMENTED with a non-blank body. */
export function qualifies(r: Review): boolean {
  const state = r.state.toUpperCase();
  return (state === "CHANGES_REQUESTED" || state === "COMMENTED") && (r.body ?? "").trim() !== "" && !isBot(r.user);
}

function decide(t: PollTask): ReviewOutcome {
  if (!t.autoReviewFix) return "manual";
  if (t.maxReviewFixCycles > 0 && t.task.reviewCycle + 1 > t.maxReviewFixCycles) return "cycle_limit";
  return "fix";
}

class Stop extends Error {}

export async function pollPullRequests(deps: MonitorDeps, tasks: PollTask[]): Promise<PollResult> {
  const result: PollResult = { instructions: [], reactionsPosted: 0, closed: [], rateLimitedUntil: null, paused: null, skipped: null, errors: [] };
  const { github } = deps;
  const targets = tasks.filter(
    (t) => (MONITORED_STATUSES as readonly string[]).includes(t.task.status) && t.task.prNumber !== null && t.task.prState !== "closed" && t.task.prState !== "merged",
  );
  const stopOn = (e: GhError): boolean => {
    if (e.kind === "rate_limited") result.rateLimitedUntil = e.rateLimitedUntil ?? github.rateLimitedUntil;
    else if (e.kind === "unauthorized" || e.kind === "paused") result.paused = e.message;
    else if (e.kind === "no_token") result.skipped = e.message;
    else return false;
    return true;
  };
  try {
    const refused = await github.precheck();
    if (refused) {
      stopOn(refused);
      return result;
    }
    const origins = new Map<string, Promise<OriginResult>>();
    for (const t of targets) {
      const key = { project: t.task.project, task: t.task.name };
      try {
        if (!origins.has(t.repo)) origins.set(t.repo, resolveOrigin(t.repo));
        const origin = await origins.get(t.repo)!;
        if (!origin.ok) {
          result.errors.push({ ...key, message: origin.reason });
          continue;
        }
        await pollOne(deps, t, origin.ref, result, stopOn);
      } catch (err) {
        if (err instanceof Stop) break;
        result.errors.push({ ...key, message: (err as Error).message });
      }
    }
  } catch (err) {
    result.errors.push({ project: "", task: "", message: `pr monitor: ${(err as Error).message}` });
  }
  result.rateLimitedUntil ??= github.rateLimitedUntil;
  result.paused ??= github.paused;
  return result;
}

async function pollOne(deps: MonitorDeps, t: PollTask, ref: RepoRef, result: PollResult, stopOn: (e: GhError) => boolean): Promise<void> {
  const { github, db } = deps;
  const now = deps.now ?? Date.now;
  const { project, name } = t.task;
  const n = t.task.prNumber!;
  const base = `/repos/${ref.owner}/${ref.repo}/pulls`;
  const fail = (e: GhError): void => {
    if (stopOn(e)) throw new Stop();
    result.errors.push({ project, task: name, message: e.message });
  };

  const pr = await github.request("GET", `${base}/${n}`, PullRequest);
  if (!pr.ok) return fail(pr.error);
  if (pr.data.state !== "open") {
    const prState = pr.data.merged_at ? "merged" : "closed";
    writeTx(db, () => applyTaskUpdate(db, project, name, { prState }));
    result.closed.push({ project, task: name, prState });
    return;
  }

  const reviews = await listAll(github, `${base}/${n}/reviews`, ReviewList);
  if (!reviews.ok) return fail(reviews.error);
  const pending = reviews.data.filter((r) => qualifies(r) && !isReviewProcessed(db, project, r.id));
  if (pending.length === 0) return;

  const comments = await listAll(github, `${base}/${n}/comments`, ReviewCommentList);
  if (!comments.ok) return fail(comments.error);
  const byReview = new Map<number, ReviewComment[]>();
  for (const c of comments.data) {
    if (c.pull_request_review_id === null) continue;
    const list = byReview.get(c.pull_request_review_id) ?? [];
    list.push(c);
    byReview.set(c.pull_request_review_id, list);
  }

  // Reactions first; a review whose reactions could not all be posted waits for the next poll.
  const ready: Review[] = [];
  for (const r of pending) {
    let ok = true;
    for (const c of byReview.get(r.id) ?? []) {
      for (const content of deps.reactions) {
        if (isReactionPosted(db, project, c.id, content)) continue;
        const res = await github.request("POST", `/repos/${ref.owner}/${ref.repo}/pulls/comments/${c.id}/reactions`, Reaction, { body: { content } });
        if (!res.ok) {
          fail(res.error);
          ok = false;
          break;
        }
        writeTx(db, () => recordReaction(db, project, name, r.id, c.id, content, now()));
        result.reactionsPosted++;
      }
      if (!ok) break;
    }
    if (ok) ready.push(r);
  }
  if (ready.length === 0) return;

  const outcome = decide(t);
  const heading = ready.length > 1;
  const instr: ReviewInstruction = {
    kind: outcome,
    project,
    task: name,
    prNumber: n,
    prUrl: pr.data.html_url,
    reviewIds: ready.map((r) => r.id),
    authors: [...new Set(ready.map((r) => r.user?.login ?? ""))],
    feedback: ready
      .map((r) => (heading ? `### Review by @${r.user?.login ?? "?"} (${r.state.toUpperCase()})\n\n${(r.body ?? "").trim()}` : (r.body ?? "").trim()))
      .join("\n\n"),
    comments: ready.flatMap((r) => (byReview.get(r.id) ?? []).map((c) => ({ path: c.path, line: c.line, body: c.body }))),
    reviewCycle: t.task.reviewCycle,
    maxReviewFixCycles: t.maxReviewFixCycles,
  };
  try {
    const fresh = writeTx(db, () => {
      let any = false;
      for (const r of ready) {
        const marked = markReviewProcessed(
          db,
          { project, task: name, prNumber: n, reviewId: r.id, author: r.user?.login ?? "", state: r.state.toUpperCase(), body: r.body ?? "", outcome },
          now(),
        );
        any ||= marked;
      }
      if (any) deps.apply?.(instr, db);
      return any;
    });
    if (fresh) result.instructions.push(instr);
  } catch (err) {
    result.errors.push({ project, task: name, message: `applying review instruction failed (retried next poll): ${(err as Error).message}` });
  }
}

/** GET every page (per_page=100, at most 10 pages). */
async function listAll<S extends v.GenericSchema<unknown, unknown[]>>(github: GitHub, path: string, schema: S): Promise<GhResult<v.InferOutput<S>>> {
  const out: unknown[] = [];
  for (let page = 1; page <= 10; page++) {
    const r = await github.request("GET", path, schema, { query: { per_page: 100, page } });
    if (!r.ok) return r;
    const items = r.data as unknown[];
    out.push(...items);
    if (items.length < 100) return { ok: true, status: r.status, data: out as v.InferOutput<S> };
  }
  return { ok: true, status: 200, data: out as v.InferOutput<S> };
}
