// Registering repositories the way users do (robustness regressions): a symlink and its target, a
// subdirectory, `~` in daemon.toml, two daemons on one repo, removing by a path that only shares the
// basename, removing while agents run, a `.kasmos` that is a file, a repo without commits.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const repos = async () => (JSON.parse((await sb.run(["daemon", "status", "--json"])).stdout) as { repos: { project: string; path: string; problem: string | null }[] }).repos;

describe("one repository, one registration", () => {
  test("a symlink to a registered repo, or a subdirectory of it, is the same repo", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    symlinkSync(repo, join(sb.dir, "shop-link"));
    mkdirSync(join(repo, "sub", "pkg"), { recursive: true });
    const daemon = await sb.foreground();
    expect((await sb.run(["daemon", "add", join(sb.dir, "shop-link")])).stdout).toContain(`registered repo: ${repo}`);
    const again = await sb.run(["daemon", "add", repo]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`repo already registered: ${repo}`);
    expect((await sb.run(["daemon", "add", join(repo, "sub", "pkg")])).code).toBe(1);
    expect((await repos()).map((r) => r.path)).toEqual([repo]);
    daemon.kill("SIGTERM");
    await daemon.exited;
  });

  test("a subdirectory registers its repository (the CLI there names the same project)", async () => {
    const repo = makeGitRepo(sb.dir, "mono");
    mkdirSync(join(repo, "packages", "a"), { recursive: true });
    const daemon = await sb.foreground();
    const r = await sb.run(["daemon", "add", join(repo, "packages", "a")]);
    expect(r.stdout).toContain(`registered repo: ${repo} (project mono) — the repository of ${join(repo, "packages", "a")}`);
    const created = await sb.run(["task", "create", "t", "--json"], { cwd: join(repo, "packages", "a") });
    expect(JSON.parse(created.stdout).project).toBe("mono");
    daemon.kill("SIGTERM");
    await daemon.exited;
  });

  test("`~/…` in daemon.toml repos is expanded", async () => {
    const repo = makeGitRepo(sb.home, "src-shop");
    sb.writeConfig('repos = ["~/src-shop"]\n');
    const daemon = await sb.foreground();
    expect((await repos()).map((r) => [r.path, r.problem])).toEqual([[repo, null]]);
    daemon.kill("SIGTERM");
    await daemon.exited;
  });

  test("a second daemon (another HOME) refuses a repo the first one manages, naming the owner", async () => {
    const repo = makeGitRepo(sb.dir, "shared");
    const first = await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    const other = new Sandbox();
    try {
      const second = await other.foreground();
      const r = await other.run(["daemon", "add", repo]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`another kasmos daemon (pid ${first.pid}`);
      // Once the first gives it up, the second may take it.
      expect((await sb.run(["daemon", "remove", repo])).code).toBe(0);
      expect((await other.run(["daemon", "add", repo])).code).toBe(0);
      second.kill("SIGTERM");
      await second.exited;
    } finally {
      await other.cleanup();
    }
    first.kill("SIGTERM");
    await first.exited;
  }, 60_000);
});

describe("remove", () => {
  test("a path that only shares the basename removes nothing; a bare name does", async () => {
    const repo = makeGitRepo(join(sb.dir, "x"), "proj");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    const wrong = await sb.run(["daemon", "remove", "/not/here/proj"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("not registered: /not/here/proj");
    expect((await repos()).length).toBe(1);
    expect((await sb.run(["daemon", "remove", "proj"])).code).toBe(0);
    expect(await repos()).toEqual([]);
    daemon.kill("SIGTERM");
    await daemon.exited;
  });

  test("refused while the repo's agents run; --force stops them", async () => {
    const repo = makeGitRepo(sb.dir, "busy");
    sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "sh -c 'exec sleep 600'"\n`);
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    await sb.run(["task", "create", "t"], { cwd: repo });
    await sb.run(["task", "transition", "t", "plan_start"], { cwd: repo });
    await waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 1, 20_000, "the planner");
    const r = await sb.run(["daemon", "remove", repo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("1 agent of busy still running");
    const f = await sb.run(["daemon", "remove", repo, "--force"]);
    expect(f.code).toBe(0);
    expect(f.stdout).toContain("stopping its 1 agent");
    await waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 0, 20_000, "the agent to stop");
    const sessions = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "list-sessions"]).stdout.toString().trim();
    expect(sessions).toBe("");
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);
});

describe("repos that will bite later", () => {
  test("a .kasmos that is a file is refused at add with the reason; a repo without commits is accepted with a warning", async () => {
    const bad = makeGitRepo(sb.dir, "filekasmos");
    writeFileSync(join(bad, ".kasmos"), "oops");
    const empty = join(sb.dir, "empty");
    mkdirSync(empty);
    Bun.spawnSync(["git", "init", "-q", empty]);
    const daemon = await sb.foreground();
    const r = await sb.run(["daemon", "add", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(".kasmos is not a directory");
    const e = await sb.run(["daemon", "add", empty]);
    expect(e.code).toBe(0);
    expect(e.stderr).toContain("has no commits yet");
    // doctor says so too, for repos of daemon.toml
    sb.writeConfig(`repos = [${JSON.stringify(empty)}]\n`);
    const doc = JSON.parse((await sb.run(["doctor", "--json"])).stdout) as { checks: { name: string; ok: boolean; detail: string; fix: string }[] };
    const check = doc.checks.find((c) => c.name === "repo empty")!;
    expect(check.ok).toBe(false);
    expect(check.detail).toContain("has no commits yet");
    expect(check.fix).toContain("git commit --allow-empty");
    daemon.kill("SIGTERM");
    await daemon.exited;
  });
});
