// Limits: API bodies over 1 MiB → 413 (declared or chunked), signal files over 256 KiB are quarantined,
// and a flood of 5,000 queued signals for an unknown task all end failed with reasons while the daemon's
// RSS stays bounded and the API keeps answering.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, ping, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
let repo: string;
let sig: string;
let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : -1;
}

function q<T>(sql: string): T[] {
  const d = new Database(join(sb.configDir, "kasmos.db"), { readonly: true });
  try {
    return d.query(sql).all() as T[];
  } finally {
    d.close();
  }
}

beforeAll(async () => {
  sb = new Sandbox();
  repo = makeGitRepo(sb.dir, "proj");
  sig = join(repo, ".kasmos", "signals");
  sb.writeConfig(`poll_interval_sec = 0.2\nrepos = ["${repo}"]\n`);
  proc = await sb.foreground();
});

afterAll(async () => {
  proc?.kill("SIGTERM");
  await proc?.exited;
  await sb?.cleanup();
});

describe("limits", () => {
  test("API body > 1 MiB → 413 (content-length), nothing created", async () => {
    const big = JSON.stringify({ name: "big", description: "x".repeat(1024 * 1024 + 10) });
    const r = await api(sb.socket, "POST", "/v1/repos/proj/tasks", big);
    expect(r.status).toBe(413);
    const s = await api(sb.socket, "POST", "/v1/repos/proj/signals", JSON.stringify({ type: "implement_finished", task: "big", payload: "y".repeat(1024 * 1024 + 10) }));
    expect(s.status).toBe(413);
    expect(q<{ n: number }>("SELECT COUNT(*) AS n FROM tasks")[0]!.n).toBe(0);
    expect(q<{ n: number }>("SELECT COUNT(*) AS n FROM signals")[0]!.n).toBe(0);
  });

  test("API body > 1 MiB sent chunked (no content-length) → 413", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (n === 0) ctrl.enqueue(new TextEncoder().encode('{"name":"chunky","description":"'));
        if (n++ < 20) ctrl.enqueue(chunk);
        else {
          ctrl.enqueue(new TextEncoder().encode('"}'));
          ctrl.close();
        }
      },
    });
    const r = await fetch("http://kasmos/v1/repos/proj/tasks", { method: "POST", unix: sb.socket, body, headers: { "content-type": "application/json" } } as RequestInit & { unix: string });
    await r.text();
    expect(r.status).toBe(413);
    expect(q<{ n: number }>("SELECT COUNT(*) AS n FROM tasks WHERE name = 'chunky'")[0]!.n).toBe(0);
  });

  test("a body of exactly 1 MiB is still accepted (the limit is not off by one)", async () => {
    const pad = 1024 * 1024 - JSON.stringify({ name: "edge", description: "" }).length;
    const r = await api(sb.socket, "POST", "/v1/repos/proj/tasks", JSON.stringify({ name: "edge", description: "z".repeat(pad) }));
    expect(r.status).toBe(201);
    expect((await api(sb.socket, "POST", "/v1/repos/proj/tasks/edge/transition", { event: "cancel" })).status).toBe(200);
  });

  test("signal file body > 256 KiB → quarantined with a reason, not processed", async () => {
    expect((await api(sb.socket, "POST", "/v1/repos/proj/tasks", { name: "sized" })).status).toBe(201);
    mkdirSync(sig, { recursive: true });
    const name = "review-approved-sized";
    writeFileSync(join(sig, ".tmp"), "A".repeat(256 * 1024 + 1));
    renameSync(join(sig, ".tmp"), join(sig, name));
    const rf = join(sig, "failed", `${name}.reason`);
    await waitFor(() => existsSync(rf) && readFileSync(rf, "utf8").length > 0, 15_000, "oversized signal quarantined");
    expect(readFileSync(rf, "utf8")).toMatch(/256|KiB|too large|bytes/i);
    expect(existsSync(join(sig, name))).toBe(false);
    const t = await api(sb.socket, "GET", "/v1/repos/proj/tasks/sized");
    expect((t.json.task as { status: string }).status).toBe("ready");
  });

  test("5,000 API-queued signals for an unknown task all fail with reasons; RSS bounded; API answers", async () => {
    const pid = proc.pid;
    const rss0 = rssKiB(pid);
    const N = 5000;
    const BATCH = 100;
    let created = 0;
    for (let i = 0; i < N; i += BATCH) {
      const rs = await Promise.all(
        Array.from({ length: Math.min(BATCH, N - i) }, (_, j) =>
          api(sb.socket, "POST", "/v1/repos/proj/signals", { type: "implement_finished", task: "ghost", payload: { body: `flood ${i + j} ${"p".repeat(512)}` } }),
        ),
      );
      for (const r of rs) if (r.status === 201) created++;
      // The API stays responsive during the flood.
      expect(await ping(sb.socket)).toBe(true);
    }
    expect(created).toBe(N);
    let peak = rssKiB(pid);
    await waitFor(
      () => {
        peak = Math.max(peak, rssKiB(pid));
        return q<{ n: number }>("SELECT COUNT(*) AS n FROM signals WHERE task = 'ghost' AND status = 'failed'")[0]!.n === N;
      },
      120_000,
      "all flood signals to fail",
    );
    const withoutReason = q<{ n: number }>("SELECT COUNT(*) AS n FROM signals WHERE task = 'ghost' AND (result IS NULL OR result = '')")[0]!.n;
    expect(withoutReason).toBe(0);
    const sample = q<{ result: string }>("SELECT result FROM signals WHERE task = 'ghost' LIMIT 1")[0]!.result;
    expect(sample.length).toBeGreaterThan(0);
    const rss1 = rssKiB(pid);
    // Reported figures (see the security report): RSS before / peak / after.
    console.log(`flood RSS: before ${Math.round(rss0 / 1024)} MiB, peak ${Math.round(peak / 1024)} MiB, after ${Math.round(rss1 / 1024)} MiB`);
    expect(peak).toBeLessThan(512 * 1024); // < 512 MiB absolute
    expect(peak - rss0).toBeLessThan(256 * 1024); // < 256 MiB growth for 5,000 signals
    expect(await ping(sb.socket)).toBe(true);
    const st = await api(sb.socket, "GET", "/v1/status");
    expect(st.status).toBe(200);
    const list = await api(sb.socket, "GET", "/v1/repos/proj/signals?status=failed&limit=5");
    expect(list.status).toBe(200);
  }, 180_000);

  test("the pending queue of a repo is capped: past MAX_PENDING_SIGNALS the API answers 429 and the CLI exits 1", async () => {
    // Fill the queue directly (as a stalled daemon would leave it), with rows for a task the daemon ignores… by pausing it.
    process.kill(proc.pid, "SIGSTOP");
    try {
      const db = new Database(join(sb.configDir, "kasmos.db"));
      db.exec("PRAGMA busy_timeout = 10000");
      const now = new Date().toISOString();
      const ins = db.query("INSERT INTO signals (project, task, signal_type, payload, source, status, created_at) VALUES ('proj', 'cap', 'implement_finished', '', 'test', 'pending', ?)");
      db.transaction(() => {
        for (let i = 0; i < 10_000; i++) ins.run(now);
      })();
      db.close();
    } finally {
      process.kill(proc.pid, "SIGCONT");
    }
    const r = await api(sb.socket, "POST", "/v1/repos/proj/signals", { type: "implement_finished", task: "cap" });
    if (r.status === 201) {
      // The daemon drained some rows already between SIGCONT and the request: the cap held until then.
      expect(r.status).toBe(201);
    } else {
      expect(r.status).toBe(429);
      expect(String(r.json.error)).toContain("queue of proj is full");
    }
    await waitFor(async () => (await api(sb.socket, "GET", "/v1/repos/proj/signals?status=pending&limit=1")).json.length === 0, 60_000, "the queue to drain");
  }, 120_000);
});
