// tmux 3.3a marks a pane dead when its terminal closes, a moment before it has reaped the process, so
// a listing can show `pane_dead` 1 with no exit status yet. The runner waits for the listing that has
// the status instead of recording the end without it (in-process, a scripted tmux listing).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { createConsola } from "consola";
import { type SessionInfo, Tmux } from "../../src/agents/tmux.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import { AgentRunner } from "../../src/runner/runner.ts";
import { EventHub } from "../../src/engine/events.ts";
import type { RepoEntry } from "../../src/engine/repos.ts";
import { insertAgent } from "../../src/store/agents.ts";
import { createTask } from "../../src/store/tasks.ts";
import { writeTaskUpdate } from "../../src/store/task-update.ts";
import { tempStore, type TempStore } from "../store/helpers.ts";

class ScriptedTmux extends Tmux {
  listing: SessionInfo[] = [];
  override async list(): Promise<SessionInfo[]> {
    return this.listing;
  }
  override async capture(): Promise<string> {
    return "error: unknown option '--bogus-flag'\n";
  }
}

let s: TempStore;
beforeEach(() => {
  s = tempStore();
});
afterEach(() => s.cleanup());

test("a dead pane without its exit status yet is judged once the status is listed", async () => {
  createTask(s.db, { project: "p", name: "bad", branch: "plan/bad", content: "# plan\n" });
  writeTaskUpdate(s.db, "p", "bad", { status: "planning" });
  const tmux = new ScriptedTmux();
  const runner = new AgentRunner({ db: s.db, log: createConsola({ level: -999 }), hub: new EventHub(s.db), tmux, config: () => defaultConfig(), binDir: "/nonexistent" });
  const title = runner.sessionTitle({ project: "p", task: "bad", title: "bad-plan" });
  const a = insertAgent(s.db, { project: "p", task: "bad", title: "bad-plan", role: "planner", session: tmux.sessionName(title), cwd: "/tmp", program: "claude", harness: "claude" });
  s.db.query("UPDATE agents SET started_at = '2020-01-01T00:00:00.000Z' WHERE id = ?").run(a.id);
  const repo: RepoEntry = { project: "p", path: "/nonexistent/p", source: "api", problem: null };
  const pane = { name: tmux.sessionName(title), title, panePid: 4242, dead: true, createdAt: 0, activityAt: 0 };
  const row = () => s.db.query<{ state: string; exit_status: number | null }, [number]>("SELECT state, exit_status FROM agents WHERE id = ?").get(a.id)!;

  tmux.listing = [{ ...pane, exitStatus: null }];
  runner.schedule(repo);
  await runner.settled();
  expect(row()).toEqual({ state: "running", exit_status: null }); // not judged on a listing without the status

  tmux.listing = [{ ...pane, exitStatus: 1 }];
  runner.schedule(repo);
  await runner.settled();
  expect(row()).toEqual({ state: "exited", exit_status: 1 });
});

test("after an upgrade, an agent started under its old session name is adopted, not taken for gone; another daemon's session is not", async () => {
  // Task a.b: the earlier version named its planner's session from "p--a.b-plan"; the new name differs.
  createTask(s.db, { project: "p", name: "a.b", branch: "plan/a.b", content: "# plan\n" });
  writeTaskUpdate(s.db, "p", "a.b", { status: "planning" });
  const tmux = new ScriptedTmux({ owner: "me" });
  const runner = new AgentRunner({ db: s.db, log: createConsola({ level: -999 }), hub: new EventHub(s.db), tmux, config: () => defaultConfig(), binDir: "/nonexistent" });
  const oldName = tmux.sessionName("p--a.b-plan");
  const a = insertAgent(s.db, { project: "p", task: "a.b", title: "a.b-plan", role: "planner", session: oldName, cwd: "/tmp", program: "claude", harness: "claude" });
  s.db.query("UPDATE agents SET started_at = '2020-01-01T00:00:00.000Z' WHERE id = ?").run(a.id);
  const repo: RepoEntry = { project: "p", path: "/nonexistent/p", source: "api", problem: null };
  const state = () => s.db.query<{ state: string }, [number]>("SELECT state FROM agents WHERE id = ?").get(a.id)!.state;
  tmux.listing = [{ name: oldName, title: "p--a.b-plan", panePid: 4242, dead: false, exitStatus: null, createdAt: 0, activityAt: 0 }];
  runner.schedule(repo);
  await runner.settled();
  expect(state()).toBe("running");
  // The same name held by another daemon's session: not this agent's (it is gone).
  tmux.listing = [{ ...tmux.listing[0]!, owner: "someone-else" }];
  runner.newPass();
  runner.schedule(repo);
  await runner.settled();
  expect(state()).not.toBe("running");
});
