// The budget hold through the FSM/processor path: commitResult persists it with its audit rows, and the
// operator's resume (applyOperatorEvent) lifts it with a fresh allowance from the stored spend.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { holdTask, releaseRaisedHold } from "../../src/lifecycle/processor.ts";
import type { ProcessorConfig } from "../../src/lifecycle/model.ts";
import { insertAgent, getAttention, setAttention } from "../../src/store/agents.ts";
import { listAudit } from "../../src/store/audit.ts";
import { holdOf } from "../../src/store/budget.ts";
import { writeTx } from "../../src/store/db.ts";
import { applyOperatorEvent, commitResult, snapshotOf } from "../../src/store/effects.ts";
import { createTask, getTask } from "../../src/store/tasks.ts";
import { writeTaskUpdate } from "../../src/store/task-update.ts";
import { setAgentUsage } from "../../src/store/usage.ts";
import { tempStore, type TempStore } from "./helpers.ts";

const CFG: ProcessorConfig = { autoAdvance: false, autoReviewFix: true, autoReadinessReview: true, maxReviewFixCycles: 0, readinessMaxVerifyCycles: 2 };
const NOW = "2026-03-01T12:00:00.000Z";
const PRICES = { "m-1": { input: 1, output: 2, cache_write: 0, cache_read: 0 } };

let s: TempStore;
beforeEach(() => {
  s = tempStore();
  createTask(s.db, { project: "p", name: "feat", content: "# P\n" });
  writeTaskUpdate(s.db, "p", "feat", { status: "reviewing", execution: { phase: "reviewing", agent: "reviewer", wave: 0 } });
  const a = insertAgent(s.db, { project: "p", task: "feat", title: "feat-reviewer", role: "reviewer", session: "kas-x", cwd: "/tmp", program: "claude" });
  setAgentUsage(s.db, { id: a.id, project: "p", task: "feat", role: "reviewer" }, { "m-1": { input: 1_000_000, output: 500_000, cacheWrite: 0, cacheRead: 0 } }, { offset: 0, lastId: "" });
});
afterEach(() => s.cleanup());

function hold(reason: string): void {
  const t = getTask(s.db, "p", "feat")!;
  const result = holdTask(snapshotOf(s.db, t), reason, CFG, NOW);
  expect(result.outcome).toBe("done");
  writeTx(s.db, () => {
    commitResult(s.db, { project: "p", task: "feat", result, signalId: null, signalType: "budget_hold", source: "daemon", detail: { limit: "task_usd" } });
    setAttention(s.db, "p", "feat", `on hold: ${reason}`);
  });
}

describe("budget hold in the store", () => {
  test("a hold is stored beside the status with a budget_exceeded row; the status and phase stay", () => {
    hold("task spend $2.00 reached its budget task_usd = $2.00");
    const t = getTask(s.db, "p", "feat")!;
    expect(t.hold).toBe("task spend $2.00 reached its budget task_usd = $2.00");
    expect(t.status).toBe("reviewing");
    expect(t.execution).toEqual({ phase: "reviewing", agent: "reviewer", wave: 0 });
    const rows = listAudit(s.db, { project: "p", task: "feat", kinds: ["budget_exceeded"] });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.message).toBe("task spend $2.00 reached its budget task_usd = $2.00");
    expect(rows[0]!.detail).toMatchObject({ source: "daemon", limit: "task_usd" });
    expect(listAudit(s.db, { project: "p", task: "feat", kinds: ["plan_transition"] })).toHaveLength(0);
  });

  test("the operator's resume lifts the hold, clears the attention item and grants from the spend so far", () => {
    hold("task spend $2.00 reached its budget task_usd = $2.00");
    const r = applyOperatorEvent(s.db, { project: "p", task: "feat", event: "resume", cfg: CFG, head: null, prices: PRICES, source: "cli", now: NOW });
    expect(r.outcome).toBe("done");
    const h = holdOf(s.db, "p", "feat")!;
    expect(h.hold).toBe("");
    expect(h.base).toEqual({ usd: 2, tokens: 1_500_000, at: NOW, day: "" });
    expect(getAttention(s.db, "p", "feat")).toBe("");
    const rows = listAudit(s.db, { project: "p", task: "feat", kinds: ["task_resumed"] });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.message).toStartWith("resumed by cli: hold lifted");
    // Not held any more: a second resume is refused and recorded as an FSM error.
    expect(applyOperatorEvent(s.db, { project: "p", task: "feat", event: "resume", cfg: CFG, head: null, prices: PRICES, source: "cli", now: NOW }).result).toBe("task is not on hold");
    expect(listAudit(s.db, { project: "p", task: "feat", kinds: ["fsm_error"] })).toHaveLength(1);
  });

  test("a raised limit lifts the hold and keeps the allowance", () => {
    hold("over");
    const before = holdOf(s.db, "p", "feat")!.base;
    const result = releaseRaisedHold(snapshotOf(s.db, getTask(s.db, "p", "feat")!), CFG, NOW);
    writeTx(s.db, () => commitResult(s.db, { project: "p", task: "feat", result, signalId: null, signalType: "resume", source: "daemon (the limit was raised)" }));
    const h = holdOf(s.db, "p", "feat")!;
    expect(h.hold).toBe("");
    expect(h.base).toEqual(before);
    expect(listAudit(s.db, { project: "p", task: "feat", kinds: ["task_resumed"] })[0]!.message).toContain("the limit was raised");
  });

  test("cancel of a held task clears the hold", () => {
    hold("over");
    expect(applyOperatorEvent(s.db, { project: "p", task: "feat", event: "cancel", cfg: CFG, head: null, prices: PRICES, source: "cli", now: NOW }).outcome).toBe("done");
    const t = getTask(s.db, "p", "feat")!;
    expect(t.status).toBe("cancelled");
    expect(t.hold).toBe("");
  });
});
