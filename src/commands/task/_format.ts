// Human-readable task output shared by task commands.
import type { AuditRow } from "../../store/audit.ts";
import type { TaskLine } from "../../store/tasks.ts";

export function phaseText(t: Pick<TaskLine, "execution">): string {
  const e = t.execution;
  if (!e.phase && !e.agent) return "-";
  const parts = [e.phase || "-"];
  if (e.agent) parts.push(e.agent);
  if (e.wave > 0) parts.push(`wave ${e.wave}`);
  return parts.join("/");
}

export function taskTable(rows: TaskLine[], withProject: boolean): string {
  const head = [...(withProject ? ["PROJECT"] : []), "NAME", "STATUS", "PHASE", "REVIEW", "VERIFY", "UPDATED"];
  const all = [head];
  for (const t of rows) all.push([...(withProject ? [t.project] : []), t.name, t.status, phaseText(t), String(t.reviewCycle), String(t.verifyCycle), t.updatedAt]);
  // Plain loops: a spread of every row per column is slow (and bounded by the call stack) for 100 k tasks.
  const widths = head.map((h) => h.length);
  for (const r of all) for (let i = 0; i < r.length; i++) if (r[i]!.length > widths[i]!) widths[i] = r[i]!.length;
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

export function historyLine(a: AuditRow): string {
  const move = a.fromStatus && a.toStatus ? ` ${a.fromStatus} → ${a.toStatus}` : a.toStatus ? ` → ${a.toStatus}` : "";
  const sig = a.signalId ? ` [signal #${a.signalId}]` : "";
  return `${a.timestamp}  #${a.id}  ${a.kind}${move}${sig}  ${a.message}`;
}
