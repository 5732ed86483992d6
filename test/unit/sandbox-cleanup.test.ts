// The test sandbox's cleanup leaves nothing behind even when an agent writes into its HOME as it exits
// (Claude Code saves ~/.claude.json and its transcript when its pane is hung up): /tmp/kcl-* and
// /tmp/kbu-* folders of the real-CLI tests were left over, re-created after the removal.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { Sandbox } from "../helpers/env.ts";

test("cleanup waits for the processes of the sandbox's HOME, so a late write does not re-create the folder", async () => {
  const sb = new Sandbox("kcl-");
  const agent = 'trap \'sleep 0.7; mkdir -p "$HOME/.claude/projects"; echo {} > "$HOME/.claude.json"; exit 0\' HUP TERM; while :; do sleep 0.1; done';
  const r = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "new-session", "-d", "-s", "agent", "sh", "-c", agent], { env: sb.env });
  expect(r.exitCode).toBe(0);
  await sb.cleanup();
  await Bun.sleep(1500);
  expect(existsSync(sb.dir)).toBe(false);
}, 30_000);
