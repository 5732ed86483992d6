// [worktree] copy / setup / teardown / ports end to end: the compiled daemon, real git worktrees,
// real tmux and the fake agent (test/fixtures/fake-agent.sh), which refuses to work in a worktree
// without the setup's output (FAKE_NEEDS) and commits with `git add -A` (FAKE_ADD_ALL).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";
import { createPlanned, fakeAgentConfig, SMALL_PLAN } from "../helpers/agents.ts";

/** Three tasks in one wave: architect, then three coders at once, then review and verify. */
const WIDE_PLAN = "# Wide\n**Goal:** three at once\n\n## Wave 1: all\n### Task 1: a\nmake a\n### Task 2: b\nmake b\n### Task 3: c\nmake c\n";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

function git(cwd: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", "-C", cwd, ...args], { env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

const status = (task: string) => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = ?", task)[0]?.status;
const attention = (task: string) => sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = ?", task)[0]?.attention ?? "";
const spawned = (task: string) => sb.query("SELECT id FROM audit_events WHERE kind = 'agent_spawned' AND task = ?", task).length;

/** A repo whose build needs `.env` (untracked in its root) and a key file under certs/. */
function repoNeedingEnv(name: string): string {
  const repo = makeGitRepo(sb.dir, name);
  writeFileSync(join(repo, ".gitignore"), "built.txt\n");
  git(repo, "add", ".gitignore");
  git(repo, "commit", "-q", "-m", "ignore build output");
  writeFileSync(join(repo, ".env"), `SECRET=${name}-value\n`);
  chmodSync(join(repo, ".env"), 0o640);
  mkdirSync(join(repo, "certs"));
  writeFileSync(join(repo, "certs", "dev.pem"), "KEY\n");
  chmodSync(join(repo, "certs", "dev.pem"), 0o600);
  return repo;
}

describe("[worktree] copy, setup, ports, teardown", () => {
  test("every worktree of a waves plan builds with the copied .env; git add -A never commits a copy; parallel agents get distinct ports", async () => {
    const repo = repoNeedingEnv("shop");
    const portLog = join(sb.dir, "ports.log");
    sb.writeConfig(fakeAgentConfig(`FAKE_REVIEW_ROUNDS=0 FAKE_ADD_ALL=1 FAKE_NEEDS=built.txt FAKE_SLOW_WAVE=1 FAKE_PORT_LOG=${portLog}`, [
      "auto_create_pr = false",
      "[orchestration]",
      "max_parallel_wave_tasks = 0",
      "[worktree]",
      'copy = [".env", "certs/*.pem"]',
      'setup = "test -f .env && cat .env > built.txt"',
      'ports = "41000-41019"',
    ].join("\n")));
    const daemon = await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    for (const t of ["alpha", "beta"]) await createPlanned(sb, repo, t, WIDE_PLAN);
    await waitFor(() => status("alpha") === "done" && status("beta") === "done", 150_000, "both tasks to reach done");
    expect(sb.query("SELECT title, reason FROM agents WHERE state = 'failed' OR reason LIKE '%cannot build%'")).toEqual([]);

    for (const t of ["alpha", "beta"]) {
      const wt = join(repo, ".worktrees", `plan-${t}`);
      // The setup built with the copied file, in this worktree.
      expect(readFileSync(join(wt, "built.txt"), "utf8")).toBe("SECRET=shop-value\n");
      expect(statSync(join(wt, ".env")).mode & 0o777).toBe(0o640);
      expect(statSync(join(wt, "certs", "dev.pem")).mode & 0o777).toBe(0o600);
      // Every coder committed with `git add -A`: its own file is in, the copies are not.
      const tree = git(repo, "ls-tree", "-r", "--name-only", `plan/${t}`).split("\n");
      for (const f of ["w1-t1.txt", "w1-t2.txt", "w1-t3.txt"]) expect(tree).toContain(f);
      expect(tree).not.toContain(".env");
      expect(tree).not.toContain("certs/dev.pem");
      // And a real `git add -A` there now stages neither.
      git(wt, "add", "-A");
      expect(git(wt, "diff", "--cached", "--name-only")).toBe("");
      expect(git(wt, "status", "--porcelain", "--ignored")).toContain("!! .env");
    }
    // Setup ran once per worktree, logged privately.
    const prepared = sb.query<{ task: string; level: string; message: string }>("SELECT task, level, message FROM audit_events WHERE kind = 'worktree_prepared' ORDER BY id");
    const wtOf = (t: string) => join(repo, ".worktrees", `plan-${t}`);
    expect(prepared.map((p) => `${p.task} ${p.level} ${p.message.split(":")[0]}`).sort()).toEqual(["alpha", "beta"].flatMap((t) => [`${t} info worktree ready`, `${t} info worktree setup \`test -f .env && cat .env > built.txt\` started in ${wtOf(t)}`]));
    const log = join(sb.configDir, "run", "shop", "alpha", "setup.log");
    expect(statSync(log).mode & 0o777).toBe(0o600);
    expect(readFileSync(log, "utf8")).toContain("exit status 0");

    // KASMOS_PORT: in range, and no two agents alive at the same time ever shared one.
    const ports = new Map(readFileSync(portLog, "utf8").trim().split("\n").map((l) => l.split(" ") as [string, string]));
    const rows = sb.query<{ title: string; started_at: string; ended_at: string | null }>("SELECT title, started_at, ended_at FROM agents WHERE state != 'failed'");
    expect(ports.size).toBe(rows.length);
    for (const p of ports.values()) expect(Number(p) >= 41000 && Number(p) <= 41019, p).toBe(true);
    const coders = ["W1-T1", "W1-T2", "W1-T3"].map((x) => ports.get(`alpha-${x}`));
    expect(new Set(coders).size).toBe(3);
    const end = (r: { ended_at: string | null }) => (r.ended_at === null ? Number.POSITIVE_INFINITY : Date.parse(r.ended_at));
    for (const a of rows) {
      for (const b of rows) {
        if (a.title >= b.title) continue;
        const overlap = Date.parse(a.started_at) < end(b) && Date.parse(b.started_at) < end(a);
        if (overlap) expect(`${a.title} ${ports.get(a.title)}`).not.toBe(`${a.title} ${ports.get(b.title)}`);
      }
    }
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 180_000);

  test("a failing setup: attention item with its output's tail, no agent started; kas task retry after the fix starts it", async () => {
    const repo = repoNeedingEnv("web");
    const agentEnv = "FAKE_REVIEW_ROUNDS=0 FAKE_NEEDS=built.txt";
    const config = (setup: string) => fakeAgentConfig(agentEnv, ["auto_create_pr = false", "[worktree]", 'copy = [".env"]', `setup = ${JSON.stringify(setup)}`].join("\n"));
    sb.writeConfig(config("echo compiling; echo 'error: missing toolchain xyz' >&2; exit 7"));
    const daemon = await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    await createPlanned(sb, repo, "small", SMALL_PLAN);
    await waitFor(() => attention("small") !== "", 30_000, "attention for the failed setup");
    const text = attention("small");
    expect(text).toContain("exited with status 7");
    expect(text).toContain("error: missing toolchain xyz");
    expect(text).toContain("kas task retry small");
    await Bun.sleep(1500); // a few passes: still nothing starts
    expect(spawned("small")).toBe(0);
    expect(sb.query("SELECT id FROM agents WHERE state = 'running'")).toEqual([]);
    const log = join(sb.configDir, "run", "web", "small", "setup.log");
    expect(statSync(log).mode & 0o777).toBe(0o600);
    expect(readFileSync(log, "utf8")).toContain("missing toolchain xyz");
    const show = await sb.run(["task", "show", "small"], { cwd: repo });
    expect(show.stdout).toContain("missing toolchain xyz");

    sb.writeConfig(config("cat .env > built.txt"));
    expect((await sb.run(["daemon", "reload"])).code).toBe(0);
    const retry = await sb.run(["task", "retry", "small"], { cwd: repo });
    expect(retry.code, retry.stderr).toBe(0);
    await waitFor(() => status("small") === "done", 60_000, "small to reach done after the retry");
    expect(readFileSync(join(repo, ".worktrees", "plan-small", "built.txt"), "utf8")).toBe("SECRET=web-value\n");
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 120_000);

  test("teardown runs when gc removes the worktree (copied files do not keep it); a failing teardown is logged and removes it anyway", async () => {
    const repo = repoNeedingEnv("api");
    const out = join(sb.dir, "teardown.out");
    const teardown = `echo \\"$KASMOS_TASK $(pwd)\\" >> ${out}; echo bye; test $KASMOS_TASK != bad || { echo 'cannot stop db' >&2; exit 3; }`;
    sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0", ["auto_create_pr = false", "[retention]", "worktree_grace_days = 0", "gc_interval_min = 0", "[worktree]", 'copy = [".env"]', `teardown = "${teardown}"`].join("\n")));
    const daemon = await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    for (const t of ["small", "bad"]) await createPlanned(sb, repo, t, SMALL_PLAN);
    await waitFor(() => status("small") === "done" && status("bad") === "done", 90_000, "both tasks to reach done");
    await waitFor(() => sb.query("SELECT id FROM agents WHERE state = 'running'").length === 0, 30_000, "agents to stop");
    const wt = (t: string) => join(repo, ".worktrees", `plan-${t}`);
    expect(existsSync(join(wt("small"), ".env"))).toBe(true);
    for (const t of ["small", "bad"]) git(repo, "merge", "-q", "--no-edit", `plan/${t}`);
    const gc = await sb.run(["daemon", "gc", "--json"]);
    expect(gc.code, gc.stderr).toBe(0);
    const report = JSON.parse(gc.stdout) as { worktrees_removed: { task: string }[]; worktrees_kept: { task: string; reason: string }[] };
    expect(report.worktrees_kept).toEqual([]);
    expect(report.worktrees_removed.map((w) => w.task).sort()).toEqual(["bad", "small"]);
    for (const t of ["small", "bad"]) expect(existsSync(wt(t))).toBe(false);
    expect(readFileSync(out, "utf8").trim().split("\n").sort()).toEqual([`bad ${wt("bad")}`, `small ${wt("small")}`]);
    expect(readFileSync(join(sb.configDir, "run", "api", "small", "teardown.log"), "utf8")).toContain("bye");
    const audit = Object.fromEntries(sb.query<{ task: string; level: string; message: string }>("SELECT task, level, message FROM audit_events WHERE kind = 'worktree_teardown'").map((r) => [r.task, `${r.level}: ${r.message}`]));
    expect(audit.small).toContain("info: worktree teardown");
    expect(audit.bad).toContain("warn: ");
    expect(audit.bad).toContain("exited with status 3");
    expect(audit.bad).toContain("cannot stop db");
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 150_000);

  test("a hostile copy is refused: a link out of the repo (file or folder) gives an attention item, nothing is copied, no agent starts", async () => {
    const linked = makeGitRepo(sb.dir, "linked");
    symlinkSync("/etc/passwd", join(linked, ".env"));
    const viaDir = makeGitRepo(sb.dir, "viadir");
    symlinkSync("/etc", join(viaDir, "conf"));
    sb.writeConfig(fakeAgentConfig("FAKE_REVIEW_ROUNDS=0", ["auto_create_pr = false", "[worktree]", 'copy = [".env", "conf/passwd"]'].join("\n")));
    const daemon = await sb.foreground();
    for (const repo of [linked, viaDir]) {
      expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
      await createPlanned(sb, repo, `t-${repo.split("/").pop()}`, SMALL_PLAN);
    }
    await waitFor(() => attention("t-linked") !== "" && attention("t-viadir") !== "", 30_000, "attention for both refused copies");
    expect(attention("t-linked")).toContain(".env is a symbolic link");
    expect(attention("t-viadir")).toContain("conf/passwd");
    expect(attention("t-viadir")).toContain("symbolic link");
    expect(spawned("t-linked") + spawned("t-viadir")).toBe(0);
    expect(lstatSync(join(linked, ".worktrees", "plan-t-linked", ".env"), { throwIfNoEntry: false })).toBeUndefined();
    expect(existsSync(join(viaDir, ".worktrees", "plan-t-viadir", "conf"))).toBe(false);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 90_000);
});

describe("[worktree] setup runs beside the daemon", () => {
  test("a setup past setup_timeout_sec is killed (attention); a long setup holds up no signal; the daemon's stop kills it", async () => {
    const repo = repoNeedingEnv("slow");
    const pidOf = (task: string) => join(sb.dir, `setup-${task}.pid`);
    const readPid = (task: string) => (existsSync(pidOf(task)) ? Number(readFileSync(pidOf(task), "utf8")) : 0);
    const planFile = join(sb.dir, "plan.md");
    writeFileSync(planFile, SMALL_PLAN);
    const config = (timeout: number) => fakeAgentConfig(`FAKE_PLAN=${planFile} FAKE_REVIEW_ROUNDS=0`, ["auto_create_pr = false", "[worktree]", `setup = "echo $$ > ${sb.dir}/setup-$KASMOS_TASK.pid; exec sleep 120"`, `setup_timeout_sec = ${timeout}`].join("\n"));
    sb.writeConfig(config(1));
    const daemon = await sb.foreground();
    try {
      expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
      await createPlanned(sb, repo, "slow", SMALL_PLAN);
      await waitFor(() => attention("slow") !== "", 30_000, "attention for the timed-out setup");
      expect(attention("slow")).toContain("timed out after 1 s");
      const first = readPid("slow");
      await waitFor(() => !alive(first), 10_000, "the timed-out setup to be gone");
      expect(spawned("slow")).toBe(0);

      // A long setup: meanwhile another task's planner signals and its task moves on.
      sb.writeConfig(config(600));
      expect((await sb.run(["daemon", "reload"])).code).toBe(0);
      rmSync(pidOf("slow"));
      expect((await sb.run(["task", "retry", "slow"], { cwd: repo })).code).toBe(0);
      await waitFor(() => readPid("slow") > 0, 30_000, "the second setup to run");
      const second = readPid("slow");
      expect(alive(second)).toBe(true);
      expect((await sb.run(["task", "create", "other"], { cwd: repo })).code).toBe(0);
      expect((await sb.run(["task", "transition", "other", "plan_start"], { cwd: repo })).code).toBe(0);
      await waitFor(() => sb.query("SELECT id FROM audit_events WHERE kind = 'plan_transition' AND task = 'other' AND from_status = 'planning' AND to_status = 'ready'").length === 1, 30_000, "the other task's planning to finish");
      expect(alive(second)).toBe(true); // still setting up
      expect(spawned("slow")).toBe(0);

      daemon.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
      await waitFor(() => !alive(second), 10_000, "the setup to be killed with the daemon");
    } finally {
      // Whatever failed above: no setup of this test outlives it.
      for (const t of ["slow", "other"]) {
        const pid = readPid(t);
        if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
      }
    }
  }, 120_000);
});

describe("[worktree] ports", () => {
  test("an exhausted port range refuses the start with an attention item; kas doctor shows the settings in force", async () => {
    const repo = makeGitRepo(sb.dir, "tight");
    const portLog = join(sb.dir, "ports.log");
    sb.writeConfig(fakeAgentConfig(`FAKE_REVIEW_ROUNDS=0 FAKE_SLOW_WAVE=5 FAKE_PORT_LOG=${portLog}`, ["auto_create_pr = false", "[orchestration]", "max_parallel_wave_tasks = 0", "[worktree]", 'teardown_timeout_sec = 5', 'ports = "41000-41001"'].join("\n")));
    const doctor = await sb.run(["doctor"]);
    expect(doctor.stdout).toContain("copy none; setup none; teardown none; KASMOS_PORT from 41000-41001");
    const daemon = await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    await createPlanned(sb, repo, "wide", WIDE_PLAN);
    await waitFor(() => attention("wide").includes("no free port"), 60_000, "attention for the exhausted port range");
    expect(attention("wide")).toContain("no free port in [worktree] ports 41000-41001");
    // The architect (superseded, stopping) and the coders share two ports: whoever started while both
    // were held was refused; every agent that started has a port no other live agent had.
    const coders = () => sb.query<{ title: string; state: string; reason: string }>("SELECT title, state, reason FROM agents WHERE title LIKE 'wide-W1-%' ORDER BY title");
    await waitFor(() => coders().length === 3, 30_000, "every coder's start to be decided");
    const refused = coders().filter((c) => c.state === "failed");
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const c of refused) expect(c.reason).toContain("no free port in [worktree] ports 41000-41001");
    const started = sb.query<{ title: string }>("SELECT title FROM agents WHERE state != 'failed'").map((r) => r.title);
    const lines = () => (existsSync(portLog) ? readFileSync(portLog, "utf8").trim().split("\n") : []);
    await waitFor(() => lines().length === started.length, 30_000, "every started agent to report its port");
    const ports = new Map(lines().map((l) => l.split(" ") as [string, string]));
    expect([...ports.keys()].sort()).toEqual(started.sort());
    for (const p of ports.values()) expect(["41000", "41001"]).toContain(p);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 90_000);

  test("a restarted daemon never hands out a port an adopted live agent holds", async () => {
    const repo = makeGitRepo(sb.dir, "keep");
    const portLog = join(sb.dir, "ports.log");
    sb.writeConfig(fakeAgentConfig(`FAKE_REVIEW_ROUNDS=0 FAKE_SLOW_WAVE=25 FAKE_PORT_LOG=${portLog}`, ["auto_create_pr = false", "[orchestration]", "max_parallel_wave_tasks = 0", "[worktree]", 'ports = "41000-41009"'].join("\n")));
    let daemon = await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    await createPlanned(sb, repo, "wide", WIDE_PLAN);
    const logged = () => new Map((existsSync(portLog) ? readFileSync(portLog, "utf8").trim().split("\n") : []).map((l) => l.split(" ") as [string, string]));
    const coderTitles = ["wide-W1-T1", "wide-W1-T2", "wide-W1-T3"];
    await waitFor(() => coderTitles.every((t) => logged().has(t)), 60_000, "three coders to start");
    // The daemon goes while the coders work (tmux keeps them); a new one adopts them.
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    daemon = await sb.foreground();
    await createPlanned(sb, repo, "next", SMALL_PLAN);
    await waitFor(() => logged().has("next-coder"), 60_000, "the next task's coder to start");
    const held = coderTitles.map((t) => logged().get(t));
    expect(sb.query<{ title: string }>("SELECT title FROM agents WHERE state = 'running' AND title LIKE 'wide-W1-%'").length).toBe(3); // adopted, still live
    expect(held).not.toContain(logged().get("next-coder"));
    expect(new Set(held).size).toBe(3);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 120_000);
});
