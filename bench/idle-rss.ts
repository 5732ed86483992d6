// Daemon memory: RSS of a freshly started foreground daemon after 3 s idle (target ≤ 60 MB), its CPU
// use over that idle window, and RSS again right after a latency-bench-sized load (2,050 GETs).
import { type BenchResult, cpuMs, round, rssMb, sequentialGets, withDaemon } from "./lib.ts";

const IDLE_MS = 3_000;
const LOAD_REQUESTS = 2_050; // same count as bench/latency.ts (50 warm-up + 2,000)
const TARGET_MB = 60;
const REPOS = 3;

export async function run(): Promise<BenchResult> {
  return withDaemon(
    async (d) => {
      const cpu0 = cpuMs(d.pid);
      const t0 = performance.now();
      await Bun.sleep(IDLE_MS);
      const idleWall = performance.now() - t0;
      const idleCpu = cpuMs(d.pid) - cpu0;
      const idle = rssMb(d.pid);

      await sequentialGets(d.socket, "/v1/status", LOAD_REQUESTS, AbortSignal.timeout(60_000));
      const loaded = rssMb(d.pid);

      return {
        name: "idle-rss",
        figures: [
          { label: "RSS after 3 s idle", value: round(idle, 1), unit: "MB", target: `≤ ${TARGET_MB} MB`, pass: idle <= TARGET_MB },
          { label: `CPU time during ${(idleWall / 1000).toFixed(1)} s idle`, value: Math.round(idleCpu), unit: "ms" },
          { label: `RSS right after ${LOAD_REQUESTS} GET /v1/status`, value: round(loaded, 1), unit: "MB" },
        ],
        notes: [
          "RSS = VmRSS from /proc/<pid>/status (MB = 1024 kB); CPU = utime+stime from /proc/<pid>/stat at CLK_TCK 100 (10 ms resolution)",
          `foreground daemon in a temp HOME with ${REPOS} git repos registered via \`kasmos daemon add\`; idle window starts after registration`,
        ],
      };
    },
    { repos: REPOS },
  );
}
