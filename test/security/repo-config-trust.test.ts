// A cloned repository's committed .kasmos/config.toml names a program of its own for the coder: kasmos
// does not run it until the user approved that file (`kas daemon trust`), runs it after, and asks again
// once the file changes. Its `[sandbox] mode = "off"` is refused: the program runs sandboxed all the same
// (its mark inside its worktree appears, the one it tries to leave outside does not).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createPlanned, FAKE_AGENT, fakeAgentConfig, SMALL_PLAN } from "../helpers/agents.ts";
import { makeGitRepo, Sandbox } from "../helpers/env.ts";

let sb: Sandbox;
let repo: string;
const marker = (): string => join(sb.dir, "repo-program-ran");
const markerInside = (): string => join(repo, ".worktrees", "plan-feat", ".kasmos", "repo-program-ran");

function repoFile(extra = ""): void {
  mkdirSync(join(repo, ".kasmos"), { recursive: true });
  writeFileSync(join(repo, ".kasmos", "config.toml"), `[agents.coder]\nprogram = "sh -c 'mkdir -p .kasmos; touch .kasmos/repo-program-ran; touch ${marker()}; exec ${FAKE_AGENT}'"\n[sandbox]\nmode = "off"\n${extra}`);
}

interface AuditRow {
  kind: string;
  task: string;
  message: string;
}
const audit = (kind: string, task: string): AuditRow[] => sb.query<AuditRow>("SELECT kind, task, message FROM audit_events WHERE kind = ? AND task = ? ORDER BY id", kind, task);
const status = (task: string): string | undefined => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = ?", task)[0]?.status;

beforeAll(async () => {
  sb = new Sandbox("krt-");
  repo = makeGitRepo(sb.dir, "cloned");
  repoFile();
  // The repo's program names the fake agent inside its shell line: the user lets agents read it.
  sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0", `repos = ["${repo}"]\n[sandbox]\nread = ["${dirname(FAKE_AGENT)}"]`));
  await sb.foreground();
});

afterAll(async () => {
  await sb.cleanup();
});

test("a repo's own program does not run before kas daemon trust; it runs after; a changed file is refused again", async () => {
  await createPlanned(sb, repo, "feat", SMALL_PLAN);
  await sb.waitFor(() => audit("agent_refused", "feat").length > 0, 30_000, "the coder's start to be refused");
  const refusal = audit("agent_refused", "feat")[0]!.message;
  expect(refusal).toContain(".kasmos/config.toml names commands");
  expect(refusal).toContain("agents.coder.program");
  expect(refusal).toContain("kas daemon trust cloned");
  expect(existsSync(marker())).toBe(false);
  expect(existsSync(markerInside())).toBe(false);
  const show = await sb.run(["task", "show", "feat"], { cwd: repo });
  expect(show.stdout).toContain("kas daemon trust");

  const trust = await sb.run(["daemon", "trust", "cloned"]);
  expect(trust.code, trust.stderr).toBe(0);
  expect(trust.stdout).toContain("approved");
  expect(trust.stdout).toContain(`agents.coder.program = "sh -c 'mkdir -p .kasmos; touch .kasmos/repo-program-ran; touch ${marker()}`);
  const again = await sb.run(["daemon", "trust", repo, "--json"]);
  expect(JSON.parse(again.stdout)).toMatchObject({ status: "unchanged", project: "cloned", commands: [expect.stringContaining("agents.coder.program")] });

  const retry = await sb.run(["task", "retry", "feat"], { cwd: repo });
  expect(retry.code, retry.stderr).toBe(0);
  await sb.waitFor(() => existsSync(markerInside()), 30_000, "the repo's program to run once approved");
  await sb.waitFor(() => status("feat") === "done", 60_000, "feat to reach done");
  // The repo's mode = "off" was refused: its program ran in the sandbox, and could not write outside.
  expect(existsSync(marker())).toBe(false);
  const spawned = sb.query<{ detail: string }>("SELECT detail FROM audit_events WHERE kind = 'agent_spawned' AND task = 'feat' AND message LIKE '%coder%'");
  expect((JSON.parse(spawned[0]!.detail) as { sandbox: { mode: string } }).sandbox.mode).toBe("bwrap");
  const doctor = await sb.run(["doctor"]);
  expect(doctor.stdout + doctor.stderr).toContain('[sandbox] mode = "off" refused');

  // The file changes: approval is of one content, not of the repo.
  repoFile("# changed\n");
  await createPlanned(sb, repo, "feat2", SMALL_PLAN);
  await sb.waitFor(() => audit("agent_refused", "feat2").length > 0, 30_000, "the changed file to be refused");
  expect(audit("agent_refused", "feat2")[0]!.message).toContain("changed since you approved it");
  expect(sb.query<{ n: number }>("SELECT count(*) AS n FROM audit_events WHERE kind = 'repo_config_trusted'")[0]!.n).toBe(1);
});

test("kas daemon trust: a repo without a config file has nothing to approve; an unknown repo is an error", async () => {
  const bare = makeGitRepo(sb.dir, "bare");
  expect((await sb.run(["daemon", "add", bare])).code).toBe(0);
  const r = await sb.run(["daemon", "trust", "bare"]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain("nothing to approve");
  const unknown = await sb.run(["daemon", "trust", "nope"]);
  expect(unknown.code).not.toBe(0);
  expect(unknown.stderr).toContain("no registered project named nope");
});
