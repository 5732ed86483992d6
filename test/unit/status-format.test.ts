// Human status output for a fixture with tasks in every state, agents and attention items.
import { describe, expect, test } from "bun:test";
import { renderStatus } from "../../src/commands/daemon/_status-format.ts";
import type { StatusResponse } from "../../src/api/status.ts";

const NOW = Date.parse("2026-11-23T12:00:00.000Z");
const fixture: StatusResponse = {
  running: true,
  pid: 42,
  version: "0.1.0",
  uptime_sec: 3725,
  socket: "/run/user/1000/kasmos/kas.sock",
  config_path: "/home/u/.config/kasmos/daemon.toml",
  poll_interval_sec: 2,
  watch_signals: true,
  repo_count: 2,
  last_reload: { seq: 2, at: "2026-11-23T11:00:00.000Z", source: "SIGHUP", ok: false, error: "daemon.toml: key \"x\": bad", changes: [] },
  scan: { ticks: 10, event_passes: 3, last_tick_at: null, last_tick_ms: 1 },
  max_parallel_wave_tasks: { value: 4, source: "machine", cores: 2, available_mb: 23_000 },
  agent_starts: { limit: 4, starting: 4, waiting: 1 },
  repos: [
    {
      project: "shop",
      path: "/src/shop",
      source: "api",
      problem: null,
      active_plans: 4,
      tasks_by_status: { ready: 1, planning: 1, implementing: 1, reviewing: 1, verifying: 1, done: 2, cancelled: 1 },
      failed_signals_24h: 2,
      tasks: [
        { name: "plan-me", status: "planning", phase: "", wave: 0, attention: "", tokens: 0, cost_usd: null, agents: [{ title: "plan-me-plan", role: "planner", wave: 0, started_at: "2026-11-23T11:59:30.000Z" }] },
        { name: "waves", status: "implementing", phase: "wave_running", wave: 2, attention: "", tokens: 120_000, cost_usd: 0.4213, agents: [{ title: "waves-W2-T3", role: "coder", wave: 2, started_at: "2026-11-23T11:55:00.000Z" }] },
        { name: "rev", status: "reviewing", phase: "reviewing", wave: 0, attention: "", tokens: 5000, cost_usd: null, agents: [{ title: "rev-review-2", role: "reviewer", wave: 0, started_at: "2026-11-23T10:00:00.000Z" }] },
        { name: "ver", status: "verifying", phase: "", wave: 0, attention: "master ver-verify-1 exited (status 1) without its signal", tokens: 0, cost_usd: null, agents: [] },
        { name: "queued", status: "implementing", phase: "", wave: 0, attention: "", tokens: 0, cost_usd: null, agents: [], agents_waiting: [{ title: "queued-coder", since: "2026-11-23T11:59:50.000Z" }] },
        { name: "old", status: "done", phase: "", wave: 0, attention: "review-fix cycle limit reached (3/2)", tokens: 0, cost_usd: null, agents: [] },
      ],
    },
    { project: "gone", path: "/src/gone", source: "config", problem: "path does not exist: /src/gone", active_plans: 0, tasks_by_status: {}, failed_signals_24h: 0, tasks: [] },
  ],
};

describe("renderStatus", () => {
  test("plain text: repos, tasks by state, aligned task table with agents and ages, attention items", () => {
    const out = renderStatus(fixture, { color: false, now: NOW });
    expect(out).not.toContain("\x1b[");
    const lines = out.split("\n");
    expect(lines[0]).toBe("daemon running (pid 42, version 0.1.0, up 1h2m5s)");
    expect(out).toContain("  - shop (/src/shop) [4 active plans] ready 1, planning 1, implementing 1, reviewing 1, verifying 1, done 2, cancelled 1");
    const header = lines.find((l) => l.includes("TASK"))!;
    expect(header.trim()).toMatch(/^TASK\s+STATUS\s+PHASE\s+SPEND\s+AGENTS$/);
    const row = lines.find((l) => l.trim().startsWith("waves"))!;
    expect(row).toContain("wave_running w2");
    expect(row).toContain("$0.421");
    expect(lines.find((l) => l.trim().startsWith("rev "))).toContain("unknown");
    expect(row).toContain("waves-W2-T3 (coder w2, 5m0s)");
    expect(lines.find((l) => l.trim().startsWith("rev "))).toContain("rev-review-2 (reviewer, 2h0m0s)");
    // columns line up: STATUS starts at the same offset in every row
    const col = header.indexOf("STATUS");
    for (const l of lines.filter((x) => /^\s{6}(plan-me|waves|rev|ver)\s/.test(x))) expect(l.slice(col - 2, col)).toBe("  ");
    expect(out).toContain("! ver: master ver-verify-1 exited (status 1) without its signal");
    expect(out).toContain("! old: review-fix cycle limit reached (3/2)");
    expect(out).toContain("! 2 failed signal(s) in the last 24 h");
    expect(out).toContain("- gone (/src/gone) [0 active plans]  ! path does not exist: /src/gone");
    expect(lines.find((l) => l.trim().startsWith("queued "))).toContain("queued-coder (waiting to start, 10s)");
    expect(out).toContain("agent starts: 4 starting, 1 waiting (at most 4 start at once; the next starts when one reports in)");
    expect(out).toContain("wave tasks at once: 4 (from the machine: 2 cores, 23000 MB available, 500 MB per agent)");
    expect(out).toContain('last reload failed at 2026-11-23T11:00:00.000Z: daemon.toml: key "x": bad');
  });

  test("colour only when asked", () => {
    expect(renderStatus(fixture, { color: true, now: NOW })).toContain("\x1b[33m");
  });
});
