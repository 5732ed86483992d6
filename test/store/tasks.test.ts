import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { writeTx } from "../../src/store/db.ts";
import { StoreError } from "../../src/store/errors.ts";
import { listAudit, recordAudit } from "../../src/store/audit.ts";
import { createTask, deleteTask, getContent, getTask, listTasks, normalizeTaskName, setContent } from "../../src/store/tasks.ts";
import { listSubtasks, setSubtaskStatus, setSubtasks } from "../../src/store/subtasks.ts";
import { applyTaskUpdate } from "../../src/store/task-update.ts";
import { countTasksByStatus } from "../../src/store/task-queries.ts";
import { tempStore, type TempStore } from "./helpers.ts";

let s: TempStore;
beforeEach(() => {
  s = tempStore();
});
afterEach(() => s.cleanup());

function catchErr(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StoreError) return e;
    throw e;
  }
  throw new Error("expected a StoreError");
}

describe("tasks", () => {
  test("create then get returns defaults and given fields", () => {
    const t = createTask(s.db, { project: "p", name: "login", description: "throttle", topic: "auth", branch: "plan/login", content: "# x" });
    expect(t.status).toBe("ready");
    expect(t.execution).toEqual({ phase: "", agent: "", wave: 0 });
    expect(t.reviewCycle).toBe(0);
    expect(t.verification).toBeNull();
    expect(t.prNumber).toBeNull();
    expect(t.planningAt).toBeNull();
    expect(t.createdAt).toBe(t.updatedAt);
    expect(getTask(s.db, "p", "login")).toEqual(t);
    expect(getTask(s.db, "p", "missing")).toBeNull();
    expect(getTask(s.db, "other", "login")).toBeNull();
  });

  test("duplicate create → conflict with message", () => {
    createTask(s.db, { project: "p", name: "a" });
    const e = catchErr(() => createTask(s.db, { project: "p", name: "a.md" }));
    expect(e.code).toBe("conflict");
    expect(e.message).toBe("task already exists: p/a");
    // same name in another project is fine
    expect(createTask(s.db, { project: "q", name: "a" }).project).toBe("q");
  });

  test(".md is stripped on the way in", () => {
    expect(normalizeTaskName(" foo.md ")).toBe("foo");
    expect(normalizeTaskName("foo")).toBe("foo");
    const t = createTask(s.db, { project: "p", name: "foo.md" });
    expect(t.name).toBe("foo");
    expect(getTask(s.db, "p", "foo.md")?.id).toBe(t.id);
    expect(applyTaskUpdate(s.db, "p", "foo.md", { description: "d" }).description).toBe("d");
    expect(catchErr(() => createTask(s.db, { project: "p", name: ".md" })).code).toBe("invalid");
    expect(catchErr(() => createTask(s.db, { project: "", name: "x" })).code).toBe("invalid");
  });

  test("list is ordered by project, name and filters by project/status", () => {
    createTask(s.db, { project: "b", name: "z" });
    createTask(s.db, { project: "a", name: "y" });
    createTask(s.db, { project: "a", name: "x" });
    applyTaskUpdate(s.db, "a", "y", { status: "planning" });
    expect(listTasks(s.db).map((t) => `${t.project}/${t.name}`)).toEqual(["a/x", "a/y", "b/z"]);
    expect(listTasks(s.db, { project: "a" }).map((t) => t.name)).toEqual(["x", "y"]);
    expect(listTasks(s.db, { status: ["ready"] }).map((t) => t.name)).toEqual(["x", "z"]);
    expect(listTasks(s.db, { project: "a", status: ["planning", "done"] }).map((t) => t.name)).toEqual(["y"]);
    expect(listTasks(s.db, { status: [] })).toEqual([]);
    expect(countTasksByStatus(s.db, "a")).toEqual({
      ready: 1, planning: 1, implementing: 0, reviewing: 0, verifying: 0, done: 0, cancelled: 0,
    });
    expect(countTasksByStatus(s.db).ready).toBe(2);
  });

  test("content is only written by setContent; updates never wipe it", () => {
    createTask(s.db, { project: "p", name: "t", content: "# original" });
    applyTaskUpdate(s.db, "p", "t", { status: "planning", description: "new", latestFeedback: "x", verification: null });
    expect(getContent(s.db, "p", "t")).toBe("# original");
    setContent(s.db, "p", "t", "# v2");
    applyTaskUpdate(s.db, "p", "t", { status: "implementing", execution: { phase: "wave_running", agent: "coder", wave: 1 } });
    expect(getTask(s.db, "p", "t")?.content).toBe("# v2");
    // an update object carrying a stray `content` key is ignored
    applyTaskUpdate(s.db, "p", "t", { content: "" } as never);
    expect(getTask(s.db, "p", "t")?.content).toBe("# v2");
    expect(catchErr(() => setContent(s.db, "p", "nope", "x")).code).toBe("not_found");
  });

  test("applyTaskUpdate sets fields, counters, timestamps, verification and PR fields", () => {
    createTask(s.db, { project: "p", name: "t" });
    let t = applyTaskUpdate(s.db, "p", "t", {
      status: "implementing",
      execution: { phase: "wave_running", agent: "coder", wave: 2 },
      reviewCycle: "increment",
      verifyCycle: 3,
      latestFeedback: "  fix the tests  ",
      timestampColumn: "implementing_at",
      prUrl: "https://x/pr/1",
      prNumber: 1,
      prState: "open",
      prCreateState: "created",
      prCreateAttempts: "increment",
    });
    expect(t.status).toBe("implementing");
    expect(t.execution).toEqual({ phase: "wave_running", agent: "coder", wave: 2 });
    expect(t.reviewCycle).toBe(1);
    expect(t.verifyCycle).toBe(3);
    expect(t.latestFeedback).toBe("fix the tests");
    expect(t.implementingAt).not.toBeNull();
    expect(t.prUrl).toBe("https://x/pr/1");
    expect(t.prNumber).toBe(1);
    expect(t.prCreateAttempts).toBe(1);
    t = applyTaskUpdate(s.db, "p", "t", { reviewCycle: "increment", execution: { wave: 3 } });
    expect(t.reviewCycle).toBe(2);
    expect(t.execution).toEqual({ phase: "wave_running", agent: "coder", wave: 3 });

    const sha = "a".repeat(40);
    t = applyTaskUpdate(s.db, "p", "t", { verification: { sha, baseSha: "b".repeat(40), by: "master", origin: "master" } });
    expect(t.verification).toMatchObject({ sha, baseSha: "b".repeat(40), by: "master", origin: "master" });
    expect(t.verification?.at).toBeTruthy();
    t = applyTaskUpdate(s.db, "p", "t", { verification: null, timestamps: { implementing_at: null } });
    expect(t.verification).toBeNull();
    expect(t.implementingAt).toBeNull();

    expect(catchErr(() => applyTaskUpdate(s.db, "p", "missing", { status: "done" })).code).toBe("not_found");
    expect(catchErr(() => applyTaskUpdate(s.db, "p", "t", { status: "bogus" as never })).code).toBe("invalid");
    expect(catchErr(() => applyTaskUpdate(s.db, "p", "t", { execution: { phase: "nope" as never } })).code).toBe("invalid");
    expect(catchErr(() => applyTaskUpdate(s.db, "p", "t", { timestampColumn: "created_at" as never })).code).toBe("invalid");
  });

  test("applyTaskUpdate inside writeTx is rolled back when the tx throws", () => {
    createTask(s.db, { project: "p", name: "t", content: "# c" });
    const before = getTask(s.db, "p", "t")!;
    expect(() =>
      writeTx(s.db, () => {
        applyTaskUpdate(s.db, "p", "t", { status: "planning", timestampColumn: "planning_at", reviewCycle: 5 });
        recordAudit(s.db, { kind: "plan_transition", project: "p", task: "t", fromStatus: "ready", toStatus: "planning", message: "ready → planning" });
        setSubtasks(s.db, "p", "t", [{ number: 1, title: "x" }]);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(getTask(s.db, "p", "t")).toEqual(before);
    expect(listAudit(s.db, { project: "p" })).toEqual([]);
    expect(listSubtasks(s.db, "p", "t")).toEqual([]);
  });

  test("subtasks: set, update status, replace, cascade on delete", () => {
    createTask(s.db, { project: "p", name: "t" });
    setSubtasks(s.db, "p", "t.md", [
      { number: 2, title: "two", wave: 1 },
      { number: 1, title: "one", wave: 1 },
    ]);
    expect(listSubtasks(s.db, "p", "t").map((x) => [x.number, x.title, x.wave, x.status])).toEqual([
      [1, "one", 1, "pending"],
      [2, "two", 1, "pending"],
    ]);
    expect(setSubtaskStatus(s.db, "p", "t", 2, "running")).toBe(true);
    expect(setSubtaskStatus(s.db, "p", "t", 9, "running")).toBe(false);
    expect(listSubtasks(s.db, "p", "t")[1]!.status).toBe("running");
    setSubtasks(s.db, "p", "t", [{ number: 1, title: "only", wave: 2, status: "complete" }]);
    expect(listSubtasks(s.db, "p", "t")).toEqual([{ project: "p", task: "t", number: 1, title: "only", wave: 2, status: "complete" }]);
    // invalid input leaves the previous set untouched
    expect(catchErr(() => setSubtasks(s.db, "p", "t", [{ number: 1, title: "a" }, { number: 1, title: "b" }])).code).toBe("invalid");
    expect(listSubtasks(s.db, "p", "t")).toHaveLength(1);
    expect(catchErr(() => setSubtasks(s.db, "p", "missing", [])).code).toBe("not_found");
    expect(deleteTask(s.db, "p", "t")).toBe(true);
    expect(listSubtasks(s.db, "p", "t")).toEqual([]);
    expect(deleteTask(s.db, "p", "t")).toBe(false);
  });
});
