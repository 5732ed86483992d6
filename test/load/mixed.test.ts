// Short mixed-load run in the normal suite (bounded: ~25 s, timeout 60 s): 20 concurrent API clients for
// 10 s over GET /v1/status, GET /v1/repos/<p>/tasks, GET /v1/metrics and POST /v1/repos/<p>/signals,
// mixed with review-changes signal files written at 200/s over 20 repos. The scenario lives in
// bench/load-mixed.ts (`bun bench/run.ts load-mixed` is the 60 s / 50-client version); its sandbox
// kills the daemon by PID (SIGTERM, then SIGKILL) and removes the temp dir in every case.
import { expect, test } from "bun:test";
import "../helpers/env.ts"; // fails fast when dist/kasmos is missing
import { runLoad } from "../../bench/load-mixed.ts";

test("mixed load: 20 clients × 10 s + signal storm over 20 repos — no errors, nothing lost, no RSS leak", async () => {
  const r = await runLoad({ seconds: 10, clients: 20, repos: 20, fileRate: 200, apiSignalsPerRepo: 10, coolDownMs: 5_000, commitDeadlineMs: 15_000 });
  const expected = r.filesWritten + r.apiPosted;

  expect(r.firstErrors).toEqual([]);
  expect(r.errors).toBe(0);
  expect(r.requests).toBeGreaterThan(500);
  expect(r.groups.signals.requests).toBeGreaterThan(0);
  expect(r.filesWritten).toBeGreaterThanOrEqual(1_500);

  // Every file and API signal committed; nothing failed or left behind.
  expect(r.committed).toBe(expected);
  expect(r.failedRows).toBe(0);
  expect(r.filesLeft).toBe(0);
  expect(r.tasksMoved).toBe(expected);
  expect(r.transitions).toBe(expected);

  // The daemon answered afterwards (the sandbox then stops it by PID: SIGTERM, then SIGKILL).
  expect(r.answersAfter).toBe(true);

  // Latency bounded (generous: shared 2-core machine) and memory back near the baseline.
  for (const g of Object.values(r.groups)) expect(g.max).toBeLessThan(5_000);
  expect(r.rssAfterSettle).toBeLessThanOrEqual(r.rssBaseline + 40);
}, 60_000);
