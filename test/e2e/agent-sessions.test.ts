// Agent sessions end to end (compiled daemon, real tmux): names never collide through the "--"
// separator (project a--b / task c against project a / task b--c), and a second daemon of the same user
// on the same tmux socket (another HOME, so another store) never kills or adopts the first one's
// sessions: a name clash is an attention item, not a kill.
import { afterEach, describe, expect, test } from "bun:test";
import { makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

const sandboxes: Sandbox[] = [];
const daemons: Bun.Subprocess<"ignore", "pipe", "pipe">[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) {
    d.kill("SIGTERM");
    await d.exited;
  }
  for (const sb of sandboxes.splice(0)) await sb.cleanup();
});

async function daemonIn(sb: Sandbox, env: Record<string, string> = {}): Promise<void> {
  daemons.push(await sb.foreground([], env));
}

const running = (sb: Sandbox) => sb.query<{ title: string; session: string }>("SELECT title, session FROM agents WHERE state = 'running' ORDER BY id");

describe("agent sessions", () => {
  test("project a--b task c and project a task b--c: two planners in two sessions, each capture shows its own", async () => {
    const sb = new Sandbox();
    sandboxes.push(sb);
    // Each agent prints its own KASMOS_PROJECT/KASMOS_TASK, then idles.
    sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "sh -c 'echo \\"I am $KASMOS_PROJECT/$KASMOS_TASK\\"; exec sleep 600'"\n`);
    await daemonIn(sb);
    const ab = makeGitRepo(sb.dir, "a--b");
    const a = makeGitRepo(sb.dir, "a");
    for (const [repo, task] of [[ab, "c"], [a, "b--c"]] as const) {
      expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
      expect((await sb.run(["task", "create", task], { cwd: repo })).code).toBe(0);
      expect((await sb.run(["task", "transition", task, "plan_start"], { cwd: repo })).code).toBe(0);
    }
    await waitFor(() => running(sb).length === 2, 30_000, "both planners");
    await Bun.sleep(1500); // several passes: neither start killed the other
    const rows = running(sb);
    expect(rows.length).toBe(2);
    expect(new Set(rows.map((r) => r.session)).size).toBe(2);
    const live = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "list-sessions", "-F", "#{session_name}"]).stdout.toString().trim().split("\n");
    expect(live.sort()).toEqual(rows.map((r) => r.session).sort());
    for (const [repo, task, title] of [[ab, "c", "c-plan"], [a, "b--c", "b--c-plan"]] as const) {
      const project = repo === ab ? "a--b" : "a";
      await waitFor(async () => (await sb.run(["agent", "capture", title], { cwd: repo })).stdout.includes(`I am ${project}/${task}`), 20_000, `${title}'s own screen`);
    }
    expect(sb.query("SELECT id FROM agents WHERE state != 'running'").length).toBe(0);
  }, 90_000);

  test("two daemons (two HOMEs) on one tmux socket: the second never kills the first's session; the clash is an attention item", async () => {
    const one = new Sandbox();
    const two = new Sandbox();
    sandboxes.push(one, two);
    const config = `poll_interval_sec = 0.2\ndefault_program = "sh -c 'echo started; exec sleep 600'"\n`;
    one.writeConfig(config);
    two.writeConfig(config);
    // Same basename and task in both: the same session name on the shared socket.
    const repo1 = makeGitRepo(one.dir, "web");
    const repo2 = makeGitRepo(two.dir, "web");
    await daemonIn(one);
    await daemonIn(two, { KASMOS_TMUX_SOCKET: one.tmuxSocket });
    const shared = { env: { KASMOS_TMUX_SOCKET: one.tmuxSocket } };
    expect((await one.run(["daemon", "add", repo1])).code).toBe(0);
    expect((await two.run(["daemon", "add", repo2], shared)).code).toBe(0);
    await one.run(["task", "create", "t"], { cwd: repo1 });
    await one.run(["task", "transition", "t", "plan_start"], { cwd: repo1 });
    await waitFor(() => running(one).length === 1, 30_000, "the first daemon's planner");
    const pane = () => Bun.spawnSync(["tmux", "-L", one.tmuxSocket, "list-panes", "-a", "-F", "#{session_name} #{pane_pid} #{pane_dead}"]).stdout.toString().trim();
    const before = pane();
    expect(before).toContain("kas_web--t-plan");
    await two.run(["task", "create", "t"], { cwd: repo2, ...shared });
    await two.run(["task", "transition", "t", "plan_start"], { cwd: repo2, ...shared });
    const attention = () => two.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = 't'")[0]?.attention ?? "";
    await waitFor(() => attention() !== "", 30_000, "the second daemon's attention item");
    expect(attention()).toContain("belongs to another kasmos daemon");
    expect(attention()).toContain("KASMOS_TMUX_SOCKET");
    await Bun.sleep(1000); // several passes of both daemons
    // The first daemon's session is the same process, alive, and still its agent.
    expect(pane()).toBe(before);
    expect(running(one).map((r) => r.title)).toEqual(["t-plan"]);
    expect(one.query("SELECT id FROM agents WHERE state != 'running'").length).toBe(0);
    expect(running(two)).toEqual([]);
    // Nor does the second capture it or type into it: its own agent is not running.
    const cap = await two.run(["agent", "capture", "t-plan"], { cwd: repo2, ...shared });
    expect(cap.stdout).not.toContain("started");
  }, 90_000);
});
