// Runtime faults under a running daemon: the tmux server killed under running agents, a registered
// repo folder deleted (and recreated), and signal files whose mtimes lie far in the future or past
// (what a clock jump looks like to the settle check; the system clock itself is not touched).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, ping, ROOT, Sandbox, waitFor } from "../helpers/env.ts";

const IDLE = join(ROOT, "test", "faults", "idle-agent.sh");
const PLAN = "## Wave 1: a\n### Task 1: one\ndo it\n";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox("kf-");
});
afterEach(async () => {
  await sb.cleanup();
});

async function start(program: string): Promise<{ repo: string; daemon: Bun.Subprocess<"ignore", "pipe", "pipe"> }> {
  sb.writeConfig(`poll_interval_sec = 0.2\nauto_advance = false\ndefault_program = "${program}"\n`);
  const repo = makeGitRepo(sb.dir, "shop");
  writeFileSync(join(sb.dir, "plan.md"), PLAN);
  const daemon = await sb.foreground();
  expect(daemon.exitCode).toBeNull();
  const a = await sb.run(["daemon", "add", repo]);
  expect(a.code, a.stderr).toBe(0);
  return { repo, daemon };
}

async function task(repo: string, name: string): Promise<void> {
  const c = await sb.run(["task", "create", name, "--repo", repo, "--plan", join(sb.dir, "plan.md")]);
  expect(c.code, c.stderr).toBe(0);
  const s = await sb.run(["task", "transition", name, "implement_start", "--repo", repo]);
  expect(s.code, s.stderr).toBe(0);
}

const statusOf = (name: string) => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = ?", name)[0]?.status;

async function stop(daemon: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<string> {
  daemon.kill("SIGTERM");
  expect(await daemon.exited).toBe(0);
  return await new Response(daemon.stderr).text();
}

test("tmux server killed under running agents: agents reported ended, attention raised, daemon up, task recoverable", async () => {
  const { repo, daemon } = await start(IDLE);
  await task(repo, "a");
  await task(repo, "b");
  await waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 2, 20_000, "two agents running");
  const k = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "kill-server"]);
  expect(k.exitCode).toBe(0);
  await waitFor(() => sb.query("SELECT * FROM agents WHERE state = 'running'").length === 0, 15_000, "agents to be recorded as ended");
  expect(sb.query<{ state: string }>("SELECT state FROM agents ORDER BY id").map((r) => r.state)).toEqual(["exited", "exited"]);
  await waitFor(() => sb.query("SELECT * FROM audit_events WHERE kind = 'stuck_detected'").length === 2, 10_000, "stuck_detected for both tasks");
  for (const t of ["a", "b"]) {
    expect(sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = ?", t)[0]!.attention).toContain("without its signal");
    expect(statusOf(t)).toBe("implementing"); // nothing lost
  }
  // No respawn loop on a dead server: still 2 agent rows a few passes later.
  await Bun.sleep(1000);
  expect(sb.query("SELECT * FROM agents").length).toBe(2);
  expect(await ping(sb.socket)).toBe(true);
  const st = await sb.run(["daemon", "status"]);
  expect(st.code, st.stderr).toBe(0);

  // Operator recovery: cancel one task, re-run the other (reimplement starts a fresh coder on a new server).
  const c = await sb.run(["task", "transition", "a", "cancel", "--repo", repo]);
  expect(c.code, c.stderr).toBe(0);
  expect(statusOf("a")).toBe("cancelled");
  for (const ev of ["cancel", "reopen"]) {
    const r = await sb.run(["task", "transition", "b", ev, "--repo", repo]);
    expect(r.code, `${ev}: ${r.stderr}`).toBe(0);
  }
  if (statusOf("b") === "ready") expect((await sb.run(["task", "transition", "b", "implement_start", "--repo", repo])).code).toBe(0);
  await waitFor(() => sb.query("SELECT * FROM agents WHERE task = 'b' AND state = 'running'").length === 1, 20_000, "a fresh coder for b on a new tmux server");
  const log = await stop(daemon);
  expect(log).not.toContain("uncaught exception");
}, 90_000);

test("registered repo folder deleted: status shows the problem, scans skip it, daemon up; recreated → picked up again", async () => {
  const { repo, daemon } = await start("no-such-agent-program");
  const other = makeGitRepo(sb.dir, "other");
  expect((await sb.run(["daemon", "add", other])).code).toBe(0);
  await task(other, "o1");
  rmSync(repo, { recursive: true, force: true });
  await Bun.sleep(800); // several poll passes over a missing folder
  expect(await ping(sb.socket)).toBe(true);
  const st = await sb.run(["daemon", "status", "--json"]);
  expect(st.code, st.stderr).toBe(0);
  const repos = (JSON.parse(st.stdout) as { repos: { project: string; problem: string | null }[] }).repos;
  expect(repos.find((r) => r.project === "shop")?.problem).toContain("does not exist");
  expect(repos.find((r) => r.project === "other")?.problem ?? null).toBeNull();
  const human = await sb.run(["daemon", "status"]);
  expect(human.stdout).toContain("path does not exist");
  // The other repo keeps working meanwhile.
  writeFileSync(join(other, ".kasmos", "signals", "implement-finished-o1"), "done\n");
  await waitFor(() => statusOf("o1") === "reviewing", 10_000, "o1 to reach reviewing");
  // Nothing was recreated behind the operator's back.
  expect(existsSync(repo)).toBe(false);

  makeGitRepo(sb.dir, "shop");
  await waitFor(async () => {
    const s = await sb.run(["daemon", "status", "--json"]);
    return (JSON.parse(s.stdout) as { repos: { project: string; problem: string | null }[] }).repos.find((r) => r.project === "shop")?.problem == null;
  }, 10_000, "shop's problem to clear");
  await task(repo, "s1");
  // The signals folder may have to be (re)created by the daemon; write ours once it exists or create it.
  const sig = join(repo, ".kasmos", "signals");
  await waitFor(() => existsSync(sig), 5_000, "shop's signals folder").catch(() => Bun.spawnSync(["mkdir", "-p", sig]));
  writeFileSync(join(sig, "implement-finished-s1"), "done\n");
  await waitFor(() => statusOf("s1") === "reviewing", 10_000, "s1 to reach reviewing");
  const log = await stop(daemon);
  expect(log).not.toContain("uncaught exception");
}, 60_000);

test("signal files with mtimes far in the past are processed promptly, in id order", async () => {
  const { repo, daemon } = await start("no-such-agent-program");
  const names = ["p1", "p2", "p3"];
  for (const n of names) await task(repo, n);
  const sig = join(repo, ".kasmos", "signals");
  const now = Date.now() / 1000;
  const mtime: Record<string, number> = { p1: now - 86_400 * 365 * 20, p2: 1, p3: now - 3600 };
  for (const n of names) {
    const tmp = join(sig, `.tmp-${n}`);
    writeFileSync(tmp, `done ${n}\n`);
    utimesSync(tmp, mtime[n]!, mtime[n]!);
    Bun.spawnSync(["mv", tmp, join(sig, `implement-finished-${n}`)]); // rename keeps the mtime
  }
  await waitFor(() => names.every((n) => statusOf(n) === "reviewing"), 5_000, "all tasks to reach reviewing");
  // Files leave the folder right after their commit (subscribers hear of the transition first).
  const left = (): string[] => readdirSync(sig).filter((n) => !n.startsWith(".") && n !== "failed" && n !== "processing");
  await waitFor(() => left().length === 0, 5_000, "the signal files to leave the folder").catch(() => undefined);
  expect(left()).toEqual([]);
  expect(existsSync(join(sig, "failed")) ? readdirSync(join(sig, "failed")) : []).toEqual([]);
  const rows = sb.query<{ id: number; task: string; status: string }>("SELECT id, task, status FROM signals ORDER BY id");
  expect(rows.map((r) => r.status)).toEqual(["done", "done", "done"]);
  expect(rows.map((r) => r.task).sort()).toEqual([...names].sort());
  // Ordering is by id, never by a timestamp: a later file gets the next id whatever the mtimes said.
  writeFileSync(join(sig, "review-changes-p1"), "again\n");
  await waitFor(() => statusOf("p1") === "implementing", 5_000, "p1 back to implementing");
  const last = sb.query<{ id: number; task: string }>("SELECT id, task FROM signals ORDER BY id DESC LIMIT 1")[0]!;
  expect(last).toEqual({ id: Math.max(...rows.map((r) => r.id)) + 1, task: "p1" });
  await stop(daemon);
}, 60_000);

// A file whose mtime is in the future (clock jumped back, a skewed host or network fs) counts as
// settled: it is processed right away instead of waiting for the clock to catch up.
test("signal file with a future mtime (clock jumped back) is processed within a poll interval", async () => {
  const { repo, daemon } = await start("no-such-agent-program");
  await task(repo, "f1");
  const sig = join(repo, ".kasmos", "signals");
  const tmp = join(sig, ".tmp-f1");
  writeFileSync(tmp, "done\n");
  const future = Date.now() / 1000 + 3600;
  utimesSync(tmp, future, future);
  Bun.spawnSync(["mv", tmp, join(sig, "implement-finished-f1")]);
  await waitFor(() => statusOf("f1") === "reviewing", 5000, "f1 to be processed");
  // The file leaves the folder right after its commit (subscribers hear of the transition first).
  await waitFor(() => !existsSync(join(sig, "implement-finished-f1")), 5000, "the file to leave the folder").catch(() => undefined);
  expect(existsSync(join(sig, "implement-finished-f1"))).toBe(false);
  expect(await ping(sb.socket)).toBe(true);
  await stop(daemon);
}, 60_000);
