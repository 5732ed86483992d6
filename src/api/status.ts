// GET /v1/ping and GET /v1/status (`kas daemon status`): the daemon, its repos and their active tasks.
import * as v from "valibot";
import { defineRoute } from "./route.ts";

export const AgentSummary = v.strictObject({ title: v.string(), role: v.string(), wave: v.number(), started_at: v.string() });
export type AgentSummary = v.InferOutput<typeof AgentSummary>;

export const ActiveTaskStatus = v.strictObject({
  name: v.string(),
  status: v.string(),
  phase: v.string(),
  wave: v.number(),
  agents: v.array(AgentSummary),
  /** Agents the task needs that wait for a start slot (at most agent_starts.limit start at once). */
  agents_waiting: v.optional(v.array(v.strictObject({ title: v.string(), since: v.string() }))),
  attention: v.string(),
  /** Tokens the task's agents used so far (all kinds) and their cost (null = a model without a price). */
  tokens: v.number(),
  cost_usd: v.nullable(v.number()),
});
export type ActiveTaskStatus = v.InferOutput<typeof ActiveTaskStatus>;

const repoCountEntries = {
  active_plans: v.number(),
  tasks_by_status: v.record(v.string(), v.number()),
  /** Active tasks (and any with an attention item): phase and running agents. */
  tasks: v.array(ActiveTaskStatus),
  /** Signal rows that failed in the last 24 hours. */
  failed_signals_24h: v.number(),
  /** Folders with an inotify watch (signal folders, plus .worktrees itself). */
  watched_folders: v.optional(v.number()),
  /** Worktree folders of finished tasks neither scanned nor watched. */
  worktrees_left_out: v.optional(v.number()),
};
export const RepoCounts = v.strictObject(repoCountEntries);
export type RepoCounts = v.InferOutput<typeof RepoCounts>;

export const RepoStatus = v.strictObject({
  project: v.string(),
  path: v.string(),
  source: v.string(),
  problem: v.nullable(v.string()),
  /** claiming: registered, its root and ownership being settled (just after a start); then ok or problem. Absent from older daemons. */
  state: v.optional(v.picklist(["claiming", "ok", "problem"])),
  /** Things that work but will bite (a repo without commits): not skipped, but said. */
  warnings: v.optional(v.array(v.string())),
  ...repoCountEntries,
});
export type RepoStatus = v.InferOutput<typeof RepoStatus>;

export const ReloadOutcome = v.strictObject({
  seq: v.number(),
  at: v.string(),
  source: v.string(),
  ok: v.boolean(),
  error: v.nullable(v.string()),
  /** What the reload changed, one "key: old → new" each, secrets masked (empty when refused). */
  changes: v.array(v.string()),
});
export type ReloadOutcome = v.InferOutput<typeof ReloadOutcome>;

export const StatusResponse = v.strictObject({
  running: v.literal(true),
  pid: v.number(),
  version: v.string(),
  uptime_sec: v.number(),
  socket: v.string(),
  config_path: v.string(),
  poll_interval_sec: v.number(),
  watch_signals: v.boolean(),
  repo_count: v.number(),
  repos: v.array(RepoStatus),
  last_reload: v.nullable(ReloadOutcome),
  scan: v.strictObject({ ticks: v.number(), event_passes: v.number(), last_tick_at: v.nullable(v.string()), last_tick_ms: v.number() }),
  /** Wave tasks running at once, as in force (per-repo .kasmos/config.toml may set its own). */
  max_parallel_wave_tasks: v.strictObject({ value: v.nullable(v.number()), source: v.picklist(["config", "machine"]), cores: v.number(), available_mb: v.number() }),
  /** Agents starting now across every repo, at most `limit`; the rest wait (listed per task in agents_waiting). Absent from older daemons. */
  agent_starts: v.optional(v.strictObject({ limit: v.number(), starting: v.number(), waiting: v.number() })),
});
export type StatusResponse = v.InferOutput<typeof StatusResponse>;

export const ping = defineRoute({
  method: "GET",
  path: "/v1/ping",
  summary: "Is the daemon answering",
  status: 200,
  reply: v.strictObject({ ok: v.literal(true), pid: v.number() }),
});

export const status = defineRoute({ method: "GET", path: "/v1/status", summary: "The daemon, its repos and their active tasks", status: 200, reply: StatusResponse });
