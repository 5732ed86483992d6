// What the sandbox costs an agent's start: time from a signal file being renamed into the repo's
// signals folder to the next agent's own program running (its first command writes a clock reading),
// 40 starts with [sandbox] mode = "off" and 40 with "bwrap", each in a fresh daemon. Unlike
// agent-latency, the agent program's own start counts: bwrap builds its namespaces and mounts there.
import { type BenchResult, type Figure, percentile, round } from "./lib.ts";
import { REVIEW_FIX_LOOP, tomlString, withAgentSandbox, writeDaemonToml } from "./agent-lib.ts";
import { registerRepo, seedTasks, signalsDir, wallMs, writeSignalAtomic } from "./signal-lib.ts";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SAMPLES = 40;
const WARMUP = 4;
const PROJECT = "asb";
const TASK = "t";
const START_TIMEOUT_MS = 10_000;

async function startTimes(mode: "off" | "bwrap"): Promise<number[]> {
  return withAgentSandbox(`kbs${mode[0]}-`, async (sb) => {
    const marks = join(sb.dir, "marks");
    mkdirSync(marks);
    // The agent's first command: the clock (ns), into a folder the sandbox lets it write.
    const agent = `sh -c 'date +%s%N > ${marks}/$KASMOS_INSTANCE_TITLE; exec sleep 600'`;
    writeDaemonToml(sb, [
      ...REVIEW_FIX_LOOP,
      `default_program = ${tomlString(agent)}`,
      "[sandbox]",
      `mode = "${mode}"`,
      `write = [${tomlString(marks)}]`,
    ]);
    const repo = sb.makeGitRepo(PROJECT);
    seedTasks(sb, PROJECT, [TASK], "implementing");
    const d = await sb.startDaemon();
    await registerRepo(d.socket, repo);
    const dir = signalsDir(repo);
    const out: number[] = [];
    let round_ = 0;
    let toReviewing = true;
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      if (toReviewing) round_++;
      const title = toReviewing ? `${TASK}-review-${round_}` : `${TASK}-fix-${round_}`;
      await Bun.sleep(20 + Math.random() * 10);
      writeSignalAtomic(dir, toReviewing ? `implement-finished-${TASK}` : `review-changes-${TASK}`, toReviewing ? "" : "again\n");
      const w = wallMs();
      const mark = join(marks, title);
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (!existsSync(mark) || readFileSync(mark, "utf8").trim() === "") {
        if (Date.now() > deadline) throw new Error(`${mode}: ${title} did not start within ${START_TIMEOUT_MS} ms (see ${sb.logFile})`);
        await Bun.sleep(2);
      }
      const ranAt = Number(readFileSync(mark, "utf8").trim()) / 1e6;
      if (i >= WARMUP) out.push(ranAt - w);
      toReviewing = !toReviewing;
    }
    return out.sort((a, b) => a - b);
  });
}

export async function run(): Promise<BenchResult> {
  const t0 = performance.now();
  const off = await startTimes("off");
  const bwrap = await startTimes("bwrap");
  const figures: Figure[] = [];
  for (const [name, xs] of [["unsandboxed (mode = \"off\")", off], ["sandboxed (bwrap)", bwrap]] as const) {
    figures.push({ label: `${name}: signal → agent program running, p50 / p99`, value: round(percentile(xs, 50), 1), unit: `ms / ${round(percentile(xs, 99), 1)} ms` });
  }
  figures.push({ label: "sandbox cost at p50", value: round(percentile(bwrap, 50) - percentile(off, 50), 1), unit: "ms" });
  return {
    name: "agent-start-sandbox",
    figures,
    notes: [
      `${WARMUP} warm-up + ${SAMPLES} starts per mode in ${((performance.now() - t0) / 1000).toFixed(1)} s; reviewer and fixer alternately (implement-finished-t / review-changes-t), one repo, watch mode`,
      "start = the agent's first command's clock reading (date +%s%N) − bench wall time right after the rename; both clocks are the machine's",
    ],
  };
}
