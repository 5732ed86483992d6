// Wave orchestration signals (architect done, a wave task done, run / retry / advance a wave): one
// handler per signal. Their state lives in subtasks + execution state, so restarts lose nothing.
import { mapLegacyStatus } from "./fsm.ts";
import { parsePlan } from "./plan-parser.ts";
import { currentSubtasks, jumpToWave, settleWaveTask, startWave, waveNumbers } from "./waves.ts";
import { startReviewer } from "./reactions.ts";
import { planNotReady } from "./guards.ts";
import { done, failed, newAcc, step } from "./outcome.ts";
import { NOOP_REASONS, type Acc, type ProcessInput, type ProcessorConfig, type ProcessResult, type SubtaskSnapshot, type TaskSnapshot } from "./model.ts";
import type { ExecutionState } from "./types.ts";

export type WaveSignal = "elaborator_finished" | "implement_task_finished" | "implement_wave" | "advance_wave" | "retry_wave";

/** All waves done: implementing → reviewing and the reviewer starts. */
export function finishImplementation(acc: Acc, task: TaskSnapshot, now: string): ProcessResult {
  const r = step(acc, "implementing", "implement_finished", now);
  if (!r.ok) return failed(r.reason);
  startReviewer(acc, task);
  return done(acc);
}

interface WaveContext {
  task: TaskSnapshot;
  input: ProcessInput;
  cfg: ProcessorConfig;
  acc: Acc;
  subtasks: SubtaskSnapshot[];
  exec: ExecutionState;
}

const WAVE_SIGNAL_HANDLERS: Readonly<Record<WaveSignal, (w: WaveContext) => ProcessResult>> = {
  elaborator_finished: ({ task, cfg, acc, exec }) => {
    if (exec.phase !== "architecting") return failed(`${NOOP_REASONS.elaboratorFinished} (phase is ${exec.phase || "none"})`);
    // The architect may have rewritten the plan: parse what is stored now.
    const plan = parsePlan(task.content);
    if (!plan.ok) return failed(planNotReady(plan.error));
    acc.update.replaceSubtasks = plan.plan.waves.flatMap((w) => w.tasks.map((t) => ({ number: t.number, title: t.title, wave: w.number })));
    const first = waveNumbers(currentSubtasks([], acc))[0];
    if (first === undefined) return failed("plan has no tasks");
    startWave(acc, [], first, cfg);
    return done(acc);
  },
  implement_task_finished: ({ task, input, cfg, acc, subtasks, exec }) => {
    const w = input.payload.waveNumber ?? 0;
    const t = input.payload.taskNumber ?? 0;
    if (exec.phase !== "wave_running" || exec.wave !== w) return failed(`${NOOP_REASONS.implementTaskFinished} (active: ${exec.phase || "none"} wave ${exec.wave})`);
    const sub = subtasks.find((s) => s.number === t && s.wave === w);
    if (!sub || sub.status !== "running") return failed(`${NOOP_REASONS.implementTaskFinished} (task ${t} of wave ${w} is ${sub ? sub.status : "unknown"})`);
    const next = settleWaveTask(acc, subtasks, w, t, "complete", cfg);
    acc.notes.unshift(`wave ${w} task ${t} complete`);
    return next === "review" ? finishImplementation(acc, task, input.now) : done(acc);
  },
  implement_wave: ({ input, cfg, acc, subtasks, exec }) => {
    const n = input.payload.waveNumber ?? 0;
    if (exec.phase === "wave_running" && exec.wave === n) return failed(`${NOOP_REASONS.implementWave} (wave ${n} is already running)`);
    if (exec.phase === "architecting") return failed(`${NOOP_REASONS.implementWave} (the architect is still working)`);
    const r = jumpToWave(acc, subtasks, n, cfg);
    if (!r.ok) return failed(`${NOOP_REASONS.implementWave}: ${r.reason}`);
    return done(acc);
  },
  retry_wave: ({ cfg, acc, subtasks, exec }) => {
    if (exec.wave < 1) return failed(`${NOOP_REASONS.rejected}: no active wave to retry`);
    const retry = subtasks.filter((s) => s.wave === exec.wave && s.status === "failed");
    if (retry.length === 0) return failed(`${NOOP_REASONS.rejected}: wave ${exec.wave} has no failed tasks`);
    acc.update.subtaskStatus = retry.map((s) => ({ number: s.number, status: "pending" }));
    startWave(acc, subtasks, exec.wave, cfg);
    return done(acc);
  },
  advance_wave: ({ task, input, cfg, acc, subtasks, exec }) => {
    if (exec.phase !== "wave_waiting") return failed(`${NOOP_REASONS.rejected}: no wave is waiting (phase ${exec.phase || "none"})`);
    const current = subtasks.filter((s) => s.wave === exec.wave);
    const failedCount = current.filter((s) => s.status === "failed").length;
    if (failedCount > 0) return failed(`${NOOP_REASONS.rejected}: wave ${exec.wave} has ${failedCount} failed task(s); retry_wave or implement_wave`);
    const later = waveNumbers(subtasks).filter((w) => w > exec.wave);
    if (later.length === 0) return finishImplementation(acc, task, input.now);
    startWave(acc, subtasks, later[0]!, cfg);
    return done(acc);
  },
};

/** Wave orchestration signals act on an implementing task only. */
export function processWaveSignal(task: TaskSnapshot, input: ProcessInput & { type: WaveSignal }, cfg: ProcessorConfig): ProcessResult {
  if (mapLegacyStatus(task.status) !== "implementing") {
    const reason = input.type === "elaborator_finished" ? NOOP_REASONS.elaboratorFinished : input.type === "implement_task_finished" ? NOOP_REASONS.implementTaskFinished : NOOP_REASONS.implementWave;
    return failed(`${reason} (task is ${task.status}, not implementing)`);
  }
  return WAVE_SIGNAL_HANDLERS[input.type]({ task, input, cfg, acc: newAcc(), subtasks: task.subtasks ?? [], exec: task.execution });
}
