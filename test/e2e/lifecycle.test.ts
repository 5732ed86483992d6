// End to end with the compiled daemon and real git repos: drive a task from ready to done with
// signal files and CLI events only (auto flags off, so no agents are needed), in watch and poll mode.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

const PLAN = `# Feature plan

**Goal:** make it work

## Wave 1: storage
### Task 1: table
create it

## Wave 2: api
### Task 2 — endpoint
serve it
`;

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

function db(s: Sandbox): Database {
  return new Database(join(s.configDir, "kasmos.db"), { readonly: true });
}

function taskRow(s: Sandbox, project: string, name: string): Record<string, unknown> {
  const d = db(s);
  try {
    return d.query("SELECT * FROM tasks WHERE project = ? AND name = ?").get(project, name) as Record<string, unknown>;
  } finally {
    d.close();
  }
}

async function waitStatus(s: Sandbox, project: string, name: string, status: string): Promise<void> {
  await waitFor(() => taskRow(s, project, name)?.status === status, 15_000, `${project}/${name} to reach ${status}`);
}

/** Agents may write non-atomically; tests write atomically so timing never matters. */
function drop(dir: string, name: string, body = ""): void {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${name}`);
  writeFileSync(tmp, body);
  renameSync(tmp, join(dir, name));
}

for (const mode of ["watch", "poll"] as const) {
  describe(`ready → done with signal files and CLI events (${mode} mode)`, () => {
    test("full lifecycle, worktree signals, audit history and event stream agree", async () => {
      const repo = makeGitRepo(sb.dir, "shop");
      const sig = join(repo, ".kasmos", "signals");
      Bun.spawnSync(["git", "-C", repo, "branch", "plan/feat"]);
      const head = Bun.spawnSync(["git", "-C", repo, "rev-parse", "plan/feat"]).stdout.toString().trim();
      sb.writeConfig(
        [`watch_signals = ${mode === "watch"}`, "poll_interval_sec = 0.2", "auto_advance = false", "auto_review_fix = false", "auto_readiness_review = false"].join("\n"),
      );
      const daemon = await sb.foreground();
      expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
      const cli = async (...args: string[]) => {
        const r = await sb.run(args, { cwd: repo });
        if (r.code !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
        return r.stdout;
      };
      // Follow the event stream from the start.
      const events: { kind: string; to_status: string; id: number }[] = [];
      const es = await fetch("http://kasmos/v1/events?project=shop", { unix: sb.socket, headers: { "last-event-id": "0" } });
      const reader = es.body!.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      const pumping = (async () => {
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (done) return;
          buf += decoder.decode(value, { stream: true });
          let i: number;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = block.split("\n").find((l) => l.startsWith("data: "));
            if (data) events.push(JSON.parse(data.slice(6)));
          }
        }
      })();

      await cli("task", "create", "feat", "--description", "demo feature");
      expect(taskRow(sb, "shop", "feat").status).toBe("ready");
      // implement_start is refused for an unplanned task
      const early = await sb.run(["task", "transition", "feat", "implement_start"], { cwd: repo });
      expect(early.code).toBe(1);
      expect(early.stderr).toContain("not yet planned");

      await cli("task", "transition", "feat", "plan_start");
      expect(taskRow(sb, "shop", "feat").status).toBe("planning");
      // planner_finished without a plan is refused and quarantined
      drop(sig, "planner-finished-feat");
      await waitFor(() => existsSync(join(sig, "failed", "planner-finished-feat.reason")), 15_000, "quarantine of planner-finished without plan");
      expect(taskRow(sb, "shop", "feat").status).toBe("planning");

      writeFileSync(join(sb.dir, "plan.md"), PLAN);
      expect(await cli("task", "plan", "feat", "--file", join(sb.dir, "plan.md"))).toContain("2 waves, 2 tasks");
      drop(sig, "planner-finished-feat.md"); // trailing .md is stripped
      await waitStatus(sb, "shop", "feat", "ready");
      expect(taskRow(sb, "shop", "feat").execution_phase).toBe("planned");

      await cli("task", "transition", "feat", "implement_start");
      expect(taskRow(sb, "shop", "feat").status).toBe("implementing");

      // The coder works in a worktree created after the daemon started.
      const wt = join(repo, ".worktrees", "plan-feat");
      expect(Bun.spawnSync(["git", "-C", repo, "worktree", "add", "-q", wt, "plan/feat"]).exitCode).toBe(0);
      drop(join(wt, ".kasmos", "signals"), "implement-finished-feat");
      await waitStatus(sb, "shop", "feat", "reviewing");

      drop(sig, "review-changes-feat", "  1. handle the empty bucket\n");
      await waitStatus(sb, "shop", "feat", "implementing");
      expect(taskRow(sb, "shop", "feat").latest_feedback).toBe("1. handle the empty bucket");

      drop(sig, "implement-finished-feat");
      await waitStatus(sb, "shop", "feat", "reviewing");
      drop(sig, "review-approved-feat", "Approved. Solid.");
      await waitStatus(sb, "shop", "feat", "done");

      const t = taskRow(sb, "shop", "feat");
      for (const col of ["planning_at", "implementing_at", "reviewing_at", "verifying_at", "done_at"]) expect(typeof t[col]).toBe("string");
      expect(t.verify_origin).toBe("auto");
      expect(t.verified_sha).toBe(head); // bound to the branch HEAD at approval

      // Every signal file was consumed; the refused one sits in failed/ with its reason.
      await waitFor(() => readdirSync(sig).filter((n) => !["failed", "processing"].includes(n)).length === 0, 5000, "signals folder to empty");
      expect(readdirSync(join(sig, "failed")).sort()).toEqual(["planner-finished-feat", "planner-finished-feat.reason"]);

      const show = JSON.parse(await cli("task", "show", "feat", "--json")) as { task: { status: string }; subtasks: unknown[] };
      expect(show.task.status).toBe("done");
      expect(show.subtasks).toHaveLength(2);

      const hist = await cli("task", "history", "feat");
      const moves = hist.split("\n").filter((l) => l.includes("plan_transition")).map((l) => l.match(/plan_transition (\S+ → \S+)/)![1]);
      expect(moves).toEqual([
        "ready → planning",
        "planning → ready",
        "ready → implementing",
        "implementing → reviewing",
        "reviewing → implementing",
        "implementing → reviewing",
        "reviewing → verifying",
        "verifying → done",
      ]);

      const sigs = JSON.parse(await cli("signal", "list", "--json")) as { status: string; type: string }[];
      expect(sigs.map((s) => `${s.type}:${s.status}`).reverse()).toEqual([
        "planner_finished:failed",
        "planner_finished:done",
        "implement_finished:done",
        "review_changes_requested:done",
        "implement_finished:done",
        "review_approved:done",
      ]);

      const st = JSON.parse(await cli("daemon", "status", "--json")) as { repos: { active_plans: number; tasks_by_status: Record<string, number> }[] };
      expect(st.repos[0]!.tasks_by_status.done).toBe(1);
      expect(st.repos[0]!.active_plans).toBe(0);

      await waitFor(() => events.filter((e) => e.kind === "plan_transition").length === 8, 5000, "8 transition events on the stream");
      expect(events.filter((e) => e.kind === "plan_transition").map((e) => e.to_status)).toEqual(["planning", "ready", "implementing", "reviewing", "implementing", "reviewing", "verifying", "done"]);
      const ids = events.map((e) => e.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids); // ordered, no duplicates
      expect(new Set(ids).size).toBe(ids.length);
      await reader.cancel();
      await pumping;
      daemon.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
    });
  });
}

describe("durability", () => {
  test("signals emitted and files dropped while the daemon is down are processed when it starts; processing/ leftovers are recovered", async () => {
    const repo = makeGitRepo(sb.dir, "api");
    const sig = join(repo, ".kasmos", "signals");
    writeFileSync(join(sb.dir, "plan.md"), PLAN);
    sb.writeConfig("poll_interval_sec = 0.2\nauto_readiness_review = false\n");
    for (const n of ["a", "b", "c"]) {
      const r = await sb.run(["task", "create", n, "--plan", join(sb.dir, "plan.md")], { cwd: repo });
      expect(r.code).toBe(0);
      expect((await sb.run(["task", "transition", n, "implement_start"], { cwd: repo })).code).toBe(0);
    }
    const em = await sb.run(["signal", "emit", "implement-finished", "a"], { cwd: repo });
    expect(em.code).toBe(0);
    expect(em.stdout).toMatch(/^signal emitted: type=implement_finished task=a id=\d+$/m);
    drop(sig, "implement-finished-b");
    mkdirSync(join(sig, "processing"), { recursive: true });
    writeFileSync(join(sig, "processing", "implement-finished-c"), "");

    const pending = JSON.parse((await sb.run(["signal", "list", "--status", "pending", "--json"])).stdout) as unknown[];
    expect(pending).toHaveLength(1);

    const proc = await sb.foreground([], {});
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    for (const n of ["a", "b", "c"]) await waitStatus(sb, "api", n, "reviewing");
    expect(readdirSync(join(sig, "processing"))).toEqual([]);
    proc.kill("SIGTERM");
    await proc.exited;
  });

  test("signal emit validates type and payload; exit 1 with the reason", async () => {
    const repo = makeGitRepo(sb.dir, "val");
    const bad = await sb.run(["signal", "emit", "fly_away", "x"], { cwd: repo });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown signal type "fly_away"');
    const badPayload = await sb.run(["signal", "emit", "implement_task_finished", "x", "--payload", "not json"], { cwd: repo });
    expect(badPayload.code).toBe(1);
    expect(badPayload.stderr).toContain("invalid payload");
    const sha = await sb.run(["signal", "emit", "verify_approved", "x", "--payload", '{"reviewed_sha":"abc"}'], { cwd: repo });
    expect(sha.code).toBe(1);
    expect(sha.stderr).toContain("reviewed_sha");
    const outside = await sb.run(["signal", "emit", "plan_start", "x"], { cwd: sb.dir });
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain("not inside a git work tree");
  });
});

describe("control API for tasks, signals and events", () => {
  test("tasks: list/create/get/transition; signals: list/post; errors are 4xx with reasons", async () => {
    const repo = makeGitRepo(sb.dir, "web");
    sb.writeConfig("poll_interval_sec = 0.2\n");
    const proc = await sb.foreground();
    await sb.run(["daemon", "add", repo]);
    const s = sb.socket;
    expect((await api(s, "GET", "/v1/repos/nope/tasks")).status).toBe(404);
    const created = await api(s, "POST", "/v1/repos/web/tasks", { name: "t1.md", description: "d", plan: PLAN });
    expect(created.status).toBe(201);
    expect(created.json.name).toBe("t1");
    expect((await api(s, "POST", "/v1/repos/web/tasks", { name: "t1" })).status).toBe(409);
    expect((await api(s, "POST", "/v1/repos/web/tasks", { name: "../evil" })).status).toBe(400);
    expect((await api(s, "POST", "/v1/repos/web/tasks", { name: "t2", plan: "## Wave 1a\n" })).status).toBe(400);
    expect((await api(s, "POST", "/v1/repos/web/tasks", "{")).status).toBe(400);
    const list = await api(s, "GET", "/v1/repos/web/tasks?status=ready");
    expect((list.json as unknown as unknown[]).length).toBe(1);
    expect((await api(s, "GET", "/v1/repos/web/tasks?status=bogus")).status).toBe(400);
    const one = await api(s, "GET", "/v1/repos/web/tasks/t1");
    expect(one.status).toBe(200);
    expect((one.json.subtasks as unknown[]).length).toBe(2);
    expect((await api(s, "GET", "/v1/repos/web/tasks/zzz")).status).toBe(404);

    expect((await api(s, "POST", "/v1/repos/web/tasks/t1/transition", { event: "fly" })).status).toBe(400);
    expect((await api(s, "POST", "/v1/repos/web/tasks/zzz/transition", { event: "cancel" })).status).toBe(404);
    const bad = await api(s, "POST", "/v1/repos/web/tasks/t1/transition", { event: "implement_finished" });
    expect(bad.status).toBe(409);
    expect(String(bad.json.error)).toContain("invalid transition");
    const ok = await api(s, "POST", "/v1/repos/web/tasks/t1/transition", { event: "implement-start" });
    expect(ok.status).toBe(200);
    expect((ok.json.task as { status: string }).status).toBe("implementing");

    expect((await api(s, "POST", "/v1/repos/web/signals", { type: "nope", task: "t1" })).status).toBe(400);
    expect((await api(s, "POST", "/v1/repos/web/signals", { type: "implement_wave", task: "t1", payload: "x" })).status).toBe(400);
    const q = await api(s, "POST", "/v1/repos/web/signals", { type: "implement_finished", task: "t1" });
    expect(q.status).toBe(201);
    await waitStatus(sb, "web", "t1", "reviewing");
    const sigs = await api(s, "GET", "/v1/repos/web/signals?status=done");
    expect((sigs.json as unknown as { id: number }[]).map((r) => r.id)).toContain(q.json.id as number);

    const st = await api(s, "GET", "/v1/status");
    const r0 = (st.json.repos as { active_plans: number; tasks_by_status: Record<string, number> }[])[0]!;
    expect(r0.active_plans).toBe(1);
    expect(r0.tasks_by_status.reviewing).toBe(1);
    expect((await sb.run(["daemon", "status"])).stdout).toContain("[1 active plan] reviewing 1");

    // SSE replay from Last-Event-ID returns exactly the events after it
    const all = await readEvents(s, 0, 4);
    const after = await readEvents(s, all[1]!.id, 2);
    expect(after.map((e) => e.id)).toEqual([all[2]!.id, all[3]!.id]);
    expect((await api(s, "GET", "/v1/events?after=-1")).status).toBe(400);

    // `kasmos daemon events` follows the same stream
    const follow = await sb.run(["daemon", "events", "--json", "--since", "0", "--count", "2", "--kinds", "plan_transition"]);
    expect(follow.code).toBe(0);
    const lines = follow.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string; to_status: string });
    expect(lines.map((l) => `${l.kind}:${l.to_status}`)).toEqual(["plan_transition:implementing", "plan_transition:reviewing"]);
    const human = await sb.run(["daemon", "events", "--since", "0", "--count", "1"]);
    expect(human.stdout).toMatch(/^\S+Z #\d+ \w+ /);

    proc.kill("SIGTERM");
    await proc.exited;
  });
});

async function readEvents(socket: string, after: number, n: number): Promise<{ id: number; kind: string }[]> {
  const res = await fetch("http://kasmos/v1/events", { unix: socket, headers: { "last-event-id": String(after) } });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = "";
  const out: { id: number; kind: string }[] = [];
  const deadline = Date.now() + 5000;
  while (out.length < n && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const data = buf.slice(0, i).split("\n").find((l) => l.startsWith("data: "));
      buf = buf.slice(i + 2);
      if (data) out.push(JSON.parse(data.slice(6)));
    }
  }
  await reader.cancel();
  return out.slice(0, n);
}
