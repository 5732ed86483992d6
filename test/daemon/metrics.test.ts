// GET /v1/metrics: the text exposition parses (HELP/TYPE for every metric, escaped labels, cumulative
// histogram buckets ending in +Inf = _count), and with the compiled daemon the store-backed counters
// move when signals are processed while garbage signals count nothing and the daemon keeps serving.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Histogram, SCAN_BUCKETS } from "../../src/engine/histogram.ts";
import { type MetricsInput, METRICS_CONTENT_TYPE, queryStoreMetrics, renderMetrics, StoreMetricsReader } from "../../src/engine/metrics.ts";
import { openStore } from "../../src/store/db.ts";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Parsed {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: ParsedSample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?\\})? (\\S+)$`);
const LABEL_G = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/g;

/** A tiny parser of the text format that fails on anything malformed. */
function parse(text: string): Parsed {
  expect(text.endsWith("\n")).toBe(true);
  const out: Parsed = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      const m = line.match(new RegExp(`^# HELP (${NAME}) (.*)$`));
      if (!m) throw new Error(`bad HELP line: ${line}`);
      expect(out.help.has(m[1]!)).toBe(false);
      out.help.set(m[1]!, m[2]!);
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const m = line.match(new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`));
      if (!m) throw new Error(`bad TYPE line: ${line}`);
      expect(out.type.has(m[1]!)).toBe(false);
      out.type.set(m[1]!, m[2]!);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = line.match(SAMPLE);
    if (!m) throw new Error(`bad sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? "").matchAll(LABEL_G)) labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    const raw = m[3]!;
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : raw === "NaN" ? NaN : Number(raw);
    if (raw !== "NaN" && Number.isNaN(value)) throw new Error(`bad value: ${line}`);
    out.samples.push({ name: m[1]!, labels, value });
  }
  // Every sample belongs to a family with HELP and TYPE (histograms: _bucket/_sum/_count of the family).
  for (const s of out.samples) {
    const fam = familyOf(out, s.name);
    if (!fam) throw new Error(`sample ${s.name} has no TYPE`);
    expect(out.help.has(fam)).toBe(true);
  }
  for (const name of out.type.keys()) expect(out.help.has(name)).toBe(true);
  // Histograms: cumulative buckets per label set, ending with le="+Inf" equal to _count.
  for (const [fam, type] of out.type) {
    if (type !== "histogram") continue;
    const series = new Map<string, { les: number[]; counts: number[] }>();
    const keyOf = (l: Record<string, string>) => JSON.stringify(Object.entries(l).filter(([k]) => k !== "le").sort());
    for (const s of out.samples.filter((x) => x.name === `${fam}_bucket`)) {
      expect(s.labels.le).toBeDefined();
      const e = series.get(keyOf(s.labels)) ?? { les: [], counts: [] };
      e.les.push(s.labels.le === "+Inf" ? Infinity : Number(s.labels.le));
      e.counts.push(s.value);
      series.set(keyOf(s.labels), e);
    }
    for (const [k, e] of series) {
      expect(e.les.at(-1)).toBe(Infinity);
      for (let i = 1; i < e.les.length; i++) {
        expect(e.les[i]!).toBeGreaterThan(e.les[i - 1]!);
        expect(e.counts[i]!).toBeGreaterThanOrEqual(e.counts[i - 1]!);
      }
      const count = out.samples.find((x) => x.name === `${fam}_count` && keyOf(x.labels) === k);
      const sum = out.samples.find((x) => x.name === `${fam}_sum` && keyOf(x.labels) === k);
      expect(count).toBeDefined();
      expect(sum).toBeDefined();
      expect(e.counts.at(-1)).toBe(count!.value);
    }
  }
  return out;
}

function familyOf(p: Parsed, name: string): string | null {
  if (p.type.has(name)) return name;
  const m = name.match(/^(.*)_(bucket|sum|count)$/);
  if (m && p.type.get(m[1]!) === "histogram") return m[1]!;
  return null;
}

function value(p: Parsed, name: string, labels: Record<string, string> = {}): number | undefined {
  const s = p.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v) && Object.keys(x.labels).length === Object.keys(labels).length);
  return s?.value;
}

function input(over: Partial<MetricsInput> = {}): MetricsInput {
  return {
    version: "0.0.0-test",
    signals: [],
    queue: [],
    transitions: [],
    agents: [],
    tasks: [],
    scan: { timer: new Histogram(), event: new Histogram() },
    rssBytes: 123456,
    uptimeSeconds: 1.5,
    repos: 0,
    ...over,
  };
}

describe("renderMetrics", () => {
  test("an empty store still exposes every family, with zero series for the known label values", () => {
    const p = parse(renderMetrics(input()));
    for (const [name, type] of [
      ["kasmos_signals_total", "counter"],
      ["kasmos_signals_pending", "gauge"],
      ["kasmos_transitions_total", "counter"],
      ["kasmos_agents_running", "gauge"],
      ["kasmos_tasks", "gauge"],
      ["kasmos_scan_duration_seconds", "histogram"],
      ["kasmos_process_resident_memory_bytes", "gauge"],
      ["kasmos_uptime_seconds", "gauge"],
      ["kasmos_repos", "gauge"],
    ] as const) {
      expect(p.type.get(name)).toBe(type);
      expect(p.help.get(name)!.length).toBeGreaterThan(0);
    }
    expect(value(p, "kasmos_signals_total", { type: "implement_finished", status: "done" })).toBe(0);
    expect(value(p, "kasmos_signals_total", { type: "implement_finished", status: "failed" })).toBe(0);
    expect(value(p, "kasmos_signals_pending", { status: "pending" })).toBe(0);
    expect(value(p, "kasmos_signals_pending", { status: "processing" })).toBe(0);
    expect(value(p, "kasmos_agents_running", { role: "coder" })).toBe(0);
    expect(value(p, "kasmos_tasks", { status: "done" })).toBe(0);
    expect(value(p, "kasmos_scan_duration_seconds_count", { kind: "timer" })).toBe(0);
    expect(value(p, "kasmos_scan_duration_seconds_bucket", { kind: "event", le: "+Inf" })).toBe(0);
    expect(value(p, "kasmos_process_resident_memory_bytes")).toBe(123456);
    expect(value(p, "kasmos_uptime_seconds")).toBe(1.5);
    expect(p.samples.filter((s) => s.name === "kasmos_transitions_total")).toHaveLength(0);
  });

  test("rows become labelled series; label values are escaped; histogram buckets are cumulative", () => {
    const timer = new Histogram();
    for (const s of [0.0005, 0.002, 0.002, 0.03, 0.7, 9]) timer.observe(s);
    const event = new Histogram();
    event.observe(0.001); // exactly on a bound: counted in that bucket (le is inclusive)
    const weird = 'we"ird\\na\nme';
    const text = renderMetrics(
      input({
        signals: [
          { type: "implement_finished", status: "done", n: 3 },
          { type: "implement_finished", status: "failed", n: 1 },
          { type: weird, status: "failed", n: 2 }, // a row the CLI wrote by hand: shown, escaped
          { type: "review_approved", status: "pending", n: 7 }, // not a processed status: ignored
        ],
        queue: [{ status: "pending", n: 4 }, { status: "processing", n: 1 }],
        transitions: [{ event: "implement_finished", to: "reviewing", n: 2 }],
        agents: [{ role: "coder", n: 2 }],
        tasks: [{ status: "implementing", n: 5 }],
        scan: { timer, event },
        repos: 3,
      }),
    );
    expect(text).toContain('kasmos_signals_total{type="we\\"ird\\\\na\\nme",status="failed"} 2\n');
    const p = parse(text);
    expect(value(p, "kasmos_signals_total", { type: "implement_finished", status: "done" })).toBe(3);
    expect(value(p, "kasmos_signals_total", { type: "implement_finished", status: "failed" })).toBe(1);
    expect(value(p, "kasmos_signals_total", { type: weird, status: "failed" })).toBe(2);
    expect(p.samples.some((s) => s.name === "kasmos_signals_total" && s.labels.status === "pending")).toBe(false);
    expect(value(p, "kasmos_signals_pending", { status: "pending" })).toBe(4);
    expect(value(p, "kasmos_transitions_total", { event: "implement_finished", to: "reviewing" })).toBe(2);
    expect(value(p, "kasmos_agents_running", { role: "coder" })).toBe(2);
    expect(value(p, "kasmos_tasks", { status: "implementing" })).toBe(5);
    expect(value(p, "kasmos_repos")).toBe(3);

    const b = (le: string, kind = "timer") => value(p, "kasmos_scan_duration_seconds_bucket", { kind, le });
    expect([b("0.001"), b("0.005"), b("0.01"), b("0.05"), b("0.1"), b("0.5"), b("1"), b("5"), b("+Inf")]).toEqual([1, 3, 3, 4, 4, 4, 5, 5, 6]);
    expect(value(p, "kasmos_scan_duration_seconds_count", { kind: "timer" })).toBe(6);
    expect(value(p, "kasmos_scan_duration_seconds_sum", { kind: "timer" })).toBeCloseTo(0.0005 + 0.004 + 0.03 + 0.7 + 9, 9);
    expect(b("0.001", "event")).toBe(1);
    expect(p.samples.filter((s) => s.name === "kasmos_scan_duration_seconds_bucket" && s.labels.kind === "timer")).toHaveLength(SCAN_BUCKETS.length + 1);
  });

  test("queryStoreMetrics groups store rows", () => {
    const db = openStore(":memory:");
    const now = new Date().toISOString();
    const sig = db.query("INSERT INTO signals (project, task, signal_type, status, created_at) VALUES (?, ?, ?, ?, ?)");
    for (const [t, s] of [["implement_finished", "done"], ["implement_finished", "done"], ["implement_finished", "failed"], ["plan_start", "pending"], ["plan_start", "processing"]]) sig.run("p", "t", t!, s!, now);
    const aud = db.query("INSERT INTO audit_events (kind, timestamp, event, from_status, to_status) VALUES (?, ?, ?, ?, ?)");
    aud.run("plan_transition", now, "implement_finished", "implementing", "reviewing");
    aud.run("plan_transition", now, "implement_finished", "implementing", "reviewing");
    aud.run("signal_done", now, "implement_finished", "", "");
    const ag = db.query("INSERT INTO agents (project, task, title, role, session, state, started_at) VALUES ('p', 't', ?, ?, 's', ?, ?)");
    ag.run("a1", "coder", "running", now);
    ag.run("a2", "coder", "exited", now);
    db.query("INSERT INTO tasks (project, name, status, created_at, updated_at) VALUES ('p', 't', 'implementing', ?, ?)").run(now, now);
    const m = queryStoreMetrics(db);
    db.close();
    const sortBy = <T>(a: T[]) => a.map((x) => JSON.stringify(x)).sort();
    expect(sortBy(m.signals)).toEqual(sortBy([{ type: "implement_finished", status: "done", n: 2 }, { type: "implement_finished", status: "failed", n: 1 }]));
    expect(sortBy(m.queue)).toEqual(sortBy([{ status: "pending", n: 1 }, { status: "processing", n: 1 }]));
    expect(m.transitions).toEqual([{ event: "implement_finished", to: "reviewing", n: 2 }]);
    expect(m.agents).toEqual([{ role: "coder", n: 1 }]);
    expect(m.tasks).toEqual([{ status: "implementing", n: 1 }]);
  });
});

describe("StoreMetricsReader reads history once", () => {
  const canon = (m: ReturnType<typeof queryStoreMetrics>) => ({
    signals: m.signals.filter((r) => r.n > 0).map((r) => `${r.type}/${r.status}=${r.n}`).sort(),
    queue: m.queue.map((r) => `${r.status}=${r.n}`).sort(),
    transitions: m.transitions.filter((r) => r.n > 0).map((r) => `${r.event}/${r.to}=${r.n}`).sort(),
  });

  test("incremental totals equal a full recount after every step of a random history (incl. rows finishing late)", async () => {
    const db = openStore(":memory:");
    const now = new Date().toISOString();
    const types = ["implement_finished", "review_approved", "plan_start"];
    const ins = db.query("INSERT INTO signals (project, task, signal_type, status, created_at) VALUES ('p', 't', ?, ?, ?)");
    const aud = db.query("INSERT INTO audit_events (kind, timestamp, event, from_status, to_status) VALUES (?, ?, ?, 'a', ?)");
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    // Some history before the reader exists, folded by warm() in tiny slices.
    for (let i = 0; i < 50; i++) ins.run(types[rnd(3)]!, ["done", "failed", "pending"][rnd(3)]!, now);
    for (let i = 0; i < 30; i++) aud.run(rnd(2) ? "plan_transition" : "signal_done", now, types[rnd(3)]!, ["reviewing", "done"][rnd(2)]!);
    const reader = new StoreMetricsReader(db);
    await reader.warm(7);
    expect(canon(reader.read())).toEqual(canon(queryStoreMetrics(db)));
    for (let step = 0; step < 200; step++) {
      const op = rnd(5);
      if (op === 0) ins.run(types[rnd(3)]!, ["done", "failed", "pending", "processing"][rnd(4)]!, now);
      else if (op === 1) db.query("UPDATE signals SET status = 'processing' WHERE id = (SELECT id FROM signals WHERE status = 'pending' ORDER BY id LIMIT 1)").run();
      else if (op === 2) db.query(`UPDATE signals SET status = '${rnd(2) ? "done" : "failed"}' WHERE id = (SELECT id FROM signals WHERE status IN ('pending', 'processing') ORDER BY random() LIMIT 1)`).run();
      else if (op === 3) aud.run(rnd(2) ? "plan_transition" : "signal_done", now, types[rnd(3)]!, ["reviewing", "done"][rnd(2)]!);
      // op 4: nothing changed since the last read
      expect(canon(reader.read())).toEqual(canon(queryStoreMetrics(db)));
    }
    const m = reader.read();
    expect(m.signals.reduce((a, r) => a + r.n, 0)).toBeGreaterThan(50); // the history really moved
    db.close();
  });
});

describe("GET /v1/metrics with the compiled daemon", () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = new Sandbox();
  });
  afterEach(async () => {
    await sb.cleanup();
  });

  function drop(dir: string, name: string): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `.tmp-${name}`), "");
    renameSync(join(dir, `.tmp-${name}`), join(dir, name));
  }

  async function scrape(): Promise<Parsed> {
    const r = await fetch("http://kasmos/v1/metrics", { unix: sb.socket });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe(METRICS_CONTENT_TYPE);
    return parse(await r.text());
  }

  test("counters move when a signal is processed; a garbage signal counts nothing and the daemon stays up", async () => {
    const repo = makeGitRepo(sb.dir, "mx");
    const sig = join(repo, ".kasmos", "signals");
    writeFileSync(join(sb.dir, "plan.md"), "## Wave 1: a\n### Task 1: x\ny\n");
    sb.writeConfig(["poll_interval_sec = 0.2", `repos = ["${repo}"]`, "auto_advance = false", "auto_review_fix = false", "auto_readiness_review = false"].join("\n"));
    const cli = async (...args: string[]) => {
      const r = await sb.run(args, { cwd: repo });
      if (r.code !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
    };
    await cli("task", "create", "t", "--plan", join(sb.dir, "plan.md"));
    await cli("task", "transition", "t", "implement_start"); // written by the CLI: counted from the store
    const proc = await sb.foreground();

    const done = { type: "implement_finished", status: "done" };
    const toReviewing = { event: "implement_finished", to: "reviewing" };
    const before = await scrape();
    expect(value(before, "kasmos_signals_total", done)).toBe(0);
    expect(value(before, "kasmos_transitions_total", toReviewing)).toBeUndefined();
    expect(value(before, "kasmos_transitions_total", { event: "implement_start", to: "implementing" })).toBe(1);
    expect(value(before, "kasmos_tasks", { status: "implementing" })).toBe(1);
    expect(value(before, "kasmos_repos")).toBe(1);
    expect(value(before, "kasmos_process_resident_memory_bytes")!).toBeGreaterThan(1024 * 1024);
    expect(value(before, "kasmos_uptime_seconds")!).toBeGreaterThanOrEqual(0);
    const signalsSum = (p: Parsed) => p.samples.filter((s) => s.name === "kasmos_signals_total").reduce((a, s) => a + s.value, 0);
    expect(signalsSum(before)).toBe(0);

    drop(sig, "implement-finished-t");
    let after = before;
    await waitFor(
      async () => {
        after = await scrape();
        return value(after, "kasmos_signals_total", done) === 1;
      },
      15_000,
      "implement_finished done counter to reach 1",
    );
    expect(value(after, "kasmos_transitions_total", toReviewing)).toBe(1);
    expect(value(after, "kasmos_tasks", { status: "reviewing" })).toBe(1);
    expect(value(after, "kasmos_tasks", { status: "implementing" })).toBe(0);
    expect(value(after, "kasmos_signals_pending", { status: "pending" })).toBe(0);
    expect(signalsSum(after)).toBe(1);
    // Scan passes are timed; kicked (event) and timer passes are told apart.
    await waitFor(async () => (value(await scrape(), "kasmos_scan_duration_seconds_count", { kind: "timer" }) ?? 0) >= 2, 5000, "timer passes to be observed");
    const passes = await scrape();
    expect(value(passes, "kasmos_scan_duration_seconds_count", { kind: "event" })!).toBeGreaterThanOrEqual(1); // the watcher's kick
    expect(value(passes, "kasmos_scan_duration_seconds_sum", { kind: "timer" })!).toBeGreaterThan(0);

    // A garbage name is quarantined before any row exists: no counter moves, the daemon keeps serving.
    drop(sig, "utter-garbage.txt");
    await waitFor(() => existsSync(join(sig, "failed", "utter-garbage.txt.reason")), 15_000, "garbage signal to be quarantined");
    const last = await scrape();
    expect(signalsSum(last)).toBe(1);
    expect(value(last, "kasmos_transitions_total", toReviewing)).toBe(1);
    expect((await api(sb.socket, "GET", "/v1/ping")).status).toBe(200);
    expect(proc.exitCode).toBeNull();

    // Store-backed: a restart keeps the counters.
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const again = await sb.foreground();
    const restarted = await scrape();
    expect(value(restarted, "kasmos_signals_total", done)).toBe(1);
    expect(value(restarted, "kasmos_transitions_total", toReviewing)).toBe(1);
    again.kill("SIGTERM");
    expect(await again.exited).toBe(0);
  });
});
