// Harness preflight (real files in a temp HOME) and the pure supervision readers.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTOML } from "confbox";
import { claude } from "../../src/agents/harness/claude.ts";
import { codex, withoutCodexTrust } from "../../src/agents/harness/codex.ts";
import { updateJsonFile, withFileLock } from "../../src/agents/harness/config-file.ts";
import { harnessNameFor, harnessNames, harnessOf } from "../../src/agents/harness/index.ts";
import type { PreflightContext } from "../../src/agents/harness/types.ts";
import { untrustFolders } from "../../src/agents/harness/untrust.ts";
import { activityFromEvent, finishCommands, firstMeaningfulLine, lastLinesOf, lastPaneLines, matchDialog, nudgeText, screenQuote } from "../../src/agents/supervise.ts";

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "kasmos-harness-"));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

function ctx(over: Partial<PreflightContext> = {}): PreflightContext {
  return { folders: ["/work/repo", "/work/repo/.worktrees/plan-x"], skipPermissions: true, env: { HOME: home, ANTHROPIC_API_KEY: "sk-test" }, isRoot: false, executable: "/usr/bin/claude", ...over };
}

/** What a user has after their one-time setup of Claude Code (no folder trusted). */
function claudeUser(extra: Record<string, unknown> = {}): void {
  writeFileSync(join(home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true, numStartups: 3, customApiKeyResponses: { approved: ["sk-test"], rejected: [] }, projects: { "/mine": { allowedTools: ["Bash"], hasTrustDialogAccepted: false } }, ...extra }, null, 2));
  mkdirSync(join(home, ".claude"));
  writeFileSync(join(home, ".claude", "settings.json"), JSON.stringify({ skipDangerousModePermissionPrompt: true, theme: "dark" }));
}

describe("claude preflight", () => {
  test("trusts exactly kasmos's folders, keeps every other key, idempotent", async () => {
    claudeUser();
    chmodSync(join(home, ".claude.json"), 0o600);
    const r = await claude.preflight(ctx());
    expect(r).toEqual({ ok: true, notes: ["trusted /work/repo for Claude Code", "trusted /work/repo/.worktrees/plan-x for Claude Code"] });
    const after = JSON.parse(readFileSync(join(home, ".claude.json"), "utf8")) as { projects: Record<string, Record<string, unknown>>; numStartups: number };
    expect(after.numStartups).toBe(3);
    expect(after.projects["/mine"]).toEqual({ allowedTools: ["Bash"], hasTrustDialogAccepted: false }); // never widened
    expect(after.projects["/work/repo"]).toEqual({ hasTrustDialogAccepted: true });
    expect(after.projects["/work/repo/.worktrees/plan-x"]).toEqual({ hasTrustDialogAccepted: true });
    expect(statSync(join(home, ".claude.json")).mode & 0o777).toBe(0o600);
    expect(await claude.preflight(ctx())).toEqual({ ok: true, notes: [] });
  });

  test("CLAUDE_CONFIG_DIR moves both files", async () => {
    const dir = join(home, "cfg");
    mkdirSync(dir);
    writeFileSync(join(dir, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true, customApiKeyResponses: { approved: ["k"] } }));
    writeFileSync(join(dir, "settings.json"), JSON.stringify({ skipDangerousModePermissionPrompt: true }));
    const r = await claude.preflight(ctx({ env: { HOME: home, CLAUDE_CONFIG_DIR: dir, ANTHROPIC_API_KEY: "k" } }));
    expect(r.ok).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, ".claude.json"), "utf8")).projects["/work/repo"].hasTrustDialogAccepted).toBe(true);
  });

  test("root without IS_SANDBOX: refused with the fix; IS_SANDBOX=1 or no skip-permissions passes", async () => {
    claudeUser();
    const r = await claude.preflight(ctx({ isRoot: true }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.refusal.reason).toContain("root");
      expect(r.refusal.fix).toContain("IS_SANDBOX=1");
    }
    expect((await claude.preflight(ctx({ isRoot: true, env: { HOME: home, ANTHROPIC_API_KEY: "sk-test", IS_SANDBOX: "1" } }))).ok).toBe(true);
    expect((await claude.preflight(ctx({ isRoot: true, skipPermissions: false }))).ok).toBe(true);
  });

  test("the gates a person must pass are refused, never passed for them", async () => {
    // nothing at all: not logged in
    let r = await claude.preflight(ctx({ env: { HOME: home } }));
    expect(!r.ok && r.refusal.reason).toContain("not logged in");
    // key, but first run never done
    r = await claude.preflight(ctx());
    expect(!r.ok && r.refusal.reason).toContain("first-run");
    // onboarding done, but the key in the environment was never approved ("Detected a custom API key")
    writeFileSync(join(home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true, customApiKeyResponses: { approved: ["another-key-1234567890"], rejected: [] } }));
    r = await claude.preflight(ctx({ env: { HOME: home, ANTHROPIC_API_KEY: "sk-ant-0123456789abcdefghijKLMN" } }));
    expect(!r.ok && r.refusal.reason).toContain("ANTHROPIC_API_KEY");
    // approved (last 20 characters), but the disclaimer was never accepted
    writeFileSync(join(home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true, customApiKeyResponses: { approved: ["0123456789abcdefghijKLMN".slice(-20)], rejected: [] } }));
    r = await claude.preflight(ctx({ env: { HOME: home, ANTHROPIC_API_KEY: "sk-ant-0123456789abcdefghijKLMN" } }));
    expect(!r.ok && r.refusal.reason).toContain("Bypass Permissions");
    expect(!r.ok && r.refusal.fix).toContain("claude --dangerously-skip-permissions");
    // …which does not matter without skip-permissions
    expect((await claude.preflight(ctx({ skipPermissions: false, env: { HOME: home, ANTHROPIC_API_KEY: "sk-ant-0123456789abcdefghijKLMN" } }))).ok).toBe(true);
    // nothing was written for the refused ones
    expect(JSON.parse(readFileSync(join(home, ".claude.json"), "utf8")).projects).toEqual({ "/work/repo": { hasTrustDialogAccepted: true }, "/work/repo/.worktrees/plan-x": { hasTrustDialogAccepted: true } });
  });

  test("a broken .claude.json is reported and left alone", async () => {
    writeFileSync(join(home, ".claude.json"), "{ not json");
    await expect(claude.preflight(ctx())).rejects.toThrow("not valid JSON");
    expect(readFileSync(join(home, ".claude.json"), "utf8")).toBe("{ not json");
  });
});

describe("config file lock", () => {
  test("concurrent updates under the lock lose nothing", async () => {
    const f = join(home, "c.json");
    await Promise.all(Array.from({ length: 20 }, (_, i) => updateJsonFile(f, (o) => ((o[`k${i}`] = i), true))));
    expect(Object.keys(JSON.parse(readFileSync(f, "utf8"))).length).toBe(20);
  });

  test("a held lock makes the writer wait; a stale one is taken over", async () => {
    const f = join(home, "c.json");
    mkdirSync(`${f}.lock`);
    await expect(withFileLock(f, () => 1, 100)).rejects.toThrow("locked");
    const old = new Date(Date.now() - 60_000);
    const { utimesSync } = await import("node:fs");
    utimesSync(`${f}.lock`, old, old);
    expect(await withFileLock(f, () => 2, 100)).toBe(2);
  });
});

describe("a lock its holder abandoned", () => {
  test("the default wait outlasts the lock's staleness: a lock a killed CLI left 4 s ago is waited out, not refused", async () => {
    const f = join(home, "c.json");
    mkdirSync(`${f}.lock`);
    const { utimesSync } = await import("node:fs");
    const recent = new Date(Date.now() - 4000);
    utimesSync(`${f}.lock`, recent, recent);
    const t0 = Date.now();
    expect(await withFileLock(f, () => 3)).toBe(3);
    expect(Date.now() - t0).toBeGreaterThan(4000); // it did wait for staleness, rather than break a live lock
  }, 30_000);
});

describe("codex preflight", () => {
  const codexCtx = (over: Partial<PreflightContext> = {}): PreflightContext => ctx({ env: { HOME: home }, executable: "/usr/bin/codex", ...over });

  test("trusts kasmos's folders in config.toml, keeps the user's text", async () => {
    mkdirSync(join(home, ".codex"));
    const user = `# my settings\nmodel_provider = "local"\n\n[model_providers.local]\nname = "L"\nbase_url = "http://127.0.0.1:1/v1"\n\n[projects."/mine"]\ntrust_level = "untrusted"\n`;
    writeFileSync(join(home, ".codex", "config.toml"), user);
    const r = await codex.preflight(codexCtx());
    expect(r.ok).toBe(true);
    const text = readFileSync(join(home, ".codex", "config.toml"), "utf8");
    expect(text.startsWith(user)).toBe(true);
    const data = parseTOML<{ projects: Record<string, { trust_level: string }> }>(text);
    expect(data.projects["/work/repo"]?.trust_level).toBe("trusted");
    expect(data.projects["/work/repo/.worktrees/plan-x"]?.trust_level).toBe("trusted");
    expect(data.projects["/mine"]?.trust_level).toBe("untrusted");
    expect(await codex.preflight(codexCtx())).toEqual({ ok: true, notes: [] });
    expect(readFileSync(join(home, ".codex", "config.toml"), "utf8")).toBe(text);
  });

  test("not signed in and no key: refused", async () => {
    const r = await codex.preflight(codexCtx());
    expect(!r.ok && r.refusal.fix).toContain("codex login");
  });

  test("a custom provider whose env_key variable is not in the environment: refused naming it", async () => {
    mkdirSync(join(home, ".codex"));
    writeFileSync(join(home, ".codex", "config.toml"), `model_provider = "standin"\n[model_providers.standin]\nbase_url = "http://127.0.0.1:9/v1"\nwire_api = "responses"\nenv_key = "STANDIN_API_KEY"\n`);
    const r = await codex.preflight(codexCtx({ folders: [] }));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.refusal.reason).toContain('model_provider "standin" reads its key from STANDIN_API_KEY, which is not set');
    expect(!r.ok && r.refusal.fix).toContain("set STANDIN_API_KEY in the daemon's environment");
    expect((await codex.preflight(codexCtx({ folders: [], env: { HOME: home, STANDIN_API_KEY: "k" } }))).ok).toBe(true);
  });

  test("a custom provider whose env_key is a name kasmos keeps from agents (KASMOS_*, GH_TOKEN): refused even when the daemon has it", async () => {
    mkdirSync(join(home, ".codex"));
    for (const key of ["KASMOS_LOOPBACK_API_KEY", "GH_TOKEN"]) {
      writeFileSync(join(home, ".codex", "config.toml"), `model_provider = "standin"\n[model_providers.standin]\nbase_url = "http://127.0.0.1:9/v1"\nenv_key = "${key}"\n`);
      const r = await codex.preflight(codexCtx({ folders: [], env: { HOME: home, [key]: "k" } }));
      expect(r.ok).toBe(false);
      expect(!r.ok && r.refusal.reason).toContain(`reads its key from ${key}, a name kasmos never hands to agents`);
      expect(!r.ok && r.refusal.fix).toContain("give the key another name");
    }
  });

  test("opencode: a provider option {env:NAME} needs NAME", async () => {
    mkdirSync(join(home, ".config", "opencode"), { recursive: true });
    writeFileSync(join(home, ".config", "opencode", "opencode.json"), JSON.stringify({ provider: { loopback: { npm: "@ai-sdk/openai-compatible", options: { baseURL: "http://127.0.0.1:9/v1", apiKey: "{env:LOOP_KEY}" } } } }));
    const r = await harnessOf("opencode").preflight(ctx({ env: { HOME: home }, executable: "/usr/bin/opencode" }));
    expect(!r.ok && r.refusal.reason).toContain("reads {env:LOOP_KEY} but LOOP_KEY is not set");
    expect((await harnessOf("opencode").preflight(ctx({ env: { HOME: home, LOOP_KEY: "k" }, executable: "/usr/bin/opencode" }))).ok).toBe(true);
  });

  test("a folder the user marked untrusted is not overridden", async () => {
    mkdirSync(join(home, ".codex"));
    writeFileSync(join(home, ".codex", "config.toml"), `model_provider = "x"\n[projects."/work/repo"]\ntrust_level = "untrusted"\n`);
    await expect(codex.preflight(codexCtx())).rejects.toThrow('trust_level = "untrusted"');
  });
});

describe("harness selection", () => {
  test("by the program's basename", () => {
    expect(harnessNameFor("/opt/node_modules/.bin/claude")).toBe("claude");
    expect(harnessNameFor("codex")).toBe("codex");
    expect(harnessNameFor("OpenCode.exe")).toBe("opencode");
    expect(harnessNameFor("aider")).toBe("generic");
    expect(harnessNames().sort()).toEqual(["claude", "codex", "generic", "opencode"]);
  });
});

describe("supervision readers", () => {
  test("claude hook events → activity", () => {
    expect(activityFromEvent("claude", "SessionStart", { transcript_path: "/t.jsonl" })).toEqual({ activity: "working", note: "" });
    expect(activityFromEvent("claude", "Stop", {})?.activity).toBe("idle");
    expect(activityFromEvent("claude", "Notification", { notification_type: "permission_prompt", message: "Claude needs your permission to use Bash" })).toEqual({ activity: "waiting", note: "Claude needs your permission to use Bash" });
    expect(activityFromEvent("claude", "Notification", { notification_type: "idle_prompt", message: "waiting" })?.activity).toBe("idle");
    expect(activityFromEvent("claude", "SessionEnd", { reason: "other" })?.activity).toBe("ended");
    expect(activityFromEvent("claude", "PostCompact", {})).toBeNull();
  });

  test("codex notify → idle", () => {
    expect(activityFromEvent("codex", "notify", { type: "agent-turn-complete", "last-assistant-message": "done" })).toEqual({ activity: "idle", note: "done" });
  });

  test("exit diagnosis: last lines without tmux's notice, first meaningful line", () => {
    const pane = "\n╭────╮\n│ ✻ Welcome │\n--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n\nPane is dead (status 1, Wed Dec 2)\n\n";
    const lines = lastPaneLines(pane, 20);
    expect(lines.at(-1)).toContain("cannot be used with root");
    expect(firstMeaningfulLine(["╭────╮", "│  │", "--dangerously-skip-permissions cannot be used with root/sudo privileges"], claude.noise)).toBe("--dangerously-skip-permissions cannot be used with root/sudo privileges");
  });

  test("dialogs are matched at the bottom of the pane", () => {
    expect(matchDialog(claude, "Quick safety check: Is this a project you created or one you trust?\n ❯ 1. Yes, I trust this folder\n   2. No, exit")?.kind).toBe("trust");
    expect(matchDialog(claude, "WARNING: Claude Code running in Bypass Permissions mode\n❯ 1. No, exit\n  2. Yes, I accept")?.kind).toBe("disclaimer");
    expect(matchDialog(claude, "all good, working")).toBeNull();
    expect(matchDialog(harnessOf("generic"), "Do you want to proceed?")).toBeNull();
  });

  test("the nudge names the prompt's exact signal command", () => {
    const prompt = "## Job\nx\n\n## Finish\nWhen done, signal. Run from /r:\n\n    mkdir -p .kasmos/signals && touch .kasmos/signals/implement-finished-t\n\nThe signal is your LAST action.\n";
    expect(finishCommands(prompt)).toEqual(["mkdir -p .kasmos/signals && touch .kasmos/signals/implement-finished-t"]);
    expect(nudgeText(prompt)).toContain("`mkdir -p .kasmos/signals && touch .kasmos/signals/implement-finished-t`");
    expect(nudgeText("")).toContain("Finish section");
    expect(nudgeText(prompt)).not.toContain("\n");
  });
});

describe("fatal error screens", () => {
  // The screen of the pinned codex (0.169.0) whose provider's env_key variable is unset: the error sits
  // above 26 blank lines and the prompt, and codex stays alive at its prompt.
  const CODEX_MISSING_KEY = readFileSync(join(import.meta.dir, "..", "fixtures", "codex-missing-key.screen"), "utf8");

  test("codex's '■ Missing environment variable' screen is an error, quoted by its own line, not the banner", () => {
    const d = matchDialog(codex, CODEX_MISSING_KEY);
    expect(d?.kind).toBe("error");
    expect(screenQuote(d!, CODEX_MISSING_KEY, codex.noise)).toBe("Missing environment variable: `STANDIN_API_KEY`.");
    // A plain working screen is no error.
    expect(matchDialog(codex, "  >_ OpenAI Codex (v0.169.0)\n\n› fix the bug\n\n• Working (3s • esc to interrupt)\n")).toBeNull();
  });

  test("Claude Code's and opencode's fatal errors are recognised", () => {
    expect(matchDialog(claude, "> do it\n  ⎿  API Error: 401 {\"type\":\"error\",\"error\":{\"type\":\"authentication_error\"}}\n")?.kind).toBe("error");
    expect(matchDialog(claude, "Credit balance is too low · Add funds\n")?.kind).toBe("error");
    expect(matchDialog(harnessOf("opencode"), "Error: Failed to initialize provider \"loopback\". Check credentials and configuration.\n")?.kind).toBe("error");
    expect(matchDialog(harnessOf("opencode"), "┃  Thinking…\n")).toBeNull();
  });

  test("capture --lines N counts lines that say something: blank runs are squeezed, the error above them shows", () => {
    const out = lastLinesOf(CODEX_MISSING_KEY, 4);
    expect(out).toBe("■ Missing environment variable: `STANDIN_API_KEY`.\n\n› Ask Codex to do anything\n\n  loopback-model default · /tmp/fh-cx/w\n  ← for agents · ? for shortcuts                                                               ⚠ 1 warning · f2 to view\n");
    expect(lastLinesOf(CODEX_MISSING_KEY, 30).split("\n")[0]).toBe("  >_ OpenAI Codex (v0.169.0)");
    expect(lastLinesOf("\n\n  \n", 5)).toBe("");
  });
});

describe("trust entries of gone worktrees", () => {
  test("codex: preflight's entry is removed byte for byte; an entry with the user's own settings stays", async () => {
    mkdirSync(join(home, ".codex"));
    const user = `# mine\nmodel_provider = "local"\n\n[model_providers.local]\nbase_url = "http://127.0.0.1:1/v1"\n\n[projects."/kept"]\ntrust_level = "trusted"\nnote = "mine"\n`;
    writeFileSync(join(home, ".codex", "config.toml"), user);
    chmodSync(join(home, ".codex", "config.toml"), 0o640);
    expect((await codex.preflight(ctx({ env: { HOME: home }, executable: "/usr/bin/codex" }))).ok).toBe(true);
    const r = await untrustFolders({ HOME: home }, ["/work/repo/.worktrees/plan-x", "/kept"]);
    expect(r).toEqual({ removed: ["codex: /work/repo/.worktrees/plan-x"], errors: [] });
    const text = readFileSync(join(home, ".codex", "config.toml"), "utf8");
    expect(text).toBe(`${user}\n[projects."/work/repo"]\ntrust_level = "trusted"\n`);
    expect(statSync(join(home, ".codex", "config.toml")).mode & 0o777).toBe(0o640);
    expect(withoutCodexTrust(text, "/nowhere")).toBe(text);
  });

  test("claude: the folder's project entry goes, every other key stays", async () => {
    writeFileSync(join(home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true, projects: { "/a": { hasTrustDialogAccepted: true }, "/b": { x: 1 } } }, null, 2));
    expect((await untrustFolders({ HOME: home }, ["/a", "/c"])).removed).toEqual(["claude: /a"]);
    expect(JSON.parse(readFileSync(join(home, ".claude.json"), "utf8"))).toEqual({ hasCompletedOnboarding: true, projects: { "/b": { x: 1 } } });
    expect(await untrustFolders({ HOME: join(home, "none") }, ["/a"])).toEqual({ removed: [], errors: [] });
  });
});
