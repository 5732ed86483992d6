// Wave orchestration, pure. The orchestrator's state is nothing but the
// persisted subtasks (pending → running → complete | failed) plus the task's execution state
// (wave_running / wave_waiting, active wave), so a daemon restart loses nothing: there is no
// in-memory orchestrator to rebuild.
import type { ParsedPlan } from "./plan-parser.ts";
import type { Action, ProcessorConfig, SubtaskSnapshot, LifecycleUpdate } from "./model.ts";
import type { ExecutionState } from "./types.ts";

export interface WaveAcc {
  notes: string[];
  update: LifecycleUpdate;
  actions: Action[];
}

export const DEFAULT_BLUEPRINT_SKIP_THRESHOLD = 2;

function setStatus(acc: WaveAcc, number: number, status: string): void {
  const list = acc.update.subtaskStatus ?? [];
  const i = list.findIndex((s) => s.number === number);
  if (i >= 0) list[i] = { number, status };
  else list.push({ number, status });
  acc.update.subtaskStatus = list;
}

/** Subtasks as they will be after the updates accumulated so far. */
export function currentSubtasks(base: SubtaskSnapshot[], acc: WaveAcc): SubtaskSnapshot[] {
  const list = acc.update.replaceSubtasks ? acc.update.replaceSubtasks.map((s) => ({ ...s, status: "pending" })) : base.map((s) => ({ ...s }));
  for (const u of acc.update.subtaskStatus ?? []) {
    const s = list.find((x) => x.number === u.number);
    if (s) s.status = u.status;
  }
  return list;
}

const isDone = (s: SubtaskSnapshot): boolean => s.status === "complete" || s.status === "done" || s.status === "closed";

export function waveNumbers(subtasks: SubtaskSnapshot[]): number[] {
  return [...new Set(subtasks.map((s) => s.wave))].filter((w) => w > 0).sort((a, b) => a - b);
}

function exec(phase: ExecutionState["phase"], agent: string, wave: number): ExecutionState {
  return { phase, agent, wave };
}

/** implement_start / reimplement: one coder for small plans, else the architect pass. */
export function startImplementation(acc: WaveAcc, plan: ParsedPlan, cfg: ProcessorConfig): void {
  const tasks = plan.waves.reduce((n, w) => n + w.tasks.length, 0);
  const threshold = cfg.blueprintSkipThreshold ?? DEFAULT_BLUEPRINT_SKIP_THRESHOLD;
  acc.update.replaceSubtasks = plan.waves.flatMap((w) => w.tasks.map((t) => ({ number: t.number, title: t.title, wave: w.number })));
  if (tasks <= threshold) {
    acc.notes.push(`${tasks} task(s) ≤ blueprint_skip_threshold ${threshold}: single coder`);
    acc.update.execution = exec("single_agent_implementing", "coder", 0);
    acc.actions.push({ kind: "spawn_coder", mode: "single", tasks });
  } else {
    acc.update.execution = exec("architecting", "architect", 0);
    acc.actions.push({ kind: "spawn_architect", tasks });
  }
}

/** Start (or top up, within max_parallel_wave_tasks) the tasks of `wave`. */
export function startWave(acc: WaveAcc, base: SubtaskSnapshot[], wave: number, cfg: ProcessorConfig): void {
  const all = currentSubtasks(base, acc);
  const inWave = all.filter((s) => s.wave === wave);
  const limit = cfg.maxParallelWaveTasks && cfg.maxParallelWaveTasks > 0 ? cfg.maxParallelWaveTasks : Number.POSITIVE_INFINITY;
  let running = inWave.filter((s) => s.status === "running").length;
  for (const s of inWave) {
    if (running >= limit) break;
    if (s.status !== "pending") continue;
    setStatus(acc, s.number, "running");
    running++;
    acc.actions.push({ kind: "spawn_coder", mode: "wave", wave, taskNumber: s.number, title: s.title, peers: inWave.length });
  }
  acc.update.execution = exec("wave_running", "coder", wave);
}

/**
 * A wave task finished (complete) or its coder died without finishing (failed): top up the wave,
 * or close it — next wave, a decision, or the end of implementation. Returns "review" when the
 * caller must apply implement_finished (all waves complete).
 */
export function settleWaveTask(
  acc: WaveAcc,
  base: SubtaskSnapshot[],
  wave: number,
  taskNumber: number,
  outcome: "complete" | "failed",
  cfg: ProcessorConfig,
): "running" | "waiting" | "review" {
  setStatus(acc, taskNumber, outcome);
  startWave(acc, base, wave, cfg); // top up the freed slot, if tasks are pending
  const all = currentSubtasks(base, acc);
  const inWave = all.filter((s) => s.wave === wave);
  if (inWave.some((s) => s.status === "running" || s.status === "pending")) return "running";
  acc.actions.push({ kind: "kill_wave_agents", wave });
  const failed = inWave.filter((s) => s.status === "failed").length;
  if (failed > 0) {
    acc.notes.push(`wave ${wave} needs a decision (${failed} of ${inWave.length} tasks failed)`);
    acc.update.execution = exec("wave_waiting", "coder", wave);
    acc.actions.push({ kind: "wave_failed", wave, failed, total: inWave.length });
    return "waiting";
  }
  const later = waveNumbers(all).filter((w) => w > wave);
  if (later.length === 0) {
    acc.actions.push({ kind: "wave_completed", wave, next: "review" });
    return "review";
  }
  if (cfg.autoAdvanceWaves === false) {
    acc.actions.push({ kind: "wave_completed", wave, next: "wait" });
    acc.update.execution = exec("wave_waiting", "coder", wave);
    return "waiting";
  }
  acc.actions.push({ kind: "wave_completed", wave, next: "next_wave" });
  startWave(acc, base, later[0]!, cfg);
  return "running";
}

/** Operator/agent request to run wave `n`: earlier waves count as complete. */
export function jumpToWave(acc: WaveAcc, base: SubtaskSnapshot[], n: number, cfg: ProcessorConfig): { ok: true } | { ok: false; reason: string } {
  const waves = waveNumbers(currentSubtasks(base, acc));
  if (!waves.includes(n)) return { ok: false, reason: `plan has no wave ${n} (waves: ${waves.join(", ") || "none"})` };
  for (const s of currentSubtasks(base, acc)) {
    if (s.wave < n && !isDone(s)) setStatus(acc, s.number, "complete");
    if (s.wave === n && s.status === "failed") setStatus(acc, s.number, "pending");
  }
  startWave(acc, base, n, cfg);
  return { ok: true };
}
