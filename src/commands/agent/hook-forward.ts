// What `kasmos agent hook` does, with as little loaded as possible: agent CLIs run it on every hook
// (Claude Code: before each tool call), so its cost is paid per tool call per agent. src/cli.ts runs
// `parseHookArgv` and `forwardHookEvent` before it loads citty; the citty command (hook.ts) calls
// `forwardHookEvent` for the rest (--help, odd argument shapes). Built-in fetch over the unix socket.
import { fstatSync } from "node:fs";
import { isHarnessName } from "../../agents/harness/registry.ts";
import { agentEvent, type AgentEventBody } from "../../api/agents.ts";
import { agentAuthHeader } from "../../server/agent-credential.ts";
import { clientSocketPath } from "../_util.ts";

export interface HookArgs {
  cli: string;
  event: string;
  json?: string | undefined;
  socket?: string | undefined;
}

/** How long a hook waits for a stdin that never closes (an inherited pipe) before going on without it. */
const STDIN_WAIT_MS = 2000;

async function readStdin(): Promise<string> {
  // Hooks get their JSON on stdin (Claude Code); codex passes it as the last argument instead. A
  // terminal (or /dev/null: both character devices) has nothing to read. Asked with fstat: touching
  // process.stdin builds Node's stdin stream, most of a hook's CPU time.
  if (stdinIsCharDevice()) return "";
  // The guard timer is cleared once stdin ends: a pending timer keeps the process alive, and Claude
  // Code waits for every hook, so the hook must not outlive its stdin.
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

function stdinIsCharDevice(): boolean {
  try {
    return fstatSync(0).isCharacterDevice();
  } catch {
    return true; // no stdin at all
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

/**
 * Report one hook event to the daemon. Never throws and never prints (Claude Code adds a hook's
 * stdout to the conversation); ends the process with exit 0 once done: a stdin that never closed is
 * still being read and would keep the process, and the agent waiting on it, alive.
 */
export async function forwardHookEvent(args: HookArgs): Promise<never> {
  const project = process.env.KASMOS_PROJECT ?? "";
  const title = process.env.KASMOS_INSTANCE_TITLE ?? "";
  if (project !== "" && title !== "") {
    try {
      const payload = parseObject(args.json ?? (await readStdin()));
      const cli = isHarnessName(args.cli) ? args.cli : "generic";
      const body: AgentEventBody = { project, title, cli, event: args.event, payload };
      const socket = await clientSocketPath(args.socket ?? process.env.KASMOS_SOCKET);
      const res = await fetch(`http://kasmos${agentEvent.path}`, {
        method: "POST",
        unix: socket,
        headers: { "content-type": "application/json", ...agentAuthHeader() },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(3000),
      });
      await res.arrayBuffer();
    } catch {
      // Daemon down or busy: the pane watcher and the next pass still see the agent.
    }
  }
  process.exit(0);
}

/**
 * `argv` after `agent hook`, when it is exactly what kasmos's own hooks pass (--cli X --event Y,
 * optionally --socket Z and one JSON argument, in any order, `--flag=value` too); null otherwise (then
 * citty handles it: --help, typos, missing values).
 */
export function parseHookArgv(argv: string[]): HookArgs | null {
  const out: Partial<HookArgs> = {};
  let positional: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (name !== "cli" && name !== "event" && name !== "socket") return null;
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || out[name] !== undefined) return null;
      out[name] = value;
    } else if (a.startsWith("-") && a !== "-") {
      return null;
    } else {
      if (positional !== undefined) return null;
      positional = a;
    }
  }
  if (out.cli === undefined || out.event === undefined) return null;
  return { cli: out.cli, event: out.event, json: positional, socket: out.socket };
}
