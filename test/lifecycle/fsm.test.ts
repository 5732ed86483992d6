import { describe, expect, test } from "bun:test";
import {
  eventName,
  eventNames,
  eventTarget,
  executionAfterTransition,
  isSingleAgentPhase,
  isDaemonOnly,
  isUserOnly,
  isWavePhase,
  mapLegacyStatus,
  normalizeExecution,
  parseEventName,
  phaseTimestampColumn,
  transition,
  transitionRows,
  GUARDS,
  TRANSITIONS,
} from "../../src/lifecycle/fsm.ts";
import { FSM_EVENTS, TASK_STATUSES, type ExecutionState, type FsmEvent, type TaskStatus } from "../../src/lifecycle/types.ts";

// The transition table plus `ready + mark_done`, written out independently of fsm.ts as data.
// Every (status, event) pair not listed here must be rejected.
const EXPECTED: Record<string, string> = {
  "ready+plan_start": "planning",
  "ready+implement_start": "implementing",
  "ready+mark_done": "done",
  "ready+cancel": "cancelled",
  "planning+plan_start": "planning",
  "planning+planner_finished": "ready",
  "planning+cancel": "cancelled",
  "implementing+implement_finished": "reviewing",
  "implementing+cancel": "cancelled",
  "reviewing+review_approved": "verifying",
  "reviewing+review_changes_requested": "implementing",
  "reviewing+cancel": "cancelled",
  "verifying+verify_approved": "done",
  "verifying+verify_failed": "implementing",
  "verifying+cancel": "cancelled",
  "done+start_over": "planning",
  "done+reimplement": "implementing",
  "done+request_review": "reviewing",
  "done+cancel": "cancelled",
  "done+verification_stale": "verifying", // daemon-only
  "cancelled+reopen": "planning",
  // Hold events keep the status of a task that can still have agents; finished tasks refuse them.
  "ready+budget_hold": "ready",
  "planning+budget_hold": "planning",
  "implementing+budget_hold": "implementing",
  "reviewing+budget_hold": "reviewing",
  "verifying+budget_hold": "verifying",
  "ready+resume": "ready",
  "planning+resume": "planning",
  "implementing+resume": "implementing",
  "reviewing+resume": "reviewing",
  "verifying+resume": "verifying",
};
const HOLD = new Set(["budget_hold", "resume"]);

// The edges that carry a guard (checked by the processor before it takes the edge), written out
// independently of the table; every other edge has none.
const EXPECTED_GUARDS: Record<string, string> = {
  "ready+plan_start": "plan_not_given",
  "ready+implement_start": "planned",
  "planning+planner_finished": "plan_ready",
  "done+reimplement": "plan_ready",
  "ready+budget_hold": "holdable",
  "planning+budget_hold": "holdable",
  "implementing+budget_hold": "holdable",
  "reviewing+budget_hold": "holdable",
  "verifying+budget_hold": "holdable",
  "ready+resume": "held",
  "planning+resume": "held",
  "implementing+resume": "held",
  "reviewing+resume": "held",
  "verifying+resume": "held",
};

const ALL_STATUSES = ["ready", "planning", "implementing", "reviewing", "verifying", "done", "cancelled"] as const;
const ALL_EVENTS = [
  "plan_start",
  "planner_finished",
  "implement_start",
  "implement_finished",
  "review_approved",
  "review_changes_requested",
  "verify_approved",
  "verify_failed",
  "request_review",
  "start_over",
  "reimplement",
  "cancel",
  "reopen",
  "mark_done",
  "verification_stale",
  "budget_hold",
  "resume",
] as const;

describe("transition table", () => {
  test("the test's vocabulary matches the shared types", () => {
    expect([...TASK_STATUSES].sort()).toEqual([...ALL_STATUSES].sort());
    expect([...FSM_EVENTS].sort()).toEqual([...ALL_EVENTS].sort());
  });

  for (const status of ALL_STATUSES) {
    for (const event of ALL_EVENTS) {
      const want = EXPECTED[`${status}+${event}`];
      test(`${status} + ${event} → ${want ?? "rejected"}`, () => {
        const r = transition(status, event);
        if (want === undefined) {
          expect(r).toEqual({ ok: false, reason: `invalid transition: "${status}" + "${event}"` });
        } else {
          expect(r).toEqual({ ok: true, to: want as TaskStatus, guard: (EXPECTED_GUARDS[`${status}+${event}`] ?? null) as keyof typeof GUARDS | null });
        }
      });
    }
  }

  test("exactly 31 edges exist (21 status changes, 10 hold self-edges)", () => {
    let n = 0;
    for (const s of ALL_STATUSES) for (const e of ALL_EVENTS) if (transition(s, e).ok) n++;
    expect(n).toBe(31);
    expect(Object.keys(EXPECTED)).toHaveLength(31);
  });

  test("the exported table is exactly the expected edges and guards, nothing more", () => {
    const rows = transitionRows();
    const edges: Record<string, string> = Object.fromEntries(rows.map((r) => [`${r.from}+${r.event}`, r.to]));
    expect(edges).toEqual(EXPECTED);
    const guards: Record<string, string> = Object.fromEntries(rows.flatMap((r) => (r.guard === null ? [] : [[`${r.from}+${r.event}`, r.guard]])));
    expect(guards).toEqual(EXPECTED_GUARDS);
    expect(rows).toHaveLength(Object.keys(EXPECTED).length);
    // Every row comes from the record itself, and every guard named is a declared one.
    for (const r of rows) {
      expect(TRANSITIONS[r.from][r.event]?.to).toBe(r.to);
      if (r.guard !== null) expect(Object.keys(GUARDS)).toContain(r.guard);
    }
    expect(new Set<string>(rows.flatMap((r) => (r.guard === null ? [] : [r.guard])))).toEqual(new Set<string>(Object.keys(GUARDS)));
  });

  test("eventTarget agrees with every edge of the table", () => {
    for (const row of transitionRows()) {
      // Hold events have no single target: they keep whatever status the task has.
      expect(eventTarget(row.event)).toBe(HOLD.has(row.event) ? null : row.to);
    }
    for (const [key, to] of Object.entries(EXPECTED)) {
      const event = key.split("+")[1] as FsmEvent;
      expect(eventTarget(event)).toBe(HOLD.has(event) ? null : (to as TaskStatus));
    }
    // Every status-changing event has an edge, so a target.
    for (const e of ALL_EVENTS) if (!HOLD.has(e)) expect(eventTarget(e)).not.toBeNull();
  });
});

describe("transition cases", () => {
  const to = (s: TaskStatus, e: FsmEvent) => {
    const r = transition(s, e);
    return r.ok ? r.to : "error";
  };
  test("1–9: main path", () => {
    expect(to("ready", "plan_start")).toBe("planning");
    expect(to("planning", "plan_start")).toBe("planning");
    expect(to("planning", "planner_finished")).toBe("ready");
    expect(to("ready", "implement_start")).toBe("implementing");
    expect(to("implementing", "implement_finished")).toBe("reviewing");
    expect(to("reviewing", "review_approved")).toBe("verifying");
    expect(to("reviewing", "review_changes_requested")).toBe("implementing");
    expect(to("verifying", "verify_approved")).toBe("done");
    expect(to("verifying", "verify_failed")).toBe("implementing");
  });
  test("10: cancel from every non-cancelled state", () => {
    for (const s of ["verifying", "ready", "planning", "implementing", "reviewing", "done"] as const) expect(to(s, "cancel")).toBe("cancelled");
    expect(to("cancelled", "cancel")).toBe("error");
  });
  test("11–12: start_over and reopen go to planning", () => {
    expect(to("done", "start_over")).toBe("planning");
    expect(to("cancelled", "reopen")).toBe("planning");
  });
  test("13–17: invalid edges", () => {
    for (const e of ["planner_finished", "implement_finished", "review_approved"] as const) expect(to("ready", e)).toBe("error");
    expect(to("planning", "implement_start")).toBe("error");
    expect(to("implementing", "plan_start")).toBe("error");
    expect(to("done", "plan_start")).toBe("error");
    expect(to("done", "implement_finished")).toBe("error");
    expect(to("cancelled", "implement_start")).toBe("error");
  });
  test("18: user-only flags", () => {
    for (const e of ["start_over", "cancel", "reopen", "reimplement", "request_review", "mark_done", "resume"] as const) expect(isUserOnly(e)).toBe(true);
    for (const e of ["planner_finished", "review_approved", "plan_start", "verify_approved", "verify_failed", "verification_stale", "budget_hold"] as const) {
      expect(isUserOnly(e)).toBe(false);
    }
  });
  test("daemon-only: verification_stale and budget_hold, and nothing else", () => {
    for (const e of ALL_EVENTS) expect(isDaemonOnly(e)).toBe(e === "verification_stale" || e === "budget_hold");
  });
  test("23–25: timestamps and execution after transitions", () => {
    expect(phaseTimestampColumn("cancelled")).toBeNull();
    expect(phaseTimestampColumn("ready")).toBeNull();
    expect(phaseTimestampColumn("planning")).toBe("planning_at");
    expect(phaseTimestampColumn("implementing")).toBe("implementing_at");
    expect(phaseTimestampColumn("reviewing")).toBe("reviewing_at");
    expect(phaseTimestampColumn("verifying")).toBe("verifying_at");
    expect(phaseTimestampColumn("done")).toBe("done_at");
    expect(executionAfterTransition("planner_finished", "ready")).toEqual({ phase: "planned", agent: "", wave: 0 });
    expect(executionAfterTransition("reopen", "planning")).toEqual({ phase: "", agent: "", wave: 0 });
    expect(executionAfterTransition("start_over", "planning")).toEqual({ phase: "", agent: "", wave: 0 });
    expect(executionAfterTransition("implement_start", "implementing")).toEqual({ phase: "", agent: "", wave: 0 });
  });
  test("26: legacy status mapping", () => {
    expect(mapLegacyStatus("implementing")).toBe("implementing");
    expect(mapLegacyStatus("in_progress")).toBe("implementing");
    expect(mapLegacyStatus("completed")).toBe("done");
    expect(mapLegacyStatus("finished")).toBe("done");
    for (const s of ALL_STATUSES) expect(mapLegacyStatus(s)).toBe(s);
    expect(mapLegacyStatus("bogus")).toBeNull();
    expect(mapLegacyStatus("")).toBeNull();
    expect(mapLegacyStatus("Done")).toBeNull();
  });
  test("27: phase helpers", () => {
    expect(isWavePhase("wave_running")).toBe(true);
    expect(isWavePhase("wave_waiting")).toBe(true);
    expect(isWavePhase("architecting")).toBe(false);
    expect(isSingleAgentPhase("single_agent_implementing")).toBe(true);
    expect(isSingleAgentPhase("fixing")).toBe(true);
    expect(isSingleAgentPhase("wave_running")).toBe(false);
  });
});

describe("event names", () => {
  test("28: every primary token maps to its event; review_changes is the public name", () => {
    expect(parseEventName("plan_start")).toBe("plan_start");
    expect(parseEventName("review_changes")).toBe("review_changes_requested");
    expect(eventName("review_changes_requested")).toBe("review_changes");
    for (const e of ALL_EVENTS) expect(parseEventName(eventName(e))).toBe(e);
  });
  test("29: alias, hyphens and padding resolve", () => {
    expect(parseEventName("review_changes_requested")).toBe("review_changes_requested");
    expect(parseEventName("review-changes")).toBe("review_changes_requested");
    expect(parseEventName("plan-start")).toBe("plan_start");
    expect(parseEventName("  mark-done \n")).toBe("mark_done");
  });
  test("30: empty or unknown → null", () => {
    expect(parseEventName("")).toBeNull();
    expect(parseEventName("   ")).toBeNull();
    expect(parseEventName("fly_away")).toBeNull();
    expect(parseEventName("PLAN_START")).toBeNull();
  });
  test("31: name list sorted, includes primaries, excludes the alias", () => {
    const names = eventNames();
    expect(names).toEqual([...names].sort());
    expect(names).toContain("plan_start");
    expect(names).toContain("review_changes");
    expect(names).toContain("cancel");
    expect(names).toContain("mark_done");
    expect(names).not.toContain("review_changes_requested");
    expect(names).not.toContain("verification_stale"); // daemon-only: not offered to operators
    expect(names).not.toContain("budget_hold"); // daemon-only too
    expect(names).toContain("resume");
    expect(names).toHaveLength(15);
    expect(parseEventName("verification-stale")).toBe("verification_stale"); // parsed, then refused with a reason
  });
});

describe("normalizeExecution", () => {
  const ex = (phase: string, agent = "", wave = 0) => ({ phase, agent, wave });
  const EMPTY: ExecutionState = { phase: "", agent: "", wave: 0 };

  test("ready keeps only planned, without agent or wave", () => {
    expect(normalizeExecution("ready", ex("planned", "planner", 3))).toEqual({ phase: "planned", agent: "", wave: 0 });
    expect(normalizeExecution("ready", ex(" planned "))).toEqual({ phase: "planned", agent: "", wave: 0 });
    expect(normalizeExecution("ready", ex("fixing", "fixer"))).toEqual(EMPTY);
  });
  test("implementing: single-agent phases need an agent; wave phases need agent and wave > 0", () => {
    expect(normalizeExecution("implementing", ex("architecting", " architect ", 2))).toEqual({ phase: "architecting", agent: "architect", wave: 0 });
    expect(normalizeExecution("implementing", ex("fixing", ""))).toEqual(EMPTY);
    expect(normalizeExecution("implementing", ex("single_agent_implementing", "coder"))).toEqual({
      phase: "single_agent_implementing",
      agent: "coder",
      wave: 0,
    });
    expect(normalizeExecution("implementing", ex("wave_running", "coder", 2))).toEqual({ phase: "wave_running", agent: "coder", wave: 2 });
    expect(normalizeExecution("implementing", ex("wave_waiting", "coder", -1))).toEqual(EMPTY);
    expect(normalizeExecution("implementing", ex("wave_running", "", 1))).toEqual(EMPTY);
    expect(normalizeExecution("implementing", ex("planned", "coder"))).toEqual(EMPTY);
    expect(normalizeExecution("implementing", ex("reviewing", "reviewer"))).toEqual(EMPTY);
  });
  test("reviewing keeps phase reviewing with its agent", () => {
    expect(normalizeExecution("reviewing", ex("reviewing", "reviewer", 4))).toEqual({ phase: "reviewing", agent: "reviewer", wave: 0 });
    expect(normalizeExecution("reviewing", ex("reviewing", ""))).toEqual(EMPTY);
    expect(normalizeExecution("reviewing", ex("fixing", "fixer"))).toEqual(EMPTY);
  });
  test("verifying stores an empty phase plus the agent", () => {
    expect(normalizeExecution("verifying", ex("", "master"))).toEqual({ phase: "", agent: "master", wave: 0 });
    expect(normalizeExecution("verifying", ex("verifying", "master"))).toEqual({ phase: "", agent: "master", wave: 0 });
    expect(normalizeExecution("verifying", ex("reviewing", "reviewer"))).toEqual(EMPTY);
  });
  test("planning, done, cancelled carry nothing", () => {
    for (const s of ["planning", "done", "cancelled"] as const) expect(normalizeExecution(s, ex("planned", "planner", 1))).toEqual(EMPTY);
  });
});
