// Human-readable task output shared by task commands.
import type { AuditRow } from "../../store/audit.ts";
import type { TaskRow } from "../../store/tasks.ts";

export function phaseText(t: TaskRow): string {
  const e = t.execution;
  if (!e.phase && !e.agent) return "-";
  const parts = [e.phase || "-"];
  if (e.agent) parts.push(e.agent);
  if (e.wave > 0) parts.push(`wave ${e.wave}`);
  return parts.join("/");
}

export function taskTable(rows: TaskRow[], withProject: boolean): string {
  const head = [...(withProject ? ["PROJECT"] : []), "NAME", "STATUS", "PHASE", "REVIEW", "VERIFY", "UPDATED"];
  const body = rows.map((t) => [...(withProject ? [t.project] : []), t.name, t.status, phaseText(t), String(t.reviewCycle), String(t.verifyCycle), t.updatedAt]);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

export function historyLine(a: AuditRow): string {
  const move = a.fromStatus && a.toStatus ? ` ${a.fromStatus} → ${a.toStatus}` : a.toStatus ? ` → ${a.toStatus}` : "";
  const sig = a.signalId ? ` [signal #${a.signalId}]` : "";
  return `${a.timestamp}  #${a.id}  ${a.kind}${move}${sig}  ${a.message}`;
}
