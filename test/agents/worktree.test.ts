// Worktree management against real git repositories in short-named temp dirs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultBranch, missingExcludes, ensureWorktree, GitError, headOf, listWorktrees, removeWorktree, worktreePath } from "../../src/agents/worktree.ts";

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
let root = "";
let n = 0;

beforeAll(() => {
  root = mkdtempSync("/tmp/kwt-");
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function git(dir: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", "-C", dir, ...args], { env: gitEnv, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

function makeRepo(branch = "main"): string {
  const dir = join(root, `r${++n}`);
  mkdirSync(dir);
  git(dir, "init", "-q", "-b", branch);
  writeFileSync(join(dir, "README.md"), "# t\n");
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "init");
  return dir;
}

const excludeLines = (repo: string): string[] =>
  readFileSync(join(repo, ".git", "info", "exclude"), "utf8")
    .split("\n")
    .filter((l) => l.trim() === "/.worktrees/");

describe("defaultBranch", () => {
  test("current branch of the main checkout; origin/HEAD wins when set; main/master fallback", async () => {
    const a = makeRepo("trunk");
    expect(await defaultBranch(a)).toBe("trunk");
    // Detached HEAD: fall back to an existing main/master.
    const b = makeRepo("master");
    git(b, "checkout", "-q", "--detach");
    expect(await defaultBranch(b)).toBe("master");
    // A clone has origin/HEAD, which wins over whatever is checked out.
    const clone = join(root, `c${++n}`);
    git(root, "clone", "-q", a, clone);
    git(clone, "checkout", "-q", "-b", "other");
    expect(await defaultBranch(clone)).toBe("trunk");
    // Queried from inside a linked worktree it still answers for the main checkout.
    const { path } = await ensureWorktree(a, "plan/x");
    expect(await defaultBranch(path)).toBe("trunk");
  });
});

describe("ensureWorktree", () => {
  test("creates the branch from the default branch, then reuses it", async () => {
    const repo = makeRepo();
    const mainSha = git(repo, "rev-parse", "main");
    const first = await ensureWorktree(repo, "plan/feature-a");
    expect(first).toEqual({ path: join(repo, ".worktrees", "plan-feature-a"), created: true });
    expect(first.path).toBe(worktreePath(repo, "plan/feature-a"));
    expect(git(first.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe("plan/feature-a");
    expect(await headOf(first.path)).toBe(mainSha);
    // Work in the worktree survives a second ensure untouched.
    writeFileSync(join(first.path, "work.txt"), "wip\n");
    const again = await ensureWorktree(repo, "plan/feature-a");
    expect(again).toEqual({ path: first.path, created: false });
    expect(readFileSync(join(first.path, "work.txt"), "utf8")).toBe("wip\n");
    // Untracked .worktrees/ does not show in the main checkout's status.
    expect(git(repo, "status", "--porcelain")).toBe("");
    expect(excludeLines(repo)).toHaveLength(1);
  });

  test("an existing branch is checked out, not recreated", async () => {
    const repo = makeRepo();
    git(repo, "branch", "plan/existing");
    git(repo, "checkout", "-q", "plan/existing");
    writeFileSync(join(repo, "x.txt"), "x\n");
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "on branch");
    const sha = git(repo, "rev-parse", "HEAD");
    git(repo, "checkout", "-q", "main");
    const wt = await ensureWorktree(repo, "plan/existing");
    expect(wt.created).toBe(true);
    expect(await headOf(wt.path)).toBe(sha);
  });

  test("five concurrent calls for one branch yield one worktree", async () => {
    const repo = makeRepo();
    const results = await Promise.all(Array.from({ length: 5 }, () => ensureWorktree(repo, "plan/wave")));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    const wts = await listWorktrees(repo);
    expect(wts.filter((w) => w.branch === "plan/wave")).toHaveLength(1);
    expect(excludeLines(repo)).toHaveLength(1);
  });

  test("different branches in parallel all succeed", async () => {
    const repo = makeRepo();
    const branches = ["plan/a", "plan/b", "plan/c", "feature/deep/d"];
    const results = await Promise.all(branches.map((b) => ensureWorktree(repo, b)));
    expect(results.every((r) => r.created)).toBe(true);
    const wts = await listWorktrees(repo);
    expect(wts).toHaveLength(1 + branches.length);
    expect(wts[0]!.branch).toBe("main");
    for (const b of branches) {
      const w = wts.find((x) => x.branch === b);
      expect(w?.path).toBe(worktreePath(repo, b));
      expect(w?.prunable).toBe(false);
    }
    expect(existsSync(join(repo, ".worktrees", "feature-deep-d"))).toBe(true);
  });

  test("stale registration (folder deleted) is pruned and recreated", async () => {
    const repo = makeRepo();
    const { path } = await ensureWorktree(repo, "plan/stale");
    rmSync(path, { recursive: true, force: true });
    expect((await listWorktrees(repo)).find((w) => w.branch === "plan/stale")?.prunable).toBe(true);
    const again = await ensureWorktree(repo, "plan/stale");
    expect(again).toEqual({ path, created: true });
    expect(git(path, "rev-parse", "--abbrev-ref", "HEAD")).toBe("plan/stale");
    expect((await listWorktrees(repo)).filter((w) => w.prunable)).toHaveLength(0);
  });

  test("stale folder (not a registered worktree) is set aside, not deleted, and recreated", async () => {
    const repo = makeRepo();
    const { path } = await ensureWorktree(repo, "plan/orphan");
    writeFileSync(join(path, "precious.txt"), "keep me\n");
    // Lose git's registration but keep the folder (e.g. .git/worktrees wiped by hand).
    rmSync(join(repo, ".git", "worktrees"), { recursive: true, force: true });
    const again = await ensureWorktree(repo, "plan/orphan");
    expect(again).toEqual({ path, created: true });
    expect(existsSync(join(path, "precious.txt"))).toBe(false);
    const aside = readdirSync(join(repo, ".worktrees")).filter((f) => f.startsWith("plan-orphan.stale-"));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(repo, ".worktrees", aside[0]!, "precious.txt"), "utf8")).toBe("keep me\n");
    // An empty leftover folder is simply replaced.
    const empty = worktreePath(repo, "plan/empty");
    mkdirSync(empty, { recursive: true });
    expect((await ensureWorktree(repo, "plan/empty")).created).toBe(true);
    expect(readdirSync(join(repo, ".worktrees")).filter((f) => f.startsWith("plan-empty.stale-"))).toHaveLength(0);
  });

  test("refuses a branch checked out elsewhere, a worktree on another branch, and bad names", async () => {
    const repo = makeRepo();
    git(repo, "checkout", "-q", "-b", "plan/here");
    await expect(ensureWorktree(repo, "plan/here")).rejects.toBeInstanceOf(GitError);
    git(repo, "checkout", "-q", "main");
    const { path } = await ensureWorktree(repo, "plan/one");
    git(path, "checkout", "-q", "-b", "plan/two");
    await expect(ensureWorktree(repo, "plan/one")).rejects.toThrow(/expected plan\/one/);
    await expect(ensureWorktree(repo, "-x")).rejects.toBeInstanceOf(GitError);
    await expect(ensureWorktree(repo, "bad..name")).rejects.toBeInstanceOf(GitError);
  });

  test("info/exclude gets kasmos's folders once, after existing content, without touching tracked files", async () => {
    const repo = makeRepo();
    const exclude = join(repo, ".git", "info", "exclude");
    writeFileSync(exclude, "# mine\n*.log");
    await ensureWorktree(repo, "plan/e1");
    await ensureWorktree(repo, "plan/e2");
    await ensureWorktree(repo, "plan/e1");
    expect(readFileSync(exclude, "utf8")).toBe("# mine\n*.log\n# kasmos (its own state; never committed)\n/.worktrees/\n/.kasmos/signals/\n/.kasmos/cache/\n");
    expect(existsSync(join(repo, ".gitignore"))).toBe(false);
    expect(git(repo, "status", "--porcelain")).toBe("");
  });

  test("kasmos's state never reaches a task branch: `git add -A` in a worktree stages none of .kasmos/signals or cache; config.toml stays committable", async () => {
    const repo = makeRepo();
    const { path } = await ensureWorktree(repo, "plan/clean");
    for (const f of [".kasmos/signals/failed/x.reason", ".kasmos/signals/review-changes-t", ".kasmos/cache/t-plan.md", "src.txt"]) {
      mkdirSync(join(path, f, ".."), { recursive: true });
      writeFileSync(join(path, f), "x");
    }
    mkdirSync(join(repo, ".kasmos", "signals"), { recursive: true });
    writeFileSync(join(repo, ".kasmos", "signals", "stray"), "");
    writeFileSync(join(path, ".kasmos", "config.toml"), "auto_advance = true\n");
    git(path, "add", "-A");
    expect(git(path, "diff", "--cached", "--name-only").trim().split("\n").sort()).toEqual([".kasmos/config.toml", "src.txt"]);
    expect(git(repo, "status", "--porcelain")).toBe("");
  });
  test("an existing equivalent spelling is not added twice", () => {
    expect(missingExcludes(".worktrees/\n.kasmos/signals\n")).toEqual(["/.kasmos/cache/"]);
  });
});

describe("removeWorktree / listWorktrees / headOf", () => {
  test("removal keeps the branch; dirty needs force; absent is false", async () => {
    const repo = makeRepo();
    const { path } = await ensureWorktree(repo, "plan/rm");
    writeFileSync(join(path, "dirty.txt"), "x\n");
    await expect(removeWorktree(repo, "plan/rm")).rejects.toBeInstanceOf(GitError);
    expect(existsSync(path)).toBe(true);
    expect(await removeWorktree(repo, "plan/rm", { force: true })).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect((await listWorktrees(repo)).some((w) => w.branch === "plan/rm")).toBe(false);
    expect(git(repo, "branch", "--list", "plan/rm")).toContain("plan/rm");
    expect(await removeWorktree(repo, "plan/rm")).toBe(false);
    // Clean worktree needs no force; recreating afterwards reuses the kept branch.
    await ensureWorktree(repo, "plan/rm");
    expect(await removeWorktree(repo, "plan/rm")).toBe(true);
  });

  test("headOf follows commits; null outside a repository", async () => {
    const repo = makeRepo();
    const { path } = await ensureWorktree(repo, "plan/h");
    writeFileSync(join(path, "f.txt"), "f\n");
    git(path, "add", ".");
    git(path, "commit", "-q", "-m", "work");
    const sha = git(path, "rev-parse", "HEAD");
    expect(await headOf(path)).toBe(sha);
    expect(git(repo, "rev-parse", "plan/h")).toBe(sha);
    const plain = join(root, `p${++n}`);
    mkdirSync(plain);
    expect(await headOf(plain)).toBeNull();
    expect(await headOf(join(root, "does-not-exist"))).toBeNull();
  });
});
