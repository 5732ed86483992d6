// PR monitor: human reviews → reactions once → one instruction; bots/blank ignored; cycle limit once;
// rate limits, 401 and network errors handled without throwing.
import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { GitHub } from "../../src/github/client.ts";
import { pollPullRequests, type MonitorDeps, type PollTask, type ReviewInstruction } from "../../src/github/monitor.ts";
import { listProcessedReviews } from "../../src/github/store.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { createTask, getTask } from "../../src/store/tasks.ts";
import { applyTaskUpdate } from "../../src/store/task-update.ts";
import type { TaskStatus } from "../../src/lifecycle/types.ts";
import { FakeGitHub, makeRepos, PLAN, type Repos, TOKEN } from "./fake-github.ts";

const fake = new FakeGitHub();
afterAll(() => fake.stop());

let repos: Repos;
let db: Db;
let dbPath: string;

const human = { login: "alice", type: "User" };

beforeEach(() => {
  repos = makeRepos();
  dbPath = join(repos.dir, "kasmos.db");
  db = openStore(dbPath);
  createTask(db, { project: "p", name: "feat", branch: "plan/feat", content: PLAN });
  applyTaskUpdate(db, "p", "feat", { status: "done", prUrl: "https://github.com/o/r/pull/1", prNumber: 1, prState: "open" });
  fake.addPr("plan/feat");
  fake.reviews.set(1, [
    { id: 10, user: { login: "copilot-pull-request-reviewer[bot]", type: "Bot" }, state: "COMMENTED", body: "bot says fix" },
    { id: 11, user: { login: "renovate[bot]", type: "User" }, state: "CHANGES_REQUESTED", body: "bump deps" },
    { id: 12, user: human, state: "COMMENTED", body: "   " },
    { id: 13, user: human, state: "APPROVED", body: "ship it" },
    { id: 14, user: human, state: "CHANGES_REQUESTED", body: "Please handle the empty input case." },
  ]);
  fake.comments.set(1, [
    { id: 100, pull_request_review_id: 14, user: human, body: "empty input crashes here", path: "feature.txt", line: 1 },
    { id: 101, pull_request_review_id: 14, user: human, body: "and here", path: "README.md", line: 2 },
    { id: 102, pull_request_review_id: 10, user: { login: "copilot[bot]", type: "Bot" }, body: "nit", path: "README.md", line: 1 },
  ]);
});

afterEach(() => {
  try {
    db.close(false);
  } catch {
    // closed by the test
  }
  repos.cleanup();
  fake.calls.length = 0;
  fake.pulls.length = 0;
  fake.inject.length = 0;
  fake.reviews.clear();
  fake.comments.clear();
  fake.reactions.length = 0;
});

function targets(o: Partial<PollTask> = {}): PollTask[] {
  return [{ task: getTask(db, "p", "feat")!, repo: repos.work, autoReviewFix: true, maxReviewFixCycles: 0, ...o }];
}

function deps(o: Partial<MonitorDeps> = {}): MonitorDeps {
  return { db, github: new GitHub({ apiUrl: fake.url, token: TOKEN }), reactions: ["eyes", "rocket"], ...o };
}

describe("pollPullRequests", () => {
  test("a human review: reactions once on its comments, one fix instruction, nothing on the next poll", async () => {
    const d = deps();
    const r = await pollPullRequests(d, targets());
    expect(r.errors).toEqual([]);
    expect(r.rateLimitedUntil).toBeNull();
    expect(r.instructions).toHaveLength(1);
    expect(r.instructions[0]).toMatchObject({
      kind: "fix",
      project: "p",
      task: "feat",
      prNumber: 1,
      reviewIds: [14],
      authors: ["alice"],
      feedback: "Please handle the empty input case.",
    });
    expect(r.instructions[0]!.comments).toEqual([
      { path: "feature.txt", line: 1, body: "empty input crashes here" },
      { path: "README.md", line: 2, body: "and here" },
    ]);
    expect(r.reactionsPosted).toBe(4);
    expect(fake.reactions).toEqual([
      { commentId: 100, content: "eyes" },
      { commentId: 100, content: "rocket" },
      { commentId: 101, content: "eyes" },
      { commentId: 101, content: "rocket" },
    ]);
    expect(listProcessedReviews(db, "p").map((x) => [x.reviewId, x.outcome])).toEqual([[14, "fix"]]);

    const posts = fake.callsTo("POST", "/reactions").length;
    const again = await pollPullRequests(d, targets());
    expect(again.instructions).toEqual([]);
    expect(fake.callsTo("POST", "/reactions")).toHaveLength(posts);
    expect(fake.callsTo("GET", "/comments")).toHaveLength(1); // no pending review → comments not even listed

    // Restart: a reopened store still knows the review.
    db.close(false);
    db = openStore(dbPath);
    const afterRestart = await pollPullRequests(deps(), targets());
    expect(afterRestart.instructions).toEqual([]);
    expect(fake.callsTo("POST", "/reactions")).toHaveLength(posts);
  });

  test("bot reviews and blank bodies alone produce nothing", async () => {
    fake.reviews.set(1, fake.reviews.get(1)!.filter((r) => r.id !== 14));
    const r = await pollPullRequests(deps(), targets());
    expect(r.instructions).toEqual([]);
    expect(fake.callsTo("POST", "/reactions")).toHaveLength(0);
    expect(listProcessedReviews(db, "p")).toEqual([]);
  });

  test("several new reviews are combined into one instruction", async () => {
    fake.reviews.get(1)!.push({ id: 15, user: { login: "bob", type: "User" }, state: "COMMENTED", body: "Also rename foo." });
    const r = await pollPullRequests(deps(), targets());
    expect(r.instructions).toHaveLength(1);
    expect(r.instructions[0]!.reviewIds).toEqual([14, 15]);
    expect(r.instructions[0]!.feedback).toContain("### Review by @alice (CHANGES_REQUESTED)\n\nPlease handle the empty input case.");
    expect(r.instructions[0]!.feedback).toContain("### Review by @bob (COMMENTED)\n\nAlso rename foo.");
  });

  test("at the fix-cycle cap: one cycle_limit instruction, never repeated", async () => {
    applyTaskUpdate(db, "p", "feat", { reviewCycle: 2 });
    const d = deps();
    const r = await pollPullRequests(d, targets({ maxReviewFixCycles: 2 }));
    expect(r.instructions.map((i) => i.kind)).toEqual(["cycle_limit"]);
    expect(r.instructions[0]).toMatchObject({ reviewCycle: 2, maxReviewFixCycles: 2 });
    expect((await pollPullRequests(d, targets({ maxReviewFixCycles: 2 }))).instructions).toEqual([]);
    expect(listProcessedReviews(db, "p")[0]!.outcome).toBe("cycle_limit");
  });

  test("auto_review_fix off → manual instruction", async () => {
    const r = await pollPullRequests(deps(), targets({ autoReviewFix: false }));
    expect(r.instructions.map((i) => i.kind)).toEqual(["manual"]);
  });

  test("apply runs in the marking transaction; a throwing apply leaves the review for the next poll", async () => {
    const seen: ReviewInstruction[] = [];
    let fail = true;
    const d = deps({
      apply: (i, tx) => {
        applyTaskUpdate(tx, i.project, i.task, { latestFeedback: i.feedback });
        if (fail) throw new Error("fsm refused");
        seen.push(i);
      },
    });
    const r1 = await pollPullRequests(d, targets());
    expect(r1.instructions).toEqual([]);
    expect(r1.errors[0]?.message).toContain("fsm refused");
    expect(getTask(db, "p", "feat")!.latestFeedback).toBe(""); // rolled back
    expect(listProcessedReviews(db, "p")).toEqual([]);
    const posts = fake.callsTo("POST", "/reactions").length;
    expect(posts).toBe(4);

    fail = false;
    const r2 = await pollPullRequests(d, targets());
    expect(r2.instructions).toHaveLength(1);
    expect(seen).toHaveLength(1);
    expect(getTask(db, "p", "feat")!.latestFeedback).toBe("Please handle the empty input case.");
    expect(fake.callsTo("POST", "/reactions")).toHaveLength(posts); // reactions were not posted twice
  });

  test("a failed reaction holds the review back; the next poll posts only the missing ones", async () => {
    fake.inject.push({ method: "POST", path: "/comments/101/reactions", status: 502, body: { message: "Bad Gateway" } });
    const d = deps();
    const r1 = await pollPullRequests(d, targets());
    expect(r1.instructions).toEqual([]);
    expect(r1.errors[0]?.message).toContain("502");
    expect(fake.reactions).toHaveLength(2);
    const r2 = await pollPullRequests(d, targets());
    expect(r2.instructions).toHaveLength(1);
    expect(fake.callsTo("POST", "/reactions")).toHaveLength(5); // 2 ok + 1 failed + 2 retried
    expect(fake.reactions).toHaveLength(4);
  });

  test("rate limit (429 + reset): no calls until the reset, then polling resumes", async () => {
    let now = 10_000_000;
    const reset = Math.floor(now / 1000) + 120;
    fake.inject.push({ method: "GET", path: "/reviews", status: 429, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) }, body: { message: "API rate limit exceeded" } });
    const d = deps({ github: new GitHub({ apiUrl: fake.url, token: TOKEN, now: () => now }), now: () => now });
    const r1 = await pollPullRequests(d, targets());
    expect(r1.rateLimitedUntil).toBe(reset * 1000);
    expect(r1.instructions).toEqual([]);
    const calls = fake.calls.length;

    now += 60_000;
    const r2 = await pollPullRequests(d, targets());
    expect(r2.rateLimitedUntil).toBe(reset * 1000);
    expect(fake.calls.length).toBe(calls);

    now = reset * 1000;
    const r3 = await pollPullRequests(d, targets());
    expect(r3.rateLimitedUntil).toBeNull();
    expect(r3.instructions).toHaveLength(1);
  });

  test("403 with retry-after is a rate limit too", async () => {
    fake.inject.push({ method: "GET", path: "/pulls/1", status: 403, headers: { "retry-after": "30" }, body: { message: "You have exceeded a secondary rate limit" } });
    const now = 1_000_000;
    const r = await pollPullRequests(deps({ github: new GitHub({ apiUrl: fake.url, token: TOKEN, now: () => now }) }), targets());
    expect(r.rateLimitedUntil).toBe(now + 30_000);
  });

  test("401: one warning, paused until a new client (reload); no further calls", async () => {
    const warnings: string[] = [];
    const d = deps({ github: new GitHub({ apiUrl: fake.url, token: "revoked", warn: (m) => warnings.push(m) }) });
    const r1 = await pollPullRequests(d, targets());
    expect(r1.paused).toContain("paused until the daemon config is reloaded");
    const calls = fake.calls.length;
    const r2 = await pollPullRequests(d, targets());
    expect(r2.paused).toBe(r1.paused);
    expect(fake.calls.length).toBe(calls);
    expect(warnings).toHaveLength(1);
  });

  test("no token → the poll is skipped with a reason", async () => {
    const r = await pollPullRequests(deps({ github: new GitHub({ apiUrl: fake.url, env: { PATH: "/nonexistent" } }) }), targets());
    expect(r.skipped).toContain("GH_TOKEN");
    expect(fake.calls).toHaveLength(0);
  });

  test("network errors are reported and retried next poll, never thrown", async () => {
    const dead = new FakeGitHub();
    const url = dead.url;
    dead.stop();
    const r = await pollPullRequests(deps({ github: new GitHub({ apiUrl: url, token: TOKEN }) }), targets());
    expect(r.instructions).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.rateLimitedUntil).toBeNull();
    expect(listProcessedReviews(db, "p")).toEqual([]);
  });

  test("only done/reviewing/verifying tasks with an open PR are polled; a closed PR is recorded", async () => {
    for (const status of ["implementing", "ready", "cancelled"] as TaskStatus[]) {
      applyTaskUpdate(db, "p", "feat", { status });
      await pollPullRequests(deps(), targets());
    }
    expect(fake.calls).toHaveLength(0);
    applyTaskUpdate(db, "p", "feat", { status: "reviewing" });
    fake.pulls[0]!.state = "closed";
    fake.pulls[0]!.merged_at = "2026-01-01T00:00:00Z";
    const r = await pollPullRequests(deps(), targets());
    expect(r.closed).toEqual([{ project: "p", task: "feat", prState: "merged" }]);
    expect(getTask(db, "p", "feat")!.prState).toBe("merged");
    expect(fake.callsTo("GET", "/reviews")).toHaveLength(0);
    const calls = fake.calls.length;
    await pollPullRequests(deps(), targets());
    expect(fake.calls.length).toBe(calls);
  });

  test("a task whose repo has no usable origin reports an error", async () => {
    const r = await pollPullRequests(deps(), targets({ repo: join(repos.dir, "nope") }));
    expect(r.errors[0]?.message).toContain("no origin remote");
  });
});
