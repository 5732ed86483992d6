// The numstat reader behind GET …/tasks/:name/diff, on what git really prints (-z): plain files,
// binary files ("-" counts) and renames (an empty path, then from and to).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNumstat } from "../../src/web/diff.ts";

describe("parseNumstat", () => {
  test("reads git's own output: a change, a binary file and a rename", () => {
    const dir = mkdtempSync(join(tmpdir(), "kdiff-"));
    try {
      const git = (...a: string[]) => {
        const r = Bun.spawnSync(["git", "-C", dir, ...a], { env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
        if (r.exitCode !== 0) throw new Error(r.stderr.toString());
        return r.stdout.toString();
      };
      git("init", "-q", "-b", "main");
      writeFileSync(join(dir, "a.txt"), "one\ntwo\n");
      writeFileSync(join(dir, "old name.txt"), "moved\nas it is\n");
      git("add", ".");
      git("commit", "-q", "-m", "base");
      git("checkout", "-q", "-b", "plan/x");
      writeFileSync(join(dir, "a.txt"), "one\n2\nthree\n");
      writeFileSync(join(dir, "b.bin"), Buffer.from([0, 1, 2, 0, 255]));
      git("mv", "old name.txt", "new name.txt");
      git("add", ".");
      git("commit", "-q", "-m", "change");
      const files = parseNumstat(git("diff", "--numstat", "-z", "-M", "main...plan/x", "--"));
      expect(files).toEqual([
        { path: "a.txt", additions: 2, deletions: 1 },
        { path: "b.bin", additions: null, deletions: null },
        { path: "old name.txt → new name.txt", additions: 0, deletions: 0 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
