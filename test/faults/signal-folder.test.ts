// A signals folder whose files cannot be removed (chattr +i on the folder: even root cannot unlink
// in it). Each signal must still apply exactly once, the failure is logged once per file (not on
// every pass), the burst logic must not spin on files it cannot finish, and once the folder is
// writable again the files are finished from their recorded rows.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../src/store/db.ts";
import { createTask } from "../../src/store/tasks.ts";
import { applyTaskUpdate } from "../../src/store/task-update.ts";
import { makeGitRepo, ping, Sandbox, waitFor } from "../helpers/env.ts";

const N = 24; // over the 16-file burst threshold
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

let sb: Sandbox;
let locked: string | null = null;

function sh(...argv: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

beforeEach(() => {
  sb = new Sandbox("kf-");
});
afterEach(async () => {
  if (locked) sh("chattr", "-i", locked);
  locked = null;
  await sb.cleanup();
});

test("files that cannot be removed: applied once, logged once each, no back-to-back scanning; finished once removable", async () => {
  expect(isRoot ? null : "not root").toBeNull();
  const repo = makeGitRepo(sb.dir, "stuck");
  const sig = join(repo, ".kasmos", "signals");
  for (const sub of ["processing", "failed"]) mkdirSync(join(sig, sub), { recursive: true });
  const store = openStore(join(sb.configDir, "kasmos.db"));
  store.transaction(() => {
    for (let i = 0; i < N; i++) {
      createTask(store, { project: "stuck", name: `t${i}`, branch: `plan/t${i}`, content: "## Wave 1: a\n### Task 1: one\ndo it\n" });
      applyTaskUpdate(store, "stuck", `t${i}`, { status: "reviewing" });
    }
  })();
  store.close();
  for (let i = 0; i < N; i++) writeFileSync(join(sig, `review-changes-t${i}`), "fix it\n");
  const lock = sh("chattr", "+i", sig);
  expect(lock.code, `chattr +i unsupported here: ${lock.out}`).toBe(0);
  locked = sig;

  sb.writeConfig(["poll_interval_sec = 0.2", "auto_review_fix = false"].join("\n"));
  const daemon = await sb.foreground();
  let log = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of daemon.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
  const transitions = () => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'plan_transition'")[0]!.n;
  await waitFor(() => transitions() === N, 15_000, `${N} transitions`);
  // Several timer passes find the same files again.
  await Bun.sleep(1500);
  expect(transitions()).toBe(N);
  expect(sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM signals")[0]!.n).toBe(N);
  expect(readdirSync(sig).filter((n) => n.startsWith("review-changes-"))).toHaveLength(N);
  expect(await ping(sb.socket)).toBe(true);
  const metrics = await (await fetch("http://kasmos/v1/metrics", { unix: sb.socket })).text();
  const eventPasses = Number(/kasmos_scan_duration_seconds_count\{kind="event"\} (\d+)/.exec(metrics)?.[1] ?? "NaN");
  expect(eventPasses).toBeLessThan(50); // not spinning (a spin would be thousands in 1.5 s)

  sh("chattr", "-i", sig);
  locked = null;
  await waitFor(() => readdirSync(sig).filter((n) => n.startsWith("review-changes-")).length === 0, 10_000, "the files to be finished from their rows");
  expect(transitions()).toBe(N); // finished, never re-applied
  // The drain ends one scan after the folder is empty: wait for it rather than race it.
  await waitFor(() => log.includes("burst drained"), 10_000, "the burst after the unlock to be reported drained");

  daemon.kill("SIGTERM");
  expect(await daemon.exited).toBe(0);
  await reading;
  const errors = log.split("\n").filter((l) => l.includes("cannot be removed"));
  expect(errors).toHaveLength(N); // once per file, not once per pass
  // The only burst is the one that could make progress: all files finished at once after the unlock.
  expect(log.split("\n").filter((l) => l.includes("burst drained"))).toEqual([expect.stringMatching(/stuck: burst drained: 24 signal files in \d+ scans/)]);
}, 60_000);
