// Pure parts of the GitHub integration: remote URLs, rate-limit headers, bot detection, backoff, PR body.
import { describe, expect, test } from "bun:test";
import { rateLimitDeadline } from "../../src/github/client.ts";
import { isBot, qualifies } from "../../src/github/monitor.ts";
import { buildPrBody, nextRetryAt, shouldRetry, PR_MAX_ATTEMPTS } from "../../src/github/pr.ts";
import { parseRemoteUrl } from "../../src/github/remote.ts";
import type { TaskRow } from "../../src/store/tasks.ts";
import { PLAN } from "./fake-github.ts";

describe("parseRemoteUrl", () => {
  test("https, ssh, scp-like, Enterprise hosts", () => {
    const cases: [string, string, string, string][] = [
      ["https://github.com/o/r", "github.com", "o", "r"],
      ["https://github.com/o/r.git", "github.com", "o", "r"],
      ["https://github.com/o/r/", "github.com", "o", "r"],
      ["https://x-access-token:abc@github.com/owner-1/my.repo.git", "github.com", "owner-1", "my.repo"],
      ["git@github.com:o/r.git", "github.com", "o", "r"],
      ["git@github.com:o/r", "github.com", "o", "r"],
      ["ssh://git@github.com/o/r.git", "github.com", "o", "r"],
      ["ssh://git@ghe.corp.example:2222/team/svc.git", "ghe.corp.example", "team", "svc"],
      ["https://GHE.example.com/team/svc", "ghe.example.com", "team", "svc"],
    ];
    for (const [url, host, owner, repo] of cases) expect(parseRemoteUrl(url)).toEqual({ host, owner, repo });
  });

  test("rejects local paths, files and odd shapes", () => {
    for (const url of ["", "/srv/git/r.git", "../r", "file:///srv/git/o/r.git", "https://github.com/o", "https://github.com/o/r/pulls", "git@github.com:o"]) {
      expect(parseRemoteUrl(url)).toBeNull();
    }
  });
});

describe("rateLimitDeadline", () => {
  const h = (o: Record<string, string>) => new Headers(o);
  test("x-ratelimit-remaining 0 + reset, retry-after, bare 429", () => {
    expect(rateLimitDeadline(403, h({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "2000" }), "", 1_000_000)).toBe(2_000_000);
    expect(rateLimitDeadline(429, h({ "retry-after": "30" }), "", 1_000_000)).toBe(1_030_000);
    expect(rateLimitDeadline(403, h({ "retry-after": "5" }), "secondary rate limit", 0)).toBe(5000);
    expect(rateLimitDeadline(429, h({}), "", 0)).toBe(60_000);
    expect(rateLimitDeadline(403, h({}), "You have exceeded a secondary rate limit", 0)).toBe(60_000);
  });
  test("a plain 403 or other status is not a rate limit", () => {
    expect(rateLimitDeadline(403, h({ "x-ratelimit-remaining": "12", "x-ratelimit-reset": "2000" }), "Resource not accessible", 0)).toBeNull();
    expect(rateLimitDeadline(500, h({ "retry-after": "5" }), "", 0)).toBeNull();
  });
});

describe("reviews", () => {
  test("bots and blank bodies never qualify", () => {
    const human = { login: "alice", type: "User" };
    expect(qualifies({ id: 1, user: human, state: "CHANGES_REQUESTED", body: "fix x", html_url: "" })).toBe(true);
    expect(qualifies({ id: 1, user: human, state: "commented", body: "fix x", html_url: "" })).toBe(true);
    expect(qualifies({ id: 1, user: human, state: "APPROVED", body: "ok", html_url: "" })).toBe(false);
    expect(qualifies({ id: 1, user: human, state: "COMMENTED", body: "  \n", html_url: "" })).toBe(false);
    expect(qualifies({ id: 1, user: human, state: "COMMENTED", body: null, html_url: "" })).toBe(false);
    expect(isBot({ login: "copilot", type: "Bot" })).toBe(true);
    expect(isBot({ login: "renovate[bot]", type: "User" })).toBe(true);
    expect(isBot({ login: "ci-bot", type: "User" })).toBe(true);
    expect(isBot({ login: "Dependabot", type: "User" })).toBe(true);
    expect(isBot(null)).toBe(true);
    expect(isBot(human)).toBe(false);
  });
});

describe("backoff", () => {
  test("nextRetryAt: 30 s base, doubling, capped at 30 min", () => {
    expect(nextRetryAt(1, 0)).toBe(30_000);
    expect(nextRetryAt(2, 0)).toBe(60_000);
    expect(nextRetryAt(3, 0)).toBe(120_000);
    expect(nextRetryAt(4, 1000)).toBe(241_000);
    expect(nextRetryAt(6, 0)).toBe(960_000);
    expect(nextRetryAt(7, 0)).toBe(1_800_000);
    expect(nextRetryAt(100, 0)).toBe(1_800_000);
    expect(nextRetryAt(0, 0)).toBe(30_000);
  });

  test("shouldRetry: failed only, below 5 attempts", () => {
    expect(PR_MAX_ATTEMPTS).toBe(5);
    expect(shouldRetry("failed", 1)).toBe(true);
    expect(shouldRetry("failed", 4)).toBe(true);
    expect(shouldRetry("failed", 5)).toBe(false);
    for (const s of ["blocked", "skipped", "stale", "created", "adopted", ""]) expect(shouldRetry(s, 1)).toBe(false);
  });
});

describe("buildPrBody", () => {
  const task = {
    name: "feat",
    status: "done",
    content: PLAN,
    reviewCycle: 1,
    verifyCycle: 1,
    latestFeedback: "looks good",
    verification: { sha: "a".repeat(40), baseSha: "", by: "master", at: "2026-01-01T00:00:00.000Z", origin: "master" },
  } as unknown as TaskRow;

  test("plan tasks, review summary, commits, changed files", () => {
    const body = buildPrBody({ task, subtasks: [], base: "main", commits: ["abc1234 add feature"], files: ["A\tfeature.txt"] });
    expect(body).toContain("**Goal:** Add the feature");
    expect(body).toContain("**Wave 1: Build**");
    expect(body).toContain("- [x] Task 1: Write feature file");
    expect(body).toContain("Review cycles: 1; verify cycles: 1");
    expect(body).toContain("Verified aaaaaaa by master (master)");
    expect(body).toContain("looks good");
    expect(body).toContain("## Commits (1, against `main`)");
    expect(body).toContain("abc1234 add feature");
    expect(body).toContain("A\tfeature.txt");
  });

  test("no plan falls back to subtasks; huge lists are cut", () => {
    const t = { ...task, content: "just text", status: "done" } as TaskRow;
    const files = Array.from({ length: 400 }, (_, i) => `M\tf${i}`);
    const body = buildPrBody({ task: t, subtasks: [{ number: 1, title: "one", status: "complete", wave: 1 }], base: "main", commits: [], files });
    expect(body).toContain("- [x] Task 1: one");
    expect(body).toContain("… and 100 more");
  });
});
