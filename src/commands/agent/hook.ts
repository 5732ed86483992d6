// `kasmos agent hook`: run by an agent CLI's own hooks (Claude Code hooks, codex notify), never by
// hand. It forwards the event to the daemon, which learns that the agent started, ended its turn,
// waits for a person, or ended. It prints nothing (Claude Code adds a hook's stdout to the
// conversation) and always exits 0: a hook must never block or fail the agent. The usual argument
// shapes never reach this command: src/cli.ts forwards them before citty loads (hook-forward.ts).
import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { forwardHookEvent } from "./hook-forward.ts";

export default withExamples(
  defineCommand({
    meta: { name: "hook", description: "Forward an agent CLI's hook event to the daemon (used by the hooks kasmos installs per agent)" },
    args: {
      cli: { type: "string", description: "the CLI reporting: claude, codex, opencode or generic", valueHint: "name", required: true },
      event: { type: "string", description: "the CLI's event name (Stop, Notification, notify, …)", valueHint: "name", required: true },
      json: { type: "positional", required: false, description: "event JSON (codex passes it as an argument; Claude Code on stdin)", valueHint: "json" },
      socket: { type: "string", description: "daemon socket", valueHint: "path" },
    },
    async run({ args }) {
      await forwardHookEvent({ cli: args.cli, event: args.event, json: args.json, socket: args.socket });
    },
  }),
  ["echo '{\"hook_event_name\":\"Stop\"}' | KASMOS_PROJECT=app KASMOS_INSTANCE_TITLE=t-coder kasmos agent hook --cli claude --event Stop"],
);
