// The newest CLI version kasmos was tested with is the one the real-CLI tests pin: one place says it
// (test/real-agents/clis/package.json), each harness repeats it, this test holds the two together.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { newerThanTested } from "../../src/agents/cli-version.ts";
import { harnessOf } from "../../src/agents/harness/index.ts";
import { ROOT } from "../helpers/env.ts";

const PACKAGES: Record<string, string> = { claude: "@anthropic-ai/claude-code", codex: "@openai/codex", opencode: "opencode-ai" };

test("each harness's testedVersion is the version the real-CLI tests pin", () => {
  const pins = (JSON.parse(readFileSync(join(ROOT, "test", "real-agents", "clis", "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies;
  for (const [cli, pkg] of Object.entries(PACKAGES)) expect(harnessOf(cli).testedVersion, cli).toBe(pins[pkg]);
});

test("newer than tested: only a higher version, by number not by text", () => {
  const claude = harnessOf("claude");
  expect(newerThanTested(claude, [2, 1, 328])).toBeNull();
  expect(newerThanTested(claude, [2, 1, 99])).toBeNull();
  expect(newerThanTested(claude, [2, 1, 1000])).toBe("claude 2.1.1000 is newer than 2.1.328, the newest version kasmos was tested with (it may show screens kasmos does not know)");
  expect(newerThanTested(claude, [3, 0, 0])).not.toBeNull();
  // generic knows no version.
  expect(newerThanTested(harnessOf("generic"), [99, 0, 0])).toBeNull();
});
