// The one git runner (src/util/git.ts): whatever repository variables kasmos inherits (run from a git
// hook, or a shell inside a worktree), git works on the path it is given and never prompts, in both
// forms and with processes started in place or from the worker. Bun starts children with the
// environment the process started with, so the inherited variables are given to a child bun that
// runs the code under test.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runGit, runGitSync } from "../../src/util/git.ts";
import { makeGitRepo } from "../helpers/env.ts";

let root = "";
let other = "";
let target = "";

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), "kasmos-git-runner-")));
  other = makeGitRepo(root, "other");
  target = makeGitRepo(root, "target");
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const SRC = join(import.meta.dir, "..", "..", "src", "util");

// A shell alias prints the environment git gives its children.
const CHILD = `
import { runGit, runGitSync } from ${JSON.stringify(join(SRC, "git.ts"))};
import { repoDirsOf, repoDirsOfAsync } from ${JSON.stringify(join(SRC, "repo-root.ts"))};
import { startProcessesOffThread } from ${JSON.stringify(join(SRC, "spawn-off-thread.ts"))};
const target = process.argv[process.argv.length - 1];
const SHOW_ENV = ["-C", target, "-c", "alias.showenv=!env", "showenv"];
const out = {};
for (const mode of ["inPlace", "offThread"]) {
  startProcessesOffThread(mode === "offThread");
  out[mode] = {
    top: await runGit(["-C", target, "rev-parse", "--show-toplevel"]),
    dirs: await repoDirsOfAsync(target),
    env: (await runGit(SHOW_ENV)).stdout.split("\\n"),
    extraEnv: (await runGit(SHOW_ENV, { env: { LC_ALL: "C" } })).stdout.split("\\n"),
  };
}
startProcessesOffThread(false);
out.sync = { top: runGitSync(["-C", target, "rev-parse", "--show-toplevel"]), dirs: repoDirsOf(target), env: runGitSync(SHOW_ENV).stdout.split("\\n") };
console.log(JSON.stringify(out));
process.exit(0);
`;

interface Answers {
  top: unknown;
  dirs: unknown;
  env: string[];
  extraEnv?: string[];
}

test("under an inherited GIT_DIR / GIT_WORK_TREE / GIT_INDEX_FILE, git works on the path given and never prompts", () => {
  // What a git hook run in `other` would leave in the environment.
  const env = { ...process.env, GIT_DIR: join(other, ".git"), GIT_WORK_TREE: other, GIT_INDEX_FILE: join(other, ".git", "index"), GIT_TERMINAL_PROMPT: "1" };
  const r = Bun.spawnSync([process.execPath, "-e", CHILD, target], { env, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  const out = JSON.parse(r.stdout.toString()) as Record<"inPlace" | "offThread" | "sync", Answers>;
  for (const a of [out.inPlace, out.offThread, out.sync]) {
    expect(a.top).toEqual({ code: 0, stdout: `${target}\n`, stderr: "", timedOut: false });
    expect(a.dirs).toEqual({ ok: true, root: target, commonDir: join(target, ".git") });
    expect(a.env).toContain("GIT_TERMINAL_PROMPT=0");
    expect(a.env).toContain("GCM_INTERACTIVE=never");
    expect(a.env).toContain("GIT_ASKPASS=");
    expect(a.env.filter((l) => /^GIT_(DIR|WORK_TREE|INDEX_FILE)=/.test(l))).toEqual([]);
  }
  expect(out.inPlace.extraEnv).toContain("LC_ALL=C");
  expect(out.offThread.extraEnv).toContain("LC_ALL=C");
}, 90_000);

test("a failing command reports its exit code and message; a command past its time is stopped", async () => {
  const bad = await runGit(["-C", target, "rev-parse", "--verify", "no-such-ref"], { env: { LC_ALL: "C" } });
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain("Needed a single revision");
  expect(bad.timedOut).toBe(false);
  // git stops its alias's shell when it is stopped itself; exec leaves no second process on the pipes.
  const slow = runGitSync(["-C", target, "-c", "alias.nap=!exec sleep 30", "nap"], { timeoutMs: 300 });
  expect(slow.timedOut).toBe(true);
}, 30_000);
