// Daemon start with many registered repos: 10, 300 and 500 repos (git init each, registered in the
// store as `kas daemon add` leaves them), then `kasmos daemon start --foreground` → first answer of
// /v1/ping (polled every 5 ms), the median of a few starts; and → every repo claimed (status shows no
// repo `claiming`; a daemon without that state has claimed them all before it answers). Targets: ≤ 300 ms
// at 500 repos, and ≤ 1.5× the 10-repo figure.
// Sizes: KASMOS_BENCH_START_REPOS (10,300,500), KASMOS_BENCH_START_RUNS (3).
import { join } from "node:path";
import { openStore } from "../src/store/db.ts";
import { ensureProjectKey } from "../src/store/project-keys.ts";
import { insertStoredRepo } from "../src/store/repos.ts";
import { type BenchResult, envInt, type Figure, percentile, round, Sandbox, waitFor } from "./lib.ts";
import { getJson, gitInit, storeFile } from "./signal-lib.ts";

interface Start {
  answerMs: number;
  claimedMs: number;
}

async function startOnce(repos: string[]): Promise<Start> {
  const sb = new Sandbox("kbS-");
  try {
    const db = openStore(storeFile(sb));
    try {
      db.transaction(() => {
        for (const r of repos) insertStoredRepo(db, ensureProjectKey(db, r), r);
      }).immediate();
    } finally {
      db.close();
    }
    const t0 = performance.now();
    const d = await sb.startDaemon({}, { timeoutMs: 120_000, pollMs: 5 });
    const answerMs = performance.now() - t0;
    await waitFor(async () => {
      const s = await getJson<{ repos: { state?: string }[] }>(d.socket, "/v1/status");
      return s.repos.length === repos.length && s.repos.every((r) => r.state !== "claiming");
    }, 120_000, "every repo claimed", 10);
    const claimedMs = performance.now() - t0;
    await sb.stop(d.pid);
    return { answerMs, claimedMs };
  } finally {
    await sb.cleanup();
  }
}

export async function run(): Promise<BenchResult> {
  const sizes = (process.env.KASMOS_BENCH_START_REPOS ?? "10,300,500").split(",").map(Number).filter((n) => n > 0);
  const runs = envInt("KASMOS_BENCH_START_RUNS", 3);
  const holder = new Sandbox("kbR-");
  try {
    const all = Array.from({ length: Math.max(...sizes) }, (_, i) => join(holder.dir, "repos", `r${String(i).padStart(3, "0")}`));
    for (const r of all) gitInit(r);
    const med = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
    const results = new Map<number, { answer: number; claimed: number; answers: number[] }>();
    for (const n of sizes) {
      const starts: Start[] = [];
      for (let i = 0; i < runs; i++) starts.push(await startOnce(all.slice(0, n)));
      results.set(n, { answer: med(starts.map((s) => s.answerMs)), claimed: med(starts.map((s) => s.claimedMs)), answers: starts.map((s) => round(s.answerMs, 0)) });
    }
    const smallest = results.get(Math.min(...sizes))!;
    const figures: Figure[] = [];
    for (const [n, r] of results) {
      const big = n === Math.max(...sizes) && n >= 500;
      figures.push({
        label: `start → first answer, ${n} repos (median of ${runs})`,
        value: round(r.answer, 0),
        unit: `ms (runs: ${r.answers.join(", ")}; ×${round(r.answer / smallest.answer, 2)} the ${Math.min(...sizes)}-repo figure)`,
        ...(big ? { target: "≤ 300 ms and ≤ 1.5× the 10-repo figure", pass: r.answer <= 300 && r.answer <= 1.5 * smallest.answer } : {}),
      });
      figures.push({ label: `start → every repo claimed, ${n} repos (median of ${runs})`, value: round(r.claimed, 0), unit: "ms" });
    }
    return {
      name: "start-many-repos",
      figures,
      notes: [
        "repos: `git init` only, registered straight into the store (ensureProjectKey, insertStoredRepo) as `kas daemon add` leaves them; each start in a fresh HOME with the first N of the same repos",
        "first answer: the bench polls /v1/ping every 5 ms from the spawn of `kasmos daemon start --foreground`; claimed: GET /v1/status polled every 10 ms until no repo is `claiming`",
        "sizes: KASMOS_BENCH_START_REPOS (10,300,500), KASMOS_BENCH_START_RUNS (3)",
      ],
    };
  } finally {
    await holder.cleanup();
  }
}
