import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { StoreError } from "../../src/store/errors.ts";
import {
  claimNextSignal,
  countSignals,
  enqueueSignal,
  finishSignal,
  getSignal,
  listSignals,
  recoverStuckSignals,
} from "../../src/store/signals.ts";
import { tempStore, type TempStore } from "./helpers.ts";

let s: TempStore;
beforeEach(() => {
  s = tempStore();
});
afterEach(() => s.cleanup());

describe("signal queue", () => {
  test("pending → processing → done with result and timestamps", () => {
    const id = enqueueSignal(s.db, { project: "p", task: "t.md", type: "review_approved", payload: { body: "lgtm" }, source: "cli" });
    const pending = getSignal(s.db, id)!;
    expect(pending).toMatchObject({ status: "pending", task: "t", type: "review_approved", payload: '{"body":"lgtm"}', source: "cli" });
    expect(pending.createdAt).toBeTruthy();
    expect(pending.claimedAt).toBeNull();

    const claimed = claimNextSignal(s.db, "p", "w1")!;
    expect(claimed.id).toBe(id);
    expect(claimed.status).toBe("processing");
    expect(claimed.claimedBy).toBe("w1");
    expect(claimed.claimedAt).toBeTruthy();
    expect(claimNextSignal(s.db, "p", "w2")).toBeNull();

    expect(finishSignal(s.db, id, "done", "spawned reviewer")).toBe(true);
    const done = listSignals(s.db, { status: ["done"] });
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ id, status: "done", result: "spawned reviewer" });
    expect(done[0]!.processedAt).toBeTruthy();
    // finishing again is a no-op: only processing rows can finish
    expect(finishSignal(s.db, id, "failed", "again")).toBe(false);
    expect(getSignal(s.db, id)!.status).toBe("done");
  });

  test("failed outcome, missing row and wrong worker", () => {
    const id = enqueueSignal(s.db, { project: "p", task: "t", type: "plan_start", source: "api" });
    expect(getSignal(s.db, id)!.payload).toBe("");
    expect(finishSignal(s.db, id, "failed", "x")).toBe(false); // still pending
    claimNextSignal(s.db, null, "w1");
    expect(finishSignal(s.db, id, "failed", "nope", { worker: "w2" })).toBe(false);
    expect(finishSignal(s.db, id, "failed", "signal rejected by processor", { worker: "w1" })).toBe(true);
    expect(getSignal(s.db, id)).toMatchObject({ status: "failed", result: "signal rejected by processor" });
    expect(() => finishSignal(s.db, 9999, "done", "")).toThrow(StoreError);
    expect(getSignal(s.db, 9999)).toBeNull();
  });

  test("claims oldest first (created_at, id) and projects are isolated", () => {
    const a1 = enqueueSignal(s.db, { project: "a", task: "t", type: "plan_start", source: "cli" });
    const b1 = enqueueSignal(s.db, { project: "b", task: "t", type: "plan_start", source: "cli" });
    const a2 = enqueueSignal(s.db, { project: "a", task: "u", type: "planner_finished", source: "cli" });
    // an older created_at wins over a lower id
    s.db.query("UPDATE signals SET created_at = '2000-01-01T00:00:00.000Z' WHERE id = $id").run({ id: a2 });
    expect(claimNextSignal(s.db, "c", "w")).toBeNull();
    expect(claimNextSignal(s.db, "b", "w")!.id).toBe(b1);
    expect(claimNextSignal(s.db, "b", "w")).toBeNull();
    expect(claimNextSignal(s.db, "a", "w")!.id).toBe(a2);
    expect(claimNextSignal(s.db, "a", "w")!.id).toBe(a1);
    expect(claimNextSignal(s.db, null, "w")).toBeNull();
    const c1 = enqueueSignal(s.db, { project: "c", task: "t", type: "plan_start", source: "cli" });
    expect(claimNextSignal(s.db, null, "w")!.id).toBe(c1);
  });

  test("unknown type and empty key are rejected", () => {
    expect(() => enqueueSignal(s.db, { project: "p", task: "t", type: "bogus" as never, source: "cli" })).toThrow("unknown signal type");
    expect(() => enqueueSignal(s.db, { project: "", task: "t", type: "plan_start", source: "cli" })).toThrow(StoreError);
    expect(() => enqueueSignal(s.db, { project: "p", task: " ", type: "plan_start", source: "cli" })).toThrow(StoreError);
  });

  test("dedupKey returns the active row instead of inserting twice", () => {
    const input = { project: "p", task: "t", type: "plan_start" as const, source: "file:/x/plan-start-t", dedupKey: "file:/x/plan-start-t" };
    const id1 = enqueueSignal(s.db, input);
    expect(enqueueSignal(s.db, input)).toBe(id1);
    claimNextSignal(s.db, "p", "w");
    expect(enqueueSignal(s.db, input)).toBe(id1); // still processing
    finishSignal(s.db, id1, "done", "ok");
    const id2 = enqueueSignal(s.db, input);
    expect(id2).not.toBe(id1);
    expect(getSignal(s.db, id2)!.dedupKey).toBe(input.dedupKey);
  });

  test("recoverStuckSignals resets old processing rows; 0 resets all", () => {
    const old = enqueueSignal(s.db, { project: "p", task: "t", type: "plan_start", source: "cli" });
    const fresh = enqueueSignal(s.db, { project: "p", task: "u", type: "plan_start", source: "cli" });
    const idle = enqueueSignal(s.db, { project: "p", task: "v", type: "plan_start", source: "cli" });
    claimNextSignal(s.db, "p", "w1");
    claimNextSignal(s.db, "p", "w1");
    const twoMinAgo = new Date(Date.now() - 120_000).toISOString();
    s.db.query("UPDATE signals SET claimed_at = $t WHERE id = $id").run({ t: twoMinAgo, id: old });

    expect(recoverStuckSignals(s.db, 60_000)).toBe(1);
    expect(getSignal(s.db, old)).toMatchObject({ status: "pending", claimedAt: null, claimedBy: null });
    expect(getSignal(s.db, fresh)!.status).toBe("processing");
    expect(getSignal(s.db, idle)!.status).toBe("pending");
    expect(claimNextSignal(s.db, "p", "w2")!.id).toBe(old); // another worker can claim it

    expect(recoverStuckSignals(s.db, 0)).toBe(2);
    expect(countSignals(s.db)).toEqual({ pending: 3, processing: 0, done: 0, failed: 0 });
    expect(recoverStuckSignals(s.db, 0)).toBe(0);
  });

  test("listSignals newest first with filters and limit; countSignals by status", () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(enqueueSignal(s.db, { project: i % 2 ? "b" : "a", task: `t${i}`, type: "plan_start", source: "cli" }));
    claimNextSignal(s.db, "a", "w");
    finishSignal(s.db, ids[0]!, "failed", "bad");
    expect(listSignals(s.db).map((r) => r.id)).toEqual([...ids].reverse());
    expect(listSignals(s.db, { project: "a" }).map((r) => r.id)).toEqual([ids[4]!, ids[2]!, ids[0]!]);
    expect(listSignals(s.db, { project: "a", status: ["pending"] }).map((r) => r.id)).toEqual([ids[4]!, ids[2]!]);
    expect(listSignals(s.db, { task: "t1.md" }).map((r) => r.id)).toEqual([ids[1]!]);
    expect(listSignals(s.db, { limit: 2 })).toHaveLength(2);
    expect(listSignals(s.db, { status: [] })).toEqual([]);
    expect(countSignals(s.db)).toEqual({ pending: 4, processing: 0, done: 0, failed: 1 });
    expect(countSignals(s.db, "b")).toEqual({ pending: 2, processing: 0, done: 0, failed: 0 });
  });
});
