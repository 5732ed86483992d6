#!/usr/bin/env bun
// Entry point of the `kasmos` (and `kas`) executable. Subcommands are imported lazily so a
// `kasmos daemon status` never pays for the daemon's modules (bun-stack.md §4).
// A SIGHUP that arrives while a starting daemon is still loading would kill it (default action): take
// it from the first instruction on; the daemon applies it (reload) once it runs.
if (process.argv.includes("start")) {
  (globalThis as { kasmosEarlySighup?: boolean }).kasmosEarlySighup = false;
  process.on("SIGHUP", () => {
    (globalThis as { kasmosEarlySighup?: boolean }).kasmosEarlySighup = true;
  });
}
import { defineCommand, runMain } from "citty";
import { VERSION } from "./version.ts";
import { showUsage } from "./commands/_help.ts";

const main = defineCommand({
  meta: {
    name: "kasmos",
    version: VERSION,
    description: "Run AI coding agents through plan → implement → review → verify → PR, unattended.",
  },
  subCommands: {
    daemon: () => import("./commands/daemon/index.ts").then((m) => m.default),
    task: () => import("./commands/task/index.ts").then((m) => m.default),
    signal: () => import("./commands/signal/index.ts").then((m) => m.default),
    agent: () => import("./commands/agent/index.ts").then((m) => m.default),
    doctor: () => import("./commands/doctor.ts").then((m) => m.default),
    usage: () => import("./commands/usage.ts").then((m) => m.default),
    notify: () => import("./commands/notify/index.ts").then((m) => m.default),
    completion: () => import("./commands/completion.ts").then((m) => m.default),
  },
});

// Unknown commands and options fail with a suggestion instead of being ignored.
const { strictArgsError } = await import("./commands/_strict.ts");
const problem = await strictArgsError(main, process.argv.slice(2));
if (problem) {
  console.error(`${problem.message}\nrun \`kasmos ${problem.path ? `${problem.path} ` : ""}--help\` for usage`);
  process.exit(1);
}
runMain(main, { showUsage });
