// The scan loop in-process: passes never overlap, kicks coalesce and target one repo, a slow repo
// does not block the event loop (the API shares it), and errors are contained per repo.
import { describe, expect, test } from "bun:test";
import { createConsola } from "consola";
import { ScanLoop } from "../../src/engine/scan-loop.ts";
import type { RepoEntry } from "../../src/engine/repos.ts";

const repo = (project: string): RepoEntry => ({ project, path: `/x/${project}`, source: "api", problem: null });
const quiet = createConsola({ level: -999 });

describe("ScanLoop", () => {
  test("passes never overlap; a slow repo does not stall timers; errors stay per repo", async () => {
    let active = 0;
    let maxActive = 0;
    const seen: string[] = [];
    const loop = new ScanLoop(
      20,
      () => [repo("slow"), repo("bad"), repo("ok")],
      async (r) => {
        active++;
        maxActive = Math.max(maxActive, active);
        seen.push(r.project);
        try {
          if (r.project === "slow") await Bun.sleep(120);
          if (r.project === "bad") throw new Error("boom");
        } finally {
          active--;
        }
      },
      quiet,
    );
    loop.start();
    // While "slow" sleeps, the event loop (and so the API) keeps running on time.
    const lags: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await Bun.sleep(10);
      lags.push(performance.now() - t0 - 10);
    }
    await Bun.sleep(400);
    await loop.stop();
    expect(maxActive).toBe(1);
    expect(seen.filter((p) => p === "ok").length).toBeGreaterThanOrEqual(2); // "bad" throwing never stops "ok"
    expect(loop.ticks).toBeGreaterThanOrEqual(2);
    expect(Math.max(...lags)).toBeLessThan(100); // generous: only detects a blocked loop
  });

  test("kick runs a pass over just that repo, and coalesces kicks made during a pass", async () => {
    const seen: string[] = [];
    const loop = new ScanLoop(
      60_000,
      () => [repo("a"), repo("b")],
      async (r, reason) => {
        seen.push(`${r.project}:${reason}`);
        await Bun.sleep(30);
      },
      quiet,
    );
    loop.start();
    loop.kick("b");
    await Bun.sleep(5);
    for (let i = 0; i < 50; i++) loop.kick("a"); // during the pass: one follow-up
    await Bun.sleep(150);
    await loop.stop();
    expect(seen).toEqual(["b:event", "a:event"]);
    expect(loop.eventPasses).toBe(2);
    expect(loop.ticks).toBe(0);
  });

  test("a repo kicked during a timer pass is served between two repos, not after the whole pass", async () => {
    const seen: string[] = [];
    let ticked = false;
    const loop = new ScanLoop(
      30,
      () => [repo("a"), repo("b"), repo("c"), repo("x")],
      async (r, reason) => {
        if (reason === "timer" && ticked) return; // one timer pass is enough
        seen.push(`${r.project}:${reason}`);
        if (reason === "timer") {
          if (r.project === "a") setTimeout(() => loop.kick("x"), 10); // lands while "a" is scanned
          await Bun.sleep(40);
          if (r.project === "x") ticked = true;
        }
      },
      quiet,
    );
    loop.start();
    for (let i = 0; i < 100 && !ticked; i++) await Bun.sleep(10);
    await loop.stop();
    expect(seen.slice(0, 5)).toEqual(["a:timer", "x:event", "b:timer", "c:timer", "x:timer"]);
    expect(loop.eventPasses).toBe(1);
  });

  test("setInterval changes the cadence; stop waits for the pass in flight", async () => {
    let n = 0;
    let finished = false;
    const loop = new ScanLoop(
      1000,
      () => [repo("a")],
      async () => {
        n++;
        await Bun.sleep(50);
        finished = true;
      },
      quiet,
    );
    loop.start();
    loop.setInterval(10);
    await Bun.sleep(100);
    expect(n).toBeGreaterThanOrEqual(1);
    finished = false;
    loop.kick();
    await Bun.sleep(5);
    await loop.stop();
    expect(finished).toBe(true);
  });
});

describe("ScanLoop idle check", () => {
  test("a repo the idle hook vouches for is skipped without its async work; the others are scanned", async () => {
    const worked: string[] = [];
    const asked: string[] = [];
    const loop = new ScanLoop(
      10_000,
      () => [repo("quiet"), repo("busy")],
      async (r) => {
        worked.push(r.project);
      },
      quiet,
      {
        idle: (r, reason) => {
          asked.push(`${r.project}:${reason}`);
          return r.project === "quiet";
        },
      },
    );
    loop.start();
    loop.kick();
    for (let i = 0; i < 100 && worked.length === 0; i++) await Bun.sleep(10);
    await loop.stop();
    expect(asked).toEqual(["quiet:timer", "busy:timer"]);
    expect(worked).toEqual(["busy"]);
  });
});
