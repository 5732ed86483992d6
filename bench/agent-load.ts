// Agent load: 20 tasks, each with a plan of 4 tasks (wave 1: 3, wave 2: 1; 4 > blueprint threshold 2,
// so architect → 3 parallel wave-1 coders → 1 wave-2 coder → reviewer → done), all started at once with
// the protocol-obeying fake agent (test/fixtures/fake-agent.sh, FAKE_REVIEW_ROUNDS=0, no readiness
// review). Up to 60 wave coders run together on this machine's cores. The bench waits (bounded) until
// every task is done, then checks that no signal was missed or failed and nobody got stuck.
import { readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BIN, cpuMs, type BenchResult, type Figure, percentile, round, rssMb, waitFor } from "./lib.ts";
import { FAKE_AGENT, gitShimDir, liveSessions, query, tmux, tomlString, withAgentSandbox, writeDaemonToml } from "./agent-lib.ts";
import { AgentProbe } from "./agent-probe.ts";
import { leftovers, registerRepo, signalsDir } from "./signal-lib.ts";

const TASKS = 20;
const WAVE1 = 3;
const DONE_TIMEOUT_MS = 180_000;
const SAMPLE_MS = 200;
const PROJECT = "aload";
const POLL_INTERVAL_SEC = 2.0;
/** Signals each task's agents send: elaborator-finished, 4 × implement-task-finished, review-approved. */
const SIGNALS_PER_TASK = 1 + WAVE1 + 1 + 1;
/** Agents each task needs: architect, 3 + 1 wave coders, reviewer. */
const AGENTS_PER_TASK = 1 + WAVE1 + 1 + 1;

const PLAN = `# Load
**Goal:** exercise parallel wave coders

## Wave 1: parallel
### Task 1: one
first part
### Task 2: two
second part
### Task 3: three
third part

## Wave 2: join
### Task 4: four
put it together
`;

interface Sample {
  at: number; // ms since start
  running: number; // agents rows in state running
  waveCoders: number; // of which wave-1 coders
  panes: number; // live kas_* panes according to tmux (sampled every 5th tick)
  rss: number;
}

function names(): string[] {
  return Array.from({ length: TASKS }, (_, i) => `t${String(i + 1).padStart(2, "0")}`);
}

/** Signal folders of the repo and of every worktree under <repo>/.worktrees. */
function allSignalDirs(repo: string): string[] {
  const dirs = [signalsDir(repo)];
  try {
    for (const e of readdirSync(join(repo, ".worktrees"), { withFileTypes: true })) if (e.isDirectory()) dirs.push(signalsDir(join(repo, ".worktrees", e.name)));
  } catch {
    // no worktrees
  }
  return dirs;
}

export async function run(): Promise<BenchResult> {
  return withAgentSandbox("kbL-", async (sb) => {
    writeDaemonToml(sb, [
      `poll_interval_sec = ${POLL_INTERVAL_SEC.toFixed(1)}`,
      "watch_signals = true",
      "auto_advance = false",
      "auto_advance_waves = true",
      "auto_review_fix = true",
      "auto_readiness_review = false",
      // PATH: the git shim first, then what the daemon gives agents (dir of the kasmos binary, its PATH).
      `default_program = ${tomlString(`env FAKE_REVIEW_ROUNDS=0 PATH=${gitShimDir(sb)}:${dirname(BIN)}:${sb.env.PATH} ${FAKE_AGENT}`)}`,
    ]);
    const repo = sb.makeGitRepo(PROJECT);
    const planFile = join(sb.dir, "plan.md");
    writeFileSync(planFile, PLAN);
    const probe = AgentProbe.prepare(sb);
    const d = await sb.startDaemon();
    await registerRepo(d.socket, repo);
    await probe.register(d.socket);
    const tasks = names();
    for (const t of tasks) {
      const r = sb.run(["task", "create", t, "--plan", planFile, "--repo", repo]);
      if (r.code !== 0) throw new Error(`task create ${t} failed (${r.code}): ${r.stderr}`);
    }

    const cpu0 = cpuMs(d.pid);
    const rss0 = rssMb(d.pid);
    const t0 = performance.now();
    const startedIso = new Date().toISOString();
    await probe.start(d.socket);
    for (const t of tasks) {
      const r = sb.run(["task", "transition", t, "implement_start", "--repo", repo]);
      if (r.code !== 0) throw new Error(`implement_start ${t} failed (${r.code}): ${r.stderr}`);
    }
    const cliSeconds = (performance.now() - t0) / 1000;

    // Sample until every task is done (bounded in time and iterations).
    const samples: Sample[] = [];
    let tick = 0;
    let lastPanes = 0;
    let doneCount = 0;
    let timedOut = false;
    let blocked = 0;
    let blockedAt = 0; // when some task started waiting for an operator decision (0 = none waiting)
    try {
      await waitFor(
        () => {
          const running = query<{ role: string; wave: number }>(sb, "SELECT role, wave FROM agents WHERE project = ? AND state = 'running'", PROJECT);
          if (tick++ % 5 === 0) lastPanes = liveSessions(sb, PROJECT);
          samples.push({
            at: performance.now() - t0,
            running: running.length,
            waveCoders: running.filter((a) => a.role === "coder" && a.wave === 1).length,
            panes: lastPanes,
            rss: rssMb(d.pid),
          });
          const st = query<{ done: number; blocked: number }>(sb, "SELECT SUM(status = 'done') AS done, SUM(status != 'done' AND attention != '') AS blocked FROM tasks WHERE project = ?", PROJECT)[0];
          doneCount = st?.done ?? 0;
          blocked = st?.blocked ?? 0;
          // A task waiting for an operator decision (e.g. a failed wave) never finishes on its own: stop early.
          if (blocked === 0) blockedAt = 0;
          else if (blockedAt === 0) blockedAt = performance.now();
          return doneCount === TASKS || (blockedAt > 0 && performance.now() - blockedAt > 5_000);
        },
        DONE_TIMEOUT_MS,
        `all ${TASKS} tasks to reach done`,
        SAMPLE_MS,
      );
    } catch {
      timedOut = true;
    }
    const waited = (performance.now() - t0) / 1000;
    const probeSamples = await probe.stop();
    const cpu = cpuMs(d.pid) - cpu0;
    const rssEnd = rssMb(d.pid);
    // Wall time from the store: last → done transition − first implement_start (the poll above is 200 ms coarse).
    const lastDoneTs = query<{ ts: string | null }>(sb, "SELECT MAX(timestamp) AS ts FROM audit_events WHERE project = ? AND kind = 'plan_transition' AND to_status = 'done'", PROJECT)[0]?.ts;
    const wall = doneCount === TASKS && lastDoneTs ? (Date.parse(lastDoneTs) - Date.parse(startedIso)) / 1000 : waited;

    // Outcome, straight from the store.
    const sig = query<{ status: string; n: number }>(sb, "SELECT status, COUNT(*) AS n FROM signals WHERE project = ? GROUP BY status", PROJECT);
    const sigN = (s: string): number => sig.find((x) => x.status === s)?.n ?? 0;
    const failedRows = query<{ signal_type: string; result: string }>(sb, "SELECT signal_type, result FROM signals WHERE project = ? AND status = 'failed' LIMIT 5", PROJECT);
    const audit = (kind: string): number => query<{ n: number }>(sb, "SELECT COUNT(*) AS n FROM audit_events WHERE kind = ? AND timestamp >= ?", kind, startedIso)[0]?.n ?? 0;
    const stuck = audit("stuck_detected");
    const agentFailed = audit("agent_failed");
    const agentsByState = query<{ state: string; n: number }>(sb, "SELECT state, COUNT(*) AS n FROM agents WHERE project = ? GROUP BY state", PROJECT);
    const agentsTotal = agentsByState.reduce((s, r) => s + r.n, 0);
    const exitedNonZero = query<{ n: number }>(sb, "SELECT COUNT(*) AS n FROM agents WHERE project = ? AND state = 'exited' AND COALESCE(exit_status, -1) != 0", PROJECT)[0]?.n ?? 0;
    // The work landed: every task branch holds the files of its 4 coders.
    const complete = tasks.filter((t) => {
      const r = Bun.spawnSync(["git", "-C", repo, "ls-tree", "--name-only", `plan/${t}`], { stdout: "pipe", stderr: "ignore", timeout: 10_000 });
      const files = r.stdout.toString().split("\n");
      return ["w1-t1.txt", "w1-t2.txt", "w1-t3.txt", "w2-t4.txt"].every((f) => files.includes(f));
    }).length;
    // Why did agents exit non-zero? Their panes stay (remain-on-exit): keep the last lines.
    const deadPanes = query<{ session: string }>(sb, "SELECT session FROM agents WHERE project = ? AND state = 'exited' AND COALESCE(exit_status, -1) != 0 LIMIT 3", PROJECT).map((a) => {
      const out = tmux(sb, ["capture-pane", "-p", "-S", "-", "-t", `=${a.session}:`]).stdout.trim().split("\n").filter((l) => l.trim() !== "");
      return `${a.session}: ${out.slice(-3).join(" | ")}`;
    });
    const attention = query<{ name: string; attention: string }>(sb, "SELECT name, attention FROM tasks WHERE project = ? AND attention != '' LIMIT 3", PROJECT);
    const notDone = query<{ name: string; status: string; execution_phase: string }>(sb, "SELECT name, status, execution_phase FROM tasks WHERE project = ? AND status != 'done' LIMIT 3", PROJECT);
    const left = allSignalDirs(repo).map(leftovers).reduce((a, b) => ({ pending: a.pending + b.pending, failed: a.failed + b.failed, processing: a.processing + b.processing }), { pending: 0, failed: 0, processing: 0 });

    // Signal committed → next agent's session exists, under load: for every agent except the architects
    // (started by the CLI transition), the time since the task's latest preceding signal_done row.
    const rows = query<{ id: number; kind: string; timestamp: string; task: string }>(
      sb,
      "SELECT id, kind, timestamp, task FROM audit_events WHERE project = ? AND kind IN ('signal_done', 'agent_spawned') AND message NOT LIKE 'architect %' ORDER BY id",
      PROJECT,
    );
    const lastDone = new Map<string, number>();
    const follow: number[] = [];
    for (const r of rows) {
      if (r.kind === "signal_done") lastDone.set(r.task, Date.parse(r.timestamp));
      else {
        const s = lastDone.get(r.task);
        if (s !== undefined) follow.push(Date.parse(r.timestamp) - s);
      }
    }
    follow.sort((a, b) => a - b);
    if (process.env.BENCH_DEBUG) {
      const tl = query<{ kind: string; timestamp: string; task: string; message: string }>(sb, "SELECT kind, timestamp, task, message FROM audit_events WHERE project = ? AND kind IN ('signal_done', 'agent_spawned', 'plan_transition') ORDER BY id", PROJECT);
      for (const r of tl) process.stderr.write(`${r.timestamp.slice(17)} ${r.kind.padEnd(15)} ${r.task} ${r.message.slice(0, 70)}\n`);
    }
    const w1 = query<{ ts: string }>(sb, "SELECT timestamp AS ts FROM audit_events WHERE project = ? AND kind = 'agent_spawned' AND message LIKE 'coder %-W1-T%' AND timestamp >= ? ORDER BY id", PROJECT, startedIso).map((r) => Date.parse(r.ts));
    const w1Span = w1.length > 1 ? (w1[w1.length - 1]! - w1[0]!) / 1000 : 0;
    const firstCoder = query<{ ts: string }>(sb, "SELECT MIN(timestamp) AS ts FROM audit_events WHERE project = ? AND kind = 'agent_spawned' AND message LIKE 'coder %' AND timestamp >= ?", PROJECT, startedIso)[0]?.ts;

    const probeCommit = probeSamples.map((x) => x.commit).sort((a, b) => a - b);
    const probeSpawn = probeSamples.map((x) => x.spawn).sort((a, b) => a - b);
    const peak = Math.max(0, ...samples.map((s) => s.running));
    const peakWave = Math.max(0, ...samples.map((s) => s.waveCoders));
    const peakPanes = Math.max(0, ...samples.map((s) => s.panes));
    const peakRss = Math.max(rss0, rssEnd, ...samples.map((s) => s.rss));
    const expectedSignals = TASKS * SIGNALS_PER_TASK;
    const missed = expectedSignals - sigN("done");
    const failed = sigN("failed");
    const ok = !timedOut && doneCount === TASKS;

    const figures: Figure[] = [
      { label: `tasks done (of ${TASKS})`, value: doneCount, unit: "", target: `${TASKS}`, pass: doneCount === TASKS },
      { label: "wall time, first implement_start → all done", value: round(wall, 1), unit: "s", target: `≤ ${DONE_TIMEOUT_MS / 1000} s`, pass: ok },
      { label: "peak concurrent running agents (agents table)", value: peak, unit: "" },
      { label: "peak concurrent wave-1 coders", value: peakWave, unit: `of ${TASKS * WAVE1}` },
      { label: "peak live kas_* panes (tmux, every 1 s)", value: peakPanes, unit: "" },
      { label: "signals processed (done rows)", value: sigN("done"), unit: `of ${expectedSignals} expected` },
      { label: "missed signals (expected − done)", value: missed, unit: "", target: "0", pass: missed === 0 },
      { label: "failed signal rows", value: failed, unit: "", target: "0", pass: failed === 0 },
      { label: "stuck_detected rows", value: stuck, unit: "", target: "0", pass: stuck === 0 },
      { label: "agent_failed rows / agents exited non-zero", value: agentFailed, unit: `/ ${exitedNonZero}` },
      { label: "task branches holding all 4 coders' commits", value: complete, unit: `of ${TASKS}` },
      { label: "agents started", value: agentsTotal, unit: `of ${TASKS * AGENTS_PER_TASK} expected` },
      { label: "signal committed → next agent's session: p50", value: round(percentile(follow, 50), 0), unit: "ms" },
      { label: "signal committed → next agent's session: p99 / max", value: round(percentile(follow, 99), 0), unit: `ms / ${round(follow[follow.length - 1] ?? Number.NaN, 0)} ms` },
      { label: "probe repo under this load: signal → transition committed p50 / max", value: round(percentile(probeCommit, 50), 0), unit: `ms / ${round(probeCommit[probeCommit.length - 1] ?? Number.NaN, 0)} ms` },
      { label: "probe repo under this load: signal → next agent's session p50 / max", value: round(percentile(probeSpawn, 50), 0), unit: `ms / ${round(probeSpawn[probeSpawn.length - 1] ?? Number.NaN, 0)} ms` },
      { label: "all wave-1 coder starts spanned", value: round(w1Span, 2), unit: `s (${w1.length} starts, ${round((w1Span * 1000) / Math.max(1, w1.length - 1), 0)} ms apart on average)` },
      { label: "daemon CPU during the run", value: round(cpu / 1000, 2), unit: `s (${round((cpu / 1000 / waited) * 100, 0)}% of one core)` },
      { label: "daemon RSS before / peak / end", value: round(rss0, 1), unit: `MB / ${round(peakRss, 1)} MB / ${round(rssEnd, 1)} MB` },
    ];
    const notes = [
      `${TASKS} tasks in one repo, each created with \`kasmos task create <t> --plan <file> --repo <repo>\` and started with \`kasmos task transition <t> implement_start --repo <repo>\` (the 20 transitions took ${cliSeconds.toFixed(1)} s; the daemon picks CLI transitions up on its next ${POLL_INTERVAL_SEC.toFixed(1)} s timer pass)`,
      `plan: wave 1 = 3 tasks, wave 2 = 1 task (4 > blueprint_skip_threshold 2 → architect first); agents: \`env FAKE_REVIEW_ROUNDS=0 test/fixtures/fake-agent.sh\` (wave coders sleep 0.3 s, commit in the shared task worktree, signal, then idle until stopped; their git runs through a shim: \`flock\` on a per-worktree lock file and \`commit --allow-empty\`, because two fake coders committing at the same instant fail on index.lock and exit without a signal — seen once in ~12 runs without it); auto_readiness_review = false, watch mode, poll ${POLL_INTERVAL_SEC.toFixed(1)} s`,
      `expected per task: ${SIGNALS_PER_TASK} signals (elaborator-finished, 4 × implement-task-finished, review-approved) and ${AGENTS_PER_TASK} agents (architect, 4 coders, reviewer); signal files left in signal folders at the end: ${left.pending} pending, ${left.failed} in failed/, ${left.processing} in processing/`,
      `agents by state at the end: ${agentsByState.map((r) => `${r.state} ${r.n}`).join(", ") || "none"}; first coder started ${firstCoder ? `${round((Date.parse(firstCoder) - Date.parse(startedIso)) / 1000, 1)} s` : "never"} after the first implement_start`,
      "signal committed → next agent = `agent_spawned` audit timestamp − the task's latest preceding `signal_done` timestamp (architects excluded: the CLI transition starts them); a reconcile pass starts its agents one at a time (AgentRunner.reconcile awaits each spawn, ~40–65 ms each here), and the scan loop runs no other pass meanwhile, so the 60 wave-1 starts delay each other and every signal (both repos) that arrives during them: the probe's max ≈ the wave-1 span",
      `probe: a second repo (\`aprobe\`, idle agents via its .kasmos/config.toml) whose task the bench bounces implementing ⇄ reviewing by writing signal files 100–200 ms after the previous agent started, during the whole run (${probeSamples.length} rounds${probe.error ? `; stopped early: ${probe.error}` : ""}); same measure as agent-latency, not counted in the figures above`,
      `sampled every ${SAMPLE_MS} ms from the store (read-only) and /proc; CPU = utime+stime of the daemon; ${samples.length} samples`,
    ];
    const notDoneText = notDone.map((t) => `${t.name} ${t.status}/${t.execution_phase}`).join(", ");
    if (!ok && !timedOut) notes.push(`STOPPED EARLY: ${blocked} task(s) waiting for an operator decision for 5 s; not done: ${notDoneText}`);
    if (timedOut) notes.push(`TIMED OUT after ${DONE_TIMEOUT_MS / 1000} s; not done: ${notDoneText}`);
    if (failedRows.length > 0) notes.push(`failed signals: ${failedRows.map((r) => `${r.signal_type}: ${r.result}`).join("; ")}`);
    if (deadPanes.length > 0) notes.push(`agents that exited non-zero: ${deadPanes.join("; ")}`);
    if (attention.length > 0) notes.push(`attention: ${attention.map((a) => `${a.name}: ${a.attention}`).join("; ")}`);
    return { name: "agent-load", figures, notes };
  });
}
