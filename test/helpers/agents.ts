// Shared by the agent end-to-end tests: the fake agent (test/fixtures/fake-agent.sh) and a daemon
// config that runs it for every role with the auto flags on.
import { join } from "node:path";
import { ROOT } from "./env.ts";

export const FAKE_AGENT = join(ROOT, "test", "fixtures", "fake-agent.sh");

/** Three tasks (> blueprint_skip_threshold 2): architect, then wave 1 (two coders), then wave 2. */
export const WAVES_PLAN = `# Feature
**Goal:** two waves

## Wave 1: base
### Task 1: storage
make storage
### Task 2: config
make config

## Wave 2: api
### Task 3: endpoint
serve it
`;

/** daemon.toml: fast polling, auto flags on, the fake agent (with `extraEnv` knobs) as every role's program. */
export function fakeAgentConfig(extraEnv: string, extra = ""): string {
  return [
    "poll_interval_sec = 0.2",
    "auto_advance = true",
    "auto_review_fix = true",
    "auto_readiness_review = true",
    `default_program = "env ${extraEnv} ${FAKE_AGENT}"`,
    extra,
  ].join("\n");
}
