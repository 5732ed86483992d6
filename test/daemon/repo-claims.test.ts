// The daemon listens before its repos are resolved and claimed: a repo whose git is slow (here: held
// until the test lets it go) shows as `claiming` in status while the daemon answers. A repo's git dir
// is asked of git at most once per run, not once per use (registration, ownership, info/exclude,
// release), and not at all for a main checkout (its .git is a directory).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

interface Repo {
  project: string;
  path: string;
  state?: string;
  problem: string | null;
}

test("listens before the repos are claimed: a repo still being claimed shows as claiming, then ok", async () => {
  const fast = makeGitRepo(sb.dir, "fastrepo");
  // Registered by a linked worktree (its .git a file): only git knows its repository (slowmain).
  const slowMain = makeGitRepo(sb.dir, "slowmain");
  const slow = join(sb.dir, "slowrepo");
  expect(Bun.spawnSync(["git", "-C", slowMain, "worktree", "add", "-q", "-b", "side", slow]).exitCode).toBe(0);
  const realGit = Bun.which("git");
  if (!realGit) throw new Error("git not on PATH");
  // A git that holds every git-dir question about slowrepo until the release file exists (≤ 60 s),
  // and logs each git-dir question.
  const bin = join(sb.dir, "bin");
  mkdirSync(bin);
  const release = join(sb.dir, "release");
  const calls = join(sb.dir, "git-calls.log");
  writeFileSync(
    join(bin, "git"),
    `#!/bin/sh
case "$*" in *--git-common-dir*) echo "$*" >> '${calls}';; esac
case "$*" in *slowrepo*--git-common-dir*) i=0; while [ ! -e '${release}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done;; esac
exec '${realGit}' "$@"
`,
  );
  chmodSync(join(bin, "git"), 0o755);
  sb.writeConfig(`repos = ["${fast}", "${slow}"]\n`);
  const env = { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` };
  const daemon = await sb.foreground([], env);
  expect(daemon.exitCode).toBeNull();
  const status = async (): Promise<Repo[]> => (await api(sb.socket, "GET", "/v1/status")).json.repos as Repo[];
  // Answering, with slowrepo held in its claim (listed under its path until git names its repository); fastrepo gets through meanwhile.
  await waitFor(async () => (await status()).find((r) => r.project === "fastrepo")?.state === "ok", 30_000, "fastrepo claimed");
  expect((await status()).find((r) => r.path === slow)).toMatchObject({ state: "claiming", problem: null });
  expect(existsSync(release)).toBe(false);
  const text = await sb.run(["daemon", "status"], { env });
  expect(text.stdout).toMatch(/slowrepo.*claiming/);
  const json = JSON.parse((await sb.run(["daemon", "status", "--json"], { env })).stdout) as { repos: Repo[] };
  expect(json.repos.find((r) => r.path === slow)?.state).toBe("claiming");
  writeFileSync(release, "");
  await waitFor(async () => (await status()).every((r) => r.state === "ok"), 30_000, "slowrepo claimed");
  // Claimed as the repository it belongs to.
  expect((await status()).map((r) => r.project).sort()).toEqual(["fastrepo", "slowmain"]);
  expect(readFileSync(join(slowMain, ".git", "kasmos-daemon.lock"), "utf8")).toContain(`"pid":${daemon.pid}`);
  expect(readFileSync(join(fast, ".git", "kasmos-daemon.lock"), "utf8")).toContain(`"pid":${daemon.pid}`);
  // Scans ran over both (a full pass after the claims), and still one git-dir question per repo.
  const ticks = ((await api(sb.socket, "GET", "/v1/status")).json.scan as { ticks: number }).ticks;
  await waitFor(async () => ((await api(sb.socket, "GET", "/v1/status")).json.scan as { ticks: number }).ticks > ticks, 30_000, "a timer pass");
  const asked = readFileSync(calls, "utf8").trim().split("\n");
  expect(asked).toEqual([expect.stringContaining(`-C ${slow} rev-parse`)]);
  daemon.kill("SIGTERM");
  await daemon.exited;
  // Released at shutdown without asking git again.
  expect(existsSync(join(slowMain, ".git", "kasmos-daemon.lock"))).toBe(false);
  expect(existsSync(join(fast, ".git", "kasmos-daemon.lock"))).toBe(false);
  expect(readFileSync(calls, "utf8").trim().split("\n").length).toBe(1);
}, 120_000);
