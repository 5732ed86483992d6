// A SIGHUP right after `daemon start --foreground` (a reload sent by a service manager or a script
// that started it) must not kill the daemon: before the fix 8 of 20 starts died with status 129. What
// is left is the runtime's own start (~5–8 ms here, before any code of ours runs), where the kernel's
// default action applies.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { BIN, ping, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

test("SIGHUP within the first milliseconds of a foreground start: the daemon lives and answers", async () => {
  for (const delay of [15, 20, 30, 40, 50, 80]) {
    const proc = Bun.spawn([BIN, "daemon", "start", "--foreground"], { env: sb.env, cwd: sb.dir, stdout: "ignore", stderr: "ignore", stdin: "ignore" });
    sb.track(proc.pid);
    await Bun.sleep(delay);
    proc.kill("SIGHUP");
    await waitFor(async () => proc.exitCode !== null || proc.signalCode !== null || (await ping(sb.socket)), 15_000, "the daemon to answer");
    expect({ delay, exit: proc.exitCode, signal: proc.signalCode }).toEqual({ delay, exit: null, signal: null });
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  }
}, 120_000);
