// Record files named on an agent's word: only ordinary files of this account inside the CLI's record
// folders are read, without ever waiting on the file (FIFO), a bounded amount per read and in total.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { appendFileSync, chownSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readOpencodeSession } from "../../src/agents/harness/opencode.ts";
import { MAX_READ, MAX_RECORD_BYTES, openRecord, readNewLines, RecordRefused, withinRoots } from "../../src/agents/record-file.ts";

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "krec-"));
  root = join(dir, "projects");
  mkdirSync(root);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Why `path` is refused (fast: no FIFO may make it wait), or null when it opens. */
async function refusal(path: string): Promise<string | null> {
  const t0 = performance.now();
  try {
    await (await openRecord(path, [root])).close();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(RecordRefused);
    return (err as Error).message;
  } finally {
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

test("FIFO, devices, links, folders, hard links, other accounts' files and paths outside the record folders are refused", async () => {
  const fifo = join(root, "fifo.jsonl");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  expect(await refusal(fifo)).toContain("not a regular file");
  symlinkSync("/dev/zero", join(root, "zero.jsonl"));
  expect(await refusal(join(root, "zero.jsonl"))).toContain("outside");
  symlinkSync("/etc/passwd", join(root, "passwd.jsonl"));
  expect(await refusal(join(root, "passwd.jsonl"))).toContain("outside");
  writeFileSync(join(root, "real.jsonl"), "{}\n");
  symlinkSync(join(root, "real.jsonl"), join(root, "inside-link.jsonl"));
  expect(await refusal(join(root, "inside-link.jsonl"))).toContain("symbolic link");
  mkdirSync(join(root, "dir.jsonl"));
  expect(await refusal(join(root, "dir.jsonl"))).toContain("not a regular file");
  linkSync(join(root, "real.jsonl"), join(root, "hard.jsonl"));
  expect(await refusal(join(root, "hard.jsonl"))).toContain("hard link");
  rmSync(join(root, "hard.jsonl"));
  expect(await refusal(join(root, "real.jsonl"))).toBeNull();
  // A folder inside that leads outside.
  mkdirSync(join(dir, "elsewhere"));
  writeFileSync(join(dir, "elsewhere", "t.jsonl"), "{}\n");
  symlinkSync(join(dir, "elsewhere"), join(root, "sub"));
  expect(await refusal(join(root, "sub", "t.jsonl"))).toContain("outside");
  for (const p of ["/dev/zero", "/dev/urandom", "/proc/self/fd/0", "/etc/shadow", join(root, "..", "elsewhere", "t.jsonl"), "relative.jsonl", ""]) expect(await refusal(p)).toContain("outside");
  expect(withinRoots(join(root, "a", "b.jsonl"), [root])).toBe(true);
  expect(withinRoots(`${root}-other/b.jsonl`, [root])).toBe(false);
  if (process.getuid?.() === 0) {
    writeFileSync(join(root, "theirs.jsonl"), "{}\n");
    chownSync(join(root, "theirs.jsonl"), 65534, 65534);
    expect(await refusal(join(root, "theirs.jsonl"))).toContain("another account");
  }
});

test("a huge sparse file and a file that keeps growing are read a bounded amount at a time, and not past the total bound", async () => {
  const huge = join(root, "huge.jsonl");
  Bun.spawnSync(["truncate", "-s", String(MAX_RECORD_BYTES + 4 * MAX_READ), huge]);
  // No newline in a whole read: the read moves past it (never stuck re-reading the same bytes).
  let r = await readNewLines(huge, 0, [root]);
  expect(r).toEqual({ lines: [], offset: MAX_READ, capped: false });
  // Near the bound: nothing past it is read, and it says so.
  r = await readNewLines(huge, MAX_RECORD_BYTES - MAX_READ, [root]);
  expect(r.offset).toBe(MAX_RECORD_BYTES);
  expect(r.capped).toBe(true);
  expect((await readNewLines(huge, MAX_RECORD_BYTES, [root])).offset).toBe(MAX_RECORD_BYTES);

  const growing = join(root, "growing.jsonl");
  writeFileSync(growing, "");
  let offset = 0;
  for (let i = 0; i < 3; i++) {
    appendFileSync(growing, `${"x".repeat(1000)}\n`.repeat(2000)); // written between reads
    const n = await readNewLines(growing, offset, [root]);
    expect(n.offset - offset).toBeLessThanOrEqual(MAX_READ);
    offset = n.offset;
  }
});

test("opencode's database: a FIFO in its place is refused without waiting; counts past the ceiling are rejected", async () => {
  const db = join(root, "opencode.db");
  expect(Bun.spawnSync(["mkfifo", db]).exitCode).toBe(0);
  let ticks = 0;
  const iv = setInterval(() => ticks++, 10);
  await expect(readOpencodeSession(db, [root], "/w", "/p.md", "")).rejects.toThrow("not a regular file");
  rmSync(db);
  const d = new Database(db);
  d.exec(`CREATE TABLE session (id TEXT, directory TEXT, parent_id TEXT, time_created INTEGER, model TEXT, tokens_input REAL, tokens_output INTEGER, tokens_cache_read INTEGER, tokens_cache_write INTEGER);
    CREATE TABLE message (id TEXT, session_id TEXT, data TEXT); CREATE TABLE part (id TEXT, message_id TEXT, data TEXT);
    INSERT INTO session VALUES ('s1', '/w', NULL, 1, 'loop/m', 1e308, 5, 0, 0);
    INSERT INTO message VALUES ('m1', 's1', '{"role":"user"}'); INSERT INTO part VALUES ('p1', 'm1', '{"text":"read /p.md"}');`);
  d.close();
  const bad = await readOpencodeSession(db, [root], "/w", "/p.md", "");
  expect(bad.totals).toBeNull();
  expect(bad.rejected).toEqual([expect.stringContaining("tokens_input")]);
  const w = new Database(db);
  w.exec("UPDATE session SET tokens_input = 1200");
  w.close();
  expect((await readOpencodeSession(db, [root], "/w", "/p.md", "")).totals).toEqual({ "loop/m": { input: 1200, output: 5, cacheWrite: 0, cacheRead: 0 } });
  clearInterval(iv);
  expect(ticks).toBeGreaterThan(0); // the loop kept turning
}, 30_000);

test("record folders reached through a link (~/.claude kept in a dotfiles folder) are read whichever way the CLI names the file", async () => {
  const real = join(dir, "dotfiles-projects");
  mkdirSync(real);
  writeFileSync(join(real, "t.jsonl"), "{}\n");
  const linked = join(dir, "linked-projects");
  symlinkSync(real, linked);
  for (const p of [join(linked, "t.jsonl"), join(real, "t.jsonl")]) await (await openRecord(p, [linked])).close();
  await expect(openRecord(join(dir, "elsewhere.jsonl"), [linked])).rejects.toThrow("outside");
});
