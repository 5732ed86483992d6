// Budget verdicts (pure).
import { describe, expect, test } from "bun:test";
import { checkBudget, NO_BASE, parseBase } from "../../src/lifecycle/budget.ts";

const limits = (o: Partial<{ task_usd: number; task_tokens: number; day_usd: number }>) => ({ task_usd: 0, task_tokens: 0, day_usd: 0, ...o });
const day = { usd: 0, date: "2026-12-02" };

describe("checkBudget", () => {
  test("no limits: ok; under 80 %: ok; from 80 %: warn; at the limit: over (over beats warn)", () => {
    expect(checkBudget({ usd: 5, tokens: 5 }, NO_BASE, day, limits({}))).toEqual({ state: "ok" });
    expect(checkBudget({ usd: 0.7, tokens: 0 }, NO_BASE, day, limits({ task_usd: 1 })).state).toBe("ok");
    expect(checkBudget({ usd: 0.8, tokens: 0 }, NO_BASE, day, limits({ task_usd: 1 }))).toMatchObject({ state: "warn", limit: "task_usd" });
    expect(checkBudget({ usd: 1, tokens: 0 }, NO_BASE, day, limits({ task_usd: 1 }))).toMatchObject({ state: "over", limit: "task_usd" });
    expect(checkBudget({ usd: 0.9, tokens: 1000 }, NO_BASE, day, limits({ task_usd: 1, task_tokens: 1000 }))).toMatchObject({ state: "over", limit: "task_tokens" });
  });

  test("unknown cost never trips a USD budget; a resume's base gives a fresh allowance; a day hold lifted for that day", () => {
    expect(checkBudget({ usd: null, tokens: 0 }, NO_BASE, day, limits({ task_usd: 0.01 })).state).toBe("ok");
    const base = { usd: 1, tokens: 0, at: "2026-12-02T10:00:00Z", day: "" };
    expect(checkBudget({ usd: 1.5, tokens: 0 }, base, day, limits({ task_usd: 1 })).state).toBe("ok");
    expect(checkBudget({ usd: 2, tokens: 0 }, base, day, limits({ task_usd: 1 })).state).toBe("over");
    expect(checkBudget({ usd: 0, tokens: 0 }, NO_BASE, { usd: 50, date: "2026-12-02" }, limits({ day_usd: 40 }))).toMatchObject({ state: "over", limit: "day_usd" });
    expect(checkBudget({ usd: 0, tokens: 0 }, { ...NO_BASE, day: "2026-12-02" }, { usd: 50, date: "2026-12-02" }, limits({ day_usd: 40 })).state).toBe("ok");
    expect(checkBudget({ usd: 0, tokens: 0 }, { ...NO_BASE, day: "2026-12-01" }, { usd: 50, date: "2026-12-02" }, limits({ day_usd: 40 })).state).toBe("over");
    expect(parseBase("not json")).toEqual(NO_BASE);
  });
});

describe("garbage never holds nor lifts a limit", () => {
  test("a spend that is not a number is ignored; a base that is not a believable number reads as 0", () => {
    expect(checkBudget({ usd: Number.POSITIVE_INFINITY, tokens: Number.NaN }, NO_BASE, day, limits({ task_usd: 1, task_tokens: 10 })).state).toBe("ok");
    expect(checkBudget({ usd: 5, tokens: 0 }, { ...NO_BASE, usd: Number.NaN }, day, limits({ task_usd: 1 })).state).toBe("ok"); // NaN base: used is NaN
    expect(parseBase(JSON.stringify({ usd: 1e308, tokens: 1e308, at: "x", day: "" }))).toMatchObject({ usd: 0, tokens: 0 });
    expect(parseBase('{"usd": 1e999, "tokens": -3, "at": "x", "day": ""}')).toEqual({ usd: 0, tokens: 0, at: "x", day: "" });
  });
});
