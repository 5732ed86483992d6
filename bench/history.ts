// A daemon with a long history: two stores, 1 k and 1 M finished signals (each with its plan_transition
// and signal_done audit rows, one task per 100 signals, done once its signals are in, spread over the past year, and 45 ended
// agent rows per task: 450 k at 1 M signals), seeded through the
// store's own code (insertFinishedSignal, recordAudit, createTask, insertAgent) in big transactions before the daemon
// starts. For each: start → first answering /v1/status, daemon CPU in its first 5 s, GET /v1/status,
// `kas daemon status`, `kas agent list --all`, `kas task list --all`, `kas task show`, GET /v1/metrics, a
// replay of /v1/events from 0 (events/s, whether every event arrived, and /v1/ping latency of another
// client meanwhile against an idle daemon's), idle CPU; printed as large/small ratios. Then store size before and
// after `kas daemon gc` on the large store (skipped with a note when the binary has no gc command).
// Sizes: KASMOS_BENCH_SIGNALS_SMALL (1000), KASMOS_BENCH_SIGNALS (1000000), KASMOS_BENCH_IDLE_SEC (20).
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { endAgent, insertAgent } from "../src/store/agents.ts";
import { recordAudit } from "../src/store/audit.ts";
import { openStore } from "../src/store/db.ts";
import { insertStoredRepo } from "../src/store/repos.ts";
import { insertFinishedSignal } from "../src/store/signals.ts";
import { createTask } from "../src/store/tasks.ts";
import { writeTaskUpdate } from "../src/store/task-update.ts";
import { cpuPreciseMs, cpuWindow, type BenchResult, envInt, type Figure, percentile, pingProbe, round, Sandbox } from "./lib.ts";
import { getJson, gitInit, openReadOnly, PLAN, storeFile } from "./signal-lib.ts";

const REPOS = 10;
const SIGNALS_PER_TASK = 100;
/** Ended agent rows per task (a task's planner, coders, reviewers and fixers over its life). */
const AGENTS_PER_TASK = 45;
const YEAR_MS = 365 * 86_400_000;
const FIRST_SECONDS_MS = 5_000;

interface Measured {
  signals: number;
  auditRows: number;
  seedSec: number;
  storeMb: number;
  startMs: number;
  firstCpuPct: number;
  statusMs: number;
  daemonStatusMs: number;
  agentListMs: number;
  agentRows: number;
  listMs: number;
  showMs: number;
  metricsMs: number;
  replayEvents: number;
  replayExpected: number;
  replayPerSec: number;
  replayReconnects: number;
  /** /v1/ping of another client (p99, max in ms): against the idle daemon, and during the replay. */
  pingIdle: { p99: number; max: number; n: number };
  pingReplay: { p99: number; max: number; n: number };
  idleCpuPct: number;
  gc: GcOutcome;
}

function storeMb(sb: Sandbox): number {
  let bytes = 0;
  for (const ext of ["", "-wal", "-shm"]) {
    const f = `${storeFile(sb)}${ext}`;
    if (existsSync(f)) bytes += statSync(f).size;
  }
  return bytes / 1024 / 1024;
}

/** `n` finished signals with their audit rows, tasks and ended agents, oldest a year ago; returns the row counts. */
export function seed(sb: Sandbox, repos: string[], n: number): { audit: number; agents: number } {
  const db = openStore(storeFile(sb));
  const projects = repos.map((r) => r.split("/").pop() ?? "");
  const now = Date.now();
  let audit = 0;
  let agents = 0;
  try {
    db.transaction(() => {
      projects.forEach((p, i) => insertStoredRepo(db, p, repos[i]!));
    }).immediate();
    const backdate = db.query<never, { id: number; ts: string }>("UPDATE signals SET created_at = $ts, claimed_at = $ts, processed_at = $ts WHERE id = $id");
    const BATCH = 50_000;
    for (let start = 0; start < n; start += BATCH) {
      db.transaction(() => {
        for (let i = start; i < Math.min(n, start + BATCH); i++) {
          const taskNo = Math.floor(i / SIGNALS_PER_TASK);
          const project = projects[taskNo % REPOS]!;
          const task = `h${String(taskNo).padStart(5, "0")}`;
          if (i % SIGNALS_PER_TASK === 0) {
            createTask(db, { project, name: task, branch: `plan/${task}`, content: PLAN });
            for (let k = 0; k < AGENTS_PER_TASK; k++) {
              const a = insertAgent(db, { project, task, title: `${task}-W1-T${k}`, role: "coder", wave: 1, taskNumber: k, session: `kas-${task}-${k}`, cwd: "", program: "true" });
              endAgent(db, a.id, "exited", 0, "done");
            }
            agents += AGENTS_PER_TASK;
          }
          const done = i % 2 === 0;
          const type = done ? "implement_finished" : "review_changes_requested";
          const id = insertFinishedSignal(db, { project, task, type, payload: done ? "" : { body: "please handle the empty case" }, source: `file:${type}-${task}`, status: "done", result: "applied" }, "bench");
          const timestamp = new Date(now - ((n - i) / n) * YEAR_MS).toISOString();
          backdate.run({ id, ts: timestamp }); // insertFinishedSignal stamps now
          const [from, to] = done ? ["implementing", "reviewing"] : ["reviewing", "implementing"];
          recordAudit(db, { kind: "plan_transition", timestamp, project, task, fromStatus: from, toStatus: to, event: type, signalId: id, message: `${from} → ${to} (${type}; file)`, detail: { source: "file" } });
          recordAudit(db, { kind: "signal_done", timestamp, project, task, event: type, signalId: id, message: `${type} done: applied`, detail: { source: "file", actions: [] } });
          audit += 2;
          // History is finished work: a task is done once its last signal is in (the newest one stays open).
          if (i % SIGNALS_PER_TASK === SIGNALS_PER_TASK - 1 && i < n - SIGNALS_PER_TASK) writeTaskUpdate(db, project, task, { status: "done", timestamps: { done_at: timestamp } });
        }
      }).immediate();
    }
  } finally {
    db.close();
  }
  return { audit, agents };
}

function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

async function timed(times: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

/**
 * Replay GET /v1/events from 0 up to `lastId`: the daemon ends a stream that falls 4 MB behind, so the
 * client reconnects with Last-Event-ID like a real one would. Counts distinct ids (only `id:` lines read).
 */
async function replay(socket: string, lastId: number, timeoutMs: number): Promise<{ events: number; seconds: number; reconnects: number }> {
  const seen = new Set<number>();
  let cursor = 0;
  let reconnects = -1;
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  while (cursor < lastId && performance.now() < deadline) {
    reconnects++;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), Math.max(1, deadline - performance.now()));
    try {
      const r = await fetch("http://kasmos/v1/events", { unix: socket, headers: { "last-event-id": String(cursor) }, signal: abort.signal });
      if (!r.ok || !r.body) throw new Error(`GET /v1/events → ${r.status}`);
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of r.body) {
        buf += dec.decode(chunk, { stream: true });
        const end = buf.lastIndexOf("\n");
        if (end < 0) continue;
        for (const line of buf.slice(0, end).split("\n")) {
          if (!line.startsWith("id: ")) continue;
          const id = Number(line.slice(4));
          if (id <= lastId) seen.add(id);
          cursor = Math.max(cursor, id);
        }
        buf = buf.slice(end + 1);
        if (cursor >= lastId) break;
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e;
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }
  return { events: seen.size, seconds: (performance.now() - t0) / 1000, reconnects: Math.max(0, reconnects) };
}

async function measure(n: number, idleMs: number, gc: boolean): Promise<Measured> {
  const sb = new Sandbox("kbH-");
  try {
    const repos = Array.from({ length: REPOS }, (_, i) => join(sb.dir, "repos", `hist${i}`));
    for (const r of repos) gitInit(r);
    const t0 = performance.now();
    const { audit: auditRows, agents: agentRows } = seed(sb, repos, n);
    const seedSec = (performance.now() - t0) / 1000;
    const size = storeMb(sb);

    const tStart = performance.now();
    const d = await sb.startDaemon();
    await getJson(d.socket, "/v1/status");
    const startMs = performance.now() - tStart;
    await Bun.sleep(Math.max(0, FIRST_SECONDS_MS - (performance.now() - tStart)));
    const firstCpuPct = (cpuPreciseMs(d.pid) / (performance.now() - tStart)) * 100;

    const statusMs = await timed(20, () => getJson(d.socket, "/v1/status"));
    const metricsMs = await timed(10, async () => {
      const r = await fetch("http://kasmos/v1/metrics", { unix: d.socket, signal: AbortSignal.timeout(30_000) });
      if (!r.ok) throw new Error(`GET /v1/metrics → ${r.status}`);
      await r.text();
    });
    const cli = (args: string[]): void => {
      const r = sb.run(args);
      if (r.code !== 0) throw new Error(`kas ${args.join(" ")} → ${r.code}: ${r.stderr}`);
    };
    const listMs = await timed(5, () => cli(["task", "list", "--all"]));
    const showMs = await timed(5, () => cli(["task", "show", "h00000", "--repo", repos[0]!]));
    const daemonStatusMs = await timed(5, () => cli(["daemon", "status"]));
    const agentListMs = await timed(5, () => cli(["agent", "list", "--all", "--repo", repos[0]!]));

    const ro = openReadOnly(sb);
    const lastId = ro.query<{ id: number | null }, []>("SELECT MAX(id) AS id FROM audit_events").get()?.id ?? 0;
    const expected = ro.query<{ n: number }, [number]>("SELECT COUNT(*) AS n FROM audit_events WHERE id <= ?").get(lastId)?.n ?? 0;
    ro.close();
    const pingIdle = await pingProbe(sb, d.socket, async () => await Bun.sleep(3_000));
    let rp = { events: 0, seconds: 0, reconnects: 0 };
    const pingReplay = await pingProbe(sb, d.socket, async () => {
      rp = await replay(d.socket, lastId, 600_000);
    });

    const cpuOf = cpuWindow(d.pid);
    const tIdle = performance.now();
    await Bun.sleep(idleMs);
    const idleCpuPct = ((cpuOf()) / (performance.now() - tIdle)) * 100;

    const gcNote: GcOutcome = gc ? runGc(sb) : { note: "not run" };
    return {
      signals: n,
      auditRows,
      seedSec,
      storeMb: size,
      startMs,
      firstCpuPct,
      statusMs,
      daemonStatusMs,
      agentListMs,
      agentRows,
      listMs,
      showMs,
      metricsMs,
      replayEvents: rp.events,
      replayExpected: expected,
      replayPerSec: rp.events / rp.seconds,
      replayReconnects: rp.reconnects,
      pingIdle,
      pingReplay,
      idleCpuPct,
      gc: gcNote,
    };
  } finally {
    await sb.cleanup();
  }
}

interface GcOutcome {
  note: string;
  /** Store size (db + wal + shm) before and after, and the run's duration; absent when gc did not run. */
  sizes?: { beforeMb: number; afterMb: number; sec: number };
}

/** Store size before and after `kas daemon gc` (daemon running); a note when the binary has no gc. */
function runGc(sb: Sandbox): GcOutcome {
  const before = storeMb(sb);
  const t0 = performance.now();
  const r = sb.run(["daemon", "gc"], 30 * 60_000); // a year of history goes in 500-row batches
  const sec = (performance.now() - t0) / 1000;
  if (r.code !== 0 && /unknown command gc/i.test(r.stderr)) return { note: "skipped: this kasmos has no `daemon gc` command" };
  if (r.code !== 0) return { note: `\`kas daemon gc\` failed (exit ${r.code}): ${r.stderr.trim().split("\n")[0] ?? ""}` };
  return { note: r.stdout.trim().split("\n").join("; "), sizes: { beforeMb: before, afterMb: storeMb(sb), sec } };
}

export async function run(): Promise<BenchResult> {
  const smallN = envInt("KASMOS_BENCH_SIGNALS_SMALL", 1_000);
  const largeN = envInt("KASMOS_BENCH_SIGNALS", 1_000_000);
  const idleMs = envInt("KASMOS_BENCH_IDLE_SEC", 20) * 1000;
  const small = await measure(smallN, idleMs, false);
  const large = await measure(largeN, idleMs, envInt("KASMOS_BENCH_GC", 1) === 1);
  const k = (n: number): string => (n >= 1_000_000 ? `${round(n / 1_000_000, 2)} M` : n >= 1_000 ? `${round(n / 1_000, 1)} k` : String(n));
  const row = (label: string, unit: string, pick: (m: Measured) => number, digits = 1): Figure => {
    const a = pick(small);
    const b = pick(large);
    return { label: `${label}: ${k(smallN)} → ${k(largeN)} signals`, value: round(b, digits), unit: `${unit} (vs ${round(a, digits)}; ×${round(b / a, 2)})` };
  };
  const complete = (m: Measured): boolean => m.replayEvents === m.replayExpected;
  const figures: Figure[] = [
    row("store size", "MB", (m) => m.storeMb),
    row("daemon start → first answering /v1/status", "ms", (m) => m.startMs),
    row(`daemon CPU in its first ${FIRST_SECONDS_MS / 1000} s`, "% of one core", (m) => m.firstCpuPct),
    row("GET /v1/status (median of 20)", "ms", (m) => m.statusMs, 2),
    row("kas daemon status (median of 5, whole process)", "ms", (m) => m.daemonStatusMs),
    row("kas agent list --all (median of 5, whole process)", "ms", (m) => m.agentListMs),
    row("kas task list --all (median of 5, whole process)", "ms", (m) => m.listMs),
    row("kas task show (median of 5, whole process)", "ms", (m) => m.showMs),
    row("GET /v1/metrics (median of 10)", "ms", (m) => m.metricsMs, 2),
    row("replay of /v1/events from 0", "events/s", (m) => m.replayPerSec, 0),
    { label: "replay: every event arrived (small / large)", value: large.replayEvents, unit: `of ${large.replayExpected.toLocaleString("en-US")} (small: ${small.replayEvents} of ${small.replayExpected}; the large replay resumed ${large.replayReconnects} times)`, target: "all", pass: complete(small) && complete(large) },
    { label: `another client's /v1/ping p99 during the replay vs idle, ${k(largeN)} store`, value: round(large.pingReplay.p99, 1), unit: `ms (idle ${round(large.pingIdle.p99, 1)} ms; ×${round(large.pingReplay.p99 / large.pingIdle.p99, 2)}; max ${round(large.pingReplay.max, 1)} ms; ${large.pingReplay.n} pings)`, target: "≤ 2× idle", pass: large.pingReplay.p99 <= 2 * large.pingIdle.p99 },
    { label: `another client's /v1/ping p99 during the replay vs idle, ${k(smallN)} store`, value: round(small.pingReplay.p99, 1), unit: `ms (idle ${round(small.pingIdle.p99, 1)} ms; max ${round(small.pingReplay.max, 1)} ms; ${small.pingReplay.n} pings)` },
    row(`idle CPU over ${idleMs / 1000} s`, "% of one core", (m) => m.idleCpuPct, 2),
  ];
  const g = large.gc.sizes;
  if (g) figures.push({ label: `store size before → after \`kas daemon gc\` ([retention] days = 90), ${k(largeN)} store`, value: round(g.afterMb, 1), unit: `MB (from ${round(g.beforeMb, 1)} MB; ×${round(g.afterMb / g.beforeMb, 2)}; gc took ${round(g.sec, 1)} s)` });
  return {
    name: "history",
    figures,
    notes: [
      `seeding through the store's own code (insertFinishedSignal, recordAudit ×2, createTask and ${AGENTS_PER_TASK} ended agents (insertAgent, endAgent) per ${SIGNALS_PER_TASK} signals — ${large.agentRows.toLocaleString("en-US")} agent rows in the large store — insertStoredRepo for ${REPOS} repos; transactions of 50,000 signals; signal rows backdated to match their audit rows, spread over the past year): ${k(smallN)} in ${round(small.seedSec, 1)} s, ${k(largeN)} in ${round(large.seedSec, 1)} s (${large.auditRows.toLocaleString("en-US")} audit rows)`,
      `kas daemon gc on the ${k(largeN)} store: ${large.gc.note}`,
      "ping during the replay: bench/ping-probe.ts, a process of its own, sends sequential /v1/ping (5 ms apart) for 3 s against the idle daemon, then for the whole replay",
      "replay: one client from Last-Event-ID 0 to the last audit id at the start; the daemon ends a stream 4 MB behind and the client resumes from its last id (reconnects counted)",
      "sizes: KASMOS_BENCH_SIGNALS_SMALL (1000), KASMOS_BENCH_SIGNALS (1000000), KASMOS_BENCH_IDLE_SEC (20); KASMOS_BENCH_GC=0 skips the gc run",
    ],
  };
}
