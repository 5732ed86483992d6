// max_parallel_wave_tasks: by default what the machine holds (min(2 per core, available memory / 500 MB),
// at least 1), so a 500-task wave never runs 500 agents; 0 = all only when written; the effective value
// in status (--json too) and doctor.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { parseConfigText } from "../../src/config/load.ts";
import { processorConfig } from "../../src/config/processor.ts";
import { machineWaveLimit, waveLimit } from "../../src/config/wave-limit.ts";
import { applyUserEvent, processSignal } from "../../src/lifecycle/processor.ts";
import type { ProcessorConfig, TaskSnapshot } from "../../src/lifecycle/model.ts";
import { emptyPayload } from "../../src/lifecycle/signal-types.ts";
import { Sandbox } from "../helpers/env.ts";

const NOW = "2026-03-01T12:00:00.000Z";

/** A plan with one wave of `n` tasks. */
function bigWave(n: number): string {
  const tasks = Array.from({ length: n }, (_, i) => `### Task ${i + 1}: t${i + 1}\ndo ${i + 1}\n`).join("");
  return `# Plan\n**Goal:** g\n## Wave 1: all\n${tasks}`;
}

/** Coders the first wave starts with `cfg`. */
function coldStart(n: number, cfg: ProcessorConfig): number {
  const t: TaskSnapshot = { name: "feat", status: "ready", execution: { phase: "planned", agent: "", wave: 0 }, reviewCycle: 0, verifyCycle: 0, content: bigWave(n), branch: "plan/feat", latestFeedback: "", subtasks: [] };
  const started = applyUserEvent(t, "implement_start", cfg, null, NOW);
  const subtasks = (started.update.replaceSubtasks ?? []).map((s) => ({ ...s, status: "pending" }));
  const arch = processSignal({ task: { ...t, status: started.update.status ?? t.status, execution: started.update.execution ?? t.execution, subtasks }, taskName: "feat", type: "elaborator_finished", payload: emptyPayload(), source: "agent", head: null, now: NOW }, cfg);
  return arch.actions.filter((a) => a.kind === "spawn_coder").length;
}

describe("wave limit from the machine", () => {
  test("min(2 per core, memory / 500 MB), at least 1", () => {
    expect(machineWaveLimit(2, 24_000)).toBe(4);
    expect(machineWaveLimit(64, 4_000)).toBe(8);
    expect(machineWaveLimit(8, 100)).toBe(1);
    expect(machineWaveLimit(1, 0)).toBe(1);
  });

  test("the default config runs a 500-task wave at most machine-many at once; 0 written = all", () => {
    const { config } = parseConfigText("", "f");
    expect(config.orchestration.max_parallel_wave_tasks).toBe("auto");
    const auto = waveLimit("auto");
    expect(auto.source).toBe("machine");
    expect(auto.value).toBeGreaterThanOrEqual(1);
    expect(auto.value).toBeLessThanOrEqual(availableParallelism() * 2);
    const cfg = processorConfig(config);
    expect(coldStart(500, cfg)).toBe(auto.value!);
    const all = parseConfigText("[orchestration]\nmax_parallel_wave_tasks = 0\n", "f").config;
    expect(waveLimit(all.orchestration.max_parallel_wave_tasks)).toMatchObject({ value: null, source: "config" });
    expect(coldStart(500, processorConfig(all))).toBe(500);
    expect(parseConfigText('[orchestration]\nmax_parallel_wave_tasks = "auto"\n', "f").config.orchestration.max_parallel_wave_tasks).toBe("auto");
    expect(() => parseConfigText('[orchestration]\nmax_parallel_wave_tasks = "many"\n', "f")).toThrow(/max_parallel_wave_tasks/);
  });
});

describe("shown where it is in force", () => {
  let sb: Sandbox;
  let daemon: Bun.Subprocess<"ignore", "pipe", "pipe">;
  beforeAll(async () => {
    sb = new Sandbox();
    sb.writeConfig("poll_interval_sec = 0.5\n");
    daemon = await sb.foreground();
  }, 60_000);
  afterAll(async () => {
    daemon?.kill("SIGTERM");
    await daemon?.exited;
    await sb?.cleanup();
  });

  test("status (text and --json) and doctor say the effective value and where it comes from", async () => {
    const json = await sb.run(["daemon", "status", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const w = JSON.parse(json.stdout).max_parallel_wave_tasks;
    expect(w).toMatchObject({ source: "machine", cores: availableParallelism() });
    expect(w.value).toBe(machineWaveLimit(w.cores, w.available_mb));
    const text = await sb.run(["daemon", "status"]);
    expect(text.stdout).toContain(`wave tasks at once: ${w.value} (from the machine: ${w.cores} cores`);
    const doctor = await sb.run(["doctor", "--json"]);
    const check = (JSON.parse(doctor.stdout).checks as { name: string; ok: boolean; detail: string }[]).find((c) => c.name === "wave tasks at once");
    expect(check?.ok).toBe(true);
    expect(check?.detail).toContain("from the machine");
    sb.writeConfig("poll_interval_sec = 0.5\n[orchestration]\nmax_parallel_wave_tasks = 0\n");
    const d0 = JSON.parse((await sb.run(["doctor", "--json"])).stdout).checks.find((c: { name: string }) => c.name === "wave tasks at once");
    expect(d0.ok).toBe(false);
    expect(d0.detail).toContain("all at once");
  }, 60_000);
});
