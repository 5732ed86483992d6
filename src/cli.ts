#!/usr/bin/env bun
// Entry point of the `kasmos` (and `kas`) executable. Subcommands are imported lazily so a
// `kasmos daemon status` never pays for the daemon's modules.
// A SIGHUP that arrives while a starting daemon is still loading would kill it (default action): take
// it from the first instruction on; the daemon applies it (reload) once it runs.
if (process.argv.includes("start")) {
  (globalThis as { kasmosEarlySighup?: boolean }).kasmosEarlySighup = false;
  process.on("SIGHUP", () => {
    (globalThis as { kasmosEarlySighup?: boolean }).kasmosEarlySighup = true;
  });
}
// Agent CLIs run `kasmos agent hook` on every hook (Claude Code: before each tool call): the usual
// argument shapes go straight to the forwarder, before citty and the command tree load.
if (process.argv[2] === "agent" && process.argv[3] === "hook") {
  const { forwardHookEvent, parseHookArgv } = await import("./commands/agent/hook-forward.ts");
  const hook = parseHookArgv(process.argv.slice(4));
  if (hook) await forwardHookEvent(hook);
}
const { defineCommand, runMain } = await import("citty");
const { VERSION } = await import("./version.ts");
const { showUsage } = await import("./commands/_help.ts");
const { COMMAND_GROUPS, ROOT_DESCRIPTION } = await import("./commands/groups.ts");

const main = defineCommand({
  meta: { name: "kasmos", version: VERSION, description: ROOT_DESCRIPTION },
  subCommands: {
    ...COMMAND_GROUPS,
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
