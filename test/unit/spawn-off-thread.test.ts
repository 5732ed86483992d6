// runOffThread: the daemon starts git and tmux from a worker thread (a spawn blocks its thread until
// the child execs: 12–26 ms at p90/max on a loaded machine, per process, during a start storm). Same
// answers as a spawn in place: output, exit code, stdin, environment, working directory, timeout, a
// missing program; and the caller's event loop keeps running while many processes start.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { runOffThread, startProcessesOffThread } from "../../src/util/spawn-off-thread.ts";

beforeAll(() => startProcessesOffThread(true));
afterAll(() => startProcessesOffThread(false));

test("output, exit status, stdin, env and cwd come back as from a spawn in place", async () => {
  const r = await runOffThread(["sh", "-c", 'read line; echo "$line $KT_X $(pwd)"; echo err >&2; exit 3'], { stdin: "from-stdin\n", env: { PATH: process.env.PATH, KT_X: "env-x" }, cwd: tmpdir(), timeoutMs: 10_000 });
  expect(r).toEqual({ code: 3, stdout: `from-stdin env-x ${tmpdir()}\n`, stderr: "err\n", timedOut: false });
}, 30_000);

test("a child past its timeout is killed and says so; a missing program rejects", async () => {
  const r = await runOffThread(["sh", "-c", "exec sleep 30"], { timeoutMs: 200 });
  expect(r.timedOut).toBe(true);
  expect(r.code).not.toBe(0);
  let err: unknown = null;
  try {
    await runOffThread(["/nonexistent/kasmos-no-such-program"], { timeoutMs: 5_000 });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(Error);
}, 30_000);

test("fifty processes at once: every answer arrives, each with its own output", async () => {
  const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => runOffThread(["sh", "-c", `echo ${i}`], { timeoutMs: 20_000 })));
  expect(rs.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
}, 60_000);
