// Concurrency: 50 clients × 200 requests each against one daemon (GET /v1/status, every 10th request
// GET /v1/repos). Counts errors (non-2xx, malformed body, thrown), reports throughput and p99, then
// checks the daemon still answers /v1/ping.
import { type BenchResult, cpuMs, percentile, ping, round, rssMb, withDaemon } from "./lib.ts";

const CLIENTS = 50;
const PER_CLIENT = 200;
const REPOS = 3;

interface ClientStats {
  times: number[];
  errors: number;
  firstError: string | null;
}

async function client(socket: string, signal: AbortSignal): Promise<ClientStats> {
  const s: ClientStats = { times: [], errors: 0, firstError: null };
  for (let i = 0; i < PER_CLIENT; i++) {
    const path = i % 10 === 9 ? "/v1/repos" : "/v1/status";
    const t0 = performance.now();
    try {
      const r = await fetch(`http://kasmos${path}`, { unix: socket, signal });
      const body: unknown = await r.json();
      const dt = performance.now() - t0;
      const shapeOk = path === "/v1/repos" ? Array.isArray(body) : typeof body === "object" && body !== null && "running" in body;
      if (!r.ok || !shapeOk) {
        s.errors++;
        s.firstError ??= `${path} → ${r.status}`;
      } else {
        s.times.push(dt);
      }
    } catch (e) {
      s.errors++;
      s.firstError ??= `${path} → ${e instanceof Error ? e.message : String(e)}`;
      if (signal.aborted) break;
    }
  }
  return s;
}

export async function run(): Promise<BenchResult> {
  return withDaemon(
    async (d) => {
      const signal = AbortSignal.timeout(90_000);
      const cpu0 = cpuMs(d.pid);
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: CLIENTS }, () => client(d.socket, signal)));
      const wall = performance.now() - t0;
      const cpu = cpuMs(d.pid) - cpu0;
      const total = CLIENTS * PER_CLIENT;
      const errors = results.reduce((n, r) => n + r.errors, 0);
      const times = results.flatMap((r) => r.times).sort((a, b) => a - b);
      const p99 = percentile(times, 99);
      const alive = await ping(d.socket);
      const rss = rssMb(d.pid);
      const firstError = results.find((r) => r.firstError !== null)?.firstError;
      return {
        name: "concurrency",
        figures: [
          { label: "requests", value: total, unit: "" },
          { label: "errors", value: errors, unit: "", target: "0", pass: errors === 0 },
          { label: "throughput", value: Math.round((total / wall) * 1000), unit: "req/s" },
          { label: "p50", value: round(percentile(times, 50), 2), unit: "ms" },
          { label: "p99", value: round(p99, 2), unit: "ms" },
          { label: "max", value: round(times[times.length - 1] ?? Number.NaN, 2), unit: "ms" },
          { label: "daemon answers /v1/ping afterwards", value: alive ? 1 : 0, unit: "", target: "1", pass: alive },
          { label: "daemon CPU / wall during run", value: round((cpu / wall) * 100, 0), unit: "%" },
          { label: "daemon RSS after run", value: round(rss, 1), unit: "MB" },
        ],
        notes: [
          `${CLIENTS} concurrent async clients in the bench process × ${PER_CLIENT} sequential requests each (every 10th GET /v1/repos, else GET /v1/status); Bun fetch with \`unix\`, body parsed and shape-checked`,
          "the client shares the machine with the daemon, so throughput is bounded by both processes (see nproc in the header)",
          "latencies are per request (send → body parsed) under the 50-deep load; nearest-rank percentiles over successful requests",
          ...(firstError ? [`first error: ${firstError}`] : []),
        ],
      };
    },
    { repos: REPOS },
  );
}
