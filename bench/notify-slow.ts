// Notifications never delay signals (issue 13): signal file → committed transition latency (from the
// SSE stream, as in signal-latency) with no [notify], with a webhook that accepts the connection and
// never answers (each delivery waits out its 10 s timeout, then retries), and with a dead webhook
// (nothing listening). While measuring, a writer adds a `stuck_detected` audit row for another project
// every 50 ms through the store's own code, so ~20 notifications a second are queued and in flight.
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { recordAudit } from "../src/store/audit.ts";
import { openStore } from "../src/store/db.ts";
import { type BenchResult, type Figure, percentile, round, Sandbox } from "./lib.ts";
import { configDir, EventStream, registerRepo, seedTasks, signalsDir, storeFile, wallMs, writeConfig, writeSignalAtomic } from "./signal-lib.ts";

const SAMPLES = 400;
const WARMUP = 10;
const ATTENTION_EVERY_MS = 50;
const PROJECT = "lat";
const TASK = "t";

type Mode = "none" | "hanging" | "dead";

interface ModeResult {
  latencies: number[];
  notificationsQueued: number;
  deliveriesFailed: number;
}

async function measure(mode: Mode, webhookPort: number): Promise<ModeResult> {
  const sb = new Sandbox("kbn-");
  let es: EventStream | null = null;
  let writer: ReturnType<typeof setInterval> | undefined;
  const db = { handle: null as ReturnType<typeof openStore> | null };
  try {
    writeConfig(sb, { poll_interval_sec: 2.0, watch_signals: true, auto_review_fix: false });
    if (mode !== "none") appendFileSync(join(configDir(sb), "daemon.toml"), `[notify]\nwebhook = "http://127.0.0.1:${webhookPort}/hook"\nreminder_after_sec = 0\n`);
    const repo = sb.makeGitRepo(PROJECT);
    seedTasks(sb, PROJECT, [TASK], "implementing");
    const d = await sb.startDaemon();
    await registerRepo(d.socket, repo);
    es = await EventStream.open(d.socket, "kinds=plan_transition");
    const dir = signalsDir(repo);
    db.handle = openStore(storeFile(sb));
    let queued = 0;
    const latencies: number[] = [];
    let toReviewing = true;
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      if (i === WARMUP) {
        writer = setInterval(() => {
          queued++;
          recordAudit(db.handle!, { kind: "stuck_detected", project: "other", task: `stuck-${queued}`, message: `coder stuck-${queued} exited without its signal`, level: "warn" });
        }, ATTENTION_EVERY_MS);
      }
      await Bun.sleep(5 + Math.random() * 10);
      writeSignalAtomic(dir, toReviewing ? `implement-finished-${TASK}` : `review-changes-${TASK}`);
      const w = wallMs();
      const ev = await es.next(5_000);
      if (ev.to_status !== (toReviewing ? "reviewing" : "implementing")) throw new Error(`${mode} sample ${i}: unexpected ${ev.from_status}→${ev.to_status}`);
      if (i >= WARMUP) latencies.push(Date.parse(ev.timestamp) - w);
      toReviewing = !toReviewing;
    }
    clearInterval(writer);
    // Proof the notifier was busy: a dead webhook's failures are recorded after the retries (1+2+4 s).
    const failedRows = () => db.handle!.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'notify_failed'").get()?.n ?? 0;
    if (mode === "dead") {
      const until = Date.now() + 15_000;
      while (failedRows() === 0 && Date.now() < until) await Bun.sleep(200);
    }
    const failed = failedRows();
    return { latencies, notificationsQueued: queued, deliveriesFailed: failed };
  } finally {
    clearInterval(writer);
    es?.close();
    db.handle?.close();
    await sb.cleanup();
  }
}

export async function run(): Promise<BenchResult> {
  // Accepts every request and never answers: the daemon's fetch waits for its own timeout.
  let hangingRequests = 0;
  const hanging = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch: () => {
      hangingRequests++;
      return new Promise<Response>(() => {});
    },
  });
  // A port that was open a moment ago and is closed now: connections are refused.
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const deadPort = probe.port ?? 1;
  probe.stop(true);
  try {
    const none = await measure("none", 0);
    const hang = await measure("hanging", hanging.port ?? 1);
    const dead = await measure("dead", deadPort);
    const stats = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? Number.NaN };
    };
    const n = stats(none.latencies);
    const h = stats(hang.latencies);
    const x = stats(dead.latencies);
    const figures: Figure[] = [
      { label: "no [notify]: p50 / p99 / max", value: round(n.p50, 2), unit: `ms / ${round(n.p99, 2)} ms / ${round(n.max, 1)} ms` },
      { label: "hanging webhook: p50 / p99 / max", value: round(h.p50, 2), unit: `ms / ${round(h.p99, 2)} ms / ${round(h.max, 1)} ms` },
      { label: "dead webhook (refused): p50 / p99 / max", value: round(x.p50, 2), unit: `ms / ${round(x.p99, 2)} ms / ${round(x.max, 1)} ms` },
      { label: "p99 ratio hanging / none", value: round(h.p99 / n.p99, 2), unit: "×", target: "≈ 1 (delivery beside the scan loop)", pass: h.p99 <= Math.max(2 * n.p99, n.p99 + 5) },
      { label: "p99 ratio dead / none", value: round(x.p99 / n.p99, 2), unit: "×", pass: x.p99 <= Math.max(2 * n.p99, n.p99 + 5) },
      { label: "notifications queued while measuring (hanging / dead)", value: hang.notificationsQueued, unit: `/ ${dead.notificationsQueued}` },
      { label: "requests the hanging webhook received (none answered)", value: hangingRequests, unit: "" },
      { label: "failed deliveries recorded (dead, after its retries)", value: dead.deliveriesFailed, unit: "notify_failed rows" },
    ];
    return {
      name: "notify-slow",
      figures,
      notes: [
        `latency = plan_transition audit timestamp − bench wall time after the atomic rename (as in signal-latency); ${WARMUP} warm-up + ${SAMPLES} samples per mode, each mode its own daemon (watch mode)`,
        `while measuring, a stuck_detected audit row for another project is written every ${ATTENTION_EVERY_MS} ms through the store's own code: each is one notification`,
        "hanging: a loopback server that accepts the request and never answers (the daemon's 10 s timeout, then retries at 1/2/4 s); dead: a closed loopback port",
      ],
    };
  } finally {
    hanging.stop(true);
  }
}
