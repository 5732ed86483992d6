// Crash safety of signal processing (issue requirement): SIGKILL the compiled daemon repeatedly while a
// writer drops 1,000 signal files across 5 repos; afterwards every signal has exactly one terminal row,
// no transition was applied twice, and the audit log agrees with the task states.
//
// Workload: 5 real git repos × 4 tasks, each task moved to `implementing` through the CLI. Per task a
// writer alternates implement-finished-<task> (implementing → reviewing) and review-changes-<task>
// (reviewing → implementing, review_cycle + 1), waiting for each file to leave the signals folder before
// writing the next one, so every file is valid when written and its expected effect is known. Every file
// body is unique, so a file applied twice (two rows) or lost (no row) is visible by content.
// Meanwhile a killer loop starts `daemon start --foreground`, lets it live a random while (sometimes
// not even until it answers), SIGKILLs it by PID and starts it again. The processes are tracked and
// killed by PID in afterAll.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, makeGitRepo, ping, Sandbox, waitFor } from "../helpers/env.ts";

const REPOS = 5;
const TASKS_PER_REPO = 4;
const SIGNALS_PER_TASK = 50; // 5 × 4 × 50 = 1,000 files
const MAX_KILLS = 400; // hard bound on the killer loop
const WRITER_BUDGET_MS = 120_000; // the writer must be done by then
const MIN_KILLS = 10; // the storm spans the signals: signal #i waits for i/49 of these kills, the last for all
const DRAIN_BUDGET_MS = 60_000; // final daemon must empty every folder by then
const PLAN = "## Wave 1: a\n### Task 1: one\ndo it\n";

const IF = "implement_finished";
const RC = "review_changes_requested";

interface TaskRef {
  repo: string; // absolute path
  project: string; // basename
  name: string;
}

interface Written {
  task: TaskRef;
  index: number; // 0-based position in the task's sequence
  type: typeof IF | typeof RC;
  file: string;
  body: string;
}

let sb: Sandbox;
let db: Database | null = null;
const daemons = new Set<number>();

beforeAll(() => {
  sb = new Sandbox("kc-");
});
afterAll(async () => {
  db?.close();
  for (const pid of daemons) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await sb.cleanup();
});

const sigDir = (repo: string) => join(repo, ".kasmos", "signals");

/** Regular (non-dot, non-folder) entries of a folder: what the daemon would treat as signal files. */
function pendingFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => {
    if (n.startsWith(".")) return false;
    try {
      return !lstatSync(join(dir, n)).isDirectory();
    } catch {
      return false;
    }
  });
}

/** The source key the daemon records for a file (mirrors src/signals/files.ts fileKey; used only for statistics). */
function sourceKeyOf(repo: string, name: string): string | null {
  try {
    const st = lstatSync(join(sigDir(repo), name), { bigint: true });
    return `file:${join(".kasmos", "signals", name)}#${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${st.size}`;
  } catch {
    return null;
  }
}

/** Spawn a foreground daemon with its log appended to a file (a never-read pipe could block it). */
function spawnDaemon(logPath: string): Bun.Subprocess {
  const fd = openSync(logPath, "a");
  const proc = Bun.spawn([BIN, "daemon", "start", "--foreground"], {
    env: sb.env,
    cwd: sb.dir,
    stdin: "ignore",
    stdout: fd,
    stderr: fd,
  });
  closeSync(fd);
  daemons.add(proc.pid);
  sb.track(proc.pid);
  return proc;
}

async function killDaemon(proc: Bun.Subprocess): Promise<void> {
  try {
    process.kill(proc.pid, "SIGKILL");
  } catch {
    // exited on its own (e.g. startup refused)
  }
  await proc.exited; // reaped: no zombie left to look "alive" to the next start
  daemons.delete(proc.pid);
}

const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

test(
  "SIGKILL storm while 1,000 signals land in 5 repos: exactly-once rows, transitions and audit",
  async () => {
    const t0 = performance.now();
    const logPath = join(sb.dir, "daemons.log");
    sb.writeConfig("poll_interval_sec = 0.2\nauto_review_fix = true\nmax_review_fix_cycles = 0\nauto_readiness_review = false\nauto_advance = false\n");
    const planFile = join(sb.dir, "plan.md");
    writeFileSync(planFile, PLAN);

    // ---- setup: repos registered, 20 tasks in implementing --------------------------------------
    const reposRoot = join(sb.dir, "repos");
    const tasks: TaskRef[] = [];
    const repos: string[] = [];
    for (let r = 0; r < REPOS; r++) {
      const repo = makeGitRepo(reposRoot, `r${r}`);
      repos.push(repo);
      for (let t = 0; t < TASKS_PER_REPO; t++) tasks.push({ repo, project: `r${r}`, name: `r${r}-t${t}` });
    }
    const first = spawnDaemon(logPath);
    await waitFor(async () => first.exitCode !== null || (await ping(sb.socket)), 15_000, "first daemon to answer");
    expect(first.exitCode).toBeNull();
    for (const repo of repos) {
      const a = await sb.run(["daemon", "add", repo]);
      expect(a.code, a.stderr).toBe(0);
    }
    await Promise.all(
      repos.map(async (repo) => {
        for (const t of tasks.filter((x) => x.repo === repo)) {
          const c = await sb.run(["task", "create", t.name, "--repo", repo, "--plan", planFile]);
          expect(c.code, c.stderr).toBe(0);
          const s = await sb.run(["task", "transition", t.name, "implement_start", "--repo", repo]);
          expect(s.code, s.stderr).toBe(0);
        }
      }),
    );
    await killDaemon(first);
    let kills = 1;
    db = new Database(join(sb.configDir, "kasmos.db"), { readonly: true });
    const statusOf = db.query<{ status: string }, { p: string; n: string }>("SELECT status FROM tasks WHERE project = $p AND name = $n");
    for (const t of tasks) expect(statusOf.get({ p: t.project, n: t.name })?.status).toBe("implementing");

    // ---- writer: 20 tasks in parallel, each alternating IF / RC, one file in flight per task ------
    const written: Written[] = [];
    let writerDone = false;
    let writerError: Error | null = null;
    let seenInFailed = 0;
    const writeTask = async (task: TaskRef): Promise<void> => {
      const dir = sigDir(task.repo);
      for (let i = 0; i < SIGNALS_PER_TASK; i++) {
        // Paced by the killer, not the clock: on a fast machine the 1,000 signals could otherwise all
        // land before the storm reaches its minimum number of kills.
        const due = Math.floor((i * MIN_KILLS) / (SIGNALS_PER_TASK - 1));
        if (kills < due) await waitFor(() => kills >= due, WRITER_BUDGET_MS, `kill #${due} before signal #${i} of ${task.name}`);
        const type = i % 2 === 0 ? IF : RC;
        const file = `${type === IF ? "implement-finished-" : "review-changes-"}${task.name}`;
        const body = `${type === IF ? "done" : "fix"} ${task.name} #${i}`;
        await Bun.sleep(rand(0, 15));
        const tmp = join(dir, `.w-${task.name}-${i}`);
        writeFileSync(tmp, `${body}\n`);
        renameSync(tmp, join(dir, file)); // atomic: the daemon never sees a half-written file
        written.push({ task, index: i, type, file, body });
        await waitFor(() => !existsSync(join(dir, file)), WRITER_BUDGET_MS, `${task.project}/${file} (#${i}) to leave the signals folder`);
        if (existsSync(join(dir, "failed", file))) seenInFailed++;
      }
    };
    const writer = Promise.all(tasks.map(writeTask))
      .catch((err: Error) => {
        writerError = err;
      })
      .finally(() => {
        writerDone = true;
      });

    // ---- killer: start, live a random while, SIGKILL, repeat -------------------------------------
    let earlyKills = 0; // killed before it answered on its socket (startup/recovery path)
    const committedNotConsumed = new Set<string>(); // files still on disk after a kill whose row was already committed
    const rowBySource = db.query<{ id: number; status: string }, { s: string }>("SELECT id, status FROM signals WHERE source = $s");
    while (!writerDone && kills < MAX_KILLS) {
      const proc = spawnDaemon(logPath);
      if (Math.random() < 0.15) {
        earlyKills++;
        await Bun.sleep(rand(0, 80));
      } else {
        await waitFor(async () => proc.exitCode !== null || (await ping(sb.socket)), 15_000, "daemon to answer");
        expect(proc.exitCode).toBeNull(); // a restart after SIGKILL must never be refused
        await Bun.sleep(rand(30, 300));
      }
      await killDaemon(proc);
      kills++;
      // Crash-window evidence: a file whose row is already terminal was caught between commit and unlink.
      for (const repo of repos) {
        for (const name of pendingFiles(sigDir(repo))) {
          const key = sourceKeyOf(repo, name);
          if (key && rowBySource.get({ s: key })) committedNotConsumed.add(key);
        }
      }
    }
    expect(kills).toBeLessThan(MAX_KILLS);

    // ---- final daemon drains whatever is left ---------------------------------------------------
    const last = spawnDaemon(logPath);
    await waitFor(async () => last.exitCode !== null || (await ping(sb.socket)), 15_000, "final daemon to answer");
    expect(last.exitCode).toBeNull();
    await writer;
    if (writerError) throw writerError;
    const inFlight = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM signals WHERE status IN ('pending', 'processing')");
    await waitFor(
      () => repos.every((r) => pendingFiles(sigDir(r)).length === 0 && pendingFiles(join(sigDir(r), "processing")).length === 0) && inFlight.get()!.n === 0,
      DRAIN_BUDGET_MS,
      "signal folders and queue to drain",
    );
    last.kill("SIGTERM");
    expect(await last.exited).toBe(0);
    daemons.delete(last.pid);

    // ---- assertions -----------------------------------------------------------------------------
    interface SigRow {
      id: number;
      project: string;
      task: string;
      signal_type: string;
      payload: string;
      source: string;
      status: string;
      result: string;
    }
    interface AuditRow {
      id: number;
      kind: string;
      project: string;
      task: string;
      from_status: string;
      to_status: string;
      event: string;
      signal_id: number | null;
    }
    const rows = db.query<SigRow, []>("SELECT id, project, task, signal_type, payload, source, status, result FROM signals WHERE source LIKE 'file:%' ORDER BY id").all();
    const allRows = db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM signals").get()!.n;
    const audit = db.query<AuditRow, []>("SELECT id, kind, project, task, from_status, to_status, event, signal_id FROM audit_events ORDER BY id").all();
    const failedRows = rows.filter((r) => r.status === "failed");
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    const errorLines = readFileSync(logPath, "utf8")
      .split("\n")
      .filter((l) => / ERROR /.test(l));
    console.log(
      `sigkill: ${kills} kills (${earlyKills} before ready), ${written.length} files, ${rows.length} file rows (${failedRows.length} failed), ` +
        `${committedNotConsumed.size} committed-not-yet-unlinked files seen at kill time, ${errorLines.length} ERROR log lines, ${seconds}s`,
    );
    if (failedRows.length > 0) console.log(failedRows.map((r) => `  #${r.id} ${r.project}/${r.task} ${r.signal_type}: ${r.result}`).join("\n"));
    if (errorLines.length > 0) console.log(errorLines.slice(0, 20).join("\n"));

    expect(written.length).toBe(REPOS * TASKS_PER_REPO * SIGNALS_PER_TASK);
    // No other rows sneaked in (nothing but files feeds the queue here).
    expect(allRows).toBe(rows.length);
    // Exactly one row per file, identified by its unique body, every one terminal.
    expect(rows.length).toBe(written.length);
    for (const r of rows) expect(["done", "failed"]).toContain(r.status);
    const byBody = new Map<string, SigRow[]>();
    for (const r of rows) {
      const body = (JSON.parse(r.payload) as { body: string }).body;
      byBody.set(body, [...(byBody.get(body) ?? []), r]);
    }
    const missing = written.filter((w) => !byBody.has(w.body)).map((w) => w.body);
    const doubled = [...byBody].filter(([, rs]) => rs.length > 1).map(([b, rs]) => `${b} ×${rs.length}`);
    expect(missing).toEqual([]);
    expect(doubled).toEqual([]);
    for (const w of written) {
      const r = byBody.get(w.body)![0]!;
      expect(`${r.project}/${r.task}/${r.signal_type}`).toBe(`${w.task.project}/${w.task.name}/${w.type}`);
      expect(r.source).toStartWith(`file:.kasmos/signals/${w.file}#`);
    }
    // The writer always waited for the previous file, so every signal was valid when written.
    expect(failedRows).toEqual([]);
    expect(seenInFailed).toBe(0);
    // Nothing left behind.
    for (const repo of repos) {
      expect(pendingFiles(sigDir(repo))).toEqual([]);
      expect(pendingFiles(join(sigDir(repo), "processing"))).toEqual([]);
      expect(pendingFiles(join(sigDir(repo), "failed"))).toEqual([]);
    }

    // Audit: one terminal audit row per signal row, one plan_transition per applied signal, none twice.
    const rowById = new Map(rows.map((r) => [r.id, r]));
    const terminalAudit = new Map<number, number>();
    const transitionsBySignal = new Map<number, number>();
    for (const a of audit) {
      if ((a.kind === "signal_done" || a.kind === "signal_failed") && a.signal_id !== null) terminalAudit.set(a.signal_id, (terminalAudit.get(a.signal_id) ?? 0) + 1);
      if (a.kind === "plan_transition" && a.signal_id !== null) transitionsBySignal.set(a.signal_id, (transitionsBySignal.get(a.signal_id) ?? 0) + 1);
    }
    const badTerminal = rows.filter((r) => terminalAudit.get(r.id) !== 1).map((r) => `#${r.id}: ${terminalAudit.get(r.id) ?? 0}`);
    expect(badTerminal).toEqual([]);
    const badTransitions = rows
      .filter((r) => (transitionsBySignal.get(r.id) ?? 0) !== (r.status === "done" ? 1 : 0))
      .map((r) => `#${r.id} ${r.status}: ${transitionsBySignal.get(r.id) ?? 0} transitions`);
    expect(badTransitions).toEqual([]);
    for (const id of transitionsBySignal.keys()) expect(rowById.has(id)).toBe(true);
    expect(audit.filter((a) => a.kind === "signal_quarantined")).toEqual([]);

    // Per task: the transition chain replays to the stored state, in the writer's order.
    const taskRow = db.query<{ status: string; review_cycle: number; latest_feedback: string }, { p: string; n: string }>(
      "SELECT status, review_cycle, latest_feedback FROM tasks WHERE project = $p AND name = $n",
    );
    for (const t of tasks) {
      const mine = rows.filter((r) => r.project === t.project && r.task === t.name);
      expect(mine.length).toBe(SIGNALS_PER_TASK);
      // Applied in the order written: bodies #0, #1, … by row id, alternating types.
      expect(mine.map((r) => (JSON.parse(r.payload) as { body: string }).body)).toEqual(
        Array.from({ length: SIGNALS_PER_TASK }, (_, i) => `${i % 2 === 0 ? "done" : "fix"} ${t.name} #${i}`),
      );
      const chain = audit.filter((a) => a.kind === "plan_transition" && a.project === t.project && a.task === t.name);
      // implement_start from the CLI (no signal), then one transition per applied signal.
      expect(chain[0]).toMatchObject({ from_status: "ready", to_status: "implementing", event: "implement_start", signal_id: null });
      expect(chain.length).toBe(1 + mine.filter((r) => r.status === "done").length);
      let state = "ready";
      for (const a of chain) {
        expect(a.from_status).toBe(state);
        if (a.signal_id !== null) {
          const r = rowById.get(a.signal_id)!;
          expect(r.task).toBe(t.name);
          expect(a.event).toBe(r.signal_type === IF ? "implement_finished" : "review_changes_requested");
        }
        state = a.to_status;
      }
      const row = taskRow.get({ p: t.project, n: t.name })!;
      expect(row.status).toBe(state);
      expect(row.status).toBe(SIGNALS_PER_TASK % 2 === 0 ? "implementing" : "reviewing");
      const appliedRc = mine.filter((r) => r.signal_type === RC && r.status === "done");
      expect(row.review_cycle).toBe(appliedRc.length);
      expect(row.latest_feedback).toBe((JSON.parse(appliedRc.at(-1)!.payload) as { body: string }).body);
    }
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
  },
  240_000,
);
