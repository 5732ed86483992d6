import { describe, expect, test } from "bun:test";
import { extractMetadata, hasWaveHeaders, headerContext, parsePlan, taskCount, type ParsedPlan } from "../../src/lifecycle/plan-parser.ts";

const EXAMPLE = `# Login Throttling Implementation Plan

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

function ok(md: string): ParsedPlan {
  const r = parsePlan(md);
  if (!r.ok) throw new Error(`expected a plan, got: ${r.error}`);
  return r.plan;
}

function err(md: string): string {
  const r = parsePlan(md);
  if (r.ok) throw new Error("expected a parse error");
  return r.error;
}

describe("the example plan", () => {
  test("metadata, waves, titles, bodies and global numbering", () => {
    const plan = ok(EXAMPLE);
    expect(plan.goal).toBe("stop brute-force logins by throttling failed attempts per account.");
    expect(plan.architecture).toBe("token bucket stored in SQLite, checked by auth middleware.");
    expect(plan.techStack).toBe("TypeScript, Bun, bun:sqlite");
    expect(plan.waves).toEqual([
      {
        number: 1,
        title: "storage",
        tasks: [
          { number: 1, title: "bucket table", body: "**Files:** Create `src/throttle/store.ts`\nWrite failing tests for refill math, then implement." },
          { number: 2, title: "config keys", body: "Add `throttle.capacity` and `throttle.refillPerMin`." },
        ],
      },
      { number: 2, title: "enforcement", tasks: [{ number: 3, title: "middleware", body: "Reject with 429 when the bucket is empty." }] },
    ]);
    expect(taskCount(plan)).toBe(3);
  });

  test("CRLF line endings parse the same", () => {
    expect(ok(EXAMPLE.replaceAll("\n", "\r\n")).waves.map((w) => w.tasks.map((t) => t.title))).toEqual([["bucket table", "config keys"], ["middleware"]]);
  });
});

describe("plan grammar cases", () => {
  test("85: empty content", () => {
    expect(err("")).toBe("empty plan content");
    expect(err("  \n\t\n")).toBe("empty plan content");
  });

  test("83: tasks without any wave heading", () => {
    expect(err("# Plan\n\nsome prose\n")).toBe("no wave headers found in plan; add ## Wave N sections before implementing");
  });

  test("84: draft with metadata but no waves", () => {
    const draft = "# Draft\n**Goal:** ship it\n**Tech Stack:** Bun\n\nthoughts…\n";
    expect(extractMetadata(draft)).toEqual({ goal: "ship it", architecture: "", techStack: "Bun" });
    expect(hasWaveHeaders(draft)).toBe(false);
    expect(err(draft)).toBe("no wave headers found in plan; add ## Wave N sections before implementing");
    expect(hasWaveHeaders(EXAMPLE)).toBe(true);
  });

  test("86: every separator parses; backticks kept; single task is number 1", () => {
    const md = [
      "## Wave 1",
      "### Task 7: colon",
      "### Task 8 — em dash",
      "### Task 9 – en dash",
      "### Task 10 - hyphen",
      "### Task 11:no space",
      "### Task 12: use `bun test` here",
    ].join("\n");
    const plan = ok(md);
    expect(plan.waves[0]?.tasks.map((t) => [t.number, t.title])).toEqual([
      [1, "colon"],
      [2, "em dash"],
      [3, "en dash"],
      [4, "hyphen"],
      [5, "no space"],
      [6, "use `bun test` here"],
    ]);
    expect(ok("## Wave 1\n### Task 5: only").waves[0]?.tasks[0]?.number).toBe(1);
  });

  test("87: ### Wave + #### Task headings", () => {
    const plan = ok("### Wave 1: a\n#### Task 1: one\nbody one\n### Wave 2\n#### Task 1: two\n");
    expect(plan.waves.map((w) => [w.number, w.title, w.tasks.map((t) => [t.number, t.title, t.body])])).toEqual([
      [1, "a", [[1, "one", "body one"]]],
      [2, "", [[2, "two", ""]]],
    ]);
  });

  test("88: per-wave numbering becomes global; global numbering unchanged", () => {
    const perWave = "## Wave 1\n### Task 1: a\n### Task 2: b\n## Wave 2\n### Task 1: c\n### Task 2: d\n";
    const global = "## Wave 1\n### Task 1: a\n### Task 2: b\n## Wave 2\n### Task 3: c\n### Task 4: d\n";
    const nums = (p: ParsedPlan) => p.waves.flatMap((w) => w.tasks.map((t) => t.number));
    expect(nums(ok(perWave))).toEqual([1, 2, 3, 4]);
    expect(nums(ok(global))).toEqual([1, 2, 3, 4]);
  });
});

describe("bodies and sections", () => {
  test("text before the first task of a wave is not a task; trailing sections end up in the last body", () => {
    const plan = ok("## Wave 1\nintro text\n### Task 1: a\nline a\n\n## Notes\nnote text\n");
    expect(plan.waves[0]?.tasks).toEqual([{ number: 1, title: "a", body: "line a\n\n## Notes\nnote text" }]);
  });

  test("headings inside fenced code are text, not waves or tasks", () => {
    const md = "## Wave 1\n### Task 1: document the grammar\n```markdown\n## Wave 9: example\n### Task 2\n```\nend\n";
    const plan = ok(md);
    expect(plan.waves).toHaveLength(1);
    expect(plan.waves[0]?.tasks).toHaveLength(1);
    expect(plan.waves[0]?.tasks[0]?.body).toBe("```markdown\n## Wave 9: example\n### Task 2\n```\nend");
  });

  test("level-4 'Wave' and prose 'Task list' headings are body text", () => {
    const plan = ok("## Wave 1\n### Task 1: a\n#### Wave 1 risks\n### Task list\n");
    expect(plan.waves[0]?.tasks[0]?.body).toBe("#### Wave 1 risks\n### Task list");
  });

  test("metadata: first occurrence wins, fenced examples ignored, header context renders non-empty fields", () => {
    const md = "```\n**Goal:** fake\n```\n**Goal:**  real goal  \n**Goal:** second\n**Architecture:** arch\n";
    const meta = extractMetadata(md);
    expect(meta).toEqual({ goal: "real goal", architecture: "arch", techStack: "" });
    expect(headerContext(meta)).toBe("**Goal:** real goal\n**Architecture:** arch");
  });
});

describe("errors name the line", () => {
  const cases: [string, string, RegExp][] = [
    ["wave number with letters", "# P\n\n## Wave 1a\n### Task 1: x\n", /^line 3: malformed wave heading "## Wave 1a": the wave number must be followed/],
    ["wave without number", "## Wave: setup\n### Task 1: x\n", /^line 1: malformed wave heading "## Wave: setup": expected a whole wave number/],
    ["lower-case wave", "intro\n## wave 1\n", /^line 2: malformed wave heading "## wave 1": write "Wave" with a capital W/],
    ["level-1 wave", "# Wave 1\n", /^line 1: malformed wave heading "# Wave 1": wave headings use "##" or "###"/],
    ["no space after hashes", "##Wave 1\n", /^line 1: malformed wave heading "##Wave 1": put exactly one space after "##"/],
    ["task without title", "## Wave 1\n### Task 1: a\n### Task 2\n", /^line 3: malformed task heading "### Task 2": expected a separator/],
    ["task with empty title", "## Wave 1\n### Task 2:   \n", /^line 2: malformed task heading "### Task 2:": the task title is empty/],
    ["non-numeric task", "## Wave 1\n### Task x: y\n", /^line 2: malformed task heading "### Task x: y": expected a whole task number/],
    ["task without separator", "## Wave 1\n### Task 1 do it\n", /^line 2: malformed task heading "### Task 1 do it": expected a separator/],
    ["level-2 task", "## Wave 1\n## Task 1: x\n", /^line 2: malformed task heading "## Task 1: x": task headings use "###" or "####"/],
    ["lower-case task", "## Wave 1\n### task 1: x\n", /^line 2: malformed task heading "### task 1: x": write "Task" with a capital T/],
  ];
  for (const [name, md, re] of cases) {
    test(name, () => {
      const e = err(md);
      expect(e).toMatch(re);
      expect(e).toContain("expected");
    });
  }

  test("task heading before the first wave", () => {
    expect(err("# Plan\n### Task 1: early\n## Wave 1\n### Task 2: x\n")).toBe("line 2: task heading before the first wave");
  });

  test("a wave with zero tasks names its heading line", () => {
    expect(err("## Wave 1: a\n### Task 1: x\n\n## Wave 2: empty\nnothing here\n")).toBe("line 4: wave 2 has no tasks");
    expect(err("## Wave 1: a\n## Wave 2\n### Task 1: x\n")).toBe("line 1: wave 1 has no tasks");
  });

  test("duplicate wave numbers name both lines", () => {
    expect(err("## Wave 1\n### Task 1: a\n## Wave 1\n### Task 2: b\n")).toBe("line 3: duplicate wave 1 (already defined on line 1)");
  });

  test("waves out of order or not starting at 1", () => {
    expect(err("## Wave 2\n### Task 1: a\n")).toMatch(/^line 1: wave 2 is out of order; expected wave 1/);
    expect(err("## Wave 1\n### Task 1: a\n## Wave 3\n### Task 2: b\n")).toMatch(/^line 3: wave 3 is out of order; expected wave 2/);
    expect(err("## Wave 0\n### Task 1: a\n")).toMatch(/^line 1: wave 0 is out of order; expected wave 1/);
  });

  test("the first problem in document order wins", () => {
    expect(err("## Wave 1\n### Task 1: a\n### Task 2\n## Wave 1a\n")).toMatch(/^line 3: /);
  });
});
