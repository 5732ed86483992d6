// Bad signals of every kind are quarantined in failed/ with a reason (and a failed row where a row
// can exist); nothing is silently dropped and the daemon keeps serving.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

const PLAN = "## Wave 1: a\n### Task 1: one\ndo it\n";
let sb: Sandbox;
let repo: string;
let sig: string;
let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;

function drop(dir: string, name: string, body: string | Buffer = ""): void {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${name.replace(/\//g, "_")}`);
  writeFileSync(tmp, body);
  renameSync(tmp, join(dir, name));
}

function reason(name: string, dir = sig): string {
  return readFileSync(join(dir, "failed", `${name}.reason`), "utf8");
}

async function quarantined(name: string, dir = sig): Promise<string> {
  await waitFor(() => existsSync(join(dir, "failed", `${name}.reason`)), 15_000, `${name} to be quarantined`);
  expect(existsSync(join(dir, name))).toBe(false);
  expect(existsSync(join(dir, "failed", name))).toBe(true);
  const r = reason(name, dir);
  expect(r).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \S/); // "<RFC3339 time> <reason>"
  return r;
}

function rows(): { task: string; signal_type: string; status: string; result: string; source: string }[] {
  const d = new Database(join(sb.configDir, "kasmos.db"), { readonly: true });
  try {
    return d.query("SELECT task, signal_type, status, result, source FROM signals ORDER BY id").all() as never;
  } finally {
    d.close();
  }
}

beforeAll(async () => {
  sb = new Sandbox();
  repo = makeGitRepo(sb.dir, "bad");
  sig = join(repo, ".kasmos", "signals");
  writeFileSync(join(sb.dir, "plan.md"), PLAN);
  sb.writeConfig(`poll_interval_sec = 0.2\nrepos = ["${repo}"]\n`);
  for (const t of ["alpha", "beta"]) {
    expect((await sb.run(["task", "create", t, "--plan", join(sb.dir, "plan.md")], { cwd: repo })).code).toBe(0);
  }
  expect((await sb.run(["task", "transition", "beta", "implement_start"], { cwd: repo })).code).toBe(0);
  // Written while the daemon is down, so one pass sees both: the same signal in the root and a worktree.
  drop(sig, "implement-finished-beta");
  Bun.spawnSync(["git", "-C", repo, "worktree", "add", "-q", ".worktrees/plan-beta", "-b", "plan/beta"]);
  drop(join(repo, ".worktrees", "plan-beta", ".kasmos", "signals"), "implement-finished-beta");
  proc = await sb.foreground();
});
afterAll(async () => {
  proc.kill("SIGTERM");
  await proc.exited;
  await sb.cleanup();
});

describe("quarantine", () => {
  test("the same signal in root and worktree in one pass: applied once, the duplicate quarantined", async () => {
    const wtSig = join(repo, ".worktrees", "plan-beta", ".kasmos", "signals");
    const r = await quarantined("implement-finished-beta", wtSig);
    expect(r).toContain("duplicate of signal #");
    await waitFor(() => rows().filter((x) => x.task === "beta").length === 2, 5000, "two rows for beta");
    expect(rows().filter((x) => x.task === "beta").map((x) => x.status).sort()).toEqual(["done", "failed"]);
  });

  test("unrecognised names, agents trying user-only events, and bad numbers", async () => {
    drop(sig, "garbage.txt");
    expect(await quarantined("garbage.txt")).toContain("unrecognised signal name");
    drop(sig, "cancel-alpha");
    expect(await quarantined("cancel-alpha")).toContain("cancel");
    drop(sig, "implement-task-finished-w0-t1-alpha");
    expect(await quarantined("implement-task-finished-w0-t1-alpha")).toMatch(/wave|w0|>= ?1|at least 1/i);
    drop(sig, "planner-finished-");
    expect(await quarantined("planner-finished-")).toMatch(/empty|task name/i);
  });

  test("unknown task and invalid transition → failed row and failed/ file", async () => {
    drop(sig, "review-approved-ghost");
    expect(await quarantined("review-approved-ghost")).toContain("unknown task: ghost");
    drop(sig, "implement-finished-alpha"); // alpha is ready: invalid
    expect(await quarantined("implement-finished-alpha")).toContain('invalid transition: "ready" + "implement_finished"');
    const r = rows();
    expect(r.find((x) => x.task === "ghost")?.status).toBe("failed");
    expect(r.find((x) => x.task === "alpha" && x.signal_type === "implement_finished")?.result).toContain("invalid transition");
  });

  test("oversized body (> 256 KiB) is refused without being applied", async () => {
    expect((await sb.run(["task", "transition", "alpha", "implement_start"], { cwd: repo })).code).toBe(0);
    drop(sig, "implement-finished-alpha", Buffer.alloc(256 * 1024 + 1, 0x61));
    // failed/implement-finished-alpha exists from the previous test, so this one gets a time suffix
    const big = () => readdirSync(join(sig, "failed")).filter((n) => /^implement-finished-alpha\.\d{4}-.*\.reason$/.test(n));
    await waitFor(() => big().length === 1, 15_000, "oversized signal to be quarantined");
    expect(readFileSync(join(sig, "failed", big()[0]!), "utf8")).toContain("body too large");
    expect(existsSync(join(sig, "implement-finished-alpha"))).toBe(false);
    const t = JSON.parse((await sb.run(["task", "show", "alpha", "--json"], { cwd: repo })).stdout) as { task: { status: string } };
    expect(t.task.status).toBe("implementing");
  });

  test("symlinks are not followed", async () => {
    writeFileSync(join(sb.dir, "outside"), "secret");
    symlinkSync(join(sb.dir, "outside"), join(sig, "review-approved-alpha"));
    expect(await quarantined("review-approved-alpha")).toContain("not a regular file");
    expect(readFileSync(join(sb.dir, "outside"), "utf8")).toBe("secret");
  });

  test("hidden files and folders are ignored, and the daemon is still healthy", async () => {
    drop(sig, ".swap");
    mkdirSync(join(sig, "some-folder"));
    await Bun.sleep(500);
    expect(existsSync(join(sig, ".swap"))).toBe(true);
    expect(existsSync(join(sig, "some-folder"))).toBe(true);
    expect((await api(sb.socket, "GET", "/v1/ping")).status).toBe(200);
    const hist = await sb.run(["task", "history", "beta"], { cwd: repo });
    expect(hist.stdout.match(/plan_transition implementing → reviewing/g)).toHaveLength(1);
  });
});
