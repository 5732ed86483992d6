// Wave orchestration through the pure processor: architect → waves (parallel, capped) → review,
// failures waiting for a decision, retries and jumps. State is only subtasks + execution state.
import { describe, expect, test } from "bun:test";
import { failWaveTask, processSignal, applyUserEvent } from "../../src/lifecycle/processor.ts";
import type { ProcessorConfig, ProcessResult, TaskSnapshot } from "../../src/lifecycle/model.ts";
import { emptyPayload } from "../../src/lifecycle/signal-types.ts";
import type { SignalType } from "../../src/lifecycle/types.ts";

const NOW = "2026-03-01T12:00:00.000Z";
const PLAN = `# Plan
**Goal:** g
## Wave 1: base
### Task 1: a
do a
### Task 2: b
do b
## Wave 2: top
### Task 3: c
do c
`;
const CFG: ProcessorConfig = { autoAdvance: false, autoReviewFix: true, autoReadinessReview: true, maxReviewFixCycles: 0, readinessMaxVerifyCycles: 2 };

function task(over: Partial<TaskSnapshot> = {}): TaskSnapshot {
  return { name: "feat", status: "ready", execution: { phase: "planned", agent: "", wave: 0 }, reviewCycle: 0, verifyCycle: 0, content: PLAN, branch: "plan/feat", latestFeedback: "", subtasks: [], ...over };
}

/** Apply a result the way the store does. */
function persist(t: TaskSnapshot, r: ProcessResult): TaskSnapshot {
  const u = r.update;
  let subtasks = (t.subtasks ?? []).map((s) => ({ ...s }));
  if (u.replaceSubtasks) subtasks = u.replaceSubtasks.map((s) => ({ ...s, status: "pending" }));
  for (const st of u.subtaskStatus ?? []) {
    const s = subtasks.find((x) => x.number === st.number);
    if (s) s.status = st.status;
  }
  return { ...t, status: u.status ?? t.status, execution: u.execution ?? t.execution, reviewCycle: u.reviewCycle ?? t.reviewCycle, subtasks };
}

function sig(t: TaskSnapshot, type: SignalType, cfg = CFG, p: { waveNumber?: number; taskNumber?: number } = {}): ProcessResult {
  return processSignal({ task: t, taskName: t.name, type, payload: { ...emptyPayload(), ...p }, source: "agent", head: null, now: NOW }, cfg);
}

const statuses = (t: TaskSnapshot) => (t.subtasks ?? []).map((s) => `${s.number}:${s.status}`).join(" ");

describe("waves", () => {
  test("3 tasks > threshold 2: architect, wave 1 (two coders in parallel), wave 2, then review", () => {
    let t = task();
    const start = applyUserEvent(t, "implement_start", CFG, null, NOW);
    expect(start.actions).toEqual([{ kind: "spawn_architect", tasks: 3 }]);
    expect(start.update.execution).toEqual({ phase: "architecting", agent: "architect", wave: 0 });
    t = persist(t, start);
    expect(statuses(t)).toBe("1:pending 2:pending 3:pending");

    expect(sig(t, "implement_task_finished", CFG, { waveNumber: 1, taskNumber: 1 }).outcome).toBe("failed"); // no wave running yet

    const arch = sig(t, "elaborator_finished");
    expect(arch.outcome).toBe("done");
    expect(arch.actions.map((a) => (a.kind === "spawn_coder" && a.mode === "wave" ? `coder w${a.wave} t${a.taskNumber} of ${a.peers}` : a.kind))).toEqual(["coder w1 t1 of 2", "coder w1 t2 of 2"]);
    expect(arch.update.execution).toEqual({ phase: "wave_running", agent: "coder", wave: 1 });
    t = persist(t, arch);
    expect(statuses(t)).toBe("1:running 2:running 3:pending");
    expect(sig(t, "elaborator_finished").outcome).toBe("failed"); // only once

    // implement_finished from a coder is suppressed while waves run
    expect(sig(t, "implement_finished").result).toBe("suppressed implement-finished signal");

    const t1 = sig(t, "implement_task_finished", CFG, { waveNumber: 1, taskNumber: 1 });
    expect(t1.actions).toEqual([]);
    t = persist(t, t1);
    expect(sig(t, "implement_task_finished", CFG, { waveNumber: 1, taskNumber: 1 }).outcome).toBe("failed"); // already finished
    expect(sig(t, "implement_task_finished", CFG, { waveNumber: 2, taskNumber: 3 }).outcome).toBe("failed"); // wrong wave

    const t2 = sig(t, "implement_task_finished", CFG, { waveNumber: 1, taskNumber: 2 });
    expect(t2.actions.map((a) => a.kind)).toEqual(["kill_wave_agents", "wave_completed", "spawn_coder"]);
    expect(t2.update.execution).toEqual({ phase: "wave_running", agent: "coder", wave: 2 });
    t = persist(t, t2);
    expect(statuses(t)).toBe("1:complete 2:complete 3:running");

    const t3 = sig(t, "implement_task_finished", CFG, { waveNumber: 2, taskNumber: 3 });
    expect(t3.transitions).toEqual([{ from: "implementing", to: "reviewing", event: "implement_finished" }]);
    expect(t3.actions.map((a) => a.kind)).toEqual(["kill_wave_agents", "wave_completed", "spawn_reviewer"]);
    expect(t3.update.execution).toEqual({ phase: "reviewing", agent: "reviewer", wave: 0 });
  });

  test("max_parallel_wave_tasks = 1 starts tasks one at a time", () => {
    const cfg = { ...CFG, maxParallelWaveTasks: 1 };
    let t = persist(task(), applyUserEvent(task(), "implement_start", cfg, null, NOW));
    const arch = sig(t, "elaborator_finished", cfg);
    expect(arch.actions.filter((a) => a.kind === "spawn_coder")).toHaveLength(1);
    t = persist(t, arch);
    expect(statuses(t)).toBe("1:running 2:pending 3:pending");
    const next = sig(t, "implement_task_finished", cfg, { waveNumber: 1, taskNumber: 1 });
    expect(next.actions).toEqual([{ kind: "spawn_coder", mode: "wave", wave: 1, taskNumber: 2, title: "b", peers: 2 }]);
  });

  test("auto_advance_waves = false waits after a wave; advance_wave continues", () => {
    const cfg = { ...CFG, autoAdvanceWaves: false };
    let t = persist(task(), applyUserEvent(task(), "implement_start", cfg, null, NOW));
    t = persist(t, sig(t, "elaborator_finished", cfg));
    t = persist(t, sig(t, "implement_task_finished", cfg, { waveNumber: 1, taskNumber: 1 }));
    const w = sig(t, "implement_task_finished", cfg, { waveNumber: 1, taskNumber: 2 });
    expect(w.actions).toContainEqual({ kind: "wave_completed", wave: 1, next: "wait" });
    t = persist(t, w);
    expect(t.execution).toEqual({ phase: "wave_waiting", agent: "coder", wave: 1 });
    const adv = sig(t, "advance_wave", cfg);
    expect(adv.outcome).toBe("done");
    expect(adv.update.execution).toEqual({ phase: "wave_running", agent: "coder", wave: 2 });
  });

  test("a coder that dies fails its task; the wave waits for a decision; retry_wave reruns it", () => {
    let t = persist(task(), applyUserEvent(task(), "implement_start", CFG, null, NOW));
    t = persist(t, sig(t, "elaborator_finished"));
    const dead = failWaveTask(t, 1, 1, "session exited without signal", CFG, NOW);
    expect(dead.outcome).toBe("done");
    expect(dead.actions).toEqual([]); // task 2 still running
    t = persist(t, dead);
    const t2 = sig(t, "implement_task_finished", CFG, { waveNumber: 1, taskNumber: 2 });
    expect(t2.actions).toContainEqual({ kind: "wave_failed", wave: 1, failed: 1, total: 2 });
    t = persist(t, t2);
    expect(t.execution.phase).toBe("wave_waiting");
    expect(sig(t, "advance_wave").outcome).toBe("failed"); // failed task blocks advancing
    const retry = sig(t, "retry_wave");
    expect(retry.actions).toEqual([{ kind: "spawn_coder", mode: "wave", wave: 1, taskNumber: 1, title: "a", peers: 2 }]);
    t = persist(t, retry);
    expect(statuses(t)).toBe("1:running 2:complete 3:pending");
  });

  test("implement_wave jumps to a wave (earlier ones count as done); unknown wave refused", () => {
    let t = persist(task(), applyUserEvent(task(), "implement_start", CFG, null, NOW));
    t = persist(t, sig(t, "elaborator_finished"));
    expect(sig(t, "implement_wave", CFG, { waveNumber: 1 }).outcome).toBe("failed"); // already running
    expect(sig(t, "implement_wave", CFG, { waveNumber: 7 }).result).toContain("no wave 7");
    const j = sig(t, "implement_wave", CFG, { waveNumber: 2 });
    expect(j.outcome).toBe("done");
    t = persist(t, j);
    expect(statuses(t)).toBe("1:complete 2:complete 3:running");
  });

  test("small plans skip the architect: one coder in single-agent phase", () => {
    const small = "## Wave 1: a\n### Task 1: only\nx\n";
    const r = applyUserEvent(task({ content: small }), "implement_start", CFG, null, NOW);
    expect(r.actions).toEqual([{ kind: "spawn_coder", mode: "single", tasks: 1 }]);
    expect(r.update.execution?.phase).toBe("single_agent_implementing");
    const big = applyUserEvent(task(), "implement_start", { ...CFG, blueprintSkipThreshold: 5 }, null, NOW);
    expect(big.actions[0]).toEqual({ kind: "spawn_coder", mode: "single", tasks: 3 });
  });
});

describe("master self-fix ceiling", () => {
  test("an approval whose self-fix exceeds readiness_self_fix_max_lines counts as verify_failed", () => {
    const t = task({ status: "verifying", execution: { phase: "", agent: "master", wave: 0 } });
    const head = { sha: "a".repeat(40), baseSha: "b".repeat(40) };
    const cfg = { ...CFG, readinessSelfFixMaxLines: 80 };
    const p = { ...emptyPayload(), reviewedSha: "a".repeat(40), body: "fixed it myself" };
    const over = processSignal({ task: t, taskName: "feat", type: "verify_approved", payload: p, source: "agent", head, now: NOW, masterSelfFixLines: 81 }, cfg);
    expect(over.transitions).toEqual([{ from: "verifying", to: "implementing", event: "verify_failed" }]);
    expect(over.update.latestFeedback).toContain("master self-fix changed 81 lines, over readiness_self_fix_max_lines 80");
    const within = processSignal({ task: t, taskName: "feat", type: "verify_approved", payload: p, source: "agent", head, now: NOW, masterSelfFixLines: 80 }, cfg);
    expect(within.update.status).toBe("done");
    const unknown = processSignal({ task: t, taskName: "feat", type: "verify_approved", payload: p, source: "agent", head, now: NOW, masterSelfFixLines: null }, cfg);
    expect(unknown.update.status).toBe("done");
  });
});
