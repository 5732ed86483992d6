// The lifecycle processor's view of the daemon config.
import type { ProcessorConfig } from "../lifecycle/model.ts";
import { effectiveConfig, loadRepoOverrides } from "./repo.ts";
import type { DaemonConfig } from "./schema.ts";
import { waveLimit } from "./wave-limit.ts";

export function processorConfig(c: DaemonConfig): ProcessorConfig {
  return {
    autoAdvance: c.auto_advance,
    autoReviewFix: c.auto_review_fix,
    autoReadinessReview: c.auto_readiness_review,
    maxReviewFixCycles: c.max_review_fix_cycles,
    readinessMaxVerifyCycles: c.readiness_max_verify_cycles,
    autoAdvanceWaves: c.auto_advance_waves,
    readinessSelfFixMaxLines: c.readiness_self_fix_max_lines,
    blueprintSkipThreshold: c.orchestration.blueprint_skip_threshold,
    maxParallelWaveTasks: waveLimit(c.orchestration.max_parallel_wave_tasks).value ?? 0,
  };
}

/** The processor config for one repository: the daemon's, with the repo's .kasmos/config.toml applied. */
export function repoProcessorConfig(daemon: DaemonConfig, repoPath: string | undefined): ProcessorConfig {
  return processorConfig(repoPath === undefined ? daemon : effectiveConfig(daemon, loadRepoOverrides(repoPath).overrides));
}
