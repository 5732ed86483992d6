// Request latency: one client, sequential GET /v1/status round trips over the unix socket
// (Bun fetch with `unix`, keep-alive, body fully read). Target p99 < 1 ms.
import { type BenchResult, cpuMs, mean, percentile, round, sequentialGets, withDaemon } from "./lib.ts";

const WARMUP = 50;
const N = 2_000;
const TARGET_P99_MS = 1;
const REPOS = 3;

export async function run(): Promise<BenchResult> {
  return withDaemon(
    async (d) => {
      const signal = AbortSignal.timeout(60_000);
      await sequentialGets(d.socket, "/v1/status", WARMUP, signal);
      const cpu0 = cpuMs(d.pid);
      const t0 = performance.now();
      const times = await sequentialGets(d.socket, "/v1/status", N, signal);
      const wall = performance.now() - t0;
      const cpu = cpuMs(d.pid) - cpu0;
      const sorted = [...times].sort((a, b) => a - b);
      const p99 = percentile(sorted, 99);
      return {
        name: "latency",
        figures: [
          { label: "mean", value: round(mean(times), 3), unit: "ms" },
          { label: "p50", value: round(percentile(sorted, 50), 3), unit: "ms" },
          { label: "p99", value: round(p99, 3), unit: "ms", target: `< ${TARGET_P99_MS} ms`, pass: p99 < TARGET_P99_MS },
          { label: "max", value: round(sorted[sorted.length - 1] ?? Number.NaN, 3), unit: "ms" },
          { label: "sequential throughput", value: Math.round((N / wall) * 1000), unit: "req/s" },
          { label: "daemon CPU per request", value: round((cpu / N) * 1000, 1), unit: "µs" },
        ],
        notes: [
          `${WARMUP} warm-up + ${N} sequential GET /v1/status from one client in the bench process (\`fetch(url, { unix })\`, keep-alive, body read)`,
          `foreground daemon, ${REPOS} git repos registered; status body is the full /v1/status JSON`,
          "percentiles are nearest-rank; the round trip includes client-side fetch overhead",
        ],
      };
    },
    { repos: REPOS },
  );
}
