// `kas task create` / `kas task plan` robustness regressions: atomic create with a plan, one branch per
// task (never the default branch), plans with a byte-order mark, renumbered tasks reported by line.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
let repo: string;
beforeEach(() => {
  sb = new Sandbox();
  repo = makeGitRepo(sb.dir, "shop");
});
afterEach(async () => {
  await sb.cleanup();
});

const GOOD = "## Wave 1: a\n### Task 1: x\ny\n";
const file = (name: string, text: string): string => {
  const p = join(sb.dir, name);
  writeFileSync(p, text);
  return p;
};
const tasks = () => sb.query<{ name: string }>("SELECT name FROM tasks").map((r) => r.name);

describe("task create", () => {
  test("a plan that does not parse creates nothing; the retry with a good plan works", async () => {
    const bad = await sb.run(["task", "create", "x", "--plan", file("bad.md", "### Task 1: before any wave\n")], { cwd: repo });
    expect(bad.code).toBe(1);
    expect(tasks()).toEqual([]);
    const ok = await sb.run(["task", "create", "x", "--plan", file("good.md", GOOD)], { cwd: repo });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("plan: 1 waves, 1 tasks");
  });

  test("a branch another task works on, or the default branch, is refused with the reason", async () => {
    expect((await sb.run(["task", "create", "a-b"], { cwd: repo })).code).toBe(0);
    const shared = await sb.run(["task", "create", "c", "--branch", "plan/a-b"], { cwd: repo });
    expect(shared.code).toBe(1);
    expect(shared.stderr).toContain("branch plan/a-b is already the branch of task a-b");
    const main = await sb.run(["task", "create", "d", "--branch", "main"], { cwd: repo });
    expect(main.code).toBe(1);
    expect(main.stderr).toContain("default branch");
    expect(tasks()).toEqual(["a-b"]);
  });

  test("the API refuses them too (409 / 400), and is atomic with a plan", async () => {
    sb.writeConfig("poll_interval_sec = 5\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    expect((await api(sb.socket, "POST", "/v1/repos/shop/tasks", { name: "one" })).status).toBe(201);
    expect((await api(sb.socket, "POST", "/v1/repos/shop/tasks", { name: "two", branch: "plan/one" })).status).toBe(409);
    expect((await api(sb.socket, "POST", "/v1/repos/shop/tasks", { name: "three", branch: "main" })).status).toBe(400);
    expect((await api(sb.socket, "POST", "/v1/repos/shop/tasks", { name: "four", plan: "no waves here" })).status).toBe(400);
    expect(tasks()).toEqual(["one"]);
    daemon.kill("SIGTERM");
    await daemon.exited;
  });

  test("the CLI (no daemon) and the API are one implementation: the same refusals in the same words, the same audit row", async () => {
    sb.writeConfig("poll_interval_sec = 5\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    expect((await sb.run(["task", "create", "one"], { cwd: repo })).code).toBe(0);
    const cases: { cli: string[]; api: Record<string, string> }[] = [
      { cli: ["one"], api: { name: "one" } },
      { cli: ["../evil"], api: { name: "../evil" } },
      { cli: ["two", "--branch", "plan/one"], api: { name: "two", branch: "plan/one" } },
      { cli: ["three", "--branch", "main"], api: { name: "three", branch: "main" } },
      { cli: ["four", "--plan", file("bad.md", "no waves here")], api: { name: "four", plan: "no waves here" } },
    ];
    for (const c of cases) {
      const viaCli = await sb.run(["task", "create", ...c.cli], { cwd: repo });
      const viaApi = await api(sb.socket, "POST", "/v1/repos/shop/tasks", c.api);
      expect(viaCli.code, c.cli.join(" ")).toBe(1);
      expect(viaApi.status, c.cli.join(" ")).toBeGreaterThanOrEqual(400);
      expect(viaCli.stderr.trim()).toBe(String(viaApi.json.error));
    }
    expect((await api(sb.socket, "POST", "/v1/repos/shop/tasks", { name: "five" })).status).toBe(201);
    const made = sb.query<{ task: string; message: string }>("SELECT task, message FROM audit_events WHERE kind = 'task_created' ORDER BY id");
    expect(made).toEqual([
      { task: "one", message: `task created (cli) in ${repo}` },
      { task: "five", message: `task created (api) in ${repo}` },
    ]);
    const emitCli = await sb.run(["signal", "emit", "nope", "one"], { cwd: repo });
    const emitApi = await api(sb.socket, "POST", "/v1/repos/shop/signals", { type: "nope", task: "one" });
    expect(emitCli.stderr.trim()).toBe(String(emitApi.json.error));
    const moveCli = await sb.run(["task", "transition", "one", "fly"], { cwd: repo });
    const moveApi = await api(sb.socket, "POST", "/v1/repos/shop/tasks/one/transition", { event: "fly" });
    expect(moveCli.stderr.trim()).toBe(String(moveApi.json.error));
    daemon.kill("SIGTERM");
    await daemon.exited;
  });
});

describe("plans", () => {
  test("a plan starting with a byte-order mark parses", async () => {
    const r = await sb.run(["task", "create", "bom", "--plan", file("bom.md", `\uFEFF${GOOD}`)], { cwd: repo });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
  });

  test("renumbered tasks are kept but reported with their line numbers", async () => {
    const plan = "## Wave 1: a\n### Task 1: x\nx\n### Task 1: y\ny\n\n## Wave 2: b\n### Task 7: z\nz\n";
    await sb.run(["task", "create", "n"], { cwd: repo });
    const r = await sb.run(["task", "plan", "n", "--file", file("n.md", plan)], { cwd: repo });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("plan stored: 2 waves, 3 tasks");
    expect(r.stderr).toContain('warning: line 4: "Task 1" is task 2 of the plan');
    expect(r.stderr).toContain('warning: line 8: "Task 7" is task 3 of the plan');
  });
});

describe("plan changes while agents work", () => {
  test("kas task plan during a running wave is refused with the way out; the wave keeps running", async () => {
    sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "sh -c 'exec sleep 600'"\n[orchestration]\nblueprint_skip_threshold = 0\n`);
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    const plan = "## Wave 1: a\n### Task 1: x\nx\n### Task 2: y\ny\n";
    await sb.run(["task", "create", "pc", "--plan", file("pc.md", plan)], { cwd: repo });
    await sb.run(["task", "transition", "pc", "implement_start"], { cwd: repo });
    // The architect idles; move on to the wave as its signal would.
    await waitFor(() => sb.query("SELECT * FROM agents WHERE title = 'pc-architect' AND state = 'running'").length === 1, 20_000, "the architect");
    writeFileSync(join(repo, ".kasmos", "signals", "elaborator-finished-pc"), "");
    await waitFor(() => sb.query("SELECT * FROM agents WHERE title LIKE 'pc-W1-%' AND state = 'running'").length === 2, 20_000, "wave 1");
    const r = await sb.run(["task", "plan", "pc", "--file", file("other.md", GOOD)], { cwd: repo });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("task pc is implementing (wave running, wave 1): its plan cannot change");
    expect(r.stderr).toContain("kas task transition pc cancel");
    expect(sb.query<{ status: string }>("SELECT status FROM subtasks WHERE task = 'pc' ORDER BY number").map((x) => x.status)).toEqual(["running", "running"]);
    expect(sb.query("SELECT * FROM agents WHERE title LIKE 'pc-W1-%' AND state = 'running'").length).toBe(2);
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 60_000);
});

describe("repos the daemon does not watch", () => {
  test("create and transition there warn on stderr (exit 0); nothing is said in a watched repo", async () => {
    const watched = makeGitRepo(sb.dir, "watched");
    sb.writeConfig("poll_interval_sec = 5\n");
    const daemon = await sb.foreground();
    await sb.run(["daemon", "add", watched]);
    const c = await sb.run(["task", "create", "t"], { cwd: repo });
    expect(c.code).toBe(0);
    expect(c.stderr).toContain(`warning: the running daemon does not watch ${repo}: nothing will happen until you run kas daemon add ${repo}`);
    const t = await sb.run(["task", "transition", "t", "plan_start"], { cwd: repo });
    expect(t.code).toBe(0);
    expect(t.stderr).toContain("does not watch");
    const w = await sb.run(["task", "create", "t"], { cwd: watched });
    expect(w.code).toBe(0);
    expect(w.stderr).toBe("");
    daemon.kill("SIGTERM");
    await daemon.exited;
  });
});
