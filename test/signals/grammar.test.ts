import { describe, expect, test } from "bun:test";
import { dedupKey, fileSignalPayload, parseSignalFileName, type FileSignal } from "../../src/signals/grammar.ts";

function sig(name: string): FileSignal {
  const r = parseSignalFileName(name);
  if (!r.ok) throw new Error(`expected a signal for ${name}, got: ${r.reason}`);
  return r.signal;
}

function reason(name: string): string {
  const r = parseSignalFileName(name);
  if (r.ok) throw new Error(`expected ${name} to be rejected, got ${JSON.stringify(r.signal)}`);
  return r.reason;
}

describe("the seven kinds", () => {
  test("FSM prefixes", () => {
    expect(sig("planner-finished-foo")).toEqual({ kind: "fsm", type: "planner_finished", task: "foo" });
    expect(sig("implement-finished-foo")).toEqual({ kind: "fsm", type: "implement_finished", task: "foo" });
    expect(sig("review-approved-foo")).toEqual({ kind: "fsm", type: "review_approved", task: "foo" });
    expect(sig("review-changes-bar")).toEqual({ kind: "fsm", type: "review_changes_requested", task: "bar" });
  });

  test("task, wave and elaborator sentinels", () => {
    expect(sig("implement-task-finished-w2-t3-feature")).toEqual({
      kind: "task",
      type: "implement_task_finished",
      task: "feature",
      wave: 2,
      taskNumber: 3,
    });
    expect(sig("implement-wave-1-test-plan")).toEqual({ kind: "wave", type: "implement_wave", task: "test-plan", wave: 1 });
    expect(sig("elaborator-finished-my-feature")).toEqual({ kind: "elaborator", type: "elaborator_finished", task: "my-feature" });
  });

  test("first FSM prefix wins: review-changes-requested-foo targets task requested-foo", () => {
    expect(sig("review-changes-requested-foo")).toEqual({ kind: "fsm", type: "review_changes_requested", task: "requested-foo" });
  });

  test("implement-task-finished does not match implement-finished; implement-wave matches no FSM prefix", () => {
    expect(sig("implement-task-finished-w1-t1-x").kind).toBe("task");
    expect(sig("implement-wave-2-x").kind).toBe("wave");
  });
});

describe("file name cases, adapted to .md stripping", () => {
  test("32: FSM payloads carry the trimmed body", () => {
    const foo = sig("planner-finished-foo");
    const bar = sig("review-changes-bar");
    expect(fileSignalPayload(foo, "")).toBe('{"body":""}');
    expect(fileSignalPayload(bar, "  fix the tests\n")).toBe('{"body":"fix the tests"}');
  });

  test("33: a trailing .md is stripped", () => {
    expect(sig("planner-finished-feature.md").task).toBe("feature");
    expect(sig("planner-finished-2026-02-27-feature.md").task).toBe("2026-02-27-feature");
    expect(sig("planner-finished-v1.2-notes").task).toBe("v1.2-notes");
  });

  test("34: garbage and hidden files", () => {
    expect(reason("garbage-file.txt")).toMatch(/^unrecognised signal name "garbage-file.txt"; expected one of planner-finished-<task>, /);
    expect(parseSignalFileName(".hidden")).toEqual({ ok: false, reason: "hidden" });
    expect(parseSignalFileName(".planner-finished-foo")).toEqual({ ok: false, reason: "hidden" });
  });

  test("36: agents cannot send cancel (or other user-only events)", () => {
    expect(reason("cancel-foo")).toBe(
      'unrecognised signal name "cancel-foo": agents cannot send cancel; expected one of planner-finished-<task>, implement-finished-<task>, ' +
        "review-approved-<task>, review-changes-<task>, implement-task-finished-w<N>-t<M>-<task>, implement-wave-<N>-<task>, elaborator-finished-<task>",
    );
    expect(reason("reopen-foo")).toContain("agents cannot send reopen");
    expect(reason("start-over-foo")).toContain("agents cannot send start_over");
    expect(reason("mark-done-foo")).toContain("agents cannot send mark_done");
    expect(reason("verify-approved-foo")).toContain("only accepted through the signal gateway");
    expect(reason("coder-finished-foo")).toContain("implement-finished-<task>");
  });

  test("37: dedup keys — same event+task same key, different event different key", () => {
    expect(dedupKey(sig("planner-finished-foo"))).toBe("planner_finished:foo");
    expect(dedupKey(sig("planner-finished-foo.md"))).toBe(dedupKey(sig("planner-finished-foo")));
    expect(dedupKey(sig("review-approved-foo"))).not.toBe(dedupKey(sig("planner-finished-foo")));
  });

  test("41: task signal with .md", () => {
    expect(sig("implement-task-finished-w2-t3-feature.md")).toMatchObject({ wave: 2, taskNumber: 3, task: "feature" });
  });

  test("42: w0 / t0 / non-numeric are rejected with a reason", () => {
    expect(reason("implement-task-finished-w0-t1-foo")).toBe('task signal "implement-task-finished-w0-t1-foo": wave number "0" must be a whole number ≥ 1');
    expect(reason("implement-task-finished-w1-t0-foo")).toBe('task signal "implement-task-finished-w1-t0-foo": task number "0" must be a whole number ≥ 1');
    expect(reason("implement-task-finished-wx-t1-foo")).toContain('wave number "x"');
    expect(reason("implement-task-finished-w1-ty-foo")).toContain('task number "y"');
    expect(reason("implement-task-finished-w1t1-foo")).toBe(
      'malformed task signal "implement-task-finished-w1t1-foo": expected implement-task-finished-w<N>-t<M>-<task>',
    );
    expect(reason("implement-task-finished-w1-t1-")).toBe('signal "implement-task-finished-w1-t1-" has an empty task name');
  });

  test("43: task key includes the wave", () => {
    const a = dedupKey(sig("implement-task-finished-w1-t2-alpha"));
    const b = dedupKey(sig("implement-task-finished-w2-t2-alpha"));
    expect(a).toBe("1:2:alpha");
    expect(b).toBe("2:2:alpha");
    expect(a).not.toBe(b);
  });

  test("44: wave signals", () => {
    expect(sig("implement-wave-1-test-plan")).toMatchObject({ wave: 1, task: "test-plan" });
    expect(sig("implement-wave-3-multi-wave")).toMatchObject({ wave: 3, task: "multi-wave" });
    expect(sig("implement-wave-2-nested/path/plan.md")).toMatchObject({ kind: "wave", wave: 2, task: "plan" });
    expect(reason("implement-wave-abc-foo")).toBe('wave signal "implement-wave-abc-foo": wave number "abc" must be a whole number ≥ 1');
    expect(reason("implement-wave-0-foo")).toContain('wave number "0"');
    expect(reason("implement-wave-foo")).toBe('malformed wave signal "implement-wave-foo": expected implement-wave-<N>-<task>');
    expect(reason("implement-wave-2-")).toContain("empty task name");
  });

  test("45: FSM and wave signals in one directory are told apart", () => {
    const kinds = ["planner-finished-x", "implement-wave-2-x"].map((n) => sig(n).kind);
    expect(kinds).toEqual(["fsm", "wave"]);
  });

  test("46: elaborator with and without .md; empty remainder rejected", () => {
    expect(sig("elaborator-finished-my-feature").task).toBe("my-feature");
    expect(sig("elaborator-finished-my-feature.md").task).toBe("my-feature");
    expect(reason("elaborator-finished-")).toContain("empty task name");
    expect(reason("elaborator-finished-.md")).toContain("empty task name");
  });
});

describe("names and task sanity", () => {
  test("a path prefix reduces to the last component", () => {
    expect(sig("/repo/.kasmos/signals/planner-finished-foo")).toEqual({ kind: "fsm", type: "planner_finished", task: "foo" });
    expect(sig("planner-finished-docs/plans/foo.md").task).toBe("foo");
    expect(parseSignalFileName("/repo/.kasmos/signals/.tmp")).toEqual({ ok: false, reason: "hidden" });
  });

  test("empty names and bare prefixes", () => {
    expect(reason("")).toBe('empty signal name ""');
    expect(reason("planner-finished-")).toBe('signal "planner-finished-" has an empty task name');
    expect(reason("planner-finished-.md")).toBe('signal "planner-finished-.md" has an empty task name');
    expect(reason("planner-finished")).toMatch(/^unrecognised signal name "planner-finished"; expected/);
  });

  test("whitespace, control characters, over-long names, leading dots", () => {
    expect(reason("planner-finished-my task")).toBe('signal "planner-finished-my task": task name contains whitespace or control characters');
    expect(reason("review-approved-foo\tbar")).toContain("whitespace or control characters");
    expect(reason("review-approved-foo\u0007")).toContain("control characters");
    expect(reason("review-approved-foo\u0007")).toContain("\\u0007"); // escaped in the reason, not raw
    expect(sig(`planner-finished-${"a".repeat(200)}`).task).toHaveLength(200);
    expect(sig(`planner-finished-${"a".repeat(200)}.md`).task).toHaveLength(200);
    expect(reason(`planner-finished-${"a".repeat(201)}`)).toContain("task name is 201 characters; at most 200 allowed");
    expect(reason("planner-finished-..")).toContain('must not start with "."');
  });
});

describe("dedup keys and queue payloads", () => {
  test("wave and elaborator dedup by kind and task", () => {
    expect(dedupKey(sig("implement-wave-1-foo"))).toBe("wave:foo");
    expect(dedupKey(sig("implement-wave-2-foo"))).toBe("wave:foo");
    expect(dedupKey(sig("elaborator-finished-foo"))).toBe("elaborator:foo");
  });

  test("payload per kind", () => {
    expect(fileSignalPayload(sig("review-approved-x"), "Approved. Fine.\n")).toBe('{"body":"Approved. Fine."}');
    expect(fileSignalPayload(sig("implement-task-finished-w2-t3-x"), "ignored")).toBe('{"wave_number":2,"task_number":3}');
    expect(fileSignalPayload(sig("implement-wave-4-x"), "ignored")).toBe('{"wave_number":4}');
    expect(fileSignalPayload(sig("elaborator-finished-x"), "ignored")).toBe("");
  });
});
