// GET /v1/status: the daemon's own figures and each registered repo's state and counts.
import { waveLimit } from "../config/wave-limit.ts";
import type { DaemonConfig } from "../config/schema.ts";
import { VERSION } from "../version.ts";
import type { RepoRegistry } from "../engine/repos.ts";
import type { ScanLoop } from "../engine/scan-loop.ts";
import { statusWarnings } from "../engine/repo-warnings.ts";
import type { RepoCounts, RepoStatus, ReloadOutcome, StatusResponse } from "../api/status.ts";
import type { StartQueueState } from "../runner/start-gate.ts";

export interface StatusInputs {
  config: DaemonConfig;
  configPath: string;
  socket: string;
  startedAt: number;
  registry: RepoRegistry;
  loop: ScanLoop;
  lastReload: ReloadOutcome | null;
  counts: Map<string, RepoCounts>;
  starts: StartQueueState;
}

export function daemonStatus(s: StatusInputs): StatusResponse {
  const repos = s.registry.list().map((r): RepoStatus => {
    const c = s.counts.get(r.project) ?? { active_plans: 0, tasks_by_status: {}, tasks: [], failed_signals_24h: 0 };
    return { project: r.project, path: r.path, source: r.source, problem: r.problem, state: r.claiming ? "claiming" : r.problem ? "problem" : "ok", warnings: r.problem || r.claiming ? [] : statusWarnings(r.path), ...c };
  });
  const { loop, config } = s;
  return {
    running: true,
    pid: process.pid,
    version: VERSION,
    uptime_sec: Math.floor((Date.now() - s.startedAt) / 1000),
    socket: s.socket,
    config_path: s.configPath,
    poll_interval_sec: config.poll_interval_sec,
    watch_signals: config.watch_signals,
    repo_count: repos.length,
    repos,
    last_reload: s.lastReload,
    scan: { ticks: loop.ticks, event_passes: loop.eventPasses, last_tick_at: loop.lastTickAt, last_tick_ms: Math.round(loop.lastTickMs * 1000) / 1000 },
    max_parallel_wave_tasks: waveLimit(config.orchestration.max_parallel_wave_tasks),
    agent_starts: { limit: s.starts.limit, starting: s.starts.starting, waiting: s.starts.waiting.length },
  };
}
