// Idle cost of many repos: a foreground daemon at default settings (no daemon.toml: watch_signals = true,
// poll_interval_sec = 2.0) with 100 freshly `git init`ed repos registered via POST /v1/repos, left idle
// for 20 s. CPU % of one core over that window (utime+stime from /proc/<pid>/stat) and RSS at the end.
// Targets: < 0.5 % of one core, ≤ 80 MB.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { cpuPreciseMs, type BenchResult, round, rssMb, Sandbox } from "./lib.ts";
import { getJson, gitInit, registerRepo } from "./signal-lib.ts";

const REPOS = 100;
const SETTLE_MS = 3_000; // registration passes + the first full timer pass over all repos
const IDLE_MS = 20_000;
const TARGET_CPU_PCT = 0.5;
const TARGET_RSS_MB = 80;

interface Status {
  repo_count: number;
  scan: { ticks: number; last_tick_ms: number };
  repos: { problem: string | null }[];
}

export async function run(): Promise<BenchResult> {
  const sb = new Sandbox("kbi-");
  try {
    const d = await sb.startDaemon();
    const rssEmpty = rssMb(d.pid);
    const tReg = performance.now();
    for (let i = 0; i < REPOS; i++) {
      const dir = join(sb.dir, "repos", `r${String(i).padStart(3, "0")}`);
      gitInit(dir);
      await registerRepo(d.socket, dir);
    }
    const regMs = performance.now() - tReg;
    await Bun.sleep(SETTLE_MS);

    const before = await getJson<Status>(d.socket, "/v1/status");
    const cpu0 = cpuPreciseMs(d.pid);
    const t0 = performance.now();
    await Bun.sleep(IDLE_MS);
    const cpu = cpuPreciseMs(d.pid) - cpu0;
    const wall = performance.now() - t0;
    const rss = rssMb(d.pid);
    let fds = -1;
    try {
      fds = readdirSync(`/proc/${d.pid}/fd`).length;
    } catch {
      // not readable
    }
    const after = await getJson<Status>(d.socket, "/v1/status");

    const pct = (cpu / wall) * 100;
    const ticks = after.scan.ticks - before.scan.ticks;
    const problems = after.repos.filter((r) => r.problem !== null).length;
    return {
      name: "idle-100-repos",
      figures: [
        { label: `daemon CPU over ${(wall / 1000).toFixed(1)} s idle`, value: round(pct, 2), unit: "% of one core", target: `< ${TARGET_CPU_PCT} %`, pass: pct < TARGET_CPU_PCT },
        { label: "CPU time in the window", value: Math.round(cpu), unit: "ms" },
        { label: "RSS at the end", value: round(rss, 1), unit: "MB", target: `≤ ${TARGET_RSS_MB} MB`, pass: rss <= TARGET_RSS_MB },
        { label: "RSS before registering repos", value: round(rssEmpty, 1), unit: "MB" },
        { label: "timer passes in the window", value: ticks, unit: "" },
        { label: "CPU per timer pass over 100 repos", value: ticks > 0 ? round(cpu / ticks, 1) : Number.NaN, unit: "ms" },
        { label: "last timer pass wall time (daemon's own figure)", value: round(after.scan.last_tick_ms, 2), unit: "ms" },
        { label: "repos registered / with problems", value: after.repo_count, unit: `/ ${problems}` },
        { label: "open fds at the end", value: fds, unit: "" },
      ],
      notes: [
        `${REPOS} repos created with \`git init -q\` and registered one by one via POST /v1/repos in ${(regMs / 1000).toFixed(1)} s; then ${SETTLE_MS / 1000} s settle before the window`,
        "default settings (no daemon.toml): watch_signals = true (inotify on each repo's signals folder + repo root), poll_interval_sec = 2.0",
        "CPU = on-CPU time of all the daemon's threads from /proc/<pid>/task/*/schedstat (ns resolution; /proc/<pid>/stat counts 10 ms ticks, ±0.05 % over 20 s); RSS = VmRSS (MB = 1024 kB)",
      ],
    };
  } finally {
    await sb.cleanup();
  }
}
