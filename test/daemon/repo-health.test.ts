// Things about a registered repo that status, status --json and doctor must say, not only `add` or the
// log: a repository without commits (tasks cannot branch from it), and a .kasmos folder kasmos cannot
// use (mode 000) — the latter is a problem: the repo is skipped, with the reason, until it is fixed.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;

interface RepoStatus {
  project: string;
  problem: string | null;
  warnings?: string[];
}

async function statusJson(): Promise<RepoStatus[]> {
  const r = await sb.run(["daemon", "status", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { repos: RepoStatus[] }).repos;
}

async function doctorCheck(name: string): Promise<{ ok: boolean; detail: string; fix: string } | undefined> {
  const r = await sb.run(["doctor", "--json"]);
  return (JSON.parse(r.stdout) as { checks: { name: string; ok: boolean; detail: string; fix: string }[] }).checks.find((c) => c.name === name);
}

beforeAll(async () => {
  sb = new Sandbox("krh-");
  sb.writeConfig("poll_interval_sec = 0.1\n");
  proc = await sb.foreground();
});
afterAll(async () => {
  proc?.kill("SIGTERM");
  await proc?.exited;
  await sb.cleanup();
});

test("a repo without commits: warned by add, status (text and --json) and doctor", async () => {
  const repo = join(sb.dir, "fresh");
  mkdirSync(repo);
  expect(Bun.spawnSync(["git", "init", "-q", repo]).exitCode).toBe(0);
  const add = await sb.run(["daemon", "add", repo]);
  expect(add.code, add.stderr).toBe(0);
  expect(add.stdout + add.stderr).toContain("no commits yet");

  const s = (await statusJson()).find((r) => r.project === "fresh");
  expect(s?.problem).toBeNull();
  expect(s?.warnings?.join("\n") ?? "").toContain("has no commits yet");
  const text = await sb.run(["daemon", "status"]);
  expect(text.stdout).toMatch(/! .*fresh has no commits yet/);
  const doc = await doctorCheck("repo fresh");
  expect(doc?.ok).toBe(false);
  expect(doc?.detail).toContain("no commits yet");

  // Once it has a commit, the warning goes (status within its cache time, doctor at once).
  Bun.spawnSync(["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "init"]);
  expect((await doctorCheck("repo fresh"))?.ok).toBe(true);
  expect((await statusJson()).find((r) => r.project === "fresh")?.warnings ?? []).toEqual([]);
}, 60_000);

test("a .kasmos with mode 000: refused at add; made so later, the repo becomes a problem with the reason, until fixed", async () => {
  const refused = makeGitRepo(sb.dir, "shut");
  mkdirSync(join(refused, ".kasmos"));
  chmodSync(join(refused, ".kasmos"), 0o000);
  const add = await sb.run(["daemon", "add", refused]);
  expect(add.code).not.toBe(0);
  expect(add.stdout + add.stderr).toMatch(/\.kasmos has mode 000/);
  chmodSync(join(refused, ".kasmos"), 0o755);

  const repo = makeGitRepo(sb.dir, "locked");
  const ok = await sb.run(["daemon", "add", repo]);
  expect(ok.code, ok.stderr).toBe(0);
  await waitFor(async () => (await statusJson()).find((r) => r.project === "locked")?.problem === null, 10_000, "the repo to be healthy");
  chmodSync(join(repo, ".kasmos"), 0o000);
  try {
    await waitFor(async () => /\.kasmos has mode 000/.test((await statusJson()).find((r) => r.project === "locked")?.problem ?? ""), 20_000, "status to report the mode-000 .kasmos");
    const text = await sb.run(["daemon", "status"]);
    expect(text.stdout).toMatch(/locked .*! .*\.kasmos has mode 000/);
    const doc = await doctorCheck("repo locked");
    expect(doc?.ok).toBe(false);
    expect(doc?.detail).toMatch(/\.kasmos has mode 000.*chmod u\+rwx/);
    const attention = sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'attention' AND project = 'locked'");
    expect(attention.some((a) => /mode 000/.test(a.message))).toBe(true);
  } finally {
    chmodSync(join(repo, ".kasmos"), 0o755);
  }
  await waitFor(async () => (await statusJson()).find((r) => r.project === "locked")?.problem === null, 20_000, "the problem to clear once fixed");
}, 90_000);
