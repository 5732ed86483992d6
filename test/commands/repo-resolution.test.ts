// Which project a CLI command acts on, from any directory inside it (robustness regressions): a
// registered submodule and its linked worktrees, an agent's own KASMOS_* variables; and signals for
// tasks the store does not have are refused at once.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Sandbox } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const GIT_ENV = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
function git(cwd: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", "-c", "protocol.file.allow=always", ...args], { cwd, env: { ...process.env, ...GIT_ENV }, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

describe("repo resolution", () => {
  test("inside a linked worktree of a submodule, commands act on the submodule's project", async () => {
    Bun.spawnSync(["mkdir", "-p", join(sb.dir, "lib"), join(sb.dir, "app")]);
    git(join(sb.dir, "lib"), "init", "-q", "-b", "main");
    git(join(sb.dir, "lib"), "commit", "-q", "--allow-empty", "-m", "i");
    git(join(sb.dir, "app"), "init", "-q", "-b", "main");
    git(join(sb.dir, "app"), "commit", "-q", "--allow-empty", "-m", "i");
    git(join(sb.dir, "app"), "submodule", "-q", "add", join(sb.dir, "lib"), "vendor-lib");
    const sub = join(sb.dir, "app", "vendor-lib");
    git(sub, "worktree", "add", "-q", ".worktrees/plan-x", "-b", "plan/x");
    expect((await sb.run(["task", "create", "x"], { cwd: sub })).code).toBe(0);
    const r = await sb.run(["signal", "emit", "verify_approved", "x", "--payload", '{"body":"ok"}', "--json"], { cwd: join(sub, ".worktrees", "plan-x") });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).project).toBe("vendor-lib");
  });

  test("an agent's KASMOS_REPO/KASMOS_PROJECT decide, from anywhere inside that repo", async () => {
    Bun.spawnSync(["mkdir", "-p", join(sb.dir, "r", "deep", "er")]);
    git(join(sb.dir, "r"), "init", "-q", "-b", "main");
    git(join(sb.dir, "r"), "commit", "-q", "--allow-empty", "-m", "i");
    const env = { KASMOS_REPO: join(sb.dir, "r"), KASMOS_PROJECT: "registered-name" };
    expect((await sb.run(["task", "create", "t", "--json"], { cwd: join(sb.dir, "r", "deep", "er"), env })).stdout).toContain('"project": "registered-name"');
  });

  test("a signal for a task the store does not have is refused (exit 1), nothing queued", async () => {
    Bun.spawnSync(["mkdir", "-p", join(sb.dir, "r")]);
    git(join(sb.dir, "r"), "init", "-q", "-b", "main");
    git(join(sb.dir, "r"), "commit", "-q", "--allow-empty", "-m", "i");
    const r = await sb.run(["signal", "emit", "review_approved", "nope"], { cwd: join(sb.dir, "r") });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no task nope in r");
    expect(sb.query("SELECT * FROM signals")).toEqual([]);
  });
});
