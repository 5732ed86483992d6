// GET /v1/metrics: Prometheus text exposition format (version 0.0.4).
// Counters come from the store (so they survive restarts and include rows the CLI wrote), read
// incrementally (StoreMetricsReader); the scan duration histogram and process gauges come from this process.
import { usageTotals } from "../store/usage.ts";
import { countTasksByStatus } from "../store/task-queries.ts";
import { costOf, priceOf } from "../config/pricing.ts";
import { AGENT_ROLES } from "../agents/programs.ts";
import { SIGNAL_TYPES, TASK_STATUSES } from "../lifecycle/types.ts";
import type { Db } from "../store/db.ts";
import { VERSION } from "../version.ts";
import type { DaemonConfig } from "../config/schema.ts";
import type { Logger } from "../runtime/log.ts";
import type { RepoRegistry } from "./repos.ts";
import type { ScanLoop } from "./scan-loop.ts";
import type { HistogramData } from "./histogram.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** What of the running daemon the metrics read (the daemon itself, src/server/running-daemon.ts, is one). */
export interface MetricsSource {
  readonly config: DaemonConfig;
  readonly db: Db;
  readonly log: Logger;
  readonly loop: Pick<ScanLoop, "durations">;
  readonly registry: Pick<RepoRegistry, "list">;
  readonly startedAt: number;
}

/** Everything /v1/metrics reports, already gathered (pure input of renderMetrics). */
export interface MetricsInput {
  version: string;
  signals: { type: string; status: string; n: number }[];
  queue: { status: string; n: number }[];
  transitions: { event: string; to: string; n: number }[];
  agents: { role: string; n: number }[];
  tasks: { status: string; n: number }[];
  scan: Record<string, HistogramData>;
  rssBytes: number;
  uptimeSeconds: number;
  repos: number;
  /** Tokens by repo, role, model and kind, and their cost (USD; absent for models without a price). */
  usage?: { project: string; role: string; model: string; input: number; output: number; cache_write: number; cache_read: number; cost: number | null }[];
}

type Labels = Record<string, string>;
interface Sample {
  suffix?: string;
  labels: Labels;
  value: number;
}
interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  samples: Sample[];
}

/** Label value escaping of the text format: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(",")}}`;
}

function formatFamilies(families: Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}${s.suffix ?? ""}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return `${out.join("\n")}\n`;
}

/** Rows keyed by label tuple, with zero-valued series seeded for the known label values. */
function labelled<R extends { n: number }>(rows: R[], keyOf: (r: R) => Labels, seed: Labels[] = []): Sample[] {
  const map = new Map<string, Sample>();
  const key = (l: Labels) => JSON.stringify(l);
  for (const l of seed) map.set(key(l), { labels: l, value: 0 });
  for (const r of rows) {
    const l = keyOf(r);
    const k = key(l);
    const cur = map.get(k);
    if (cur) cur.value += r.n;
    else map.set(k, { labels: l, value: r.n });
  }
  return [...map.values()];
}

function histogramSamples(labels: Labels, h: HistogramData): Sample[] {
  const out: Sample[] = [];
  let cum = 0;
  for (let i = 0; i < h.buckets.length; i++) {
    cum += h.counts[i] ?? 0;
    out.push({ suffix: "_bucket", labels: { ...labels, le: formatValue(h.buckets[i]!) }, value: cum });
  }
  out.push({ suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: h.count });
  out.push({ suffix: "_sum", labels, value: h.sum });
  out.push({ suffix: "_count", labels, value: h.count });
  return out;
}

/** Build the text exposition of the given snapshot. */
export function renderMetrics(m: MetricsInput): string {
  const families: Family[] = [
    {
      name: "kasmos_build_info",
      help: "Version of the running kasmos daemon (always 1).",
      type: "gauge",
      samples: [{ labels: { version: m.version }, value: 1 }],
    },
    {
      name: "kasmos_signals_total",
      help: "Signals processed, by signal type and outcome (done or failed).",
      type: "counter",
      samples: labelled(
        m.signals.filter((r) => r.status === "done" || r.status === "failed"),
        (r) => ({ type: r.type, status: r.status }),
        SIGNAL_TYPES.flatMap((t) => [{ type: t, status: "done" }, { type: t, status: "failed" }]),
      ),
    },
    {
      name: "kasmos_signals_pending",
      help: "Signals queued and not finished yet (queue depth), by row status (pending or processing).",
      type: "gauge",
      samples: labelled(
        m.queue.filter((r) => r.status === "pending" || r.status === "processing"),
        (r) => ({ status: r.status }),
        [{ status: "pending" }, { status: "processing" }],
      ),
    },
    {
      name: "kasmos_transitions_total",
      help: "Task lifecycle transitions, by event and target status.",
      type: "counter",
      samples: labelled(m.transitions, (r) => ({ event: r.event, to: r.to })),
    },
    {
      name: "kasmos_agents_running",
      help: "Agent sessions currently running, by role.",
      type: "gauge",
      samples: labelled(m.agents, (r) => ({ role: r.role }), AGENT_ROLES.map((role) => ({ role }))),
    },
    {
      name: "kasmos_tasks",
      help: "Tasks in the store, by status.",
      type: "gauge",
      samples: labelled(m.tasks, (r) => ({ status: r.status }), TASK_STATUSES.map((status) => ({ status }))),
    },
    {
      name: "kasmos_scan_duration_seconds",
      help: "Duration of scan passes in seconds, by kind (timer: full pass, event: kicked pass).",
      type: "histogram",
      samples: Object.entries(m.scan).flatMap(([kind, h]) => histogramSamples({ kind }, h)),
    },
    {
      name: "kasmos_process_resident_memory_bytes",
      help: "Resident set size of the daemon process in bytes.",
      type: "gauge",
      samples: [{ labels: {}, value: m.rssBytes }],
    },
    {
      name: "kasmos_uptime_seconds",
      help: "Seconds since the daemon started.",
      type: "gauge",
      samples: [{ labels: {}, value: m.uptimeSeconds }],
    },
    {
      name: "kasmos_tokens_total",
      help: "Tokens the agents used (from their CLIs' own records), by repo, role, model and kind.",
      type: "counter",
      samples: (m.usage ?? []).flatMap((u) =>
        (["input", "output", "cache_write", "cache_read"] as const).map((kind) => ({ labels: { project: u.project, role: u.role, model: u.model, kind }, value: u[kind] })),
      ),
    },
    {
      name: "kasmos_cost_usd_total",
      help: "Cost of the agents' tokens in USD at the configured prices, by repo, role and model (models without a price are left out).",
      type: "counter",
      samples: (m.usage ?? []).filter((u) => u.cost !== null).map((u) => ({ labels: { project: u.project, role: u.role, model: u.model }, value: u.cost ?? 0 })),
    },
    {
      name: "kasmos_repos",
      help: "Registered repositories.",
      type: "gauge",
      samples: [{ labels: {}, value: m.repos }],
    },
  ];
  return formatFamilies(families);
}

type StoreMetrics = Pick<MetricsInput, "signals" | "queue" | "transitions" | "agents" | "tasks">;

/**
 * Store-side numbers for /v1/metrics. The counters cover the whole store (they survive restarts and
 * include rows the CLI wrote), but history is read once: finished signal rows and audit rows never
 * change, so each scrape folds only rows newer than its cursors into running totals. Counting the
 * full history on every scrape took ~350 ms (blocking the daemon) at 200,000 signals.
 */
export class StoreMetricsReader {
  /** Every signal row with id ≤ this is in `signalTotals`, or in `openSignals` while unfinished. */
  private signalCursor = 0;
  private signalTotals = new Map<string, { type: string; status: string; n: number }>();
  /** Ids ≤ signalCursor still pending/processing when last read: counted once they finish. */
  private openSignals = new Set<number>();
  /** Every audit row with id ≤ this is folded into `transitionTotals`. */
  private auditCursor = 0;
  private transitionTotals = new Map<string, { event: string; to: string; n: number }>();
  /** Totals of rows retention removed (metrics_folded) are the starting point, read once. */
  private foldedLoaded = false;

  constructor(private db: Db) {}

  /**
   * Fold every row now. Retention calls it inside its delete transaction: the rows it removes are then
   * already in these totals, and in metrics_folded for a reader started later.
   */
  sync(): void {
    this.loadFolded();
    this.foldSignals(this.maxSignalId());
    this.foldAudit(this.maxAuditId());
  }

  private loadFolded(): void {
    if (this.foldedLoaded) return;
    this.foldedLoaded = true;
    for (const r of this.db.query<{ family: string; a: string; b: string; n: number }, []>("SELECT family, a, b, n FROM metrics_folded").all()) {
      if (r.family === "signals") add(this.signalTotals, `${r.a}\0${r.b}`, { type: r.a, status: r.b, n: r.n });
      else if (r.family === "transitions") add(this.transitionTotals, `${r.a}\0${r.b}`, { event: r.a, to: r.b, n: r.n });
    }
  }

  /** One consistent snapshot (a read transaction): the CLI may write between two statements otherwise. */
  read(): StoreMetrics {
    return this.db.transaction(() => this.readInSnapshot()).deferred();
  }

  private warming: Promise<void> | null = null;

  /** warm() once, shared by every caller (a failed attempt is tried again by the next caller). */
  ensureWarm(): Promise<void> {
    this.warming ??= this.warm().catch((err: unknown) => {
      this.warming = null;
      throw err;
    });
    return this.warming;
  }

  /**
   * Fold the existing history in slices of `sliceIds` rows, yielding in between, so a daemon with a
   * large store is not stalled by its first scrape or gc.
   */
  async warm(sliceIds = 20_000): Promise<void> {
    for (let i = 0; i < 1_000_000; i++) {
      const caughtUp = this.db
        .transaction(() => {
          this.loadFolded();
          const s = this.maxSignalId();
          const a = this.maxAuditId();
          this.foldSignals(Math.min(s, this.signalCursor + sliceIds));
          this.foldAudit(Math.min(a, this.auditCursor + sliceIds));
          return this.signalCursor >= s && this.auditCursor >= a;
        })
        .deferred();
      if (caughtUp) return;
      await Bun.sleep(0);
    }
  }

  private maxSignalId(): number {
    return this.db.query<{ id: number | null }, []>("SELECT MAX(id) AS id FROM signals").get()?.id ?? 0;
  }

  private maxAuditId(): number {
    return this.db.query<{ id: number | null }, []>("SELECT MAX(id) AS id FROM audit_events").get()?.id ?? 0;
  }

  /** Signals: a row's status only moves pending → processing → done|failed, then never changes. */
  private foldSignals(upTo: number): void {
    const db = this.db;
    if (upTo > this.signalCursor) {
      const range = { after: this.signalCursor, upTo };
      const open = db
        .query<{ id: number }, typeof range>("SELECT id FROM signals WHERE id > $after AND id <= $upTo AND status IN ('pending', 'processing')")
        .all(range);
      for (const r of open) this.openSignals.add(r.id);
      const finished = db
        .query<{ type: string; status: string; n: number }, typeof range>(
          "SELECT signal_type AS type, status, COUNT(*) AS n FROM signals WHERE id > $after AND id <= $upTo AND status IN ('done', 'failed') GROUP BY signal_type, status",
        )
        .all(range);
      for (const r of finished) add(this.signalTotals, `${r.type}\0${r.status}`, r);
      this.signalCursor = upTo;
    }
    if (this.openSignals.size > 0) {
      const now = db
        .query<{ id: number; type: string; status: string }, { ids: string }>(
          "SELECT id, signal_type AS type, status FROM signals WHERE id IN (SELECT value FROM json_each($ids)) AND status IN ('done', 'failed')",
        )
        .all({ ids: JSON.stringify([...this.openSignals]) });
      for (const r of now) {
        this.openSignals.delete(r.id);
        add(this.signalTotals, `${r.type}\0${r.status}`, { type: r.type, status: r.status, n: 1 });
      }
    }
  }

  /** Transitions: audit rows are append-only. */
  private foldAudit(upTo: number): void {
    if (upTo <= this.auditCursor) return;
    const rows = this.db
      .query<{ event: string; to: string; n: number }, { after: number; upTo: number }>(
        "SELECT event, to_status AS \"to\", COUNT(*) AS n FROM audit_events WHERE kind = 'plan_transition' AND id > $after AND id <= $upTo GROUP BY event, to_status",
      )
      .all({ after: this.auditCursor, upTo });
    for (const r of rows) add(this.transitionTotals, `${r.event}\0${r.to}`, r);
    this.auditCursor = upTo;
  }

  private readInSnapshot(): StoreMetrics {
    const db = this.db;
    this.sync();
    return {
      signals: [...this.signalTotals.values()].map((v) => ({ ...v })),
      // One COUNT per status: each is then a walk of its small partial index (idx_signals_pending / _processing).
      queue: db
        .query<{ status: string; n: number }, []>(
          "SELECT 'pending' AS status, COUNT(*) AS n FROM signals WHERE status = 'pending' UNION ALL SELECT 'processing', COUNT(*) FROM signals WHERE status = 'processing'",
        )
        .all()
        .filter((r) => r.n > 0),
      transitions: [...this.transitionTotals.values()].map((v) => ({ ...v })),
      agents: db.query<{ role: string; n: number }, []>("SELECT role, COUNT(*) AS n FROM agents WHERE state = 'running' GROUP BY role").all(),
      tasks: Object.entries(countTasksByStatus(db))
        .filter(([, n]) => n > 0)
        .map(([status, n]) => ({ status, n })),
    };
  }
}

function add<T extends { n: number }>(totals: Map<string, T>, key: string, row: T): void {
  const t = totals.get(key);
  if (t) t.n += row.n;
  else totals.set(key, { ...row });
}

/** One-off read (tests, tools): a fresh reader folds the whole store. */
export function queryStoreMetrics(db: Db): StoreMetrics {
  return new StoreMetricsReader(db).read();
}

function rss(): number {
  const mu = process.memoryUsage as typeof process.memoryUsage & { rss?: () => number };
  return typeof mu.rss === "function" ? mu.rss() : process.memoryUsage().rss;
}

export function collectMetrics(d: MetricsSource, store: StoreMetricsReader): MetricsInput {
  return {
    version: VERSION,
    ...store.read(),
    scan: d.loop.durations,
    rssBytes: rss(),
    uptimeSeconds: (Date.now() - d.startedAt) / 1000,
    repos: d.registry.list().length,
    usage: usageSeries(d),
  };
}

/**
 * Usage grouped by (repo, role, model), priced with the config in force. Read from usage_totals, which
 * triggers on agent_usage keep current (migration 12): a handful of rows, however many agent runs.
 */
function usageSeries(d: MetricsSource): NonNullable<MetricsInput["usage"]> {
  const rows = usageTotals(d.db);
  return rows.map((r) => ({ ...r, cost: costOf({ input: r.input, output: r.output, cacheWrite: r.cache_write, cacheRead: r.cache_read }, priceOf(r.model, d.config.pricing)) }));
}

/** GET /v1/metrics. */
export async function metricsResponse(d: MetricsSource, store: StoreMetricsReader): Promise<Response> {
  // The history is folded on the first scrape (or before the first gc), in slices that yield, not at
  // start: a daemon that is never scraped never pays for it, and a start with a big store stays cheap.
  await store.ensureWarm().catch((err: unknown) => d.log.warn(`metrics warm-up: ${(err as Error).message}`));
  return new Response(renderMetrics(collectMetrics(d, store)), { headers: { "content-type": METRICS_CONTENT_TYPE } });
}
