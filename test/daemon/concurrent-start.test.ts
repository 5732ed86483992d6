// Several `kas daemon start` at the same instant (a login script and a service, a user double-starting):
// exactly one daemon, every loser prints one line naming it, exit 1 — no raw EADDRINUSE, no log tail,
// and the winner's socket is never unlinked by a loser.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { BIN, ping, Sandbox } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

test("6 concurrent starts: one daemon, five one-line 'daemon already running (pid N)'", async () => {
  for (let round = 0; round < 3; round++) {
    const procs = Array.from({ length: 6 }, () => Bun.spawn([BIN, "daemon", "start"], { env: sb.env, cwd: sb.dir, stdout: "pipe", stderr: "pipe", stdin: "ignore" }));
    for (const p of procs) sb.track(p.pid);
    const out = await Promise.all(procs.map(async (p) => ({ code: await p.exited, text: `${await new Response(p.stdout).text()}${await new Response(p.stderr).text()}`.trim() })));
    const pid = sb.daemonPid();
    expect(pid).not.toBeNull();
    expect(out.filter((o) => o.code === 0).map((o) => o.text)).toEqual([`daemon started (pid ${pid})`]);
    expect(out.filter((o) => o.code !== 0).map((o) => o.text)).toEqual(Array(5).fill(`daemon already running (pid ${pid})`));
    expect(await ping(sb.socket)).toBe(true);
    const stop = await sb.run(["daemon", "stop"]);
    expect(stop.code).toBe(0);
  }
}, 90_000);
