// Idle cost of many repos: a foreground daemon at default settings (no daemon.toml: watch_signals = true,
// poll_interval_sec = 2.0) with 100 freshly `git init`ed repos registered via POST /v1/repos, left idle
// for 20 s. CPU % of one core over that window (utime+stime from /proc/<pid>/stat) and RSS at the end.
// Targets: < 0.5 % of one core, ≤ 80 MB. `idleRepos` is the same measurement for other sizes
// (idle-500-repos: 500 repos with 5,000 tasks seeded in the store).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { cpuWindow, type BenchResult, type Figure, round, rssMb, Sandbox } from "./lib.ts";
import { getJson, gitInit, registerRepo } from "./signal-lib.ts";

const SETTLE_MS = 3_000; // registration passes + the first full timer pass over all repos

export interface IdleReposOptions {
  name: string;
  repos: number;
  idleMs: number;
  targetCpuPct: number;
  /** RSS target, when there is one. */
  targetRssMb?: number;
  /** Fill the store before the daemon starts (projects = the repos' basenames); returns a note. */
  seed?: (sb: Sandbox, projects: string[]) => string;
}

interface Status {
  repo_count: number;
  scan: { ticks: number; last_tick_ms: number };
  repos: { problem: string | null }[];
}

export function run(): Promise<BenchResult> {
  return idleRepos({ name: "idle-100-repos", repos: 100, idleMs: 20_000, targetCpuPct: 0.5, targetRssMb: 80 });
}

export async function idleRepos(o: IdleReposOptions): Promise<BenchResult> {
  const { repos: REPOS, idleMs: IDLE_MS, targetCpuPct: TARGET_CPU_PCT, targetRssMb: TARGET_RSS_MB } = o;
  const sb = new Sandbox("kbi-");
  try {
    const dirs = Array.from({ length: REPOS }, (_, i) => join(sb.dir, "repos", `r${String(i).padStart(3, "0")}`));
    const seedNote = o.seed?.(sb, dirs.map((d) => d.split("/").pop() ?? ""));
    const d = await sb.startDaemon();
    const rssEmpty = rssMb(d.pid);
    const tReg = performance.now();
    for (const dir of dirs) {
      gitInit(dir);
      await registerRepo(d.socket, dir);
    }
    const regMs = performance.now() - tReg;
    await Bun.sleep(SETTLE_MS);

    const before = await getJson<Status>(d.socket, "/v1/status");
    const cpuOf = cpuWindow(d.pid);
    const t0 = performance.now();
    await Bun.sleep(IDLE_MS);
    const cpu = cpuOf();
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
    const figures: Figure[] = [
      { label: `daemon CPU over ${(wall / 1000).toFixed(1)} s idle`, value: round(pct, 2), unit: "% of one core", target: `< ${TARGET_CPU_PCT} %`, pass: pct < TARGET_CPU_PCT },
      { label: "CPU time in the window", value: Math.round(cpu), unit: "ms" },
      { label: "RSS at the end", value: round(rss, 1), unit: "MB", ...(TARGET_RSS_MB === undefined ? {} : { target: `≤ ${TARGET_RSS_MB} MB`, pass: rss <= TARGET_RSS_MB }) },
      { label: "RSS before registering repos", value: round(rssEmpty, 1), unit: "MB" },
      { label: "timer passes in the window", value: ticks, unit: "" },
      { label: `CPU per timer pass over ${REPOS} repos`, value: ticks > 0 ? round(cpu / ticks, 1) : Number.NaN, unit: "ms" },
      { label: "last timer pass wall time (daemon's own figure)", value: round(after.scan.last_tick_ms, 2), unit: "ms" },
      { label: "repos registered / with problems", value: after.repo_count, unit: `/ ${problems}` },
      { label: "open fds at the end", value: fds, unit: "" },
    ];
    return {
      name: o.name,
      figures,
      notes: [
        ...(seedNote ? [seedNote] : []),
        `${REPOS} repos created with \`git init -q\` and registered one by one via POST /v1/repos in ${(regMs / 1000).toFixed(1)} s; then ${SETTLE_MS / 1000} s settle before the window`,
        "default settings (no daemon.toml): watch_signals = true (inotify on each repo's signals folder + repo root), poll_interval_sec = 2.0",
        "CPU = on-CPU time of all the daemon's threads from /proc/<pid>/task/*/schedstat (ns resolution; /proc/<pid>/stat counts 10 ms ticks, ±0.05 % over 20 s); RSS = VmRSS (MB = 1024 kB)",
      ],
    };
  } finally {
    await sb.cleanup();
  }
}
