// PR creation on done: push, create exactly once, adopt, stale SHA, failures and backoff.
import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { GitHub } from "../../src/github/client.ts";
import { ensurePullRequest, prRetriesDue, shouldRetry, type PrDeps } from "../../src/github/pr.ts";
import { getPrRun } from "../../src/github/store.ts";
import { NO_TOKEN_REASON } from "../../src/github/token.ts";
import { getAttention } from "../../src/store/agents.ts";
import { listAudit } from "../../src/store/audit.ts";
import { type Db, openStore } from "../../src/store/db.ts";
import { createTask, getTask } from "../../src/store/tasks.ts";
import { applyTaskUpdate } from "../../src/store/task-update.ts";
import { FakeGitHub, git, makeRepos, PLAN, type Repos, TOKEN } from "./fake-github.ts";

const fake = new FakeGitHub();
afterAll(() => fake.stop());

let repos: Repos;
let db: Db;

function seedTask(d: Db, sha: string): void {
  createTask(d, { project: "p", name: "feat", branch: "plan/feat", content: PLAN, description: "Add the feature" });
  applyTaskUpdate(d, "p", "feat", { status: "done", latestFeedback: "LGTM, nice work", verification: { sha, baseSha: "", by: "master", origin: "master" } });
}

function gh(opts: ConstructorParameters<typeof GitHub>[0] = {}): GitHub {
  return new GitHub({ apiUrl: fake.url, token: TOKEN, ...opts });
}

beforeEach(() => {
  repos = makeRepos();
  fake.branchSha = (b) => {
    try {
      return git(repos.bare, "rev-parse", `refs/heads/${b}`);
    } catch {
      return "0".repeat(40);
    }
  };
  db = openStore(join(repos.dir, "kasmos.db"));
  seedTask(db, repos.head);
});

afterEach(() => {
  db.close(false);
  repos.cleanup();
  fake.calls.length = 0;
  fake.pulls.length = 0;
  fake.inject.length = 0;
});

const req = () => ({ project: "p", task: "feat", repo: repos.work, autoCreatePr: true, trigger: "done" as const });

describe("ensurePullRequest", () => {
  test("pushes the verified head and creates the PR exactly once", async () => {
    const deps: PrDeps = { db, github: gh() };
    const out = await ensurePullRequest(deps, req());
    expect(out).toMatchObject({ state: "created", reason: "", number: 1, url: "https://github.com/o/r/pull/1", attempts: 1 });
    expect(git(repos.bare, "rev-parse", "refs/heads/plan/feat")).toBe(repos.head);

    const posts = fake.callsTo("POST", /\/pulls$/);
    expect(posts).toHaveLength(1);
    const body = posts[0]!.body as { title: string; head: string; base: string; body: string };
    expect(body).toMatchObject({ title: "Add the feature", head: "plan/feat", base: "main" });
    expect(body.body).toContain("Task 1: Write feature file");
    expect(body.body).toContain("Task 2: Update the readme");
    expect(body.body).toContain("LGTM, nice work");
    expect(body.body).toContain(`Verified ${repos.head.slice(0, 7)} by master`);
    expect(body.body).toContain("add feature");
    expect(body.body).toContain("update readme");
    expect(body.body).toContain("A\tfeature.txt");
    expect(body.body).toContain("M\tREADME.md");
    expect(fake.callsTo("GET", "/pulls").find((c) => c.path.endsWith("/pulls"))?.query).toMatchObject({ head: "o:plan/feat", state: "open" });

    const t = getTask(db, "p", "feat")!;
    expect(t).toMatchObject({ prUrl: "https://github.com/o/r/pull/1", prNumber: 1, prState: "open", prCreateState: "created", prCreateError: "", prCreateAttempts: 1 });
    expect(listAudit(db, { kinds: ["pr_created"] })).toHaveLength(1);
    expect(listAudit(db, { kinds: ["git_push"] })).toHaveLength(1);

    // Second call (and two concurrent ones): nothing new.
    const calls = fake.calls.length;
    const again = await Promise.all([ensurePullRequest(deps, req()), ensurePullRequest(deps, req())]);
    for (const a of again) expect(a).toMatchObject({ state: "created", alreadyRecorded: true, number: 1 });
    expect(fake.calls.length).toBe(calls);
    expect(fake.pulls).toHaveLength(1);
  });

  test("concurrent first calls share one attempt", async () => {
    const deps: PrDeps = { db, github: gh() };
    const [a, b] = await Promise.all([ensurePullRequest(deps, req()), ensurePullRequest(deps, req())]);
    expect(a).toEqual(b);
    expect(fake.callsTo("POST", /\/pulls$/)).toHaveLength(1);
    expect(fake.pulls).toHaveLength(1);
  });

  test("restart: a reopened store knows the PR; a lost store adopts it (no duplicate)", async () => {
    await ensurePullRequest({ db, github: gh() }, req());
    const path = join(repos.dir, "kasmos.db");
    db.close(false);
    db = openStore(path);
    const calls = fake.calls.length;
    expect(await ensurePullRequest({ db, github: gh() }, req())).toMatchObject({ state: "created", alreadyRecorded: true });
    expect(fake.calls.length).toBe(calls);

    // A fresh store (state lost after GitHub created the PR): adopt, never create a second one.
    const fresh = openStore(join(repos.dir, "fresh.db"));
    try {
      seedTask(fresh, repos.head);
      const out = await ensurePullRequest({ db: fresh, github: gh() }, req());
      expect(out).toMatchObject({ state: "adopted", number: 1, url: "https://github.com/o/r/pull/1" });
      expect(fake.callsTo("POST", /\/pulls$/)).toHaveLength(1);
      expect(fake.pulls).toHaveLength(1);
      expect(getTask(fresh, "p", "feat")).toMatchObject({ prNumber: 1, prCreateState: "adopted" });
    } finally {
      fresh.close(false);
    }
  });

  test("adopts an open PR that already exists for the branch", async () => {
    fake.addPr("plan/feat", { title: "by a human" });
    fake.addPr("other-branch");
    const out = await ensurePullRequest({ db, github: gh() }, req());
    expect(out).toMatchObject({ state: "adopted", number: 1 });
    expect(fake.callsTo("POST", /\/pulls$/)).toHaveLength(0);
    expect(getTask(db, "p", "feat")).toMatchObject({ prUrl: "https://github.com/o/r/pull/1", prNumber: 1, prCreateState: "adopted" });
  });

  test("a create that loses the race (422 already exists) adopts", async () => {
    // Our query sees no PR; by the time we create, someone else has opened one.
    fake.inject.push({ method: "GET", path: "/pulls", status: 200, body: [] });
    fake.addPr("plan/feat");
    const out = await ensurePullRequest({ db, github: gh() }, req());
    expect(out).toMatchObject({ state: "adopted", number: 1 });
    expect(fake.callsTo("POST", /\/pulls$/)).toHaveLength(1);
    expect(fake.pulls).toHaveLength(1);
  });

  test("verified SHA ≠ branch head → stale, nothing pushed or created", async () => {
    const older = git(repos.work, "rev-parse", "plan/feat~1");
    applyTaskUpdate(db, "p", "feat", { verification: { sha: older, baseSha: "", by: "master", origin: "master" } });
    const out = await ensurePullRequest({ db, github: gh() }, req());
    expect(out.state).toBe("stale");
    expect(out.reason).toBe(`head_changed_after_verification: verified ${older.slice(0, 7)}, head is now ${repos.head.slice(0, 7)}`);
    expect(fake.calls).toHaveLength(0);
    expect(() => git(repos.bare, "rev-parse", "--verify", "refs/heads/plan/feat")).toThrow();
    expect(getTask(db, "p", "feat")).toMatchObject({ prCreateState: "stale", prCreateError: out.reason, prUrl: "" });
    expect(shouldRetry("stale", 1)).toBe(false);

    applyTaskUpdate(db, "p", "feat", { verification: null });
    expect((await ensurePullRequest({ db, github: gh() }, req())).state).toBe("stale");
  });

  test("missing token → skipped with a clear reason, no calls", async () => {
    const github = new GitHub({ apiUrl: fake.url, env: { PATH: "/nonexistent" }, ghBin: "gh" });
    const out = await ensurePullRequest({ db, github }, req());
    expect(out).toMatchObject({ state: "skipped", reason: NO_TOKEN_REASON });
    expect(out.reason).toContain("GH_TOKEN");
    expect(fake.calls).toHaveLength(0);
    expect(getTask(db, "p", "feat")).toMatchObject({ prCreateState: "skipped", prCreateError: NO_TOKEN_REASON });
  });

  test("token from GITHUB_TOKEN in the environment", async () => {
    const github = new GitHub({ apiUrl: fake.url, env: { GITHUB_TOKEN: TOKEN, PATH: "/nonexistent" } });
    expect((await ensurePullRequest({ db, github }, req())).state).toBe("created");
  });

  test("auto_create_pr off → skipped (manual trigger still creates); no origin → skipped", async () => {
    expect(await ensurePullRequest({ db, github: gh() }, { ...req(), autoCreatePr: false })).toMatchObject({
      state: "skipped",
      reason: "auto_create_pr is disabled by config",
    });
    expect(fake.calls).toHaveLength(0);
    // Not expected (auto_create_pr off): an audit row only, no attention item.
    expect(listAudit(db, { kinds: ["pr_skipped"] }).map((r) => [r.level, r.message])).toEqual([["info", "PR skipped: auto_create_pr is disabled by config"]]);
    expect(getAttention(db, "p", "feat")).toBe("");
    git(repos.work, "remote", "remove", "origin");
    const out = await ensurePullRequest({ db, github: gh() }, req());
    expect(out.state).toBe("skipped");
    expect(out.reason).toContain("no origin remote");
    // Expected: said where the user looks (attention: task show, daemon status; audit: the event stream).
    expect(getAttention(db, "p", "feat")).toContain("PR skipped: no origin remote in");
    expect(getAttention(db, "p", "feat")).toContain("remote add origin <url>");
    expect(listAudit(db, { kinds: ["pr_skipped"] }).some((r) => r.level === "warn" && r.message.includes("no origin remote"))).toBe(true);
    git(repos.work, "remote", "add", "origin", "https://github.com/o/r.git");
    expect((await ensurePullRequest({ db, github: gh() }, { ...req(), autoCreatePr: false, trigger: "manual" })).state).toBe("created");
  });

  test("a rejected push is blocked with the reason", async () => {
    // Someone else pushed a different plan/feat to origin.
    git(repos.work, "push", "-q", "origin", "main:refs/heads/plan/feat");
    git(repos.work, "checkout", "-q", "-b", "diverged", "main");
    git(repos.work, "commit", "-q", "--allow-empty", "-m", "other");
    git(repos.work, "push", "-q", "-f", "origin", "diverged:refs/heads/plan/feat");
    git(repos.work, "checkout", "-q", "main");
    const out = await ensurePullRequest({ db, github: gh() }, req());
    expect(out.state).toBe("blocked");
    expect(out.reason).toMatch(/git push origin plan\/feat failed: .*rejected/);
    expect(fake.callsTo("POST", /\/pulls$/)).toHaveLength(0);
    expect(getTask(db, "p", "feat")!.prCreateState).toBe("blocked");
  });

  test("5xx → failed with backoff; the retry sweep picks it up and counts attempts", async () => {
    let now = 1_000_000;
    fake.inject.push({ method: "POST", path: "/pulls", status: 502, body: { message: "Bad Gateway" }, times: 2 });
    const deps: PrDeps = { db, github: gh({ now: () => now }), now: () => now };
    const out = await ensurePullRequest(deps, req());
    expect(out).toMatchObject({ state: "failed", attempts: 1, retryAt: now + 30_000 });
    expect(out.reason).toContain("502 Bad Gateway");
    expect(getPrRun(db, "p", "feat")?.nextRetryAt).toBe(new Date(now + 30_000).toISOString());
    expect(prRetriesDue(db, now + 29_999)).toHaveLength(0);
    expect(prRetriesDue(db, now + 30_000).map((t) => t.name)).toEqual(["feat"]);

    now += 30_000;
    const second = await ensurePullRequest(deps, { ...req(), trigger: "retry" });
    expect(second).toMatchObject({ state: "failed", attempts: 2, retryAt: now + 60_000 });
    now += 60_000;
    const third = await ensurePullRequest(deps, { ...req(), trigger: "retry" });
    expect(third).toMatchObject({ state: "created", attempts: 3 });
    expect(prRetriesDue(db, now + 10_000_000)).toHaveLength(0);
    expect(listAudit(db, { kinds: ["pr_failed"] })).toHaveLength(2);
  });

  test("network error → failed (retryable)", async () => {
    const dead = new FakeGitHub();
    const url = dead.url;
    dead.stop();
    const out = await ensurePullRequest({ db, github: new GitHub({ apiUrl: url, token: TOKEN }) }, req());
    expect(out.state).toBe("failed");
    expect(out.retryAt).not.toBeNull();
  });

  test("422 validation, 403 and 401 → blocked; 401 pauses the client with one warning", async () => {
    fake.inject.push({ method: "POST", path: "/pulls", status: 422, body: { message: "Validation Failed", errors: [{ message: "No commits between main and plan/feat" }] } });
    let out = await ensurePullRequest({ db, github: gh() }, req());
    expect(out).toMatchObject({ state: "blocked" });
    expect(out.reason).toContain("No commits between main and plan/feat");
    expect(out.retryAt).toBeUndefined();

    fake.inject.push({ method: "GET", path: "/repos/o/r", status: 403, body: { message: "Resource not accessible by integration" } });
    out = await ensurePullRequest({ db, github: gh() }, req());
    expect(out.state).toBe("blocked");
    expect(out.reason).toContain("Resource not accessible");

    const warnings: string[] = [];
    const bad = new GitHub({ apiUrl: fake.url, token: "wrong", warn: (m) => warnings.push(m) });
    out = await ensurePullRequest({ db, github: bad }, req());
    expect(out.state).toBe("blocked");
    expect(out.reason).toContain("paused until the daemon config is reloaded");
    const calls = fake.calls.length;
    out = await ensurePullRequest({ db, github: bad }, req());
    expect(out.state).toBe("blocked");
    expect(fake.calls.length).toBe(calls);
    expect(warnings).toHaveLength(1);
    expect(bad.paused).toContain("401");
  });

  test("rate limit → failed, retry no earlier than the reset; no calls meanwhile", async () => {
    let now = 5_000_000;
    const reset = Math.floor(now / 1000) + 3600;
    fake.inject.push({ method: "GET", path: "/repos/o/r", status: 403, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) }, body: { message: "API rate limit exceeded" } });
    const github = gh({ now: () => now });
    const out = await ensurePullRequest({ db, github, now: () => now }, req());
    expect(out).toMatchObject({ state: "failed", rateLimitedUntil: reset * 1000, retryAt: reset * 1000 });
    const calls = fake.calls.length;
    const again = await ensurePullRequest({ db, github, now: () => now }, { ...req(), trigger: "retry" });
    expect(again.state).toBe("failed");
    expect(fake.calls.length).toBe(calls);
    now = reset * 1000 + 1;
    expect((await ensurePullRequest({ db, github, now: () => now }, { ...req(), trigger: "retry" })).state).toBe("created");
  });
});
