// Files kasmos reads on an agent's word (transcripts named in hook reports, stored on the agent row)
// are untrusted: a FIFO, an endless device, a link, a folder or a huge file named there must never
// stop the compiled daemon from answering — at the report, at the agent's exit, nor after a restart.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

/** /v1/status answers within `ms` (the daemon's main thread is free). */
async function answers(ms = 3000): Promise<boolean> {
  try {
    const r = await fetch("http://kasmos/v1/status", { unix: sb.socket, signal: AbortSignal.timeout(ms) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

/** A stand-in `claude` (the harness is chosen by the program's name) that just stays up, and what its preflight needs. */
function fakeClaude(): string {
  const bin = join(sb.dir, "bin");
  mkdirSync(bin, { recursive: true });
  const exe = join(bin, "claude");
  writeFileSync(exe, "#!/bin/sh\nexec sleep 300\n");
  chmodSync(exe, 0o755);
  writeFileSync(join(sb.home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));
  mkdirSync(join(sb.home, ".claude", "projects", "p"), { recursive: true });
  writeFileSync(join(sb.home, ".claude", "settings.json"), JSON.stringify({ skipDangerousModePermissionPrompt: true }));
  return exe;
}

const env = { ANTHROPIC_AUTH_TOKEN: "loopback", IS_SANDBOX: "1" };

test("a FIFO, /dev/zero, a link, a folder or a huge file as a hook's transcript_path never blocks the daemon; nor after a restart", async () => {
  const exe = fakeClaude();
  sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "${exe}"\n`);
  const repo = makeGitRepo(sb.dir, "web");
  let daemon = await sb.foreground([], env);
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
  expect((await sb.run(["task", "create", "t"], { cwd: repo })).code).toBe(0);
  expect((await sb.run(["task", "transition", "t", "plan_start"], { cwd: repo })).code).toBe(0);
  await waitFor(() => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM agents WHERE title = 't-plan' AND state = 'running'")[0]!.n === 1, 30_000, "the planner to run");

  const projects = join(sb.home, ".claude", "projects", "p");
  const fifo = join(projects, "fifo.jsonl");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  const huge = join(projects, "huge.jsonl");
  Bun.spawnSync(["truncate", "-s", "20G", huge]); // sparse: GBs of zeros, no newline
  symlinkSync("/dev/zero", join(projects, "zero.jsonl"));
  symlinkSync("/etc/passwd", join(projects, "passwd.jsonl"));
  mkdirSync(join(projects, "dir.jsonl"));
  const outside = join(sb.dir, "fifo-outside.jsonl");
  expect(Bun.spawnSync(["mkfifo", outside]).exitCode).toBe(0);

  const report = (path: string) =>
    fetch("http://kasmos/v1/agent-events", {
      method: "POST",
      unix: sb.socket,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ project: "web", title: "t-plan", cli: "claude", event: "PreToolUse", payload: { transcript_path: path } }),
      signal: AbortSignal.timeout(3000),
    }).then((r) => r.status);
  // The first report's path is stored on the agent (a FIFO in the CLI's own folder: only the file checks stop it).
  expect(await report(fifo)).toBe(200);
  for (let i = 0; i < 5; i++) expect(await answers()).toBe(true);
  for (const p of [outside, "/dev/zero", join(projects, "zero.jsonl"), join(projects, "passwd.jsonl"), join(projects, "dir.jsonl"), huge, "/proc/self/fd/0"]) {
    expect(await report(p)).toBe(200);
    expect(await answers()).toBe(true);
  }
  // The first report's path stays on the agent (later ones never replace it).
  const stored = () => sb.query<{ transcript: string }>("SELECT transcript FROM agents WHERE title = 't-plan' ORDER BY id DESC LIMIT 1")[0]!.transcript;
  expect(stored()).toBe(fifo);
  // Refused, said once (log and audit), never read.
  await waitFor(() => sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'usage_rejected'").some((r) => r.message.includes("not a regular file")), 10_000, "the refusal to be audited");

  // The stored FIFO again at the next daemon run (periodic and exit-time usage reads).
  daemon.kill("SIGTERM");
  await daemon.exited;
  daemon = await sb.foreground([], env);
  for (let i = 0; i < 10; i++) {
    expect(await answers()).toBe(true);
    await Bun.sleep(200); // passes run between looks (usage is read every few passes)
  }
  // The agent exits: its end-of-run usage read meets the FIFO too.
  const session = sb.query<{ session: string }>("SELECT session FROM agents WHERE title = 't-plan' ORDER BY id DESC LIMIT 1")[0]!.session;
  Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "kill-session", "-t", session]);
  await waitFor(async () => sb.query<{ state: string }>("SELECT state FROM agents WHERE title = 't-plan' ORDER BY id DESC LIMIT 1")[0]!.state !== "running", 20_000, "the planner's end to be recorded");
  expect(await answers()).toBe(true);
  const st = await api(sb.socket, "GET", "/v1/status");
  expect(st.status).toBe(200);
  daemon.kill("SIGTERM");
  expect(await daemon.exited).toBe(0);
}, 120_000);
