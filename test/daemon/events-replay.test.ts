// A replay of /v1/events from 0 yields to the rest of the daemon: a reader that drains the stream as
// fast as it is filled (Bun's HTTP writer into a fast socket does) must not turn the replay into one
// chain of pulls and reads that never leaves the event loop's current turn (other clients' requests,
// timers and signal work wait for the whole replay: /v1/ping p99 ×6 during a 600 k-event one).
import { expect, test } from "bun:test";
import { recordAudit } from "../../src/store/audit.ts";
import { openStore, writeTx } from "../../src/store/db.ts";
import { EventHub } from "../../src/engine/events.ts";

test("a replay from 0 is read a little per turn of the event loop, and delivers every event in order", async () => {
  const ROWS = 30_000;
  const db = openStore(":memory:");
  const hub = new EventHub(db);
  let ticking = true;
  try {
    writeTx(db, () => {
      for (let i = 0; i < ROWS; i++) recordAudit(db, { kind: "plan_transition", project: "p", task: `t${i % 50}`, message: `row ${i}` });
    });
    // Events that arrived between two runs of a timer: the most the replay did in one turn.
    let sinceTick = 0;
    let worstTurn = 0;
    const tick = (): void => {
      worstTurn = Math.max(worstTurn, sinceTick);
      sinceTick = 0;
      if (ticking) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const reader = hub.stream(0, {}).getReader();
    const dec = new TextDecoder();
    let last = 0;
    let ordered = true;
    let ids = 0;
    const deadline = performance.now() + 60_000;
    while (ids < ROWS && performance.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const m of dec.decode(value).matchAll(/^id: (\d+)$/gm)) {
        const id = Number(m[1]);
        if (id !== last + 1) ordered = false;
        last = id;
        ids++;
        sinceTick++;
      }
    }
    worstTurn = Math.max(worstTurn, sinceTick);
    await reader.cancel();
    expect(ids).toBe(ROWS);
    expect(ordered).toBe(true);
    // ~0.5 ms of reading per turn (a page or a few); the old stream sent all 30,000 in one turn.
    expect(worstTurn).toBeLessThan(ROWS / 4);
  } finally {
    ticking = false;
    hub.close();
    db.close();
  }
}, 120_000);
