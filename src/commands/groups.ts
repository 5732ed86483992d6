// The top-level commands, loaded on first use so `kasmos daemon status` never pays for the daemon's
// modules: one list for src/cli.ts and for the completion walk. `completion` is not here: it walks
// this list, and adds itself.
import type { AnyCommand } from "./_strict.ts";

export const ROOT_DESCRIPTION = "Run AI coding agents through plan → implement → review → verify → PR, unattended.";

const load = (module: Promise<{ default: unknown }>): Promise<AnyCommand> => module.then((m) => m.default as AnyCommand);

export const COMMAND_GROUPS: Record<string, () => Promise<AnyCommand>> = {
  daemon: () => load(import("./daemon/index.ts")),
  task: () => load(import("./task/index.ts")),
  signal: () => load(import("./signal/index.ts")),
  agent: () => load(import("./agent/index.ts")),
  doctor: () => load(import("./doctor.ts")),
  usage: () => load(import("./usage.ts")),
  notify: () => load(import("./notify/index.ts")),
  web: () => load(import("./web/index.ts")),
};
