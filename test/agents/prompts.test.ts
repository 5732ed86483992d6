import { describe, expect, test } from "bun:test";
import { buildPrompt, signalNames, type PromptInput, type PromptCommon } from "../../src/agents/prompts.ts";
import { headerContext, extractMetadata } from "../../src/lifecycle/plan-parser.ts";
import { parseSignalFileName } from "../../src/signals/grammar.ts";

const TASK = "login-throttle";
const HEAD = "b".repeat(40);
const BASE = "a".repeat(40);

const PLAN = `# Login Throttling Implementation Plan

**Goal:** stop brute-force logins by throttling failed attempts per account.
**Architecture:** token bucket stored in SQLite, checked by auth middleware.
**Tech Stack:** TypeScript, Bun, bun:sqlite

---

## Wave 1: storage

### Task 1: bucket table
**Files:** Create \`src/throttle/store.ts\`
Write failing tests for refill math, then implement.

### Task 2 — config keys
Add \`throttle.capacity\` and \`throttle.refillPerMin\`.

## Wave 2: enforcement
> **depends on wave 1:** middleware reads the bucket store.

### Task 1: middleware
Reject with 429 when the bucket is empty.
`;

const common: PromptCommon = {
  project: "api",
  task: TASK,
  repoPath: "/src/api",
  worktreePath: "/src/api/.worktrees/login-throttle",
  branch: "plan/login-throttle",
  description: "Throttle failed logins per account.",
};

const FEEDBACK = "Review round 1\ncritical: src/throttle/store.ts:42 refill overflows";

const inputs = {
  planner: { ...common, role: "planner", planHints: "Keep it to two waves." },
  architect: { ...common, role: "architect", plan: PLAN },
  coderSingle: { ...common, role: "coder", mode: "single", plan: PLAN },
  coderWave: {
    ...common,
    role: "coder",
    mode: "wave",
    waveNumber: 2,
    taskNumber: 3,
    taskTitle: "middleware",
    taskBody: "Reject with 429 when the bucket is empty.",
    peers: 0,
    headerContext: headerContext(extractMetadata(PLAN)),
  },
  reviewer: { ...common, role: "reviewer", round: 2, previousFeedback: FEEDBACK, plan: PLAN },
  fixer: { ...common, role: "fixer", round: 2, feedback: FEEDBACK },
  master: { ...common, role: "master", round: 3, baseSha: BASE, headSha: HEAD, selfFixMaxLines: 25, maxVerifyCycles: 3, verifyCycle: 1, plan: PLAN },
} satisfies Record<string, PromptInput>;

const all = Object.entries(inputs) as [string, PromptInput][];

/** File-signal names the prompt tells the agent to create (dot-files are temporaries). */
function signalFiles(prompt: string): string[] {
  return [...prompt.matchAll(/\.kasmos\/signals\/([^\s'"/]+)/g)].map((m) => m[1] ?? "").filter((n) => !n.startsWith("."));
}

describe("every role", () => {
  test.each(all)("%s: no unresolved placeholders", (_name, input) => {
    const p = buildPrompt(input);
    expect(p).not.toContain("undefined");
    expect(p).not.toContain("null");
    expect(p).not.toContain("${");
    expect(p).not.toContain("NaN");
    expect(p).not.toContain("[object");
  });

  test.each(all)("%s: stable (same input, same output) and input not mutated", (_name, input) => {
    const copy = structuredClone(input);
    expect(buildPrompt(input)).toBe(buildPrompt(copy));
    expect(input).toEqual(copy);
  });

  test.each(all)("%s: names the task, project, description and the signal as the LAST action", (_name, input) => {
    const p = buildPrompt(input);
    expect(p).toContain(TASK);
    expect(p).toContain('"api"');
    expect(p).toContain("Throttle failed logins per account.");
    expect(p).toContain("LAST action");
  });

  test.each(all)("%s: every signal file named parses to task login-throttle", (_name, input) => {
    for (const name of signalFiles(buildPrompt(input))) {
      const r = parseSignalFileName(name);
      if (!r.ok) throw new Error(`${name}: ${r.reason}`);
      expect(r.signal.task).toBe(TASK);
    }
  });

  test("prompts differ per role", () => {
    expect(new Set(all.map(([, i]) => buildPrompt(i))).size).toBe(all.length);
  });
});

describe("planner", () => {
  const p = buildPrompt(inputs.planner);
  test("stores the plan then planner-finished", () => {
    expect(signalFiles(p)).toEqual(["planner-finished-login-throttle"]);
    expect(p).toContain("kasmos task plan login-throttle --file .kasmos/cache/login-throttle-plan.md");
    expect(p.indexOf("kasmos task plan")).toBeLessThan(p.indexOf("planner-finished-login-throttle"));
  });
  test("runs in the repo root, explains the plan grammar, includes hints", () => {
    expect(p).toContain("Working directory: /src/api\n");
    expect(p).toContain("## Wave 1:");
    expect(p).toContain("### Task <N>:");
    expect(p).toContain("Keep it to two waves.");
    expect(p).toContain("do not commit");
  });
  test("hints are optional", () => {
    const { planHints: _h, ...rest } = inputs.planner;
    const q = buildPrompt(rest);
    expect(q).not.toContain("Operator hints");
    expect(q).not.toContain("undefined");
  });
});

describe("architect", () => {
  const p = buildPrompt(inputs.architect);
  test("elaborator-finished after storing the plan", () => {
    expect(signalFiles(p)).toEqual(["elaborator-finished-login-throttle"]);
    expect(p).toContain("kasmos task plan login-throttle --file");
    expect(parseSignalFileName("elaborator-finished-login-throttle")).toMatchObject({ ok: true, signal: { type: "elaborator_finished" } });
  });
  test("includes the plan and its header context", () => {
    expect(p).toContain("<plan>\n# Login Throttling Implementation Plan");
    expect(p).toContain("## Plan context\n**Goal:** stop brute-force logins");
    expect(p).toContain("**Architecture:** token bucket");
  });
});

describe("coder", () => {
  test("single: all tasks, implement-finished", () => {
    const p = buildPrompt(inputs.coderSingle);
    expect(signalFiles(p)).toEqual(["implement-finished-login-throttle"]);
    expect(p).toContain("Implement all 3 task(s)");
    expect(p).toContain("Working directory: /src/api/.worktrees/login-throttle");
    expect(p).toContain("Branch: plan/login-throttle");
    expect(p).toContain("**Goal:** stop brute-force logins");
  });

  test("single with an unparsable plan still reads well", () => {
    const p = buildPrompt({ ...inputs.coderSingle, plan: "just do it" });
    expect(p).toContain("Implement every task");
  });

  test("wave: implement-task-finished-w<N>-t<M>-<task>, the task text and header context", () => {
    const p = buildPrompt(inputs.coderWave);
    expect(signalFiles(p)).toEqual(["implement-task-finished-w2-t3-login-throttle"]);
    expect(parseSignalFileName("implement-task-finished-w2-t3-login-throttle")).toMatchObject({
      ok: true,
      signal: { type: "implement_task_finished", wave: 2, taskNumber: 3, task: TASK },
    });
    expect(p).toContain("task 3 of wave 2");
    expect(p).toContain("Reject with 429 when the bucket is empty.");
    expect(p).toContain("**Goal:** stop brute-force logins");
    expect(p).toContain("only agent in this wave");
    expect(p).not.toContain("<plan>");
  });

  test("wave with peers warns about the shared worktree", () => {
    const p = buildPrompt({ ...inputs.coderWave, peers: 2 });
    expect(p).toContain("2 other agent(s)");
    expect(p).toContain("never `git add -A`");
  });

  test("invalid wave/task numbers are rejected", () => {
    expect(() => buildPrompt({ ...inputs.coderWave, waveNumber: 0 })).toThrow(RangeError);
    expect(() => buildPrompt({ ...inputs.coderWave, taskNumber: 1.5 })).toThrow(RangeError);
    expect(() => buildPrompt({ ...inputs.coderWave, peers: -1 })).toThrow(RangeError);
  });

  test("empty header context adds no context section", () => {
    expect(buildPrompt({ ...inputs.coderWave, headerContext: "" })).not.toContain("Plan context");
  });
});

describe("reviewer", () => {
  const p = buildPrompt(inputs.reviewer);
  test("review-approved or review-changes", () => {
    expect(signalFiles(p)).toEqual(["review-approved-login-throttle", "review-changes-login-throttle"]);
    expect(p).toContain(`printf '%s' 'Approved. <one sentence>' > .kasmos/signals/review-approved-login-throttle`);
    expect(p).toContain("mv .kasmos/signals/.review-changes-login-throttle.tmp .kasmos/signals/review-changes-login-throttle");
    expect(parseSignalFileName(".review-changes-login-throttle.tmp")).toEqual({ ok: false, reason: "hidden" });
  });
  test("round, previous feedback, plan, feedback format", () => {
    expect(p).toContain("review round 2");
    expect(p).toContain(FEEDBACK);
    expect(p).toContain("<plan>");
    expect(p).toContain('"Review round 2"');
    expect(p).toContain("critical / important / minor");
    expect(p).toContain("do not change code");
  });
  test("first round has no previous-feedback section", () => {
    const q = buildPrompt({ ...inputs.reviewer, round: 1, previousFeedback: "  " });
    expect(q).toContain("first round");
    expect(q).not.toContain("Previous feedback");
    expect(q).toContain("review round 1");
  });
});

describe("fixer", () => {
  const p = buildPrompt(inputs.fixer);
  test("implement-finished after fixing", () => {
    expect(signalFiles(p)).toEqual(["implement-finished-login-throttle"]);
    expect(parseSignalFileName(signalNames.implementFinished(TASK))).toMatchObject({ ok: true, signal: { type: "implement_finished" } });
  });
  test("round, feedback and the not-an-implementer limit", () => {
    expect(p).toContain("Current fix round: 2");
    expect(p).toContain(FEEDBACK);
    expect(p).toContain("not an implementer");
  });
  test("empty feedback still gives a job", () => {
    expect(buildPrompt({ ...inputs.fixer, feedback: "" })).toContain("re-run the tests");
  });
});

describe("master", () => {
  const p = buildPrompt(inputs.master);
  test("kasmos signal emit verify_approved / verify_failed with reviewed_sha; no file signals, no review_*", () => {
    expect(p).toContain(`kasmos signal emit verify_approved login-throttle --payload '{"reviewed_sha":"${HEAD}","body":"<one-line summary>"}'`);
    expect(p).toContain(`kasmos signal emit verify_failed login-throttle --payload '{"reviewed_sha":"${HEAD}","body":"<findings>"}'`);
    expect(signalFiles(p)).toEqual([]);
    expect(p).not.toContain("review-approved-");
    expect(p).not.toContain("review-changes-");
  });
  test("commit range, self-fix ceiling, verify cycles, round", () => {
    expect(p).toContain(`${BASE}..${HEAD}`);
    expect(p).toContain("at most 25 changed lines");
    expect(p).toContain("verification cycle 1 of at most 3");
    expect(p).toContain("review round 3");
    expect(p).toContain("git rev-parse HEAD");
  });
  test("last verify cycle asks to fail only for blocking problems", () => {
    expect(buildPrompt({ ...inputs.master, verifyCycle: 3 })).toContain("last cycle");
    expect(p).not.toContain("last cycle");
  });
  test("unresolvable merge-base and missing plan degrade gracefully", () => {
    const { plan: _p, ...rest } = inputs.master;
    const q = buildPrompt({ ...rest, baseSha: "" });
    expect(q).toContain("merge-base could not be resolved");
    expect(q).not.toContain(`..${HEAD}`);
    expect(q).not.toContain("<plan>");
    expect(q).toContain(`"reviewed_sha":"${HEAD}"`);
    for (const bad of ["undefined", "null", "${"]) expect(q).not.toContain(bad);
  });
  test("invalid ceilings are rejected", () => {
    expect(() => buildPrompt({ ...inputs.master, selfFixMaxLines: 0 })).toThrow(RangeError);
    expect(() => buildPrompt({ ...inputs.master, maxVerifyCycles: Number.NaN })).toThrow(RangeError);
  });
});

describe("shell quoting of task names in commands", () => {
  test("unusual characters are single-quoted", () => {
    const p = buildPrompt({ ...inputs.fixer, task: "it's" });
    expect(p).toContain(`touch .kasmos/signals/'implement-finished-it'\\''s'`);
  });
});
