// Shapes of the GitHub REST responses kasmos reads (unknown fields are dropped, missing ones fail).
import * as v from "valibot";

export const User = v.object({
  login: v.string(),
  type: v.optional(v.string(), "User"),
});
export type User = v.InferOutput<typeof User>;

export const Repository = v.object({
  default_branch: v.string(),
});

export const PullRequest = v.object({
  number: v.number(),
  html_url: v.string(),
  state: v.string(),
  merged_at: v.optional(v.nullable(v.string()), null),
  head: v.object({ ref: v.string(), sha: v.string() }),
  base: v.object({ ref: v.string() }),
});
export type PullRequest = v.InferOutput<typeof PullRequest>;

export const PullRequestList = v.array(PullRequest);

export const Review = v.object({
  id: v.number(),
  user: v.nullable(User),
  state: v.string(),
  body: v.optional(v.nullable(v.string()), null),
  html_url: v.optional(v.string(), ""),
});
export type Review = v.InferOutput<typeof Review>;

export const ReviewList = v.array(Review);

export const ReviewComment = v.object({
  id: v.number(),
  pull_request_review_id: v.optional(v.nullable(v.number()), null),
  user: v.optional(v.nullable(User), null),
  body: v.optional(v.string(), ""),
  path: v.optional(v.string(), ""),
  line: v.optional(v.nullable(v.number()), null),
});
export type ReviewComment = v.InferOutput<typeof ReviewComment>;

export const ReviewCommentList = v.array(ReviewComment);

export const Reaction = v.object({ id: v.number(), content: v.string() });

/** Error bodies: `{ message, errors: [{ message | code, field }] }`. */
export const ErrorBody = v.object({
  message: v.optional(v.string(), ""),
  errors: v.optional(
    v.array(v.union([v.string(), v.object({ message: v.optional(v.string()), code: v.optional(v.string()), field: v.optional(v.string()) })])),
    [],
  ),
});
