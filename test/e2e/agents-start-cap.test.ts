// A storm of agent starts, end to end (compiled daemon, real tmux, a fake Claude Code that reports its
// SessionStart hook a while after it starts): a few more tasks than the daemon's start limit begin
// implementing at once. At no moment are more agents starting (running, no report yet) than the limit,
// the ones kept back show in status as waiting to start, and every one of them starts in the end.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, BIN, makeGitRepo, Sandbox } from "../helpers/env.ts";
import { SMALL_PLAN } from "../helpers/agents.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

/** A `claude` that takes a while to come up, reports SessionStart through kasmos, then works on. */
function fakeClaude(): string {
  const dir = join(sb.dir, "fakecli");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "claude");
  writeFileSync(
    file,
    [
      "#!/bin/sh",
      "sleep 1.5",
      `echo '{"hook_event_name":"SessionStart","transcript_path":"/dev/null"}' | ${BIN} agent hook --cli claude --event SessionStart`,
      "exec sleep 600",
      "",
    ].join("\n"),
  );
  chmodSync(file, 0o755);
  // The user's one-time Claude Code setup, so its preflight lets it start.
  writeFileSync(join(sb.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));
  mkdirSync(join(sb.home, ".claude"), { recursive: true });
  writeFileSync(join(sb.home, ".claude", ".credentials.json"), "{}");
  return file;
}

interface StatusReply {
  agent_starts: { limit: number; starting: number; waiting: number };
  repos: { tasks: { name: string; agents_waiting: { title: string; since: string }[] }[] }[];
}

describe("a storm of agent starts", () => {
  test("no more agents start at once than the limit; the others wait, shown in status, and all start", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    const claude = fakeClaude();
    sb.writeConfig(["poll_interval_sec = 0.2", "auto_advance = false", "[agents.coder]", `program = "${claude}"`, "skip_permissions = false", "[supervision]", "nudges = 0"].join("\n"));
    const daemon = await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    const first = (await api(sb.socket, "GET", "/v1/status")).json as unknown as StatusReply;
    const limit = first.agent_starts.limit;
    expect(limit).toBeGreaterThanOrEqual(1);
    const n = limit + 3;
    const names = Array.from({ length: n }, (_, i) => `t${i}`);
    const planFile = join(sb.dir, "plan.md");
    writeFileSync(planFile, SMALL_PLAN);
    for (const name of names) {
      const c = await sb.run(["task", "create", name, "--plan", planFile], { cwd: repo });
      expect(c.code, c.stderr).toBe(0);
    }
    // Every task at once.
    const moves = await Promise.all(names.map((name) => api(sb.socket, "POST", `/v1/repos/shop/tasks/${name}/transition`, { event: "implement_start" })));
    for (const m of moves) expect(m.status).toBe(200);

    const starting = (): number => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM agents WHERE state = 'running' AND activity = 'starting'")[0]!.n;
    const working = (): number => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM agents WHERE state = 'running' AND activity = 'working'")[0]!.n;
    let mostStarting = 0;
    let sawWaiting: { title: string; since: string }[] = [];
    let sawWaitingCount = 0;
    const deadline = Date.now() + 90_000;
    for (let i = 0; i < 10_000 && Date.now() < deadline && working() < n; i++) {
      mostStarting = Math.max(mostStarting, starting());
      const s = (await api(sb.socket, "GET", "/v1/status")).json as unknown as StatusReply;
      expect(s.agent_starts.starting).toBeLessThanOrEqual(limit);
      if (s.agent_starts.waiting > sawWaitingCount) {
        sawWaitingCount = s.agent_starts.waiting;
        sawWaiting = s.repos.flatMap((r) => r.tasks.flatMap((t) => t.agents_waiting));
      }
      await Bun.sleep(50);
    }
    if (working() < n) throw new Error(`only ${working()} of ${n} agents came up in 90 s\n${sb.describe()}`);
    expect(mostStarting).toBeGreaterThanOrEqual(1);
    expect(mostStarting).toBeLessThanOrEqual(limit);
    // Some were kept back, and status named them and since when.
    expect(sawWaitingCount).toBeGreaterThanOrEqual(1);
    expect(sawWaiting.length).toBe(sawWaitingCount);
    for (const w of sawWaiting) {
      expect(w.title).toMatch(/^t\d+-coder$/);
      expect(Number.isNaN(Date.parse(w.since))).toBe(false);
    }
    // All started, once each, none failed; nothing is left waiting.
    const rows = sb.query<{ title: string; state: string }>("SELECT title, state FROM agents ORDER BY id");
    expect(rows.map((r) => r.title).sort()).toEqual(names.map((x) => `${x}-coder`).sort());
    expect(rows.every((r) => r.state === "running")).toBe(true);
    const end = (await api(sb.socket, "GET", "/v1/status")).json as unknown as StatusReply;
    expect(end.agent_starts).toEqual({ limit, starting: 0, waiting: 0 });
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
  }, 150_000);
});
