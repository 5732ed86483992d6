// How many wave tasks run at once when the config does not say: what the machine can hold. Real agent
// CLIs take ~300–500 MB each and mostly wait on their model, so the bound is min(2 per core, available
// memory / 500 MB), at least 1. `max_parallel_wave_tasks = 0` (all at once) only when set explicitly.
import { availableParallelism, freemem } from "node:os";
import { readFileSync } from "node:fs";

/** Memory one agent CLI is taken to need. */
export const AGENT_MEMORY_MB = 500;

export interface WaveLimit {
  /** Wave tasks running at once; null = all (explicit 0). */
  value: number | null;
  /** "config": set in daemon.toml; "machine": the default, from cores and memory. */
  source: "config" | "machine";
  cores: number;
  /** Memory available for new processes when the machine value was computed (MemAvailable). */
  available_mb: number;
}

/** MemAvailable (what can be had without swapping), else the kernel's free memory. */
function availableMb(meminfo = "/proc/meminfo"): number {
  try {
    const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(readFileSync(meminfo, "utf8"));
    if (m?.[1]) return Math.floor(Number(m[1]) / 1024);
  } catch {
    // not Linux: the portable figure
  }
  return Math.floor(freemem() / (1024 * 1024));
}

/** The machine's bound for `cores` and `memoryMb`. */
export function machineWaveLimit(cores: number, memoryMb: number): number {
  return Math.max(1, Math.min(cores * 2, Math.floor(memoryMb / AGENT_MEMORY_MB)));
}

let machine: { cores: number; available_mb: number } | null = null;

/** Measure the machine again (daemon start and reload); later calls reuse the figures. */
export function measureMachine(): void {
  machine = { cores: availableParallelism(), available_mb: availableMb() };
}

/** The effective limit for a configured value ("auto" = the machine's; 0 = all). */
export function waveLimit(configured: number | "auto"): WaveLimit {
  if (machine === null) measureMachine();
  const m = machine ?? { cores: 1, available_mb: 0 };
  if (configured !== "auto") return { value: configured === 0 ? null : configured, source: "config", ...m };
  return { value: machineWaveLimit(m.cores, m.available_mb), source: "machine", ...m };
}

/** One line for people: "4 (machine: 2 cores, 23000 MB available)" or "all (max_parallel_wave_tasks = 0)". */
export function describeWaveLimit(w: WaveLimit): string {
  if (w.value === null) return "all at once (max_parallel_wave_tasks = 0)";
  return w.source === "config" ? `${w.value} (max_parallel_wave_tasks)` : `${w.value} (from the machine: ${w.cores} cores, ${w.available_mb} MB available, ${AGENT_MEMORY_MB} MB per agent)`;
}
