// gc and a finished task's git-ignored files: `git worktree remove` deletes them without asking, so gc
// lists them (dry run too), deletes build output (node_modules/, dist/, …) with the worktree, and keeps
// a worktree that holds anything else ignored (.env with keys, logs) unless `kas daemon gc --force`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GcReport } from "../../src/api/gc.ts";
import { classifyIgnored } from "../../src/engine/gc-ignored.ts";
import { openStore } from "../../src/store/db.ts";
import { seedTask } from "../helpers/history.ts";
import { makeGitRepo, Sandbox } from "../helpers/env.ts";

let sb: Sandbox;
let repo: string;
let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;

function git(cwd: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", "-C", cwd, ...args], { env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

function worktree(name: string, files: Record<string, string>): string {
  const path = join(repo, ".worktrees", `plan-${name}`);
  git(repo, "worktree", "add", "-q", "-b", `plan/${name}`, path, "main");
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(path, rel, ".."), { recursive: true });
    writeFileSync(join(path, rel), text);
  }
  return path;
}

async function gc(...args: string[]): Promise<GcReport> {
  const j = await sb.run(["daemon", "gc", "--json", ...args], { timeoutMs: 60_000 });
  if (j.code !== 0) throw new Error(`kas daemon gc ${args.join(" ")}: ${j.stderr}`);
  return JSON.parse(j.stdout) as GcReport;
}

beforeAll(async () => {
  sb = new Sandbox("kgi-");
  repo = makeGitRepo(sb.dir, "app");
  writeFileSync(join(repo, ".gitignore"), ".env\n*.log\nnode_modules/\ndist/\n");
  git(repo, "add", ".gitignore");
  git(repo, "commit", "-q", "-m", "ignore");
  worktree("keys", { ".env": "API_KEY=secret\n", "debug.log": "what happened\n", "node_modules/x/index.js": "x\n" });
  worktree("builds", { "node_modules/x/index.js": "x\n", "dist/app.js": "built\n", "web/dist/a.js": "a\n" });
  const db = openStore(join(sb.configDir, "kasmos.db"));
  for (const t of ["keys", "builds"]) seedTask(db, "app", t, "done", 30);
  db.close();
  sb.writeConfig([`repos = ["${repo}"]`, "poll_interval_sec = 0.5", "auto_create_pr = false", "[retention]", "days = 90", "worktree_grace_days = 7"].join("\n"));
  proc = await sb.foreground();
});

afterAll(async () => {
  proc?.kill("SIGTERM");
  await proc?.exited;
  await sb.cleanup();
});

test("build output goes with the worktree, listed; other ignored files keep it, listed; --force removes it", async () => {
  const dry = await gc("--dry-run");
  const builds = dry.worktrees_removed.find((w) => w.task === "builds");
  expect(builds?.ignored?.sort()).toEqual(["dist/", "node_modules/", "web/dist/"]);
  const keys = dry.worktrees_kept.find((w) => w.task === "keys");
  expect(keys?.reason).toMatch(/git-ignored files that are not build output: .*\.env/);
  expect(keys?.reason).toContain("debug.log");
  expect(keys?.reason).toContain("--force");
  expect(dry.worktrees_removed.some((w) => w.task === "keys")).toBe(false);
  // The words say it too.
  const text = await sb.run(["daemon", "gc", "--dry-run"]);
  expect(text.stdout).toMatch(/with its git-ignored files: .*node_modules\//);
  expect(text.stdout).toMatch(/app\/keys: .*: git-ignored files that are not build output/);
  // --force with --dry-run: listed as going, with what it holds.
  const forcedDry = await gc("--dry-run", "--force");
  expect(forcedDry.worktrees_removed.find((w) => w.task === "keys")?.ignored?.sort()).toEqual([".env", "debug.log", "node_modules/"]);
  expect(existsSync(join(repo, ".worktrees", "plan-keys", ".env"))).toBe(true);

  const real = await gc();
  expect(real.worktrees_removed.map((w) => w.task)).toEqual(["builds"]);
  expect(existsSync(join(repo, ".worktrees", "plan-builds"))).toBe(false);
  expect(existsSync(join(repo, ".worktrees", "plan-keys", ".env"))).toBe(true);
  const removed = sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'worktree_removed' AND task = 'builds'");
  expect(removed[0]?.message).toMatch(/git-ignored files deleted with it: .*node_modules\//);

  const forced = await gc("--force");
  expect(forced.worktrees_removed.map((w) => w.task)).toEqual(["keys"]);
  expect(forced.worktrees_removed[0]?.ignored).toContain(".env");
  expect(existsSync(join(repo, ".worktrees", "plan-keys"))).toBe(false);
}, 90_000);

test("what counts as build output", () => {
  const { build, valuable } = classifyIgnored(["node_modules/", "src/__pycache__/", "a/b/target/", "x.pyc", ".env", "app.log", "secrets/", ".kasmos/signals/", "dist/"]);
  expect(build).toEqual(["node_modules/", "src/__pycache__/", "a/b/target/", "x.pyc", "dist/"]);
  expect(valuable).toEqual([".env", "app.log", "secrets/"]);
});
