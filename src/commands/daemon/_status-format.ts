// Human rendering of GET /v1/status: per repo, tasks by state, then an aligned table of active
// tasks with phase and agents (role, wave, age), then attention items. Pure, so it is unit-tested.
import { formatCost } from "../../api/usage.ts";
import type { StatusResponse } from "../../api/status.ts";
import { describeWaveLimit } from "../../config/wave-limit.ts";
import { ACTIVE_STATUSES } from "../../lifecycle/types.ts";

export function fmtDuration(sec: number): string {
  const s = Math.max(0, Math.floor(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${m}m${s % 60}s` : m > 0 ? `${m}m${s % 60}s` : `${s % 60}s`;
}

function table(rows: string[][], indent: string): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd());
}

export function renderStatus(s: StatusResponse, opts: { color: boolean; now: number }): string {
  const paint = (code: string, t: string): string => (opts.color ? `\x1b[${code}m${t}\x1b[0m` : t);
  const lines = [`daemon running (pid ${s.pid}, version ${s.version}, up ${fmtDuration(s.uptime_sec)})`, `socket: ${s.socket}`];
  if (s.max_parallel_wave_tasks) lines.push(`wave tasks at once: ${describeWaveLimit(s.max_parallel_wave_tasks)}`);
  const starts = s.agent_starts;
  if (starts && starts.waiting > 0) lines.push(`agent starts: ${starts.starting} starting, ${starts.waiting} waiting (at most ${starts.limit} start at once; the next starts when one reports in)`);
  if (s.repos.length === 0) lines.push("  no repos registered");
  for (const r of s.repos) {
    const states = Object.entries(r.tasks_by_status)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    lines.push(`  - ${paint("1", r.project)} (${r.path}) [${r.active_plans} active plan${r.active_plans === 1 ? "" : "s"}]${states ? ` ${states}` : ""}${r.state === "claiming" ? `  ${paint("2", "(claiming: checking the repository)")}` : ""}${r.problem ? `  ${paint("31", `! ${r.problem}`)}` : ""}`);
    for (const w of r.warnings ?? []) lines.push(`      ${paint("33", `! ${w}`)}`);
    const tasks = r.tasks ?? [];
    const active = tasks.filter((t) => (ACTIVE_STATUSES as readonly string[]).includes(t.status));
    if (active.length > 0) {
      const rows = [["TASK", "STATUS", "PHASE", "SPEND", "AGENTS"]];
      for (const t of active) {
        const phase = t.phase ? `${t.phase}${t.wave > 0 ? ` w${t.wave}` : ""}` : "-";
        const names = [
          ...t.agents.map((a) => `${a.title} (${a.role}${a.wave ? ` w${a.wave}` : ""}, ${fmtDuration((opts.now - Date.parse(a.started_at)) / 1000)})`),
          ...(t.agents_waiting ?? []).map((w) => `${w.title} (waiting to start, ${fmtDuration((opts.now - Date.parse(w.since)) / 1000)})`),
        ];
        const agents = names.length > 0 ? names.join(", ") : "-";
        const tokens = t.tokens ?? 0;
        const spend = tokens === 0 ? "-" : formatCost(t.cost_usd ?? null);
        rows.push([t.name, t.status, phase, spend, agents]);
      }
      lines.push(...table(rows, "      "));
    }
    for (const t of tasks) if (t.attention) lines.push(`      ${paint("33", `! ${t.name}: ${t.attention}`)}`);
    if ((r.failed_signals_24h ?? 0) > 0) lines.push(`      ${paint("33", `! ${r.failed_signals_24h} failed signal(s) in the last 24 h (kas signal list --status failed)`)}`);
  }
  if (s.last_reload && !s.last_reload.ok) lines.push(paint("31", `last reload failed at ${s.last_reload.at}: ${s.last_reload.error}`));
  return lines.join("\n");
}
