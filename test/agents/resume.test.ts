// Resume, not restart: the session a CLI's transcript names, and the argv that continues it.
import { expect, test } from "bun:test";
import { buildCommand } from "../../src/agents/programs.ts";
import { harnessOf } from "../../src/agents/harness/index.ts";

const profile = (program: string) => ({ program, flags: ["--x"], model: "", skipPermissions: true });
const ctx = { promptFile: "/p/prompt.md", hookCommand: ["/k/kasmos", "agent", "hook"], runDir: "/r" };
const SESSION = "154ed610-0129-4985-8181-a895a95575ec";

test("the session id a run's record names: Claude Code's <session>.jsonl, codex's rollout-<time>-<thread>.jsonl, opencode's ses_ id; generic keeps none", () => {
  expect(harnessOf("claude").sessionFrom?.(`/h/.claude/projects/-tmp-w/${SESSION}.jsonl`)).toBe(SESSION);
  expect(harnessOf("codex").sessionFrom?.(`/h/.codex/sessions/2026/12/07/rollout-2026-12-07T19-54-01-${SESSION}.jsonl`)).toBe(SESSION);
  expect(harnessOf("claude").sessionFrom?.("/h/notes.txt")).toBeNull();
  expect(harnessOf("opencode").sessionFrom?.("ses_dadb60f18ffeP1MBQHloERorQb")).toBe("ses_dadb60f18ffeP1MBQHloERorQb");
  expect(harnessOf("opencode").sessionFrom?.("/h/.local/share/opencode/opencode.db")).toBeNull();
  expect(harnessOf("generic").sessionFrom).toBeUndefined();
});

test("opencode continues with --session <id>; the pointer, which it would leave unsent there, is typed after Escape", () => {
  const cmd = buildCommand(profile("opencode"), { ...ctx, resume: "ses_dadb60f18ffeP1MBQHloERorQb" });
  expect(cmd.argv.slice(0, 3)).toEqual(["opencode", "--session", "ses_dadb60f18ffeP1MBQHloERorQb"]);
  expect(cmd.argv).not.toContain("--prompt");
  expect(cmd.typeAfterStart?.keys).toEqual(["Escape"]);
  expect(cmd.typeAfterStart?.ready.test("  /tmp/w   120  ctrl+p commands    • OpenCode 1.18.33")).toBe(true);
  expect(cmd.typeAfterStart?.text).toContain("/p/prompt.md");
  const fresh = buildCommand(profile("opencode"), ctx);
  expect(fresh.argv).toContain("--prompt");
  expect(fresh.typeAfterStart).toBeUndefined();
});

test("Claude Code continues with --resume <session>, the pointer as its next message", () => {
  const argv = buildCommand(profile("claude"), { ...ctx, resume: SESSION }).argv;
  expect(argv.slice(0, 4)).toEqual(["claude", "--dangerously-skip-permissions", "--resume", SESSION]);
  expect(argv.at(-1)).toContain("/p/prompt.md");
  expect(buildCommand(profile("claude"), ctx).argv).not.toContain("--resume");
});

test("codex continues with `codex resume <thread>` and the same options", () => {
  const argv = buildCommand(profile("codex"), { ...ctx, resume: SESSION }).argv;
  expect(argv.slice(0, 3)).toEqual(["codex", "resume", SESSION]);
  expect(argv).toContain("--dangerously-bypass-approvals-and-sandbox");
  expect(argv.at(-1)).toContain("/p/prompt.md");
  expect(buildCommand(profile("codex"), ctx).argv).not.toContain("resume");
});
