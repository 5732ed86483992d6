// Agent start latency: time from a signal file being renamed into <repo>/.kasmos/signals/ to the next
// agent's tmux session existing. One repo, one task seeded as implementing (no phase, so no agent
// runs); the bench itself writes implement-finished-t (→ reviewing: reviewer `t-review-N` must start)
// and review-changes-t (→ implementing/fixing: fixer `t-fix-N` must start), alternating. Agents are
// idle (`sh -c 'exec sleep 600'`): they never signal, so the bench controls every write time.
// The session-exists time is the `timestamp` of the `agent_spawned` audit row (written right after
// `tmux new-session` returned), read from the daemon's SSE stream; each one is confirmed afterwards
// with `tmux has-session`. Target: p50 ≤ 50 ms (the agent program's own start is not counted).
import { cpuMs, type BenchResult, type Figure, mean, percentile, round } from "./lib.ts";
import { hasSession, IDLE_AGENT, liveSessions, REVIEW_FIX_LOOP, tomlString, withAgentSandbox, writeDaemonToml } from "./agent-lib.ts";
import { type AuditEvent, EventStream, registerRepo, seedTasks, signalsDir, wallMs, writeSignalAtomic } from "./signal-lib.ts";

const SAMPLES = 60;
const WARMUP = 4; // the first reviewer creates the task's git worktree
const TARGET_P50_MS = 50;
const PROJECT = "alat";
const TASK = "t";
const EVENT_TIMEOUT_MS = 5_000;

type Ev = AuditEvent & { detail: Record<string, unknown> | null };

function titleOf(ev: Ev): string {
  const t = ev.detail?.title;
  return typeof t === "string" ? t : "";
}

interface Sample {
  total: number; // agent_spawned timestamp − write
  commit: number; // plan_transition timestamp − write
  spawn: number; // agent_spawned − plan_transition
  observed: number; // SSE arrival of agent_spawned in the bench − write
  kind: "reviewer" | "fixer";
}

export async function run(): Promise<BenchResult> {
  return withAgentSandbox("kba-", async (sb) => {
    const t0 = performance.now();
    writeDaemonToml(sb, [...REVIEW_FIX_LOOP, `default_program = ${tomlString(IDLE_AGENT)}`]);
    const repo = sb.makeGitRepo(PROJECT);
    seedTasks(sb, PROJECT, [TASK], "implementing");
    const d = await sb.startDaemon();
    let es: EventStream | null = null;
    try {
      await registerRepo(d.socket, repo);
      es = await EventStream.open(d.socket, "kinds=plan_transition,agent_spawned,agent_killed,agent_failed,stuck_detected");
      const dir = signalsDir(repo);
      const samples: Sample[] = [];
      let round_ = 0;
      let toReviewing = true;
      let prevTitle = "";
      let cpu0 = 0;
      let confirmed = 0;
      for (let i = 0; i < WARMUP + SAMPLES; i++) {
        if (i === WARMUP) cpu0 = cpuMs(d.pid);
        if (toReviewing) round_++;
        const title = toReviewing ? `${TASK}-review-${round_}` : `${TASK}-fix-${round_}`;
        const session = `kas_${PROJECT}--${title}`;
        await Bun.sleep(5 + Math.random() * 10);
        writeSignalAtomic(dir, toReviewing ? `implement-finished-${TASK}` : `review-changes-${TASK}`, toReviewing ? "" : "please handle the empty case\n");
        const w = wallMs();
        let committedAt = Number.NaN;
        let spawnedAt = Number.NaN;
        let arrived = Number.NaN;
        let killedPrev = prevTitle === "";
        // Read events until this sample's agent started and the previous one was stopped (bounded).
        for (let k = 0; k < 50 && (Number.isNaN(spawnedAt) || !killedPrev); k++) {
          const ev = (await es.next(EVENT_TIMEOUT_MS)) as Ev;
          if (ev.kind === "agent_failed" || ev.kind === "stuck_detected") throw new Error(`sample ${i}: ${ev.kind}: ${JSON.stringify(ev)}`);
          if (ev.kind === "plan_transition") committedAt = Date.parse(ev.timestamp);
          else if (ev.kind === "agent_spawned" && titleOf(ev) === title) {
            spawnedAt = Date.parse(ev.timestamp);
            arrived = wallMs();
          } else if (ev.kind === "agent_killed" && titleOf(ev) === prevTitle) killedPrev = true;
        }
        if (Number.isNaN(spawnedAt) || Number.isNaN(committedAt)) throw new Error(`sample ${i}: no transition/agent_spawned for ${title}`);
        if (hasSession(sb, session)) confirmed++;
        else throw new Error(`sample ${i}: agent_spawned for ${title} but tmux has no session ${session}`);
        if (i >= WARMUP) {
          samples.push({ total: spawnedAt - w, commit: committedAt - w, spawn: spawnedAt - committedAt, observed: arrived - w, kind: toReviewing ? "reviewer" : "fixer" });
        }
        prevTitle = title;
        toReviewing = !toReviewing;
      }
      const cpu = cpuMs(d.pid) - cpu0;
      if (process.env.BENCH_DEBUG) for (const s of samples) process.stderr.write(`${s.kind} total ${s.total.toFixed(1)} commit ${s.commit.toFixed(1)} spawn ${s.spawn.toFixed(1)}\n`);
      const live = liveSessions(sb);
      const seconds = (performance.now() - t0) / 1000;

      const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
      const total = sorted(samples.map((s) => s.total));
      const commit = sorted(samples.map((s) => s.commit));
      const spawn = sorted(samples.map((s) => s.spawn));
      const observed = sorted(samples.map((s) => s.observed));
      const rev = sorted(samples.filter((s) => s.kind === "reviewer").map((s) => s.total));
      const fix = sorted(samples.filter((s) => s.kind === "fixer").map((s) => s.total));
      const p50 = percentile(total, 50);
      const figures: Figure[] = [
        { label: "signal → session exists: p50", value: round(p50, 1), unit: "ms", target: `≤ ${TARGET_P50_MS} ms`, pass: p50 <= TARGET_P50_MS },
        { label: "signal → session exists: p99", value: round(percentile(total, 99), 1), unit: "ms" },
        { label: "signal → session exists: max", value: round(total[total.length - 1] ?? Number.NaN, 1), unit: "ms" },
        { label: "signal → session exists: min / mean", value: round(total[0] ?? Number.NaN, 1), unit: `ms / ${round(mean(total), 1)} ms` },
        { label: "of which signal → transition committed (p50)", value: round(percentile(commit, 50), 1), unit: "ms" },
        { label: "of which transition committed → session exists (p50 / p99)", value: round(percentile(spawn, 50), 1), unit: `ms / ${round(percentile(spawn, 99), 1)} ms` },
        { label: "reviewer starts p50 / fixer starts p50", value: round(percentile(rev, 50), 1), unit: `ms / ${round(percentile(fix, 50), 1)} ms` },
        { label: "as seen by the SSE client: p50", value: round(percentile(observed, 50), 1), unit: "ms" },
        { label: "daemon CPU per signal + agent start (incl. stopping the previous agent)", value: round(cpu / SAMPLES, 1), unit: "ms" },
        { label: "sessions confirmed with `tmux has-session`", value: confirmed, unit: `of ${WARMUP + SAMPLES}` },
      ];
      return {
        name: "agent-latency",
        figures,
        notes: [
          `${WARMUP} warm-up + ${SAMPLES} samples in ${seconds.toFixed(1)} s; one repo, task seeded as implementing; the bench writes implement-finished-t (→ reviewer t-review-N) and review-changes-t (→ fixer t-fix-N) alternately, 5–15 ms after the previous agent was stopped (watch mode, poll 2.0 s)`,
          "latency = `agent_spawned` audit `timestamp` (daemon clock, written right after `tmux new-session` returned) − bench wall time right after the atomic rename; ms-truncated timestamps make each sample up to 1 ms low. The agent program's own start is not counted",
          "the split uses the `plan_transition` row of the same signal: signal → committed is the signal engine (see signal-latency), committed → session is the agent runner, all sequential child processes: tmux list-panes, ensureWorktree on the existing worktree (git check-ref-format, rev-parse --git-common-dir, worktree list), prompt file, tmux display-message (stale-session check), tmux new-session; meanwhile the superseded agent is stopped in the background (display-message, send-keys C-c, display-message polls, kill-session)",
          `agents: default_program = \`${IDLE_AGENT}\` (never signals); tmux server of the sandbox (KASMOS_TMUX_SOCKET), killed at the end; ${live} live agent session(s) at the end (expected 1)`,
          "daemon CPU = utime+stime over the measured samples / samples; it includes the SSE subscriber the bench holds open",
        ],
      };
    } finally {
      es?.close();
    }
  });
}
