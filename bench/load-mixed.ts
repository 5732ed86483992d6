// Mixed load: one foreground daemon, 20 git repos registered via POST /v1/repos (tasks seeded as
// reviewing, auto_review_fix off so no agents start). For LOAD_SECONDS (default 60) 50 concurrent API
// clients loop sequential requests over GET /v1/status, GET /v1/repos/<p>/tasks, GET /v1/metrics and
// POST /v1/repos/<p>/signals (review_changes for seeded tasks, paced and bounded), while a writer drops
// review-changes-<task> files round-robin over the 20 repos at 200/s (each task at most once).
// Reports errors (target 0), per-route p50/p99/max, signals written/posted vs committed (none lost)
// and daemon RSS: baseline after warm-up, peak during the run, and after an idle cool-down plus a
// settle step (target: ≤ baseline + 20 MB). test/load/mixed.test.ts runs the same core, shortened.
import { processAlive as alive } from "../src/util/process.ts";
import { type BenchResult, type Figure, percentile, ping, round, rssMb, Sandbox } from "./lib.ts";
import { leftovers, openReadOnly, registerRepo, seedTasks, signalsDir, writeConfig, writeSignalAtomic } from "./signal-lib.ts";

export interface LoadOptions {
  seconds: number;
  clients: number;
  repos: number;
  /** Signal files written per second (round-robin over the repos). */
  fileRate: number;
  /** Tasks per repo reserved for POST /v1/repos/<p>/signals (the API-signal budget). */
  apiSignalsPerRepo: number;
  /** Idle wait after everything is committed, before the final RSS reading. */
  coolDownMs: number;
  /** Time allowed for every written/posted signal to be committed after the load ends. */
  commitDeadlineMs: number;
}

export const GROUPS = ["status", "tasks", "metrics", "signals"] as const;
export type Group = (typeof GROUPS)[number];

export interface GroupStats {
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LoadReport {
  opts: LoadOptions;
  pid: number;
  requests: number;
  errors: number;
  firstErrors: string[];
  wallMs: number;
  groups: Record<Group, GroupStats>;
  allP99: number;
  filesWritten: number;
  apiPosted: number;
  committed: number;
  failedRows: number;
  transitions: number;
  tasksMoved: number;
  filesLeft: number;
  commitWaitMs: number;
  answersAfter: boolean;
  rssBaseline: number;
  rssPeak: number;
  rssAfterCoolDown: number;
  rssAfterSettle: number;
  daemonGoneAfterCleanup: boolean;
}

const FILE_PREFIX = "f";
const API_PREFIX = "a";
const taskName = (prefix: string, i: number): string => `${prefix}${String(i).padStart(4, "0")}`;

interface Repo {
  project: string;
  path: string;
  dir: string;
}

interface ClientAcc {
  times: Record<Group, number[]>;
  errors: Record<Group, number>;
  firstErrors: string[];
}

/** Shared, paced budget of API signals: at most `total`, released linearly over the run. */
class ApiBudget {
  private next = 0;
  constructor(
    private readonly items: { project: string; task: string }[],
    private readonly t0: number,
    private readonly durationMs: number,
  ) {}
  take(): { project: string; task: string } | null {
    const allowed = Math.min(this.items.length, Math.floor(((performance.now() - this.t0) / this.durationMs) * this.items.length) + 1);
    if (this.next >= allowed) return null;
    return this.items[this.next++] ?? null;
  }
  get posted(): number {
    return this.next;
  }
}

async function request(socket: string, group: Group, path: string, init: RequestInit, check: (status: number, body: string) => boolean, acc: ClientAcc, signal: AbortSignal): Promise<void> {
  const t0 = performance.now();
  try {
    const r = await fetch(`http://kasmos${path}`, { ...init, unix: socket, signal });
    const body = await r.text();
    const dt = performance.now() - t0;
    if (check(r.status, body)) acc.times[group].push(dt);
    else {
      acc.errors[group]++;
      if (acc.firstErrors.length < 3) acc.firstErrors.push(`${init.method ?? "GET"} ${path} → ${r.status}: ${body.slice(0, 120)}`);
    }
  } catch (e) {
    acc.errors[group]++;
    if (acc.firstErrors.length < 3) acc.firstErrors.push(`${init.method ?? "GET"} ${path} → ${e instanceof Error ? e.message : String(e)}`);
  }
}

const okJson = (pred: (v: unknown) => boolean) => (status: number, body: string): boolean => {
  if (status !== 200 && status !== 201) return false;
  try {
    return pred(JSON.parse(body));
  } catch {
    return false;
  }
};
const checkStatus = okJson((v) => typeof v === "object" && v !== null && "running" in v);
const checkTasks = okJson((v) => Array.isArray(v));
const checkSignal = (status: number, body: string): boolean => status === 201 && okJson((v) => typeof v === "object" && v !== null && "id" in v)(status, body);
const checkMetrics = (status: number, body: string): boolean => status === 200 && body.includes("kasmos_signals_total");

async function client(idx: number, socket: string, repos: Repo[], budget: ApiBudget | null, until: number, signal: AbortSignal): Promise<ClientAcc> {
  const acc: ClientAcc = {
    times: { status: [], tasks: [], metrics: [], signals: [] },
    errors: { status: 0, tasks: 0, metrics: 0, signals: 0 },
    firstErrors: [],
  };
  for (let i = idx; performance.now() < until && !signal.aborted; i++) {
    const repo = repos[i % repos.length]!;
    switch (i % 4) {
      case 0:
        await request(socket, "status", "/v1/status", {}, checkStatus, acc, signal);
        break;
      case 1:
        await request(socket, "tasks", `/v1/repos/${repo.project}/tasks`, {}, checkTasks, acc, signal);
        break;
      case 2:
        await request(socket, "metrics", "/v1/metrics", {}, checkMetrics, acc, signal);
        break;
      default: {
        const item = budget?.take() ?? null;
        if (!item) {
          await request(socket, "status", "/v1/status", {}, checkStatus, acc, signal);
          break;
        }
        const body = JSON.stringify({ type: "review_changes", task: item.task, payload: "please fix" });
        await request(socket, "signals", `/v1/repos/${item.project}/signals`, { method: "POST", headers: { "content-type": "application/json" }, body }, checkSignal, acc, signal);
      }
    }
  }
  return acc;
}

/** Steady writer: review-changes files round-robin over the repos at `rate`/s, each task once, until `until`. */
async function writer(repos: Repo[], perRepo: number, rate: number, until: number): Promise<number> {
  const t0 = performance.now();
  const max = repos.length * perRepo;
  let written = 0;
  while (written < max) {
    const now = performance.now();
    if (now >= until) break;
    const due = Math.min(max, Math.floor(((now - t0) / 1000) * rate));
    for (; written < due; written++) {
      const r = repos[written % repos.length]!;
      writeSignalAtomic(r.dir, `review-changes-${taskName(FILE_PREFIX, Math.floor(written / repos.length))}`, "please fix");
    }
    await Bun.sleep(5);
  }
  return written;
}

function stats(times: number[], errors: number): GroupStats {
  const s = [...times].sort((a, b) => a - b);
  return { requests: times.length + errors, errors, p50: round(percentile(s, 50), 2), p99: round(percentile(s, 99), 2), max: round(s[s.length - 1] ?? Number.NaN, 2) };
}

/** The whole scenario; always kills the daemon by PID and removes the sandbox. */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const sb = new Sandbox("kbl-");
  let pid = 0;
  try {
    writeConfig(sb, { poll_interval_sec: 2.0, watch_signals: true, auto_review_fix: false });
    const filePerRepo = Math.ceil((opts.seconds * opts.fileRate) / opts.repos) + 1;
    const names = [
      ...Array.from({ length: filePerRepo }, (_, i) => taskName(FILE_PREFIX, i)),
      ...Array.from({ length: opts.apiSignalsPerRepo }, (_, i) => taskName(API_PREFIX, i)),
    ];
    const repos: Repo[] = [];
    for (let r = 0; r < opts.repos; r++) {
      const project = `m${r}`;
      const path = sb.makeGitRepo(project);
      seedTasks(sb, project, names, "reviewing");
      repos.push({ project, path, dir: signalsDir(path) });
    }
    const d = await sb.startDaemon();
    pid = d.pid;
    for (const r of repos) await registerRepo(d.socket, r.path);

    // Warm-up: every route once per repo, a few rounds, then let the registration passes finish.
    const warm = AbortSignal.timeout(30_000);
    const warmAcc = await Promise.all(Array.from({ length: Math.min(opts.clients, 10) }, (_, i) => client(i, d.socket, repos, null, performance.now() + 1_000, warm)));
    const warmErrors = warmAcc.reduce((n, a) => n + GROUPS.reduce((m, g) => m + a.errors[g], 0), 0);
    if (warmErrors > 0) throw new Error(`warm-up errors: ${warmAcc.flatMap((a) => a.firstErrors).join("; ")}`);
    await Bun.sleep(1_000);
    const rssBaseline = rssMb(d.pid);

    // Load phase.
    const durationMs = opts.seconds * 1000;
    const t0 = performance.now();
    const until = t0 + durationMs;
    const apiItems = Array.from({ length: opts.apiSignalsPerRepo }, (_, i) => repos.map((r) => ({ project: r.project, task: taskName(API_PREFIX, i) }))).flat();
    const budget = new ApiBudget(apiItems, t0, durationMs * 0.9);
    let rssPeak = rssBaseline;
    const sampler = setInterval(() => {
      try {
        rssPeak = Math.max(rssPeak, rssMb(d.pid));
      } catch {
        // daemon gone: reported by the ping below
      }
    }, 100);
    const abort = AbortSignal.timeout(durationMs + 30_000);
    let results: ClientAcc[];
    let filesWritten: number;
    try {
      [results, filesWritten] = await Promise.all([
        Promise.all(Array.from({ length: opts.clients }, (_, i) => client(i, d.socket, repos, budget, until, abort))),
        writer(repos, filePerRepo, opts.fileRate, until),
      ]);
    } finally {
      clearInterval(sampler);
    }
    const wallMs = performance.now() - t0;
    rssPeak = Math.max(rssPeak, rssMb(d.pid));
    const apiPosted = budget.posted;

    // Commit check (rows are inserted + finished in one transaction; visible = committed).
    const db = openReadOnly(sb);
    let committed = 0;
    let failedRows = 0;
    let transitions = 0;
    let tasksMoved = 0;
    let filesLeft = 0;
    const c0 = performance.now();
    try {
      const expected = filesWritten + apiPosted;
      const doneCount = (): number => db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM signals WHERE status = 'done'").get()?.n ?? 0;
      const deadline = Date.now() + opts.commitDeadlineMs;
      for (let i = 0; i < opts.commitDeadlineMs / 20 && Date.now() < deadline; i++) {
        committed = doneCount();
        if (committed >= expected) break;
        await Bun.sleep(20);
      }
      for (let i = 0; i < 50; i++) {
        filesLeft = repos.reduce((n, r) => {
          const l = leftovers(r.dir);
          return n + l.pending + l.failed + l.processing;
        }, 0);
        if (filesLeft === 0) break;
        await Bun.sleep(20);
      }
      committed = doneCount();
      failedRows = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM signals WHERE status = 'failed'").get()?.n ?? 0;
      transitions = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'plan_transition'").get()?.n ?? 0;
      tasksMoved = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM tasks WHERE status = 'implementing'").get()?.n ?? 0;
    } finally {
      db.close();
    }
    const commitWaitMs = performance.now() - c0;
    const answersAfter = await ping(d.socket);

    // Cool-down: idle, then a settle step (one POST /v1/scan over every repo + a short pause).
    await Bun.sleep(opts.coolDownMs);
    const rssAfterCoolDown = rssMb(d.pid);
    await fetch("http://kasmos/v1/scan", { unix: d.socket, method: "POST", headers: { "content-type": "application/json" }, body: "{}", signal: AbortSignal.timeout(5_000) }).then((r) => r.arrayBuffer());
    await Bun.sleep(2_000);
    const rssAfterSettle = rssMb(d.pid);

    const groups = Object.fromEntries(GROUPS.map((g) => [g, stats(results.flatMap((r) => r.times[g]), results.reduce((n, r) => n + r.errors[g], 0))])) as Record<Group, GroupStats>;
    const all = results.flatMap((r) => GROUPS.flatMap((g) => r.times[g])).sort((a, b) => a - b);
    const errors = GROUPS.reduce((n, g) => n + groups[g].errors, 0);
    const report: LoadReport = {
      opts,
      pid: d.pid,
      requests: GROUPS.reduce((n, g) => n + groups[g].requests, 0),
      errors,
      firstErrors: results.flatMap((r) => r.firstErrors).slice(0, 3),
      wallMs,
      groups,
      allP99: round(percentile(all, 99), 2),
      filesWritten,
      apiPosted,
      committed,
      failedRows,
      transitions,
      tasksMoved,
      filesLeft,
      commitWaitMs,
      answersAfter,
      rssBaseline: round(rssBaseline, 1),
      rssPeak: round(rssPeak, 1),
      rssAfterCoolDown: round(rssAfterCoolDown, 1),
      rssAfterSettle: round(rssAfterSettle, 1),
      daemonGoneAfterCleanup: false,
    };
    await sb.stop(d.pid);
    report.daemonGoneAfterCleanup = !alive(d.pid);
    return report;
  } finally {
    await sb.cleanup();
  }
}

// "Bounded p99" (the issue names no number): 50 closed-loop clients keep 50 requests in flight, so p99 is
// mostly queueing (≈ 50 / throughput) on 2 cores shared with the clients and the writer; 1 s flags a stall.
const P99_TARGET_MS = 1000;
const RSS_SLACK_MB = 20;

export async function run(): Promise<BenchResult> {
  const seconds = Number(process.env.LOAD_SECONDS ?? "") || 60;
  const r = await runLoad({ seconds, clients: 50, repos: 20, fileRate: 200, apiSignalsPerRepo: Math.max(5, Math.ceil(seconds * 2)), coolDownMs: 10_000, commitDeadlineMs: 30_000 });
  const expected = r.filesWritten + r.apiPosted;
  const lost = expected - r.committed;
  const figures: Figure[] = [
    { label: "requests", value: r.requests, unit: "" },
    { label: "errors", value: r.errors, unit: "", target: "0", pass: r.errors === 0 },
    { label: "throughput", value: Math.round((r.requests / r.wallMs) * 1000), unit: "req/s" },
  ];
  for (const g of GROUPS) {
    const s = r.groups[g];
    figures.push({ label: `${g}: p50 / p99 / max (${s.requests} req)`, value: s.p50, unit: `ms / ${s.p99} ms / ${s.max} ms` });
  }
  figures.push(
    { label: "p99, all routes", value: r.allP99, unit: "ms", target: `< ${P99_TARGET_MS} ms`, pass: r.allP99 < P99_TARGET_MS },
    { label: "max p99 of a route group", value: Math.max(...GROUPS.map((g) => r.groups[g].p99)), unit: "ms", target: `< ${P99_TARGET_MS} ms`, pass: GROUPS.every((g) => r.groups[g].p99 < P99_TARGET_MS) },
    { label: "signal files written", value: r.filesWritten, unit: "" },
    { label: "API signals posted", value: r.apiPosted, unit: "" },
    { label: "signals committed (done rows)", value: r.committed, unit: "", target: `= ${expected}`, pass: r.committed === expected },
    { label: "signals lost / failed rows / files left", value: lost, unit: `/ ${r.failedRows} / ${r.filesLeft}`, target: "0 / 0 / 0", pass: lost === 0 && r.failedRows === 0 && r.filesLeft === 0 },
    { label: "tasks moved reviewing → implementing", value: r.tasksMoved, unit: "", target: `= ${expected}`, pass: r.tasksMoved === expected && r.transitions === expected },
    { label: "load end → all committed", value: Math.round(r.commitWaitMs), unit: "ms" },
    { label: "daemon answers /v1/ping afterwards", value: r.answersAfter ? 1 : 0, unit: "", target: "1", pass: r.answersAfter },
    { label: "RSS baseline (after warm-up)", value: r.rssBaseline, unit: "MB" },
    { label: "RSS peak during load", value: r.rssPeak, unit: "MB" },
    { label: `RSS after ${r.opts.coolDownMs / 1000} s idle`, value: r.rssAfterCoolDown, unit: "MB" },
    { label: "RSS after settle", value: r.rssAfterSettle, unit: "MB", target: `≤ baseline + ${RSS_SLACK_MB} MB (${round(r.rssBaseline + RSS_SLACK_MB, 1)})`, pass: r.rssAfterSettle <= r.rssBaseline + RSS_SLACK_MB },
  );
  return {
    name: "load-mixed",
    figures,
    notes: [
      `${r.opts.repos} git repos registered via POST /v1/repos, ${Math.ceil((seconds * r.opts.fileRate) / r.opts.repos) + 1 + r.opts.apiSignalsPerRepo} tasks each seeded as reviewing; watch mode (inotify + 2.0 s poll), auto_review_fix off (no agents)`,
      `${r.opts.clients} concurrent async clients for ${seconds} s (LOAD_SECONDS), sequential requests each, cycling GET /v1/status, GET /v1/repos/<p>/tasks (full list), GET /v1/metrics, POST /v1/repos/<p>/signals (review_changes for a seeded task; ${r.opts.repos * r.opts.apiSignalsPerRepo} available, released linearly over 90% of the run; when none is due the slot is a GET /v1/status); responses fully read and shape-checked`,
      `meanwhile a writer in the same process drops review-changes-<task> files (dot-file + rename) round-robin over the repos at ${r.opts.fileRate}/s, each task at most once`,
      "latencies include the bench process's own event loop (clients + writer share it) and the machine is shared with the daemon (see nproc); nearest-rank percentiles over successful requests",
      `RSS = VmRSS: baseline after registration + 1 s warm-up + 1 s idle; peak sampled every 100 ms; then ${r.opts.coolDownMs / 1000} s idle; settle = POST /v1/scan (a full pass over every repo) + 2 s (the daemon exposes no GC trigger, so nothing is forced inside it)`,
      ...(r.firstErrors.length > 0 ? [`first errors: ${r.firstErrors.join("; ")}`] : []),
    ],
  };
}
