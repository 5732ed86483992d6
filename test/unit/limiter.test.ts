// Limiter: at most `size` jobs at once, the rest in arrival order, a slot freed however a job ends.
import { describe, expect, test } from "bun:test";
import { Limiter } from "../../src/util/limiter.ts";

describe("Limiter", () => {
  test("runs at most size jobs at once, in arrival order, and frees a slot when a job throws", async () => {
    const lim = new Limiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: (() => void)[] = [];
    const job = (i: number) =>
      lim.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise<void>((r) => gates.push(r));
        running--;
        if (i === 1) throw new Error("job 1 failed");
        return i;
      });
    const all = [0, 1, 2, 3, 4].map((i) => job(i).catch((e: unknown) => (e as Error).message));
    for (let k = 0; k < 10 && gates.length < 2; k++) await Bun.sleep(1);
    expect(order).toEqual([0, 1]);
    expect(lim.busy).toBe(5);
    // Release jobs one at a time (bounded: 5 jobs).
    for (let done = 0; done < 5; done++) {
      for (let k = 0; k < 100 && gates.length === 0; k++) await Bun.sleep(1);
      gates.shift()?.();
    }
    expect(await Promise.all(all)).toEqual([0, "job 1 failed", 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(lim.busy).toBe(0);
  });
});
