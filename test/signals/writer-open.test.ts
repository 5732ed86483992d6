// Whether a process still holds a file open for writing (a read lease is refused while one does).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writerHoldsOpen } from "../../src/signals/writer-open.ts";
import { waitFor } from "../helpers/env.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kwo-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("open for writing by a shell: true until it closes; closed or renamed into place: false; gone or a link: null", async () => {
  const f = join(dir, "review-changes-t");
  const sh = Bun.spawn(["sh", "-c", `{ echo Findings:; sleep 0.5; echo "1. fix"; } > ${f}`]);
  await waitFor(() => Bun.file(f).size > 0, 5000, "the first line");
  expect(writerHoldsOpen(f)).toBe(true);
  await sh.exited;
  expect(writerHoldsOpen(f)).toBe(false);
  writeFileSync(join(dir, "plain"), "x");
  expect(writerHoldsOpen(join(dir, "plain"))).toBe(false);
  expect(writerHoldsOpen(join(dir, "missing"))).toBeNull();
  symlinkSync(join(dir, "plain"), join(dir, "link"));
  expect(writerHoldsOpen(join(dir, "link"))).toBeNull();
}, 20_000);
