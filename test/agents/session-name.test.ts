// Agent session names are injective over (project, task, title), whatever characters the three hold:
// checked exhaustively over every short tuple of a small alphabet rich in separators, and on random long
// ones; names of simple identities stay what earlier versions used (their sessions are adopted).
import { describe, expect, test } from "bun:test";
import { agentSessionTitle, recordedSessionTitle } from "../../src/agents/session-name.ts";
import { sessionNameFor } from "../../src/agents/tmux.ts";

const name = (p: string, t: string, title: string) => sessionNameFor(agentSessionTitle(p, t, title));

function strings(alphabet: string[], maxLen: number): string[] {
  const out = [""];
  let layer = [""];
  for (let n = 1; n <= maxLen; n++) {
    layer = layer.flatMap((s) => alphabet.map((c) => s + c));
    out.push(...layer);
  }
  return out;
}

/** Names → the first tuple that got each; a second tuple with a name already taken is a collision. */
function collisions(tuples: Iterable<[string, string, string]>): string[] {
  const seen = new Map<string, string>();
  const bad: string[] = [];
  for (const [p, t, title] of tuples) {
    const n = name(p, t, title);
    if (!/^kas_[A-Za-z0-9_-]{1,100}$/.test(n)) bad.push(`${JSON.stringify([p, t, title])} → unusable name ${n}`);
    const key = JSON.stringify([p, t, title]);
    const prev = seen.get(n);
    if (prev !== undefined && prev !== key) bad.push(`${prev} and ${key} → ${n}`);
    else seen.set(n, key);
  }
  return bad;
}

describe("agent session names", () => {
  test("the reported clash: project a--b task c and project a task b--c get different sessions", () => {
    expect(name("a--b", "c", "c-plan")).not.toBe(name("a", "b--c", "b--c-plan"));
    expect(name("a-", "b", "b-plan")).not.toBe(name("a", "-b", "-b-plan"));
  });

  test("simple identities keep the names earlier versions gave them", () => {
    expect(name("web", "fix-login", "fix-login-plan")).toBe("kas_web--fix-login-plan");
    expect(name("my_app", "t1", "t1-W2-T13")).toBe("kas_my_app--t1-W2-T13");
    expect(name("p", "x", "x-review-3")).toBe("kas_p--x-review-3");
  });

  test("exhaustive: every tuple over {a, -, ., ~} (projects up to 4 characters, tasks up to 3; titles <task>-<role> and arbitrary)", () => {
    const parts = strings(["a", "-", ".", "~"], 4);
    const tasks = strings(["a", "-", ".", "~"], 3);
    const suffixes = ["plan", "fix-1", "W1-T1", "a", "-plan", ""];
    function* tuples(): Generator<[string, string, string]> {
      for (const p of parts) {
        for (const t of tasks) {
          for (const s of suffixes) yield [p, t, `${t}-${s}`];
          yield [p, t, t];
        }
      }
      // Titles that are not <task>-<suffix> at all, for a few projects and tasks.
      for (const p of parts.slice(0, 30)) for (const t of ["a", "a-", "-a"]) for (const title of parts) yield [p, t, title];
    }
    expect(collisions(tuples())).toEqual([]);
  }, 120_000);

  test("random tuples with any characters, long ones included, never collide", () => {
    const chars = ["a", "b", "-", "--", "_", ".", "~", " ", "é", "日", "/", ":", "0"];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const gen = (max: number) => Array.from({ length: rand(max) }, () => chars[rand(chars.length)]).join("");
    const tuples: [string, string, string][] = [];
    for (let i = 0; i < 20_000; i++) {
      const p = gen(i % 10 === 0 ? 80 : 6);
      const t = gen(i % 7 === 0 ? 120 : 6);
      tuples.push([p, t, rand(2) === 0 ? `${t}-plan` : gen(8)]);
    }
    expect(collisions(tuples)).toEqual([]);
  }, 60_000);

  test("an agent an earlier version started under its old name is still found under that name; new ones get the new name", () => {
    // Task a.b: the earlier version named its planner's session from "web--a.b-plan" (sanitised + hashed).
    const old = sessionNameFor("web--a.b-plan");
    expect(recordedSessionTitle({ project: "web", task: "a.b", title: "a.b-plan", session: old })).toBe("web--a.b-plan");
    const fresh = name("web", "a.b", "a.b-plan");
    expect(fresh).not.toBe(old);
    expect(recordedSessionTitle({ project: "web", task: "a.b", title: "a.b-plan", session: fresh })).toBe(agentSessionTitle("web", "a.b", "a.b-plan"));
    // Simple identities: one name, old and new.
    expect(recordedSessionTitle({ project: "web", task: "t", title: "t-plan", session: "kas_web--t-plan" })).toBe("web--t-plan");
  });
});
