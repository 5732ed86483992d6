// `kas doctor`: how many wave tasks run at once with the config in force (the machine's default or
// the configured value), and a warning when an explicit value is more than the machine holds.
import { describeWaveLimit, machineWaveLimit, waveLimit } from "../config/wave-limit.ts";
import type { CheckResult } from "./common.ts";

export function checkWaveLimit(configured: number | "auto"): CheckResult & { severity: "warn" } {
  const name = "wave tasks at once";
  const w = waveLimit(configured);
  const fits = machineWaveLimit(w.cores, w.available_mb);
  if (w.source === "config" && (w.value === null || w.value > fits)) {
    return { name, ok: false, severity: "warn", detail: `${describeWaveLimit(w)}: a large wave runs more agents than this machine holds (${fits})`, fix: `remove [orchestration] max_parallel_wave_tasks (the default fits the machine) or set it to at most ${fits}` };
  }
  return { name, ok: true, severity: "warn", detail: describeWaveLimit(w), fix: "" };
}
