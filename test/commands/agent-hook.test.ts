// `kasmos agent hook` (the compiled binary) against a loopback unix socket that records what it is
// sent. Claude Code waits for every hook it runs (PreToolUse before each tool call), so the hook must
// end as soon as its report is sent: it used to stay alive 2 s after reading stdin (its stdin guard
// timer), and forever while a stdin pipe stayed open.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "../helpers/env.ts";
import { parseHookArgv } from "../../src/commands/agent/hook-forward.ts";

interface Received {
  path: string;
  body: unknown;
}

let dir = "";
let socket = "";
let server: ReturnType<typeof Bun.serve> | undefined;
const received: Received[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "khook-"));
  socket = join(dir, "d.sock");
  server = Bun.serve({
    unix: socket,
    async fetch(req) {
      received.push({ path: new URL(req.url).pathname, body: await req.json().catch(() => null) });
      return Response.json({ ok: true });
    },
  });
});

afterAll(() => {
  server?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

const AGENT_ENV = { KASMOS_PROJECT: "app", KASMOS_INSTANCE_TITLE: "t-coder" };

/** Run the hook; `stdin` is written and closed, or left open (`"open"`). Returns exit code and ms taken. */
async function hook(args: string[], stdin: string | "open", env: Record<string, string> = AGENT_ENV): Promise<{ code: number | "hung"; ms: number }> {
  const t0 = performance.now();
  const proc = Bun.spawn([BIN, "agent", "hook", ...args, "--socket", socket], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ...env },
  });
  if (stdin !== "open") {
    proc.stdin.write(stdin);
    await proc.stdin.end();
  }
  // Bound: the hook's own stdin guard is 2 s; 8 s means it would have held the agent indefinitely.
  const code = await Promise.race([proc.exited, Bun.sleep(8000).then(() => "hung" as const)]);
  const ms = performance.now() - t0;
  if (code === "hung") proc.kill(9);
  if (stdin === "open") await proc.stdin.end();
  const out = await new Response(proc.stdout).text();
  expect(out).toBe(""); // Claude Code adds a hook's stdout to the conversation
  return { code, ms };
}

describe("kasmos agent hook", () => {
  test("forwards Claude Code's stdin JSON and exits without waiting out its stdin guard", async () => {
    received.length = 0;
    const r = await hook(["--cli", "claude", "--event", "PreToolUse"], JSON.stringify({ hook_event_name: "PreToolUse", tool_name: "Bash" }));
    expect(r.code).toBe(0);
    // The old hook exited 2 s after its report, every time; a cold start is tens of milliseconds.
    expect(r.ms).toBeLessThan(1500);
    expect(received).toEqual([
      { path: "/v1/agent-events", body: { project: "app", title: "t-coder", cli: "claude", event: "PreToolUse", payload: { hook_event_name: "PreToolUse", tool_name: "Bash" } } },
    ]);
  });

  test("a stdin that never closes: reports without a payload after the guard and exits", async () => {
    received.length = 0;
    const r = await hook(["--cli", "claude", "--event", "Stop"], "open");
    expect(r.code).toBe(0);
    expect(received).toEqual([{ path: "/v1/agent-events", body: { project: "app", title: "t-coder", cli: "claude", event: "Stop", payload: {} } }]);
  }, 15_000);

  test("codex's JSON argument; an unknown CLI name is reported as generic; non-JSON is kept raw", async () => {
    received.length = 0;
    expect((await hook(["--cli", "codex", "--event", "notify", '{"type":"agent-turn-complete"}'], "")).code).toBe(0);
    expect((await hook(["--cli", "aider", "--event", "done", "not json"], "")).code).toBe(0);
    expect(received.map((r) => r.body)).toEqual([
      { project: "app", title: "t-coder", cli: "codex", event: "notify", payload: { type: "agent-turn-complete" } },
      { project: "app", title: "t-coder", cli: "generic", event: "done", payload: { raw: "not json" } },
    ]);
  });

  test("outside a kasmos agent, or with the daemon down, it sends nothing and exits 0", async () => {
    received.length = 0;
    expect((await hook(["--cli", "claude", "--event", "Stop"], "{}", {})).code).toBe(0);
    expect(received).toEqual([]);
    const down = Bun.spawn([BIN, "agent", "hook", "--cli", "claude", "--event", "Stop", "--socket", join(dir, "none.sock")], {
      stdin: new Blob(["{}"]),
      stdout: "pipe",
      stderr: "pipe",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ...AGENT_ENV },
    });
    expect(await Promise.race([down.exited, Bun.sleep(8000).then(() => "hung")])).toBe(0);
    expect(await new Response(down.stdout).text()).toBe("");
  });

  test("--help and typo'd flags still go through the full command line (usage, did-you-mean)", async () => {
    const help = Bun.spawnSync([BIN, "agent", "hook", "--help"], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir } });
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("--event");
    const typo = Bun.spawnSync([BIN, "agent", "hook", "--cli", "claude", "--evnt", "Stop"], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir } });
    expect(typo.exitCode).toBe(1);
    expect(typo.stderr.toString()).toContain("--event");
  });
});

describe("parseHookArgv (the shapes kasmos's own hooks pass, taken before citty loads)", () => {
  test("accepts --cli/--event/--socket in any order, --flag=value, one JSON argument", () => {
    expect(parseHookArgv(["--cli", "claude", "--event", "Stop"])).toEqual({ cli: "claude", event: "Stop", json: undefined, socket: undefined });
    expect(parseHookArgv(["--event=notify", "--cli=codex", '{"a":1}', "--socket", "/s"])).toEqual({ cli: "codex", event: "notify", json: '{"a":1}', socket: "/s" });
  });
  test("anything else is left to the full command line", () => {
    expect(parseHookArgv(["--cli", "claude"])).toBeNull(); // no event
    expect(parseHookArgv(["--cli", "claude", "--event"])).toBeNull(); // missing value
    expect(parseHookArgv(["--cli", "claude", "--event", "Stop", "--help"])).toBeNull();
    expect(parseHookArgv(["--cli", "claude", "--event", "Stop", "-h"])).toBeNull();
    expect(parseHookArgv(["--cli", "claude", "--evnt", "Stop"])).toBeNull();
    expect(parseHookArgv(["--cli", "a", "--cli", "b", "--event", "x"])).toBeNull(); // twice
    expect(parseHookArgv(["--cli", "claude", "--event", "Stop", "{}", "{}"])).toBeNull(); // two JSON arguments
  });
});
