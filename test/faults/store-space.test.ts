// Store faults: the store's filesystem fills up or turns read-only under a running daemon.
// A small tmpfs is mounted on ~/.config/kasmos (root bypasses permission bits, so chmod would prove
// nothing); it is always unmounted in afterEach. Signal files live in a repo outside the tmpfs.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, ping, Sandbox, waitFor } from "../helpers/env.ts";

const PLAN = "## Wave 1: a\n### Task 1: one\ndo it\n";
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

let sb: Sandbox;
let mounted: string | null = null;
let immutable = false;

/** The store file, its WAL/SHM and the folder (no new files): root can't write them once immutable. */
function immutableTargets(): string[] {
  const db = join(sb.configDir, "kasmos.db");
  return [db, `${db}-wal`, `${db}-shm`, sb.configDir].filter((p) => existsSync(p));
}

function sh(...argv: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

/** Mount a tmpfs of `size` on the sandbox's config dir; null when this environment cannot. */
function mountTmpfs(size: string): string | null {
  if (!isRoot) return "not root";
  mkdirSync(sb.configDir, { recursive: true });
  const r = sh("mount", "-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", sb.configDir);
  if (r.code !== 0) return `mount -t tmpfs failed: ${r.out.trim()}`;
  mounted = sb.configDir;
  return null;
}

/** chattr +i needs root and a filesystem that supports it (ext*, the sandbox lives in tmpdir). */
function chattrWorks(): string | null {
  if (!isRoot) return "not root";
  const probe = join(sb.dir, "chattr-probe");
  writeFileSync(probe, "x");
  const r = sh("chattr", "+i", probe);
  sh("chattr", "-i", probe);
  return r.code === 0 ? null : `chattr +i unsupported here: ${r.out.trim()}`;
}

beforeEach(() => {
  sb = new Sandbox("kf-");
});
afterEach(async () => {
  if (immutable) sh("chattr", "-i", ...immutableTargets());
  immutable = false;
  await sb.cleanup().catch(() => {});
  if (mounted) {
    // cleanup() killed the daemon; a lazy unmount never leaves a stale mount behind.
    if (sh("umount", mounted).code !== 0) sh("umount", "-l", mounted);
    mounted = null;
  }
  rmSync(sb.dir, { recursive: true, force: true });
});


const sigDir = (repo: string) => join(repo, ".kasmos", "signals");
const files = (dir: string) => {
  try {
    return readdirSync(dir).filter((n) => !n.startsWith(".") && n !== "failed" && n !== "processing");
  } catch {
    return [];
  }
};

/** Daemon + one repo + `n` tasks in implementing (all before the fault). */
async function setup(n: number): Promise<{ repo: string; daemon: Bun.Subprocess<"ignore", "pipe", "pipe"> }> {
  sb.writeConfig('poll_interval_sec = 0.2\nauto_advance = false\ndefault_program = "no-such-agent-program"\n');
  const repo = makeGitRepo(sb.dir, "shop");
  const planFile = join(sb.dir, "plan.md");
  writeFileSync(planFile, PLAN);
  const daemon = await sb.foreground();
  expect(daemon.exitCode).toBeNull();
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
  for (let i = 0; i < n; i++) {
    const c = await sb.run(["task", "create", `t${i}`, "--repo", repo, "--plan", planFile]);
    expect(c.code, c.stderr).toBe(0);
    const s = await sb.run(["task", "transition", `t${i}`, "implement_start", "--repo", repo]);
    expect(s.code, s.stderr).toBe(0);
  }
  return { repo, daemon };
}

/** Fill the filesystem holding `dir` with a dummy file until ENOSPC. */
function fill(dir: string): string {
  const dummy = join(dir, "dummy.fill");
  sh("dd", "if=/dev/zero", `of=${dummy}`, "bs=64k");
  return dummy;
}

/** Wait until every task's (failing) coder start is recorded, so the fault hits only the signals. */
async function settled(n: number): Promise<void> {
  await waitFor(() => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM agents WHERE state = 'failed'")[0]!.n >= n, 15_000, "failed agent starts to be recorded");
  await Bun.sleep(300);
}

async function stopAndLog(daemon: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<string> {
  daemon.kill("SIGTERM");
  expect(await daemon.exited).toBe(0);
  return await new Response(daemon.stderr).text();
}

type Fault = { name: string; apply: () => void; undo: () => void };

function faults(): Fault[] {
  let dummy = "";
  return [
    { name: "disk full", apply: () => void (dummy = fill(sb.configDir)), undo: () => rmSync(dummy, { force: true }) },
    {
      name: "read-only store (chattr +i)",
      apply: () => {
        const r = sh("chattr", "+i", ...immutableTargets());
        expect(r.code, r.out).toBe(0);
        immutable = true;
      },
      undo: () => {
        sh("chattr", "-i", ...immutableTargets());
        immutable = false;
      },
    },
  ];
}

for (const which of [0, 1]) {
  const label = ["disk full", "read-only store (chattr +i)"][which]!;

  test(`${label}: the daemon stays up, logs a clear error, the store stays intact, later signals work`, async () => {
    const why = which === 0 ? mountTmpfs("8m") : chattrWorks();
    if (why) {
      console.warn(`skipped (${label}): ${why}`);
      return;
    }
    const fault = faults()[which]!;
    const { repo, daemon } = await setup(3);
    await settled(3);
    fault.apply();
    writeFileSync(join(sigDir(repo), "implement-finished-t0"), "done t0\n");
    // The pass that hits the fault has run when the file left the folder or a poll interval went by.
    await Bun.sleep(1500);
    expect(await ping(sb.socket)).toBe(true);
    expect(daemon.exitCode).toBeNull();
    // Reads keep working: the CLI still lists tasks.
    const list = await sb.run(["task", "list", "--repo", repo, "--json"]);
    expect(list.code, list.stderr).toBe(0);
    fault.undo();
    // Space/permission back: a new signal is processed normally.
    writeFileSync(join(sigDir(repo), "implement-finished-t1"), "done t1\n");
    await waitFor(() => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = 't1'")[0]?.status === "reviewing", 15_000, "t1 to reach reviewing");
    expect(sb.query<{ integrity_check: string }>("PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
    const log = await stopAndLog(daemon);
    const errs = log.split("\n").filter((l) => / ERROR /.test(l));
    // A clear one-line error naming the cause, no stack trace, no crash.
    expect(errs.some((l) => /disk is full|readonly|read-only|disk I\/O error|not permitted/i.test(l)), log).toBe(true);
    expect(log).not.toContain("uncaught exception");
    expect(log).not.toMatch(/\n\s+at /);
  }, 60_000);

  // SQLITE_FULL / SQLITE_READONLY are "not now": the file stays and is processed after recovery.
  test(`${label}: a signal landing during the fault stays in the signals folder and is processed after recovery`, async () => {
    expect(which === 0 ? mountTmpfs("8m") : chattrWorks()).toBeNull();
    const fault = faults()[which]!;
    const { repo, daemon } = await setup(1);
    await settled(1);
    fault.apply();
    writeFileSync(join(sigDir(repo), "implement-finished-t0"), "done t0\n");
    await Bun.sleep(1500);
    expect(files(join(sigDir(repo), "failed"))).toEqual([]);
    expect(files(sigDir(repo))).toEqual(["implement-finished-t0"]);
    fault.undo();
    await waitFor(() => sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = 't0'")[0]?.status === "reviewing", 15_000, "t0 to reach reviewing");
    await stopAndLog(daemon);
  });
}


