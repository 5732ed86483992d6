// `kasmos agent hook`: run by an agent CLI's own hooks (Claude Code hooks, codex notify), never by
// hand. It forwards the event to the daemon, which learns that the agent started, ended its turn,
// waits for a person, or ended. It prints nothing (Claude Code adds a hook's stdout to the
// conversation) and always exits 0: a hook must never block or fail the agent.
import { defineCommand } from "citty";
import type { AgentEventBody } from "../../api/agents.ts";
import { daemonClient } from "../../daemon/client.ts";
import { withExamples } from "../_help.ts";
import { clientSocketPath } from "../_util.ts";

/** How long a hook waits for a stdin that never closes (an inherited pipe) before going on without it. */
const STDIN_WAIT_MS = 2000;

async function readStdin(): Promise<string> {
  // Hooks get their JSON on stdin (Claude Code); codex passes it as the last argument instead.
  if (process.stdin.isTTY) return "";
  // The guard timer is cleared once stdin ends: a pending timer keeps the process alive, and Claude
  // Code waits for every hook (PreToolUse runs before each tool call), so it must not outlive stdin.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(""), STDIN_WAIT_MS);
  });
  try {
    const text = await Promise.race([Bun.stdin.text(), guard]);
    return text.slice(0, 512 * 1024);
  } finally {
    clearTimeout(timer);
  }
}

function parseObject(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { raw: text.slice(0, 4000) };
  }
}

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
      const project = process.env.KASMOS_PROJECT ?? "";
      const title = process.env.KASMOS_INSTANCE_TITLE ?? "";
      if (project === "" || title === "") return; // not started by kasmos: nothing to report
      const payload = parseObject(args.json ?? (await readStdin()));
      const cli = (["claude", "codex", "opencode", "generic"] as const).find((c) => c === args.cli) ?? "generic";
      const body: AgentEventBody = { project, title, cli, event: args.event, payload };
      try {
        const socket = await clientSocketPath(args.socket ?? process.env.KASMOS_SOCKET);
        await daemonClient(socket)("/v1/agent-events", { method: "POST", body, timeout: 3000 });
      } catch {
        // Daemon down or busy: the pane watcher and the next pass still see the agent.
      }
      // A stdin that never closed is still being read and would keep the process (and the agent
      // waiting on it) alive: the hook is done, so it ends here.
      process.exit(0);
    },
  }),
  ["echo '{\"hook_event_name\":\"Stop\"}' | KASMOS_PROJECT=app KASMOS_INSTANCE_TITLE=t-coder kasmos agent hook --cli claude --event Stop"],
);
