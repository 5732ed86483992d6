// A project is its repository, not its basename, end to end with the compiled daemon: a task created in
// an unwatched repo never runs in a watched one of the same basename; two repos of one basename in the
// config are two projects; a store made by an older version keeps its rows with the repos they belonged to.
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
const daemons: Bun.Subprocess<"ignore", "pipe", "pipe">[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) {
    d.kill("SIGTERM");
    await d.exited;
  }
  await sb?.cleanup();
});

// Agents idle in the folder they were started in (the agents table records it as cwd).
const CONFIG = `poll_interval_sec = 0.2\ndefault_program = "sh -c 'exec sleep 600'"\n`;

interface Status {
  repos: { project: string; path: string; problem: string | null }[];
  scan: { ticks: number };
}
const status = async (): Promise<Status> => JSON.parse((await sb.run(["daemon", "status", "--json"])).stdout) as Status;

/** Wait for `n` more scan passes of the daemon (instead of a fixed sleep). */
async function passes(n: number): Promise<void> {
  const from = (await status()).scan.ticks;
  await waitFor(async () => (await status()).scan.ticks >= from + n, 30_000, `${n} scan passes`);
}

const agents = () => sb.query<{ project: string; task: string; cwd: string; state: string }>("SELECT project, task, cwd, state FROM agents ORDER BY id");
const taskProject = (name: string) => sb.query<{ project: string }>("SELECT project FROM tasks WHERE name = ? ORDER BY id", name).map((r) => r.project);

describe("project identity", () => {
  test("a task created in an unwatched repo never runs in a watched repo of the same basename", async () => {
    sb = new Sandbox();
    sb.writeConfig(CONFIG);
    const watched = makeGitRepo(join(sb.dir, "x", "c"), "web");
    const unwatched = makeGitRepo(join(sb.dir, "y", "d"), "web");
    daemons.push(await sb.foreground());
    expect((await sb.run(["daemon", "add", watched])).code).toBe(0);
    const create = await sb.run(["task", "create", "fix-login"], { cwd: unwatched });
    expect(create.code, create.stderr).toBe(0);
    expect(create.stderr).toContain(`does not watch ${unwatched}`);
    expect((await sb.run(["task", "transition", "fix-login", "plan_start"], { cwd: unwatched })).code).toBe(0);
    await passes(5);
    expect(agents()).toEqual([]);
    const [key] = taskProject("fix-login");
    expect(key).toMatch(/^web~[0-9a-f]{8}$/);
    // The watched repo's own task of that name is another task, and runs there.
    expect((await sb.run(["task", "create", "fix-login"], { cwd: watched })).code).toBe(0);
    expect((await sb.run(["task", "transition", "fix-login", "plan_start"], { cwd: watched })).code).toBe(0);
    await waitFor(() => agents().length === 1, 30_000, "the watched repo's planner");
    expect(agents()[0]).toMatchObject({ project: "web", task: "fix-login", cwd: watched, state: "running" });
    expect((await sb.run(["task", "list"], { cwd: watched })).stdout.match(/fix-login/g)?.length).toBe(1);
    // Watching the second repo starts its task there, under the key its CLI gave it.
    const add = await sb.run(["daemon", "add", unwatched, "--json"]);
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout).project).toBe(key!);
    await waitFor(() => agents().length === 2, 30_000, "the second repo's planner");
    expect(agents()[1]).toMatchObject({ project: key, task: "fix-login", cwd: unwatched, state: "running" });
    expect((await status()).repos.map((r) => [r.project, r.path])).toEqual([["web", watched], [key!, unwatched]]);
  }, 120_000);

  test("repos = [a/proj, b/proj]: two projects in status, each task runs in its own repo", async () => {
    sb = new Sandbox();
    const a = makeGitRepo(join(sb.dir, "a"), "proj");
    const b = makeGitRepo(join(sb.dir, "b"), "proj");
    sb.writeConfig(`${CONFIG}repos = ["${a}", "${b}"]\n`);
    daemons.push(await sb.foreground());
    const repos = (await status()).repos;
    expect(repos.map((r) => r.path)).toEqual([a, b]);
    expect(repos.every((r) => r.problem === null)).toBe(true);
    expect(repos[0]!.project).toBe("proj");
    expect(repos[1]!.project).toMatch(/^proj~[0-9a-f]{8}$/);
    for (const repo of [b, a]) {
      expect((await sb.run(["task", "create", "t"], { cwd: repo })).code).toBe(0);
      expect((await sb.run(["task", "transition", "t", "plan_start"], { cwd: repo })).code).toBe(0);
    }
    await waitFor(() => agents().length === 2, 30_000, "both planners");
    expect(agents().map((x) => [x.project, x.cwd]).sort()).toEqual([[repos[0]!.project, a], [repos[1]!.project, b]].sort());
    const text = (await sb.run(["daemon", "status"])).stdout;
    expect(text).toContain(`- proj (${a})`);
    expect(text).toContain(`- ${repos[1]!.project} (${b})`);
  }, 120_000);

  test("a store made by an older version: its rows stay with the repos they belonged to", async () => {
    sb = new Sandbox();
    const registered = makeGitRepo(join(sb.dir, "x"), "web");
    const configured = makeGitRepo(join(sb.dir, "z"), "proj");
    const strangerWeb = makeGitRepo(join(sb.dir, "y"), "web");
    const strangerProj = makeGitRepo(join(sb.dir, "w"), "proj");
    sb.writeConfig(`${CONFIG}repos = ["${configured}"]\n`);
    // The old schema (migrations 1–13), rows keyed by basename: a registered repo and a config one.
    mkdirSync(sb.configDir, { recursive: true });
    const db = new Database(join(sb.configDir, "kasmos.db"));
    for (let i = 0; i < 13; i++) {
      db.transaction(() => MIGRATIONS[i]!(db))();
      db.exec(`PRAGMA user_version = ${i + 1}`);
    }
    const now = new Date().toISOString();
    db.query("INSERT INTO repos (project, path, added_at) VALUES ('web', ?, ?)").run(registered, now);
    for (const [project, name] of [["web", "old-web"], ["proj", "old-proj"]]) db.query("INSERT INTO tasks (project, name, created_at, updated_at) VALUES (?, ?, ?, ?)").run(project!, name!, now, now);
    db.close();
    // The CLI in same-basename strangers first (no daemon has run since the upgrade): their own projects.
    for (const [stranger, old] of [[strangerWeb, "old-web"], [strangerProj, "old-proj"]] as const) {
      const list = await sb.run(["task", "list"], { cwd: stranger });
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).not.toContain(old);
    }
    expect((await sb.run(["task", "list"], { cwd: registered })).stdout).toContain("old-web");
    expect((await sb.run(["task", "list"], { cwd: configured })).stdout).toContain("old-proj");
    daemons.push(await sb.foreground());
    expect((await status()).repos.map((r) => [r.project, r.path]).sort()).toEqual([["proj", configured], ["web", registered]]);
  }, 120_000);
});
