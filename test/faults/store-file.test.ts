// Store faults: the store file is corrupted before start, or deleted under a running daemon.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, ping, Sandbox, waitFor } from "../helpers/env.ts";

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox("kf-");
});
afterEach(async () => {
  await sb.cleanup();
});

const dbPath = () => join(sb.configDir, "kasmos.db");

function corrupt(kind: "random" | "bad-header"): Buffer {
  mkdirSync(sb.configDir, { recursive: true });
  const bytes = kind === "random" ? Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 131 + 7) % 256)) : Buffer.concat([Buffer.from("SQLite format 3\0"), Buffer.alloc(4080, 0x5a)]);
  writeFileSync(dbPath(), bytes);
  return bytes;
}

for (const kind of ["random", "bad-header"] as const) {
  test(`corrupted store (${kind} bytes): daemon start exits 1 with one line, leaves the file untouched`, async () => {
    const bytes = corrupt(kind);
    const r = await sb.run(["daemon", "start", "--foreground"], { timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines.length).toBe(1); // no stack trace
    expect(lines[0]!.length).toBeGreaterThan(0);
    expect(await ping(sb.socket)).toBe(false);
    // Never "repaired" by overwriting: the operator's bytes are still there to be rescued.
    expect(readFileSync(dbPath()).equals(bytes)).toBe(true);
    // The CLI refuses too (exit 1, one line), rather than silently using another file.
    const l = await sb.run(["task", "list", "--all"]);
    expect(l.code).toBe(1);
    expect(l.stderr.trim().split("\n").length).toBe(1);
  });
}

// openStore (src/store/db.ts) names the store and a way out.
test("corrupted store: the refusal names the store path and a fix (e.g. move it aside / KASMOS_STORE)", async () => {
  corrupt("random");
  const r = await sb.run(["daemon", "start", "--foreground"], { timeoutMs: 15_000 });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(dbPath());
  expect(r.stderr).toMatch(/move|rename|KASMOS_STORE|restore/i);
});

test("store file deleted under a running daemon: it keeps answering and working on its open handle", async () => {
  sb.writeConfig('poll_interval_sec = 0.2\nauto_advance = false\ndefault_program = "no-such-agent-program"\n');
  const repo = makeGitRepo(sb.dir, "shop");
  writeFileSync(join(sb.dir, "plan.md"), "## Wave 1: a\n### Task 1: one\ndo it\n");
  const daemon = await sb.foreground();
  expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
  expect((await sb.run(["task", "create", "t0", "--repo", repo, "--plan", join(sb.dir, "plan.md")])).code).toBe(0);
  expect((await sb.run(["task", "transition", "t0", "implement_start", "--repo", repo])).code).toBe(0);
  for (const f of ["kasmos.db", "kasmos.db-wal", "kasmos.db-shm"]) rmSync(join(sb.configDir, f), { force: true });
  expect(existsSync(dbPath())).toBe(false);
  // A signal file is still processed (the daemon's handle outlives the unlink) and the daemon stays up.
  writeFileSync(join(repo, ".kasmos", "signals", "implement-finished-t0"), "done\n");
  await waitFor(() => !existsSync(join(repo, ".kasmos", "signals", "implement-finished-t0")), 10_000, "the signal file to be consumed");
  expect(existsSync(join(repo, ".kasmos", "signals", "failed", "implement-finished-t0"))).toBe(false);
  expect(await ping(sb.socket)).toBe(true);
  const status = await sb.run(["daemon", "status", "--json"]);
  expect(status.code, status.stderr).toBe(0);
  expect(daemon.exitCode).toBeNull();
  // Current behaviour: the CLI silently opens a fresh, empty store at the same path (see the todo below).
  const list = await sb.run(["task", "list", "--repo", repo, "--json"]);
  expect(list.code, list.stderr).toBe(0);
  expect(list.stdout).not.toContain("t0");
  daemon.kill("SIGTERM");
  expect(await daemon.exited).toBe(0);
  // Everything it did after the unlink is gone with the inode; a restart starts from an empty store.
  const db = new Database(dbPath(), { create: true, readonly: false });
  try {
    expect(db.query("SELECT COUNT(*) AS n FROM tasks").get()).toEqual({ n: 0 });
  } catch (err) {
    expect(String(err)).toContain("no such table"); // or not even a schema yet
  } finally {
    db.close();
  }
}, 60_000);

// The daemon notices the store file vanishing (checked every timer pass) and says so, once, loudly.
test("store file deleted under a running daemon: the daemon reports it clearly", async () => {
  sb.writeConfig('poll_interval_sec = 0.2\nauto_advance = false\ndefault_program = "no-such-agent-program"\n');
  const daemon = await sb.foreground();
  for (const f of ["kasmos.db", "kasmos.db-wal", "kasmos.db-shm"]) rmSync(join(sb.configDir, f), { force: true });
  await Bun.sleep(1200); // several timer passes
  daemon.kill("SIGTERM");
  await daemon.exited;
  const log = await new Response(daemon.stderr).text();
  expect(log.match(/was deleted while the daemon runs/g)).toHaveLength(1);
  expect(log).toContain(dbPath());
}, 60_000);
