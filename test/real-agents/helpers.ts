// Shared by the real-agent tests: where the pinned CLIs are (scripts/setup.sh installs them), the
// one-time user setup each CLI needs (what a real user with an API key has done once — never any
// folder trust: that is kasmos's job), and a daemon config that runs a real CLI for some roles and the
// scripted fake agent for the others.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/env.ts";
import { FAKE_AGENT, fakeAgentSandbox } from "../helpers/agents.ts";

/** KASMOS_TEST_CLIS=latest: the newest CLIs from npm (scripts/setup.sh puts them in clis-latest); else the pinned ones. */
export const LATEST_CLIS = process.env.KASMOS_TEST_CLIS === "latest";
export const CLI_BIN = join(ROOT, "test", "real-agents", LATEST_CLIS ? "clis-latest" : "clis", "node_modules", ".bin");

/** Absolute path of a pinned (or, with KASMOS_TEST_CLIS=latest, the newest) CLI; a clear failure when setup has not installed it. */
export function cliPath(name: "claude" | "codex" | "opencode"): string {
  const p = join(CLI_BIN, name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`${LATEST_CLIS ? "KASMOS_TEST_CLIS=latest " : ""}sh scripts/setup.sh\` (it installs the ${LATEST_CLIS ? "latest" : "pinned"} agent CLIs)`);
  return p;
}

// Not KASMOS_*: kasmos keeps its own variables from agents, so codex would never see the key.
export const LOOPBACK_KEY_ENV = "LOOPBACK_API_KEY";

/** codex: a custom model provider pointing at the loopback server (the user's one-time config). */
export function codexUser(home: string, baseUrl: string): void {
  const dir = join(home, ".codex");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "config.toml"),
    [
      'model_provider = "loopback"',
      'model = "loopback-model"',
      "check_for_update_on_startup = false",
      "",
      "[model_providers.loopback]",
      'name = "Loopback"',
      `base_url = "${baseUrl}"`,
      'wire_api = "responses"',
      `env_key = "${LOOPBACK_KEY_ENV}"`,
      "",
    ].join("\n"),
  );
}

/** The environment the daemon (hence every agent) gets in these tests, besides the sandbox's own. */
export function agentDaemonEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    [LOOPBACK_KEY_ENV]: "loopback-key",
    // Real CLIs run as root here (CI): Claude Code needs this for --dangerously-skip-permissions.
    IS_SANDBOX: "1",
    ...extra,
  };
}

/** daemon.toml: fast polling, auto flags on, the fake agent for every role but those given. */
export function mixedConfig(roles: Partial<Record<"planner" | "architect" | "coder" | "reviewer" | "fixer" | "master", string>>, fakeEnv: string, extra = ""): string {
  const lines = [
    "poll_interval_sec = 0.5",
    "auto_advance = true",
    "auto_review_fix = true",
    "auto_readiness_review = true",
    `default_program = "env ${fakeEnv} ${FAKE_AGENT}"`,
    "",
    "[supervision]",
    "nudge_after_sec = 1",
    "stop_grace_sec = 20",
    "",
    // These tests check what the agents do, not how the machine shares its CPU: at the default nice 10
    // a real CLI beside other busy processes (the rest of the suite, a CI neighbour) gets a few % of a
    // core and its start-up outlasts any sane wait.
    "[resources]",
    "agent_nice = 0",
    "",
  ];
  for (const [role, program] of Object.entries(roles)) lines.push(`[agents.${role}]`, `program = "${program}"`, "");
  lines.push(extra);
  // The fake agent's FAKE_* files, for the roles it plays (helpers/agents.ts).
  if (!/^\s*\[sandbox\]/m.test(extra)) lines.push(fakeAgentSandbox(fakeEnv));
  return lines.join("\n");
}

export const ANTHROPIC_KEY = "sk-ant-loopback-0000000000000000AAAA";

/**
 * Claude Code's one-time user setup, as a real user with an API key has it after running `claude` once:
 * first-run screens done, the key approved, the Bypass Permissions disclaimer accepted. No folder is
 * trusted — that is kasmos's preflight's job.
 */
export function claudeUser(home: string, opts: { disclaimer?: boolean } = {}): void {
  writeFileSync(join(home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true, customApiKeyResponses: { approved: [ANTHROPIC_KEY.slice(-20)], rejected: [] } }, null, 2));
  mkdirSync(join(home, ".claude"), { recursive: true });
  if (opts.disclaimer !== false) writeFileSync(join(home, ".claude", "settings.json"), JSON.stringify({ skipDangerousModePermissionPrompt: true }, null, 2));
}

/** Daemon environment for Claude Code against the loopback model (no other network). */
export function claudeEnv(baseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return agentDaemonEnv({
    ANTHROPIC_BASE_URL: baseUrl,
    ANTHROPIC_API_KEY: ANTHROPIC_KEY,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    ...extra,
  });
}

/** opencode: a loopback provider in ~/.config/opencode/opencode.json (the user's one-time config). */
export function opencodeUser(home: string, baseUrl: string): void {
  const dir = join(home, ".config", "opencode");
  mkdirSync(dir, { recursive: true });
  const provider = { npm: "@ai-sdk/openai-compatible", name: "Loopback", options: { baseURL: baseUrl, apiKey: "loopback-key" }, models: { brain: { name: "Brain" } } };
  writeFileSync(join(dir, "opencode.json"), JSON.stringify({ $schema: "https://opencode.ai/config.json", provider: { loopback: provider } }, null, 2));
}

/** Daemon environment for opencode: no update checks, no model list download, no sharing. */
export function opencodeEnv(extra: Record<string, string> = {}): Record<string, string> {
  return agentDaemonEnv({ OPENCODE_DISABLE_AUTOUPDATE: "1", OPENCODE_DISABLE_MODELS_FETCH: "1", OPENCODE_DISABLE_SHARE: "1", ...extra });
}
