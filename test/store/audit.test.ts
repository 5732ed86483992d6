import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { AUDIT_KINDS, lastAuditId, listAudit, recordAudit } from "../../src/store/audit.ts";
import { writeTx } from "../../src/store/db.ts";
import { tempStore, type TempStore } from "./helpers.ts";

let s: TempStore;
beforeEach(() => {
  s = tempStore();
});
afterEach(() => s.cleanup());

describe("audit log", () => {
  test("kinds include the required set", () => {
    for (const k of [
      "task_created", "plan_transition", "signal_done", "signal_failed", "signal_quarantined",
      "task_content", "repo_added", "repo_removed", "config_reloaded", "error",
    ]) expect(AUDIT_KINDS as readonly string[]).toContain(k);
  });

  test("insert returns ids and round-trips every field", () => {
    expect(lastAuditId(s.db)).toBe(0);
    const id = recordAudit(s.db, {
      kind: "plan_transition",
      project: "p",
      task: "t.md",
      fromStatus: "reviewing",
      toStatus: "done",
      event: "review_approved",
      signalId: 7,
      message: "reviewing → done (review approved)",
      detail: { cycle: 1 },
    });
    expect(id).toBeGreaterThan(0);
    expect(lastAuditId(s.db)).toBe(id);
    const [row] = listAudit(s.db);
    expect(row).toMatchObject({
      id, kind: "plan_transition", project: "p", task: "t", fromStatus: "reviewing", toStatus: "done",
      event: "review_approved", signalId: 7, message: "reviewing → done (review approved)", detail: { cycle: 1 }, level: "info",
    });
    expect(Date.parse(row!.timestamp)).not.toBeNaN();
    const bare = recordAudit(s.db, { kind: "config_reloaded", message: "reloaded", level: "warn" });
    expect(listAudit(s.db)[0]).toMatchObject({ id: bare, project: "", task: "", signalId: null, detail: null, level: "warn" });
  });

  test("invalid kind/level throws (not swallowed) and rolls back the caller's tx", () => {
    expect(() => recordAudit(s.db, { kind: "nope" as never, message: "x" })).toThrow("unknown audit kind");
    expect(() => recordAudit(s.db, { kind: "error", message: "x", level: "fatal" as never })).toThrow("invalid audit level");
    expect(() =>
      writeTx(s.db, () => {
        recordAudit(s.db, { kind: "task_created", project: "p", task: "t", message: "created" });
        recordAudit(s.db, { kind: "bad" as never, message: "x" });
      }),
    ).toThrow();
    expect(lastAuditId(s.db)).toBe(0);
  });

  test("filters: project, task, kinds; newest first; limit capped at 500", () => {
    const a = recordAudit(s.db, { kind: "task_created", project: "p", task: "a", message: "1" });
    const b = recordAudit(s.db, { kind: "plan_transition", project: "p", task: "a", message: "2" });
    const c = recordAudit(s.db, { kind: "signal_failed", project: "p", task: "b", message: "3", level: "error" });
    const d = recordAudit(s.db, { kind: "plan_transition", project: "q", task: "a", message: "4" });
    expect(listAudit(s.db).map((r) => r.id)).toEqual([d, c, b, a]);
    expect(listAudit(s.db, { project: "p" }).map((r) => r.id)).toEqual([c, b, a]);
    expect(listAudit(s.db, { project: "p", task: "a.md" }).map((r) => r.id)).toEqual([b, a]);
    expect(listAudit(s.db, { kinds: ["plan_transition", "signal_failed"] }).map((r) => r.id)).toEqual([d, c, b]);
    expect(listAudit(s.db, { kinds: [] })).toEqual([]);
    expect(listAudit(s.db, { limit: 2 }).map((r) => r.id)).toEqual([d, c]);
    expect(listAudit(s.db, { beforeId: c }).map((r) => r.id)).toEqual([b, a]);

    writeTx(s.db, () => {
      for (let i = 0; i < 520; i++) recordAudit(s.db, { kind: "error", message: `e${i}` });
    });
    expect(listAudit(s.db)).toHaveLength(500);
    expect(listAudit(s.db, { limit: 10_000 })).toHaveLength(500);
  });

  test("afterId returns ids > afterId oldest first (SSE replay)", () => {
    const ids = [1, 2, 3, 4].map((i) => recordAudit(s.db, { kind: "task_content", project: "p", task: "t", message: `m${i}` }));
    expect(listAudit(s.db, { afterId: ids[1]! }).map((r) => r.id)).toEqual([ids[2]!, ids[3]!]);
    expect(listAudit(s.db, { afterId: 0, limit: 2 }).map((r) => r.id)).toEqual([ids[0]!, ids[1]!]);
    expect(listAudit(s.db, { afterId: lastAuditId(s.db) })).toEqual([]);
  });

  test("non-JSON detail text is preserved under `detail`", () => {
    s.db.query("INSERT INTO audit_events (kind, timestamp, message, detail) VALUES ('error', 'x', 'm', 'plain text')").run();
    expect(listAudit(s.db)[0]!.detail).toEqual({ detail: "plain text" });
  });
});
