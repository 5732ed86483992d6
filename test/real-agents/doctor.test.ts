// `kasmos doctor` on the real agent CLIs: version against the supported minimum, and the gates a
// spawn would be refused for, each with its fix — before any task runs into them.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Sandbox } from "../helpers/env.ts";
import { ANTHROPIC_KEY, claudeUser, cliPath, codexUser, LOOPBACK_KEY_ENV } from "./helpers.ts";

interface Check {
  name: string;
  ok: boolean;
  severity: string;
  detail: string;
  fix: string;
}

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox("kdr-");
});
afterEach(async () => {
  await sb.cleanup();
});

async function cliChecks(env: Record<string, string> = {}, extra = ""): Promise<Record<string, Check>> {
  sb.writeConfig(`[agents.planner]\nprogram = "${cliPath("claude")}"\n[agents.coder]\nprogram = "${cliPath("codex")}"\n[agents.reviewer]\nprogram = "${cliPath("opencode")}"\n${extra}`);
  const r = await sb.run(["doctor", "--json"], { env, timeoutMs: 60_000 });
  const checks = (JSON.parse(r.stdout) as { checks: Check[] }).checks;
  return Object.fromEntries(checks.filter((c) => c.name.startsWith("cli ")).map((c) => [c.name, c]));
}

describe("doctor and the agent CLIs", () => {
  test("a fresh HOME: claude not logged in, codex not signed in — each with the command that fixes it", async () => {
    const c = await cliChecks({ IS_SANDBOX: "1" });
    expect(Object.keys(c).sort()).toEqual(["cli claude", "cli codex", "cli opencode"]);
    expect(c["cli claude"]!.ok).toBe(false);
    expect(c["cli claude"]!.detail).toContain("claude 2.1.328");
    expect(c["cli claude"]!.detail).toContain("not logged in");
    expect(c["cli claude"]!.fix).toContain("ANTHROPIC_API_KEY");
    expect(c["cli codex"]!.ok).toBe(false);
    expect(c["cli codex"]!.detail).toContain("codex 0.169.0");
    expect(c["cli codex"]!.fix).toContain("codex login");
    expect(c["cli opencode"]).toMatchObject({ ok: true, severity: "warn" });
    expect(c["cli opencode"]!.detail).toContain("opencode 1.18.33");
  }, 90_000);

  test("after the user's one-time setup: ready, with the minimum version; unsandboxed, root without IS_SANDBOX is flagged", async () => {
    claudeUser(sb.home);
    codexUser(sb.home, "http://127.0.0.1:9/v1");
    let c = await cliChecks({ ANTHROPIC_API_KEY: ANTHROPIC_KEY, IS_SANDBOX: "1", [LOOPBACK_KEY_ENV]: "k" });
    expect(c["cli claude"]).toMatchObject({ ok: true });
    expect(c["cli claude"]!.detail).toContain("ready (minimum 2.1.0)");
    expect(c["cli codex"]).toMatchObject({ ok: true });
    // The provider's env_key variable is part of codex's setup: without it codex stops on its error screen.
    c = await cliChecks({ ANTHROPIC_API_KEY: ANTHROPIC_KEY, IS_SANDBOX: "1" });
    expect(c["cli codex"]!.ok).toBe(false);
    expect(c["cli codex"]!.detail).toContain(`reads its key from ${LOOPBACK_KEY_ENV}, which is not set`);
    if (process.getuid?.() === 0) {
      // In kasmos's sandbox (the default here) Claude Code gets no bypass flag: IS_SANDBOX is not needed.
      c = await cliChecks({ ANTHROPIC_API_KEY: ANTHROPIC_KEY, IS_SANDBOX: "" });
      expect(c["cli claude"]).toMatchObject({ ok: true });
      c = await cliChecks({ ANTHROPIC_API_KEY: ANTHROPIC_KEY, IS_SANDBOX: "" }, '[sandbox]\nmode = "off"\n');
      expect(c["cli claude"]!.ok).toBe(false);
      expect(c["cli claude"]!.detail).toContain("root");
      expect(c["cli claude"]!.fix).toContain("IS_SANDBOX=1");
    }
  }, 90_000);
});
