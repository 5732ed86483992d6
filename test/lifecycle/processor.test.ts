import { describe, expect, test } from "bun:test";
import { applyUserEvent, processEvent, processSignal, verificationStale, holdTask, releaseRaisedHold } from "../../src/lifecycle/processor.ts";
import { NOOP_REASONS, type BranchHead, type ProcessorConfig, type ProcessResult, type TaskSnapshot } from "../../src/lifecycle/model.ts";
import { emptyPayload, type DecodedPayload } from "../../src/lifecycle/signal-types.ts";
import type { SignalType, TaskStatus } from "../../src/lifecycle/types.ts";

const NOW = "2026-03-01T12:00:00.000Z";
const HEAD_SHA = "aaaaaaa1111111111111111111111111111111111".slice(0, 40);
const BASE_SHA = "bbbbbbb2222222222222222222222222222222222".slice(0, 40);
const OLD_SHA = "ccccccc3333333333333333333333333333333333".slice(0, 40);
const HEAD: BranchHead = { sha: HEAD_SHA, baseSha: BASE_SHA };

const PLAN = "# P\n**Goal:** g\n\n## Wave 1: a\n### Task 1: one\ndo one\n### Task 2: two\ndo two\n";

const DEFAULTS: ProcessorConfig = {
  autoAdvance: false,
  autoReviewFix: true,
  autoReadinessReview: true,
  maxReviewFixCycles: 0,
  readinessMaxVerifyCycles: 2,
};

function cfg(over: Partial<ProcessorConfig> = {}): ProcessorConfig {
  return { ...DEFAULTS, ...over };
}

function task(over: Partial<TaskSnapshot> = {}): TaskSnapshot {
  return {
    name: "feat",
    status: "ready",
    execution: { phase: "", agent: "", wave: 0 },
    reviewCycle: 0,
    verifyCycle: 0,
    content: PLAN,
    branch: "plan/feat",
    latestFeedback: "",
    ...over,
  };
}

function payload(over: Partial<DecodedPayload> = {}): DecodedPayload {
  return { ...emptyPayload(), ...over };
}

function signal(
  t: TaskSnapshot | null,
  type: SignalType,
  c: ProcessorConfig = DEFAULTS,
  p: Partial<DecodedPayload> = {},
  head: BranchHead | null = HEAD,
): ProcessResult {
  return processSignal({ task: t, taskName: "feat", type, payload: payload(p), source: "agent", head, now: NOW }, c);
}

/** What the caller would persist: fold an update into the snapshot. */
function persist(t: TaskSnapshot, r: ProcessResult): TaskSnapshot {
  const u = r.update;
  return {
    ...t,
    status: u.status ?? t.status,
    execution: u.execution ?? t.execution,
    reviewCycle: u.reviewCycle ?? t.reviewCycle,
    verifyCycle: u.verifyCycle ?? t.verifyCycle,
    latestFeedback: u.latestFeedback ?? t.latestFeedback,
  };
}

const kinds = (r: ProcessResult) => r.actions.map((a) => a.kind);

describe("happy path with auto_readiness_review off", () => {
  test("ready → planning → ready(planned) → implementing → reviewing → done, PR requested", () => {
    const c = cfg({ autoReadinessReview: false });
    let t = task({ content: "" });

    const start = applyUserEvent(t, "plan_start", c, HEAD, NOW);
    expect(start.outcome).toBe("done");
    expect(start.transitions).toEqual([{ from: "ready", to: "planning", event: "plan_start" }]);
    expect(start.update).toMatchObject({ status: "planning", timestampColumn: "planning_at", execution: { phase: "", agent: "", wave: 0 } });
    expect(kinds(start)).toEqual(["spawn_planner"]);
    t = { ...persist(t, start), content: PLAN }; // the planner writes the plan

    const planned = signal(t, "planner_finished", c);
    expect(planned.outcome).toBe("done");
    expect(planned.update).toEqual({ status: "ready", execution: { phase: "planned", agent: "", wave: 0 } });
    expect(kinds(planned)).toEqual(["planner_complete"]); // auto_advance off: no auto_implement
    t = persist(t, planned);

    const impl = signal(t, "implement_start", c);
    expect(impl.transitions).toEqual([{ from: "ready", to: "implementing", event: "implement_start" }]);
    expect(impl.actions).toEqual([{ kind: "spawn_coder", mode: "single", tasks: 2 }]); // 2 tasks ≤ blueprint_skip_threshold
    expect(impl.update.execution).toEqual({ phase: "single_agent_implementing", agent: "coder", wave: 0 });
    expect(impl.update.timestampColumn).toBe("implementing_at");
    t = persist(t, impl);

    const finished = signal(t, "implement_finished", c);
    expect(finished.update.status).toBe("reviewing");
    expect(finished.actions).toEqual([{ kind: "spawn_reviewer", round: 1, feedback: "" }]);
    expect(finished.update.execution).toEqual({ phase: "reviewing", agent: "reviewer", wave: 0 });
    t = persist(t, finished);

    const approved = signal(t, "review_approved", c, { body: " Approved. Clean. " });
    expect(approved.outcome).toBe("done");
    expect(approved.transitions).toEqual([
      { from: "reviewing", to: "verifying", event: "review_approved" },
      { from: "verifying", to: "done", event: "verify_approved", origin: "auto" },
    ]);
    expect(approved.update.status).toBe("done");
    expect(approved.update.timestampColumn).toBe("done_at");
    expect(approved.update.timestamps).toEqual({ verifying_at: NOW, done_at: NOW });
    expect(approved.update.verification).toEqual({ sha: HEAD_SHA, baseSha: BASE_SHA, by: "reviewer", at: NOW, origin: "auto" });
    expect(approved.actions).toEqual([
      { kind: "review_approved", body: "Approved. Clean." },
      { kind: "verify_approved", body: "Approved. Clean.", origin: "auto" },
      { kind: "create_pr", body: "Approved. Clean." },
    ]);
    expect(approved.result).toContain("reviewing → verifying (review_approved)");
    expect(approved.result).toContain("verifying → done (verify_approved, origin auto)");
  });

  test("auto approval with unknown HEAD is recorded unbound (verification cleared)", () => {
    const r = signal(task({ status: "reviewing" }), "review_approved", cfg({ autoReadinessReview: false }), {}, null);
    expect(r.outcome).toBe("done");
    expect(r.update.status).toBe("done");
    expect(r.update.verification).toBeNull();
    expect(r.result).toContain("verification unbound");
    expect(kinds(r)).toContain("create_pr");
  });

  test("auto_advance adds auto_implement after planner_finished", () => {
    const r = signal(task({ status: "planning" }), "planner_finished", cfg({ autoAdvance: true }));
    expect(kinds(r)).toEqual(["planner_complete", "auto_implement"]);
  });
});

describe("readiness review on: master approvals bind to HEAD", () => {
  const verifying = task({ status: "verifying", execution: { phase: "", agent: "master", wave: 0 }, reviewCycle: 1, verifyCycle: 1 });

  test("review_approved → verifying and spawns the master", () => {
    const r = signal(task({ status: "reviewing" }), "review_approved", DEFAULTS, { body: "ok" });
    expect(r.transitions).toEqual([{ from: "reviewing", to: "verifying", event: "review_approved" }]);
    expect(r.update).toMatchObject({ status: "verifying", timestampColumn: "verifying_at" });
    expect(r.actions).toEqual([
      { kind: "review_approved", body: "ok" },
      { kind: "spawn_master", round: 1 },
    ]);
  });

  test("matching reviewed_sha → done, verification recorded, PR", () => {
    const r = signal(verifying, "verify_approved", DEFAULTS, { body: "ready", reviewedSha: HEAD_SHA, origin: "master" });
    expect(r.outcome).toBe("done");
    expect(r.transitions).toEqual([{ from: "verifying", to: "done", event: "verify_approved", origin: "master" }]);
    expect(r.update.verification).toEqual({ sha: HEAD_SHA, baseSha: BASE_SHA, by: "master", at: NOW, origin: "master" });
    expect(r.actions).toEqual([
      { kind: "verify_approved", body: "ready", origin: "master" },
      { kind: "create_pr", body: "ready" },
    ]);
  });

  const rejections: [string, Partial<DecodedPayload>, BranchHead | null, string][] = [
    ["no head resolver", { reviewedSha: HEAD_SHA }, null, "unbound_verification: head resolver unavailable"],
    ["HEAD unresolvable", { reviewedSha: HEAD_SHA }, { sha: "", baseSha: "" }, "head_unresolvable: branch HEAD could not be resolved"],
    ["no reviewed_sha", {}, HEAD, "unbound_master_approval: master approved without reviewed_sha"],
    ["stale reviewed_sha", { reviewedSha: OLD_SHA }, HEAD, "stale_master_approval: master reviewed ccccccc but head is aaaaaaa"],
    ["claimed operator origin is downgraded", { origin: "operator" }, HEAD, "unbound_master_approval: master approved without reviewed_sha"],
    ["claimed force_promoted origin is downgraded", { origin: "force_promoted" }, HEAD, "unbound_master_approval: master approved without reviewed_sha"],
  ];
  for (const [name, p, head, reason] of rejections) {
    test(`rejected: ${name}`, () => {
      const r = signal(verifying, "verify_approved", DEFAULTS, p, head);
      expect(r.outcome).toBe("failed");
      expect(r.result).toBe(reason);
      expect(r.transitions).toEqual([]);
      expect(r.update).toEqual({});
      expect(r.actions).toEqual([
        { kind: "pause_agent", agent: "master" },
        { kind: "spawn_master", round: 2 },
      ]);
    });
  }

  test("verify_* outside verifying is rejected without actions", () => {
    for (const type of ["verify_approved", "verify_failed"] as const) {
      const r = signal(task({ status: "reviewing" }), type, DEFAULTS, { reviewedSha: HEAD_SHA });
      expect(r).toEqual({ outcome: "failed", result: NOOP_REASONS.outsideVerifying, transitions: [], update: {}, actions: [] });
    }
  });

  test("operator approval binds as operator to HEAD, or unbound when HEAD is unknown", () => {
    const bound = applyUserEvent(verifying, "verify_approved", DEFAULTS, HEAD, NOW);
    expect(bound.outcome).toBe("done");
    expect(bound.transitions).toEqual([{ from: "verifying", to: "done", event: "verify_approved", origin: "operator" }]);
    expect(bound.update.verification).toEqual({ sha: HEAD_SHA, baseSha: BASE_SHA, by: "operator", at: NOW, origin: "operator" });
    const unbound = applyUserEvent(verifying, "verify_approved", DEFAULTS, null, NOW);
    expect(unbound.outcome).toBe("done");
    expect(unbound.update.verification).toBeNull();
    expect(kinds(unbound)).toEqual(["verify_approved", "create_pr"]);
  });
});

describe("review changes and the review-fix cap", () => {
  test("feedback stored trimmed; fixer spawned with cycle + 1", () => {
    const r = signal(task({ status: "reviewing", reviewCycle: 1 }), "review_changes_requested", DEFAULTS, { body: "  fix the tests \n" });
    expect(r.outcome).toBe("done");
    expect(r.update).toMatchObject({ status: "implementing", latestFeedback: "fix the tests", reviewCycle: 2 });
    expect(r.actions).toEqual([
      { kind: "review_changes", feedback: "fix the tests" },
      { kind: "spawn_fixer", round: 2, feedback: "fix the tests" },
    ]);
  });

  test("at the cap: cycle-limit action, no increment, no fixer", () => {
    const r = signal(task({ status: "reviewing", reviewCycle: 2 }), "review_changes_requested", cfg({ maxReviewFixCycles: 2 }), { body: "again" });
    expect(r.outcome).toBe("done");
    expect(r.update.status).toBe("implementing");
    expect(r.update.latestFeedback).toBe("again");
    expect(r.update.reviewCycle).toBeUndefined();
    expect(r.actions).toEqual([
      { kind: "review_changes", feedback: "again" },
      { kind: "review_cycle_limit", cycle: 3, limit: 2 },
    ]);
    expect(r.result).toContain("review-fix cycle limit reached (3/2)");
  });

  test("below the cap the fixer still runs; 0 means unlimited", () => {
    const below = signal(task({ status: "reviewing", reviewCycle: 1 }), "review_changes_requested", cfg({ maxReviewFixCycles: 2 }));
    expect(kinds(below)).toEqual(["review_changes", "spawn_fixer"]);
    const unlimited = signal(task({ status: "reviewing", reviewCycle: 99 }), "review_changes_requested", cfg({ maxReviewFixCycles: 0 }));
    expect(unlimited.actions[1]).toEqual({ kind: "spawn_fixer", round: 100, feedback: "" });
  });

  test("auto_review_fix off: feedback stored, no fixer, no cycle change", () => {
    const r = signal(task({ status: "reviewing" }), "review_changes_requested", cfg({ autoReviewFix: false }), { body: "x" });
    expect(kinds(r)).toEqual(["review_changes"]);
    expect(r.update.reviewCycle).toBeUndefined();
    expect(r.update.latestFeedback).toBe("x");
  });

  test("reviewer round follows the review cycle and carries previous feedback", () => {
    const r = signal(task({ status: "implementing", reviewCycle: 2, latestFeedback: "old notes" }), "implement_finished");
    expect(r.actions).toEqual([{ kind: "spawn_reviewer", round: 3, feedback: "old notes" }]);
  });
});

describe("verify_failed and force-promotion (cap 2)", () => {
  test("two failures loop back; the third is force-promoted", () => {
    let t = task({ status: "verifying", execution: { phase: "", agent: "master", wave: 0 } });

    const first = signal(t, "verify_failed", DEFAULTS, { body: "missing docs" });
    expect(first.outcome).toBe("done");
    expect(first.transitions).toEqual([{ from: "verifying", to: "implementing", event: "verify_failed" }]);
    expect(first.update).toMatchObject({ status: "implementing", verifyCycle: 1, latestFeedback: "missing docs", reviewCycle: 1 });
    expect(first.actions).toEqual([
      { kind: "verify_failed", feedback: "missing docs" },
      { kind: "spawn_fixer", round: 1, feedback: "missing docs" },
    ]);
    t = { ...persist(t, first), status: "verifying" };

    const second = signal(t, "verify_failed", DEFAULTS, { body: "still missing" });
    expect(second.update).toMatchObject({ status: "implementing", verifyCycle: 2, reviewCycle: 2 });
    t = { ...persist(t, second), status: "verifying" };
    expect(t.verifyCycle).toBe(2);

    const third = signal(t, "verify_failed", DEFAULTS, { body: "nitpick" });
    expect(third.outcome).toBe("done");
    expect(third.transitions).toEqual([{ from: "verifying", to: "done", event: "verify_approved", origin: "force_promoted" }]);
    expect(third.update.status).toBe("done");
    expect(third.update.verifyCycle).toBeUndefined();
    expect(third.update.timestampColumn).toBe("done_at");
    expect(third.update.verification).toEqual({ sha: HEAD_SHA, baseSha: BASE_SHA, by: "daemon", at: NOW, origin: "force_promoted" });
    expect(third.actions).toEqual([
      { kind: "verify_approved", body: "nitpick", origin: "force_promoted" },
      { kind: "create_pr", body: "nitpick" },
    ]);
    expect(third.result).toContain("verify_failed force-promoted to verify_approved after 2 failed verify rounds (cap 2)");
    expect(third.result).toContain("origin force_promoted");
  });

  test("operator verify_failed is never promoted", () => {
    const r = applyUserEvent(task({ status: "verifying", verifyCycle: 5 }), "verify_failed", DEFAULTS, HEAD, NOW);
    expect(r.transitions).toEqual([{ from: "verifying", to: "implementing", event: "verify_failed" }]);
    expect(r.update.verifyCycle).toBe(6);
  });

  test("cap 0 never promotes", () => {
    const r = signal(task({ status: "verifying", verifyCycle: 10 }), "verify_failed", cfg({ readinessMaxVerifyCycles: 0 }));
    expect(r.update.status).toBe("implementing");
  });

  test("verify_failed fixer honours the review-fix cap", () => {
    const r = signal(task({ status: "verifying", reviewCycle: 3 }), "verify_failed", cfg({ maxReviewFixCycles: 3 }), { body: "x" });
    expect(r.actions).toEqual([
      { kind: "verify_failed", feedback: "x" },
      { kind: "review_cycle_limit", cycle: 4, limit: 3 },
    ]);
    expect(r.update.reviewCycle).toBeUndefined();
    expect(r.update.verifyCycle).toBe(1);
  });
});

describe("guards, suppression, pre-applied", () => {
  test("implement_finished during a wave is suppressed", () => {
    for (const phase of ["wave_running", "wave_waiting"] as const) {
      const r = signal(task({ status: "implementing", execution: { phase, agent: "coder", wave: 1 } }), "implement_finished");
      expect(r).toEqual({ outcome: "done", result: "suppressed implement-finished signal", transitions: [], update: {}, actions: [] });
    }
  });

  test("implement_start refused for an unplanned draft", () => {
    const r = signal(task({ content: "# just an idea\n" }), "implement_start");
    expect(r.outcome).toBe("failed");
    expect(r.result).toBe(
      "task is not yet planned: run plan_start first (no wave headers found in plan; add ## Wave N sections before implementing)",
    );
    expect(r.update).toEqual({});
  });

  test("implement_start needs a plan that parses (planned phase or not); a lost plan is refused", () => {
    const lost = signal(task({ content: "", execution: { phase: "planned", agent: "", wave: 0 } }), "implement_start");
    expect(lost.outcome).toBe("failed");
    const parses = signal(task({ content: PLAN }), "implement_start");
    expect(parses.update.status).toBe("implementing");
  });

  test("planner_finished needs content that parses", () => {
    const empty = signal(task({ status: "planning", content: "" }), "planner_finished");
    expect(empty).toMatchObject({ outcome: "failed", result: "plan is not implementation-ready: empty plan content", update: {}, actions: [] });
    const bad = signal(task({ status: "planning", content: "## Wave 1\n### Task 2\n" }), "planner_finished");
    expect(bad.result).toBe(
      'plan is not implementation-ready: line 2: malformed task heading "### Task 2": expected a separator (: — – -) and a title after the task number; expected "### Task <N>: <title>"',
    );
  });

  test("invalid transition → failed with the FSM reason, no update, no actions", () => {
    const r = signal(task({ status: "implementing" }), "review_approved");
    expect(r).toEqual({ outcome: "failed", result: 'invalid transition: "implementing" + "review_approved"', transitions: [], update: {}, actions: [] });
  });

  test("pre-applied signal whose task sits in the target status: reactions only", () => {
    const r = signal(task({ status: "reviewing", reviewCycle: 1 }), "implement_finished", DEFAULTS, { fsmApplied: true });
    expect(r.outcome).toBe("done");
    expect(r.transitions).toEqual([]);
    expect(r.update).toEqual({ execution: { phase: "reviewing", agent: "reviewer", wave: 0 } });
    expect(r.actions).toEqual([{ kind: "spawn_reviewer", round: 2, feedback: "" }]);
    expect(r.result).toContain("pre-applied implement_finished: task already reviewing");
  });

  test("pre-applied review_changes still stores feedback and spawns the fixer", () => {
    const r = signal(task({ status: "implementing" }), "review_changes_requested", DEFAULTS, { fsmApplied: true, body: "do x" });
    expect(r.transitions).toEqual([]);
    expect(r.update).toEqual({ latestFeedback: "do x", reviewCycle: 1, execution: { phase: "fixing", agent: "fixer", wave: 0 } });
    expect(kinds(r)).toEqual(["review_changes", "spawn_fixer"]);
  });

  test("pre-applied flag on a task not yet in the target status transitions normally", () => {
    const r = signal(task({ status: "implementing" }), "implement_finished", DEFAULTS, { fsmApplied: true });
    expect(r.transitions).toEqual([{ from: "implementing", to: "reviewing", event: "implement_finished" }]);
  });

  test("legacy stored status is mapped before the transition", () => {
    const r = signal(task({ status: "in_progress" }), "implement_finished");
    expect(r.transitions).toEqual([{ from: "implementing", to: "reviewing", event: "implement_finished" }]);
    const bogus = signal(task({ status: "paused" }), "implement_finished");
    expect(bogus).toMatchObject({ outcome: "failed", result: 'no transitions defined for status "paused"' });
  });
});

describe("sources and unknown tasks", () => {
  test("unknown task", () => {
    expect(signal(null, "planner_finished")).toEqual({ outcome: "failed", result: "unknown task: feat", transitions: [], update: {}, actions: [] });
    expect(applyUserEvent(null, "cancel", DEFAULTS, null, NOW, "ghost").result).toBe("unknown task: ghost");
  });

  test("user-only events from an agent are refused; from a user they apply", () => {
    const t = task({ status: "implementing" });
    const fromAgent = processEvent({ task: t, event: "cancel", payload: emptyPayload(), source: "agent", head: HEAD, now: NOW }, DEFAULTS);
    expect(fromAgent).toEqual({ outcome: "failed", result: '"cancel" is a user-only event; agents cannot send it', transitions: [], update: {}, actions: [] });
    const fromUser = applyUserEvent(t, "cancel", DEFAULTS, HEAD, NOW);
    expect(fromUser.transitions).toEqual([{ from: "implementing", to: "cancelled", event: "cancel" }]);
    expect(fromUser.update.timestampColumn).toBeUndefined();
    expect(kinds(fromUser)).toEqual(["stop_agents"]);
  });

  test("user re-entry events: reactions and resets", () => {
    const done = task({ status: "done", reviewCycle: 3, verifyCycle: 2, latestFeedback: "x" });
    const over = applyUserEvent(done, "start_over", DEFAULTS, HEAD, NOW);
    expect(over.update).toMatchObject({ status: "planning", reviewCycle: 0, verifyCycle: 0, latestFeedback: "", verification: null });
    expect(kinds(over)).toEqual(["spawn_planner"]);
    const again = applyUserEvent(done, "request_review", DEFAULTS, HEAD, NOW);
    expect(again.update.status).toBe("reviewing");
    expect(again.actions).toEqual([{ kind: "spawn_reviewer", round: 4, feedback: "x" }]);
    const reimpl = applyUserEvent(done, "reimplement", DEFAULTS, HEAD, NOW);
    expect(reimpl.update).toMatchObject({ status: "implementing", verification: null });
    expect(reimpl.update.reviewCycle).toBeUndefined();
    expect(kinds(reimpl)).toEqual(["spawn_coder"]);
    const markDone = applyUserEvent(task(), "mark_done", DEFAULTS, HEAD, NOW);
    expect(markDone.update).toMatchObject({ status: "done", timestampColumn: "done_at" });
    const reopened = applyUserEvent(task({ status: "cancelled" }), "reopen", DEFAULTS, HEAD, NOW);
    expect(reopened.transitions).toEqual([{ from: "cancelled", to: "planning", event: "reopen" }]);
  });

  test("user transitions still obey the FSM and guards", () => {
    expect(applyUserEvent(task({ status: "done" }), "reopen", DEFAULTS, HEAD, NOW).result).toBe('invalid transition: "done" + "reopen"');
    expect(applyUserEvent(task({ content: "" }), "implement_start", DEFAULTS, HEAD, NOW).result).toMatch(/^task is not yet planned: /);
  });

  test("verification_stale is the daemon's: refused from agents and operators; from the daemon done → verifying with a fresh master", () => {
    const done = task({ status: "done", verifyCycle: 1, execution: { phase: "", agent: "", wave: 0 } });
    const refusal = '"verification_stale" is raised by the daemon only (when a verified commit is no longer the branch head)';
    expect(processEvent({ task: done, event: "verification_stale", payload: emptyPayload(), source: "agent", head: HEAD, now: NOW }, DEFAULTS).result).toBe(refusal);
    expect(applyUserEvent(done, "verification_stale", DEFAULTS, HEAD, NOW)).toEqual({ outcome: "failed", result: refusal, transitions: [], update: {}, actions: [] });
    const r = verificationStale(done, "verified aaaaaaa, head bbbbbbb", DEFAULTS, NOW);
    expect(r.outcome).toBe("done");
    expect(r.result).toEndWith(": verified aaaaaaa, head bbbbbbb");
    expect(r.transitions).toEqual([{ from: "done", to: "verifying", event: "verification_stale" }]);
    expect(r.update).toMatchObject({ status: "verifying", verification: null, execution: { phase: "", agent: "master", wave: 0 }, timestampColumn: "verifying_at" });
    expect(r.actions).toEqual([{ kind: "spawn_master", round: 2 }]);
    // Only from done: anywhere else the FSM has no such edge.
    expect(verificationStale(task({ status: "verifying" }), "x", DEFAULTS, NOW).result).toBe('invalid transition: "verifying" + "verification_stale"');
  });

  test("plan_start on a ready task that already has a plan is refused, naming implement_start (the planner would replace it)", () => {
    const r = applyUserEvent(task(), "plan_start", DEFAULTS, HEAD, NOW);
    expect(r.outcome).not.toBe("done");
    expect(r.transitions).toEqual([]);
    expect(r.actions).toEqual([]);
    expect(r.result).toContain("task already has a plan (1 wave)");
    expect(r.result).toContain("kas task transition feat implement_start");
    // A draft (no waves yet) or no plan at all: the planner starts.
    expect(applyUserEvent(task({ content: "# notes\nwave plan to come\n" }), "plan_start", DEFAULTS, HEAD, NOW).actions.map((a) => a.kind)).toEqual(["spawn_planner"]);
    expect(applyUserEvent(task({ content: "" }), "plan_start", DEFAULTS, HEAD, NOW).outcome).toBe("done");
  });

  test("plan_start from planning restarts the planner", () => {
    const r = signal(task({ status: "planning" }), "plan_start");
    expect(r.transitions).toEqual([{ from: "planning", to: "planning", event: "plan_start" }]);
    expect(kinds(r)).toEqual(["spawn_planner"]);
  });
});

describe("signals wave orchestration refuses outside implementing", () => {
  const cases: [SignalType, string][] = [
    ["implement_task_finished", "no active orchestrator / wrong wave / already-finished task"],
    ["implement_wave", "processor could not start the requested wave"],
    ["elaborator_finished", "no active architect pass to resume"],
    ["advance_wave", "processor could not start the requested wave"],
    ["retry_wave", "processor could not start the requested wave"],
  ];
  for (const [type, reason] of cases) {
    test(`${type} on a reviewing task → failed "${reason} …"`, () => {
      const r = signal(task({ status: "reviewing" as TaskStatus }), type, DEFAULTS, { waveNumber: 1, taskNumber: 1 });
      expect(r.outcome).toBe("failed");
      expect(r.result.startsWith(reason)).toBe(true);
      expect(r.update).toEqual({});
    });
  }
  test("planner_draft_finished → failed (draft mode is out of scope)", () => {
    const r = signal(task({ status: "planning" as TaskStatus }), "planner_draft_finished", DEFAULTS, { plannerId: "a" });
    expect(r).toEqual({ outcome: "failed", result: "planner draft signal rejected outside draft mode", transitions: [], update: {}, actions: [] });
  });
});

describe("budget hold and resume (operator event)", () => {
  const wave = task({ status: "implementing", execution: { phase: "wave_running", agent: "coder", wave: 1 }, subtasks: [{ number: 1, wave: 1, title: "one", status: "running" }] });
  const held = (t: TaskSnapshot, r: ProcessResult): TaskSnapshot => ({ ...persist(t, r), hold: r.update.hold?.reason ?? t.hold ?? "" });

  test("a hold keeps status and execution state, stops agents, records why", () => {
    const r = holdTask(wave, "task spend $0.0061 reached its budget task_usd = $0.0060", cfg(), NOW);
    expect(r.outcome).toBe("done");
    expect(r.transitions).toEqual([]);
    expect(r.update.status).toBeUndefined();
    expect(r.update.execution).toBeUndefined();
    expect(r.update.timestamps).toBeUndefined();
    expect(r.update.hold).toEqual({ reason: "task spend $0.0061 reached its budget task_usd = $0.0060" });
    expect(kinds(r)).toEqual(["stop_agents"]);
    // Twice is refused: the first reason stands.
    expect(holdTask(held(wave, r), "again", cfg(), NOW).result).toContain("already on hold");
    expect(holdTask(wave, "  ", cfg(), NOW).outcome).toBe("failed");
  });

  test("an operator's resume lifts the hold with a fresh allowance from the spend so far; the task goes on where it was", () => {
    const h = held(wave, holdTask(wave, "task usage 900 tokens reached its budget task_tokens = 800 tokens", cfg(), NOW));
    const r = applyUserEvent(h, "resume", cfg(), null, NOW, "feat", { usd: 0.5, tokens: 900 });
    expect(r.outcome).toBe("done");
    expect(r.update.hold).toEqual({ reason: "", base: { usd: 0.5, tokens: 900, at: NOW, day: "" } });
    expect(r.update.status).toBeUndefined();
    expect(r.update.execution).toBeUndefined();
    expect(kinds(r)).toEqual(["resume_agents"]);
    // A day hold is lifted for the rest of that UTC day.
    const day = held(wave, holdTask(wave, "spend today (2026-03-01, all repos) $5.00 reached its budget day_usd = $5.00", cfg(), NOW));
    expect(applyUserEvent(day, "resume", cfg(), null, NOW, "feat", { usd: null, tokens: 10 }).update.hold?.base).toEqual({ usd: 0, tokens: 10, at: NOW, day: "2026-03-01" });
  });

  test("the daemon lifts a hold whose limit was raised without a new allowance", () => {
    const h = held(wave, holdTask(wave, "over", cfg(), NOW));
    const r = releaseRaisedHold(h, cfg(), NOW);
    expect(r.outcome).toBe("done");
    expect(r.update.hold).toEqual({ reason: "" });
  });

  test("refusals: resume of a task not on hold, agents resuming, operators holding, finished tasks", () => {
    expect(applyUserEvent(wave, "resume", cfg(), null, NOW).result).toBe("task is not on hold");
    const h = held(wave, holdTask(wave, "over", cfg(), NOW));
    const byAgent = processEvent({ task: h, event: "resume", payload: emptyPayload(), source: "agent", head: null, now: NOW }, cfg());
    expect(byAgent.outcome).toBe("failed");
    expect(byAgent.result).toContain("user-only");
    const byOperator = applyUserEvent(wave, "budget_hold", cfg(), null, NOW);
    expect(byOperator.outcome).toBe("failed");
    expect(byOperator.result).toContain("daemon only");
    for (const status of ["done", "cancelled"] as TaskStatus[]) {
      expect(holdTask(task({ status }), "over", cfg(), NOW).outcome).toBe("failed");
      expect(applyUserEvent(task({ status, hold: "over" }), "resume", cfg(), null, NOW).outcome).toBe("failed");
    }
  });

  test("cancelling a held task clears its hold", () => {
    const h = held(wave, holdTask(wave, "over", cfg(), NOW));
    const r = applyUserEvent(h, "cancel", cfg(), null, NOW);
    expect(r.outcome).toBe("done");
    expect(r.update.status).toBe("cancelled");
    expect(r.update.hold).toEqual({ reason: "" });
    expect(applyUserEvent(wave, "cancel", cfg(), null, NOW).update.hold).toBeUndefined();
  });
});
