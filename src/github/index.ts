// GitHub integration: REST client, PR creation when a task is done, PR review monitor.
export { GitHub, DEFAULT_API_URL, isTransient, rateLimitDeadline, type GhError, type GhErrorKind, type GhResult, type GitHubOptions } from "./client.ts";
export { parseRemoteUrl, resolveOrigin, type RepoRef } from "./remote.ts";
export { resolveToken, NO_TOKEN_REASON } from "./token.ts";
export {
  buildPrBody,
  ensurePullRequest,
  nextRetryAt,
  prRetriesDue,
  shouldRetry,
  PR_MAX_ATTEMPTS,
  PR_RETRY_BASE_MS,
  PR_RETRY_CAP_MS,
  type EnsurePrRequest,
  type PrCreateState,
  type PrDeps,
  type PrOutcome,
} from "./pr.ts";
export { isBot, pollPullRequests, qualifies, MONITORED_STATUSES, type MonitorDeps, type PollResult, type PollTask, type ReviewInstruction } from "./monitor.ts";
export { listProcessedReviews, type ProcessedReview, type ReviewOutcome } from "./store.ts";
