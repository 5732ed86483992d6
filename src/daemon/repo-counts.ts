// Per-repo task counts for GET /v1/status, computed once per status call: tasks by status, the active
// tasks with their live and waiting agents and spend, failed signals of the last day, and what signal
// detection watches.
import { ACTIVE_STATUSES, TASK_STATUSES } from "../lifecycle/types.ts";
import { activeTaskSummaries, countTasksByProject } from "../store/task-queries.ts";
import type { Db } from "../store/db.ts";
import { liveAgents } from "../store/agents.ts";
import { failedSignalsSince } from "../store/signals.ts";
import { usageOfTasks } from "../store/usage.ts";
import type { AgentSummary, RepoCounts } from "../api/status.ts";
import { summarizeUsage } from "../api/usage.ts";
import type { ModelPrice } from "../config/pricing.ts";
import type { StartQueueState } from "../runner/start-gate.ts";
import type { RepoEntry } from "../engine/repos.ts";
import type { SignalDetection } from "../engine/signal-detection.ts";

export function repoCounts(db: Db, repos: RepoEntry[], detection: SignalDetection, starts: StartQueueState, pricing: Record<string, ModelPrice>): Map<string, RepoCounts> {
  const out = new Map<string, RepoCounts>();
  for (const r of repos) {
    const byStatus: Record<string, number> = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0]));
    out.set(r.project, { active_plans: 0, tasks_by_status: byStatus, tasks: [], failed_signals_24h: 0, watched_folders: detection.watchedFolders(r.project), worktrees_left_out: detection.worktreesLeftOut(r.project) });
  }
  const agentsByTask = new Map<string, AgentSummary[]>();
  for (const a of liveAgents(db)) {
    const k = `${a.project}/${a.task}`;
    agentsByTask.set(k, [...(agentsByTask.get(k) ?? []), { title: a.title, role: a.role, wave: a.wave, started_at: a.startedAt }]);
  }
  const active = activeTaskSummaries(db);
  const waitingByTask = new Map<string, { title: string; since: string }[]>();
  for (const w of starts.waiting) {
    const k = `${w.project}/${w.task}`;
    waitingByTask.set(k, [...(waitingByTask.get(k) ?? []), { title: w.title, since: w.since }]);
  }
  const spend = new Map<string, { tokens: number; cost: number | null }>();
  for (const project of new Set(active.map((t) => t.project))) {
    const rows = usageOfTasks(db, project, active.filter((t) => t.project === project).map((t) => t.name));
    for (const g of summarizeUsage(rows, "task", pricing).groups) spend.set(g.key, { tokens: g.input + g.output + g.cache_write + g.cache_read, cost: g.cost_usd });
  }
  for (const t of active) {
    const s = spend.get(`${t.project}/${t.name}`);
    out.get(t.project)?.tasks.push({ name: t.name, status: t.status, phase: t.phase, wave: t.wave, attention: t.attention, agents: agentsByTask.get(`${t.project}/${t.name}`) ?? [], agents_waiting: waitingByTask.get(`${t.project}/${t.name}`) ?? [], tokens: s?.tokens ?? 0, cost_usd: s?.cost ?? null });
  }
  const since = new Date(Date.now() - 86_400_000).toISOString();
  for (const [project, e] of out) e.failed_signals_24h = failedSignalsSince(db, project, since);
  for (const row of countTasksByProject(db)) {
    const e = out.get(row.project);
    if (!e) continue;
    e.tasks_by_status[row.status] = row.n;
    if ((ACTIVE_STATUSES as readonly string[]).includes(row.status)) e.active_plans += row.n;
  }
  return out;
}
