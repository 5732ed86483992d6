// Store access for the GitHub tables (migration 6). Plain statements: callers own the transaction.
import { type Db } from "../store/db.ts";
import { getTask, type TaskRow } from "../store/tasks.ts";

/** Record when PR creation was last attempted and when (if ever) it may be retried automatically. */
export function recordPrRun(db: Db, project: string, task: string, attemptedAt: number, nextRetryAt: number | null): void {
  db.query(
    `INSERT INTO pr_create_runs (project, task, attempted_at, next_retry_at) VALUES ($project, $task, $at, $next)
     ON CONFLICT (project, task) DO UPDATE SET attempted_at = excluded.attempted_at, next_retry_at = excluded.next_retry_at`,
  ).run({ project, task, at: new Date(attemptedAt).toISOString(), next: nextRetryAt === null ? null : new Date(nextRetryAt).toISOString() });
}

export function getPrRun(db: Db, project: string, task: string): { attemptedAt: string; nextRetryAt: string | null } | null {
  const r = db
    .query<{ attempted_at: string; next_retry_at: string | null }, { project: string; task: string }>(
      "SELECT attempted_at, next_retry_at FROM pr_create_runs WHERE project = $project AND task = $task",
    )
    .get({ project, task });
  return r ? { attemptedAt: r.attempted_at, nextRetryAt: r.next_retry_at } : null;
}

/** `done` tasks without a PR whose last attempt failed transiently and whose retry time has come. */
export function listPrRetriesDue(db: Db, now: number, maxAttempts: number, project?: string): TaskRow[] {
  const rows = db
    .query<{ project: string; name: string }, { now: string; max: number; project: string | null }>(
      // Driven by the few runs with a retry scheduled (idx_pr_runs_retry), never every task's run.
      `SELECT t.project, t.name FROM pr_create_runs r INDEXED BY idx_pr_runs_retry JOIN tasks t ON r.project = t.project AND r.task = t.name
       WHERE t.status = 'done' AND t.pr_url = '' AND t.pr_create_state = 'failed' AND t.pr_create_attempts < $max
         AND r.next_retry_at IS NOT NULL AND r.next_retry_at <= $now AND ($project IS NULL OR t.project = $project)
       ORDER BY r.next_retry_at, t.project, t.name`,
    )
    .all({ now: new Date(now).toISOString(), max: maxAttempts, project: project ?? null });
  return rows.map((r) => getTask(db, r.project, r.name)).filter((t): t is TaskRow => t !== null);
}

export type ReviewOutcome = "fix" | "cycle_limit" | "manual";

export interface ProcessedReview {
  project: string;
  task: string;
  prNumber: number;
  reviewId: number;
  author: string;
  state: string;
  body: string;
  outcome: ReviewOutcome;
  processedAt: string;
}

export function isReviewProcessed(db: Db, project: string, reviewId: number): boolean {
  return db.query("SELECT 1 FROM pr_reviews WHERE project = $project AND review_id = $id").get({ project, id: reviewId }) !== null;
}

/** Insert-or-ignore; false when another poll already processed it. */
export function markReviewProcessed(db: Db, r: Omit<ProcessedReview, "processedAt">, at: number): boolean {
  return (
    db
      .query(
        `INSERT INTO pr_reviews (project, task, pr_number, review_id, author, state, body, outcome, processed_at)
         VALUES ($project, $task, $pr, $id, $author, $state, $body, $outcome, $at) ON CONFLICT (project, review_id) DO NOTHING`,
      )
      .run({ project: r.project, task: r.task, pr: r.prNumber, id: r.reviewId, author: r.author, state: r.state, body: r.body, outcome: r.outcome, at: new Date(at).toISOString() })
      .changes > 0
  );
}

export function listProcessedReviews(db: Db, project: string, task?: string): ProcessedReview[] {
  return db
    .query<
      { project: string; task: string; pr_number: number; review_id: number; author: string; state: string; body: string; outcome: string; processed_at: string },
      { project: string; task: string | null }
    >("SELECT * FROM pr_reviews WHERE project = $project AND ($task IS NULL OR task = $task) ORDER BY processed_at, review_id")
    .all({ project, task: task ?? null })
    .map((r) => ({
      project: r.project,
      task: r.task,
      prNumber: r.pr_number,
      reviewId: r.review_id,
      author: r.author,
      state: r.state,
      body: r.body,
      outcome: r.outcome as ReviewOutcome,
      processedAt: r.processed_at,
    }));
}

export function isReactionPosted(db: Db, project: string, commentId: number, content: string): boolean {
  return db.query("SELECT 1 FROM pr_reactions WHERE project = $project AND comment_id = $c AND content = $content").get({ project, c: commentId, content }) !== null;
}

export function recordReaction(db: Db, project: string, task: string, reviewId: number, commentId: number, content: string, at: number): void {
  db.query(
    `INSERT INTO pr_reactions (project, task, review_id, comment_id, content, posted_at) VALUES ($project, $task, $review, $c, $content, $at)
     ON CONFLICT (project, comment_id, content) DO NOTHING`,
  ).run({ project, task, review: reviewId, c: commentId, content, at: new Date(at).toISOString() });
}
