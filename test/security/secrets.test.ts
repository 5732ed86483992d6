// Secrets never leave through what kasmos shows or logs (`kas daemon config`, its --json, reload
// replies and log lines, config errors), and agents never get the GitHub token kasmos itself uses.
// Before: the webhook URL with its password and ?token= was printed by `daemon config` and in every
// "config reloaded" line, and GH_TOKEN was in every agent's environment.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { maskConfigValue, maskSecretsInText, maskUrl } from "../../src/config/secrets.ts";
import { api, makeGitRepo, Sandbox, waitFor } from "../helpers/env.ts";

const SECRETS = ["hunter2", "tok3nVALUE", "s3kr1tBearer", "xoxbSIGval", "T0KENINPATHabcdef12345", "flagSecret9", "envSecret7"];
const WEBHOOK = "https://alice:hunter2@hooks.example.com/services/T0KENINPATHabcdef12345?token=tok3nVALUE&topic=builds&sig=xoxbSIGval";
const COMMAND = `curl -sS -H "Authorization: Bearer s3kr1tBearer" --api-key flagSecret9 API_TOKEN=envSecret7 https://example.com/n`;

function expectNoSecret(text: string): void {
  for (const s of SECRETS) expect(text).not.toContain(s);
}

describe("masking", () => {
  test("URL userinfo, credential query parameters and token-like path segments are masked; the rest stays", () => {
    const m = maskUrl(WEBHOOK);
    expectNoSecret(m);
    expect(m).toContain("hooks.example.com/services/***");
    expect(m).toContain("topic=builds");
    expect(m).toContain("alice:***@");
    expect(maskUrl("https://ghp_abcdef@github.com/o/r.git")).toBe("https://***@github.com/o/r.git");
    expect(maskUrl("https://ntfy.sh/my-topic")).toBe("https://ntfy.sh/my-topic");
  });

  test("headers, NAME=value and --flag value pairs named like credentials are masked in free text", () => {
    const m = maskSecretsInText(COMMAND);
    expectNoSecret(m);
    expect(m).toContain("Authorization: Bearer ***");
    expect(m).toContain("--api-key ***");
    expect(m).toContain("API_TOKEN=***");
    expect(maskSecretsInText("--model sonnet FOO=bar")).toBe("--model sonnet FOO=bar");
  });

  test("config values: any string under a key named like a credential, flag lists, nested tables", () => {
    expect(maskConfigValue("github.token", "ghp_x")).toBe("***");
    expect(maskConfigValue("notify.webhook_secret", "")).toBe("");
    expect(maskConfigValue("budget.task_tokens", 800)).toBe(800);
    expect(maskConfigValue("agents.coder.flags", ["--api-key", "flagSecret9", "--model", "m"])).toEqual(["--api-key", "***", "--model", "m"]);
    expectNoSecret(JSON.stringify(maskConfigValue("", { notify: { webhook: WEBHOOK, command: COMMAND } })));
  });
});

describe("binary", () => {
  const sb = new Sandbox();
  afterAll(() => sb.cleanup());
  const toml = (webhook: string) => `poll_interval_sec = 0.2\n[notify]\nwebhook = "${webhook}"\ncommand = '${COMMAND}'\n`;

  test("`kas daemon config` (text and --json) and a config error show no secret", async () => {
    sb.writeConfig(toml(WEBHOOK));
    const text = await sb.run(["daemon", "config"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("notify.webhook");
    expect(text.stdout).toContain("***");
    expectNoSecret(text.stdout);
    const json = await sb.run(["daemon", "config", "--json"]);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { config: { notify: { webhook: string } } }).config.notify.webhook).toContain("hooks.example.com");
    expectNoSecret(json.stdout);
    sb.writeConfig(`[notify]\nwebhook = "ftp://alice:hunter2@x.example/?token=tok3nVALUE"\n`);
    const bad = await sb.run(["daemon", "config"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('key "notify.webhook"');
    expectNoSecret(bad.stderr);
  });

  test("a reload that changes the webhook: reply and log line say it changed, without the secret", async () => {
    sb.writeConfig(toml("https://hooks.example.com/x"));
    const proc = await sb.foreground();
    try {
      sb.writeConfig(toml(WEBHOOK));
      const r = await api(sb.socket, "POST", "/v1/reload");
      expect(r.status).toBe(200);
      const reply = JSON.stringify(r.json);
      expect(reply).toContain("notify.webhook");
      expectNoSecret(reply);
      sb.writeConfig(toml(WEBHOOK.replace("hunter2", "hunter3")));
      const again = await api(sb.socket, "POST", "/v1/reload");
      expect(JSON.stringify(again.json)).toContain("(secret changed)");
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
    const log = await new Response(proc.stderr).text();
    expect(log).toContain("config reloaded");
    expectNoSecret(log);
  }, 60_000);

  test("agents get neither GH_TOKEN nor GITHUB_TOKEN (other API keys stay), also when the daemon starts the tmux server", async () => {
    const repo = makeGitRepo(sb.dir, "tok");
    // Unsandboxed: the agent writes its environment next to its prompt file (a folder a sandbox hides); this is about what kasmos passes.
    sb.writeConfig(`poll_interval_sec = 0.2\ndefault_program = "sh -c 'env > \\"$0.env\\"; exec sleep 600'"\n[sandbox]\nmode = "off"\n`);
    const proc = await sb.foreground([], { GH_TOKEN: "ghp_daemonOnly1", GITHUB_TOKEN: "ghp_daemonOnly2", ANTHROPIC_API_KEY: "agent-needs-this" });
    try {
      await sb.run(["daemon", "add", repo]);
      await sb.run(["task", "create", "t1"], { cwd: repo });
      await sb.run(["task", "transition", "t1", "plan_start"], { cwd: repo });
      const envFile = join(sb.configDir, "prompts", "tok", "t1-plan.md.env");
      await waitFor(() => { try { return readFileSync(envFile, "utf8").includes("KASMOS_TASK=t1"); } catch { return false; } }, 30_000, "the agent's environment");
      const env = readFileSync(envFile, "utf8");
      expect(env).toContain("ANTHROPIC_API_KEY=agent-needs-this");
      expect(env).not.toContain("ghp_daemonOnly");
      const global = Bun.spawnSync(["tmux", "-L", sb.tmuxSocket, "show-environment", "-g"]).stdout.toString();
      expect(global).not.toContain("ghp_daemonOnly");
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  }, 60_000);
});
