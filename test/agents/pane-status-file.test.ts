// The exit-status file of an agent's pane is named by a session option the agent could change and sits
// where the agent can write (so does its prompt file): a FIFO, a device or a link there must not block
// nor mislead the daemon.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/env.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kpst-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** `expr` (of `path`) in a child process (a blocking read would hang this one), bounded. */
async function inChild(imports: string, expr: string): Promise<string> {
  const code = `${imports}; console.log(String(${expr}));`;
  const p = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 5000);
  const out = await new Response(p.stdout).text();
  clearTimeout(timer);
  return (await p.exited) === 0 ? out.trim() : "blocked";
}

const statusOf = (path: string) => inChild(`import { statusFromFile } from ${JSON.stringify(join(ROOT, "src", "agents", "pane-wrapper.ts"))}`, `statusFromFile(${JSON.stringify(encodeURIComponent(path))})`);
const promptRead = (path: string) => inChild(`import { readSmallRegularFile } from ${JSON.stringify(join(ROOT, "src", "agents", "record-file.ts"))}`, `readSmallRegularFile(${JSON.stringify(path)}, 64)`);

test("a regular file's status is read; a FIFO, /dev/zero, a link or a folder give none, at once", async () => {
  writeFileSync(join(dir, "exit-status"), "3\n");
  expect(await statusOf(join(dir, "exit-status"))).toBe("3");
  const fifo = join(dir, "fifo");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  expect(await statusOf(fifo)).toBe("null");
  expect(await statusOf("/dev/zero")).toBe("null");
  symlinkSync(join(dir, "exit-status"), join(dir, "link"));
  expect(await statusOf(join(dir, "link"))).toBe("null");
  expect(await statusOf(dir)).toBe("null");
}, 30_000);

test("an agent's prompt file swapped for a FIFO or a link is not read (the nudge falls back to its generic text)", async () => {
  writeFileSync(join(dir, "p.md"), "do it");
  expect(await promptRead(join(dir, "p.md"))).toBe("do it");
  const fifo = join(dir, "fifo.md");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  expect(await promptRead(fifo)).toBe("null");
  symlinkSync("/dev/zero", join(dir, "zero.md"));
  expect(await promptRead(join(dir, "zero.md"))).toBe("null");
}, 30_000);
