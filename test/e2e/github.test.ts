// GitHub end to end: the compiled daemon, fake agents, a loopback fake GitHub and a bare origin.
// Done → branch pushed and PR created once; a human review → reaction once → fixer → review → done
// → the PR's branch is updated (no second PR).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeGitHub, git, makeRepos, type Repos, TOKEN } from "../github/fake-github.ts";
import { ROOT, Sandbox, waitFor } from "../helpers/env.ts";
import { basename } from "node:path";
import { mkdirSync } from "node:fs";
import { openStore, writeTx } from "../../src/store/db.ts";
import { createTask } from "../../src/store/tasks.ts";
import { writeTaskUpdate } from "../../src/store/task-update.ts";

const FAKE = join(ROOT, "test", "fixtures", "fake-agent.sh");
const PLAN = "## Wave 1: a\n### Task 1: write\nwrite it\n";

let sb: Sandbox;
let gh: FakeGitHub;
let repos: Repos;
beforeEach(() => {
  sb = new Sandbox();
  gh = new FakeGitHub();
  repos = makeRepos("plan/feat");
});
afterEach(async () => {
  await sb.cleanup();
  gh.stop();
  repos.cleanup();
});

function task(s: Sandbox): Record<string, unknown> {
  const db = new Database(join(s.configDir, "kasmos.db"), { readonly: true });
  try {
    return db.query("SELECT * FROM tasks WHERE name = 'feat'").get() as Record<string, unknown>;
  } finally {
    db.close();
  }
}

/** Task feat created and taken to done (verified) through the CLI, with no daemon running; the fake GitHub follows the bare origin. */
async function doneFromCli(): Promise<void> {
  gh.branchSha = (b) => git(repos.bare, "rev-parse", b);
  writeFileSync(join(sb.dir, "plan.md"), PLAN);
  const cli = async (...args: string[]) => {
    const r = await sb.run(args, { cwd: repos.work });
    if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  };
  await cli("task", "create", "feat", "--plan", join(sb.dir, "plan.md"));
  for (const ev of ["implement_start", "implement_finished", "review_approved", "verify_approved"]) await cli("task", "transition", "feat", ev);
}

describe("github", () => {
  test("PR on done, human review → reaction once → fixer → done again → PR branch updated, no second PR", async () => {
    sb.writeConfig(
      [
        "poll_interval_sec = 0.2",
        "auto_readiness_review = false",
        `default_program = "env FAKE_REVIEW_ROUNDS=0 ${FAKE}"`,
        "[github]",
        `api_url = "${gh.url}"`,
        "[pr_monitor]",
        "enabled = true",
        "poll_interval_sec = 0.3",
        'reactions = ["eyes", "+1"]',
      ].join("\n"),
    );
    gh.branchSha = (b) => git(repos.bare, "rev-parse", b);
    const daemon = await sb.foreground([], { GH_TOKEN: TOKEN });
    expect((await sb.run(["daemon", "add", repos.work])).code).toBe(0);
    writeFileSync(join(sb.dir, "plan.md"), PLAN);
    expect((await sb.run(["task", "create", "feat", "--plan", join(sb.dir, "plan.md")], { cwd: repos.work })).code).toBe(0);
    expect((await sb.run(["task", "transition", "feat", "implement_start"], { cwd: repos.work })).code).toBe(0);

    await waitFor(() => task(sb).pr_url !== "", 60_000, "the PR to be created");
    expect(task(sb).status).toBe("done");
    expect(task(sb).pr_create_state).toBe("created");
    expect(gh.pulls).toHaveLength(1);
    const pr = gh.pulls[0]!;
    expect(pr.head.ref).toBe("plan/feat");
    expect(git(repos.bare, "rev-parse", "plan/feat")).toBe(String(task(sb).verified_sha)); // pushed = verified
    expect(pr.body).toContain("write");

    // A human asks for changes; a bot's review is ignored.
    gh.reviews.set(pr.number, [
      { id: 11, user: { login: "ci-bot[bot]", type: "Bot" }, state: "COMMENTED", body: "coverage 90%" },
      { id: 12, user: { login: "alice", type: "User" }, state: "CHANGES_REQUESTED", body: "please rename the file" },
    ]);
    gh.comments.set(pr.number, [{ id: 501, pull_request_review_id: 12, user: { login: "alice", type: "User" }, body: "here", path: "all.txt", line: 1 }]);

    await waitFor(() => gh.reactions.length === 2, 30_000, "reactions on alice's comment");
    expect(gh.reactions.map((r) => `${r.commentId}:${r.content}`).sort()).toEqual(["501:+1", "501:eyes"]);
    // The fixer round runs and the task is done again with a new verified head, pushed to the PR branch.
    await waitFor(() => task(sb).status === "done" && Number(task(sb).review_cycle) === 1, 60_000, "the fixer round to finish");
    await waitFor(() => git(repos.bare, "rev-parse", "plan/feat") === String(task(sb).verified_sha), 20_000, "the PR branch to be updated");
    expect(String(task(sb).latest_feedback)).toContain("please rename the file");
    await Bun.sleep(1000); // more polls: nothing is repeated
    expect(gh.reactions).toHaveLength(2);
    expect(gh.pulls).toHaveLength(1);
    expect(gh.calls.filter((c) => c.method === "POST" && c.path.endsWith("/pulls"))).toHaveLength(1);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 120_000);

  test("the monitor is off until a reload enables it; without a token the PR is skipped with the reason", async () => {
    const base = ["poll_interval_sec = 0.2", "auto_readiness_review = false", `default_program = "env FAKE_REVIEW_ROUNDS=0 ${FAKE}"`, "[github]", `api_url = "${gh.url}"`];
    sb.writeConfig([...base, "[pr_monitor]", "enabled = false"].join("\n"));
    gh.branchSha = (b) => git(repos.bare, "rev-parse", b);
    const daemon = await sb.foreground([], { GH_TOKEN: TOKEN });
    await sb.run(["daemon", "add", repos.work]);
    writeFileSync(join(sb.dir, "plan.md"), PLAN);
    await sb.run(["task", "create", "feat", "--plan", join(sb.dir, "plan.md")], { cwd: repos.work });
    await sb.run(["task", "transition", "feat", "implement_start"], { cwd: repos.work });
    await waitFor(() => task(sb).pr_url !== "", 60_000, "the PR");
    const pr = gh.pulls[0]!;
    gh.reviews.set(pr.number, [{ id: 7, user: { login: "bob", type: "User" }, state: "COMMENTED", body: "one more thing" }]);
    gh.comments.set(pr.number, [{ id: 70, pull_request_review_id: 7, user: { login: "bob", type: "User" }, body: "x", path: "all.txt", line: 1 }]);
    await Bun.sleep(1200);
    expect(gh.reactions).toHaveLength(0); // disabled: never polled
    expect(gh.calls.some((c) => c.path.endsWith("/reviews"))).toBe(false);
    sb.writeConfig([...base, "[pr_monitor]", "enabled = true", "poll_interval_sec = 0.3"].join("\n"));
    expect((await sb.run(["daemon", "reload"])).code).toBe(0);
    await waitFor(() => gh.reactions.length === 1, 20_000, "the reaction after reload");
    expect(gh.reactions[0]).toEqual({ commentId: 70, content: "eyes" });
    daemon.kill("SIGTERM");
    await daemon.exited;

    // A second daemon without any token: the next verified task's PR is skipped, with the reason.
    const other = makeRepos("plan/two");
    try {
      const d2 = await sb.foreground([], { GH_TOKEN: "", GITHUB_TOKEN: "" });
      await sb.run(["daemon", "add", other.work]);
      await sb.run(["task", "create", "two", "--plan", join(sb.dir, "plan.md")], { cwd: other.work });
      await sb.run(["task", "transition", "two", "implement_start"], { cwd: other.work });
      const two = () => {
        const db = new Database(join(sb.configDir, "kasmos.db"), { readonly: true });
        try {
          return db.query("SELECT * FROM tasks WHERE name = 'two'").get() as Record<string, unknown>;
        } finally {
          db.close();
        }
      };
      await waitFor(() => two().pr_create_state !== "", 60_000, "a PR outcome for two");
      expect(two().pr_create_state).toBe("skipped");
      expect(String(two().pr_create_error)).toContain("no GitHub token");
      // Said where the user looks: task show (pr line and attention) and daemon status.
      const show = await sb.run(["task", "show", "two"], { cwd: other.work });
      expect(show.stdout).toMatch(/pr: +skipped: .*no GitHub token/);
      expect(show.stdout).toMatch(/ATTENTION: +PR skipped: .*no GitHub token/);
      expect((await sb.run(["daemon", "status"])).stdout).toContain("! two: PR skipped:");
      d2.kill("SIGTERM");
      await d2.exited;
    } finally {
      other.cleanup();
    }
  }, 150_000);

  test("branch moved after verification → FSM verification_stale (done → verifying), a fresh master verifies the new head, then the PR", async () => {
    // Everything up to done happens through the CLI with no daemon running, so the daemon's first PR
    // attempt (its sweep of verified done tasks) is the one that finds the moved branch.
    sb.writeConfig(
      [
        "poll_interval_sec = 0.2",
        "auto_readiness_review = true",
        `default_program = "env FAKE_REVIEW_ROUNDS=0 ${FAKE}"`,
        `repos = ["${repos.work}"]`,
        "[github]",
        `api_url = "${gh.url}"`,
      ].join("\n"),
    );
    await doneFromCli();
    expect(task(sb)).toMatchObject({ status: "done", verified_sha: repos.head });
    // Someone pushes one more commit to the task branch after the verification.
    git(repos.work, "checkout", "-q", "plan/feat");
    writeFileSync(join(repos.work, "late.txt"), "late\n");
    git(repos.work, "add", ".");
    git(repos.work, "commit", "-q", "-m", "late change");
    const moved = git(repos.work, "rev-parse", "HEAD");
    git(repos.work, "checkout", "-q", "main");

    const daemon = await sb.foreground([], { GH_TOKEN: TOKEN });
    await waitFor(() => task(sb).pr_url !== "", 60_000, "the PR after re-verification");
    expect(task(sb)).toMatchObject({ status: "done", verified_sha: moved, pr_create_state: "created", attention: "" });
    expect(git(repos.bare, "rev-parse", "plan/feat")).toBe(moved); // what was pushed is what was verified
    expect(gh.pulls).toHaveLength(1);
    const moves = sb.query<{ from_status: string; to_status: string; event: string }>("SELECT from_status, to_status, event FROM audit_events WHERE kind = 'plan_transition' AND task = 'feat' ORDER BY id");
    expect(moves.slice(-2)).toEqual([
      { from_status: "done", to_status: "verifying", event: "verification_stale" },
      { from_status: "verifying", to_status: "done", event: "verify_approved" },
    ]);
    const why = sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'attention' AND task = 'feat'");
    expect(why.map((r) => r.message)).toEqual([`verification went stale before the PR: head_changed_after_verification: verified ${repos.head.slice(0, 7)}, head is now ${moved.slice(0, 7)}`]);
    expect(sb.query<{ role: string }>("SELECT role FROM agents WHERE task = 'feat'").map((r) => r.role)).toEqual(["master"]);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 90_000);

  test("a long finished history: the sweep opens the one PR still owed and touches none of 500 done tasks with merged PRs", async () => {
    const project = basename(repos.work);
    mkdirSync(sb.configDir, { recursive: true });
    const db = openStore(join(sb.configDir, "kasmos.db"));
    writeTx(db, () => {
      for (let i = 0; i < 500; i++) {
        createTask(db, { project, name: `old${i}`, content: PLAN });
        writeTaskUpdate(db, project, `old${i}`, { branch: `plan/old${i}`, status: "done", verification: { sha: repos.head, baseSha: repos.head, by: "master", origin: "master" }, prUrl: `https://github.com/o/r/pull/${1000 + i}`, prNumber: 1000 + i, prState: "merged", prCreateState: "created" });
      }
    });
    db.close();
    sb.writeConfig(["poll_interval_sec = 0.2", `repos = ["${repos.work}"]`, "[github]", `api_url = "${gh.url}"`].join("\n"));
    // Done and verified with no daemon running: the daemon's sweep is what opens its PR.
    await doneFromCli();
    const daemon = await sb.foreground([], { GH_TOKEN: TOKEN });
    await waitFor(() => task(sb).pr_url !== "", 30_000, "the owed PR");
    // Several sweeps later (every 10th pass), still one PR and no GitHub call about any old task.
    await Bun.sleep(5000);
    expect(gh.pulls).toHaveLength(1);
    expect(gh.calls.filter((c) => /old\d/.test(`${c.path} ${JSON.stringify(c.query)} ${JSON.stringify(c.body)}`))).toEqual([]);
    expect(sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_events WHERE task LIKE 'old%'")[0]!.n).toBe(0);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 90_000);

  test("many PRs owed at once: every one opened, at most 4 GitHub conversations at a time", async () => {
    const project = basename(repos.work);
    const names = Array.from({ length: 10 }, (_, i) => `owed${i}`);
    for (const n of names) git(repos.work, "branch", `plan/${n}`, "plan/feat");
    mkdirSync(sb.configDir, { recursive: true });
    const db = openStore(join(sb.configDir, "kasmos.db"));
    writeTx(db, () => {
      for (const n of names) {
        createTask(db, { project, name: n, content: PLAN });
        writeTaskUpdate(db, project, n, { branch: `plan/${n}`, status: "done", verification: { sha: repos.head, baseSha: repos.head, by: "master", origin: "master" } });
      }
    });
    db.close();
    sb.writeConfig(["poll_interval_sec = 0.2", `repos = ["${repos.work}"]`, "[github]", `api_url = "${gh.url}"`].join("\n"));
    gh.branchSha = (b) => git(repos.bare, "rev-parse", b);
    gh.delayMs = 100;
    const daemon = await sb.foreground([], { GH_TOKEN: TOKEN });
    await waitFor(() => gh.pulls.length === names.length, 60_000, "every owed PR");
    expect(gh.pulls.map((p) => p.head.ref).sort()).toEqual(names.map((n) => `plan/${n}`).sort());
    expect(gh.maxInFlight).toBeGreaterThan(1);
    expect(gh.maxInFlight).toBeLessThanOrEqual(4);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 90_000);
});
