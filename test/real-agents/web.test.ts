// The dashboard with a real CLI: Claude Code (pinned, from npm) as the coder against the loopback model,
// stopped at its permission prompt. The fleet page shows the waiting agent's attention item; the Agent
// page's terminal (xterm.js in Debian chromium) shows Claude Code's own prompt as it drew it; typing is
// refused until take-over, then the keys reach Claude Code, which goes on past the prompt.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeGitRepo, Sandbox } from "../helpers/env.ts";
import { launchBrowser, type RunningBrowser } from "../web/browser.ts";
import { startWeb } from "../web/web-helpers.ts";
import { claudeEnv, claudeUser, cliPath, mixedConfig } from "./helpers.ts";
import { type AnthropicModel, startAnthropicModel } from "./model/anthropic.ts";

let sb: Sandbox;
let model: AnthropicModel | null = null;
let chrome: RunningBrowser | null = null;
beforeEach(() => {
  sb = new Sandbox("kwr-");
});
afterEach(async () => {
  await chrome?.close();
  chrome = null;
  await sb.cleanup();
  await model?.stop();
  model = null;
});

describe("dashboard with Claude Code, for real", () => {
  test("a coder at its permission prompt: attention on the fleet page, its own screen in the Agent page, keys after take-over move it on", async () => {
    claudeUser(sb.home);
    const plan = "# Small\n**Goal:** one\n\n## Wave 1: a\n### Task 1: x\ndo x\n";
    model = await startAnthropicModel({ scenario: { plan } });
    const repo = makeGitRepo(sb.dir, "shop");
    const extra = `[agents.coder]\nskip_permissions = false\nflags = ["--permission-mode", "default"]\nprogram = "${cliPath("claude")}"\n`;
    sb.writeConfig(mixedConfig({}, "FAKE_REVIEW_ROUNDS=0", extra));
    const daemon = await sb.foreground([], claudeEnv(model.url));
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    writeFileSync(join(sb.dir, "small.md"), plan);
    await sb.run(["task", "create", "perm", "--plan", join(sb.dir, "small.md")], { cwd: repo });
    await sb.run(["task", "transition", "perm", "implement_start"], { cwd: repo });
    await sb.waitFor(() => (sb.query<{ attention: string }>("SELECT attention FROM tasks WHERE name = 'perm'")[0]?.attention ?? "").includes("is waiting"), 120_000, "the coder to wait at its prompt");

    chrome = await launchBrowser();
    const web = await startWeb(sb);
    const context = await chrome.browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    await page.goto(web.login_url);
    await page.waitForURL((u) => u.pathname === "/");
    await page.locator('[data-task="shop/perm"]', { hasText: "perm-coder is waiting" }).waitFor({ timeout: 15_000 });

    await page.goto(`${web.url}/agent/shop/perm-coder`);
    await page.locator("#term-status", { hasText: "read-only" }).waitFor({ timeout: 15_000 });
    const rows = page.locator("#terminal .xterm-rows");
    await page.locator("#terminal .xterm-rows", { hasText: "Do you want to proceed?" }).waitFor({ timeout: 15_000 });
    // Read-only: a key pressed in the terminal goes nowhere.
    await page.locator("#terminal").click();
    await page.keyboard.press("Enter");
    await Bun.sleep(1000);
    expect(await rows.innerText()).toContain("Do you want to proceed?");
    expect(sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'terminal_input'")[0]!.n).toBe(0);

    // Taken over, Enter chooses Claude Code's default answer (yes): it goes on past the prompt.
    page.once("dialog", (d) => void d.accept());
    await page.locator("#takeover").click();
    await page.locator("#term-status", { hasText: "typing" }).waitFor({ timeout: 10_000 });
    await page.locator("#terminal").click();
    await page.keyboard.press("Enter");
    await sb.waitFor(async () => !(await sb.run(["agent", "capture", "perm-coder", "--lines", "30"], { cwd: repo })).stdout.includes("Do you want to proceed?"), 60_000, "Claude Code to go past its prompt");
    await sb.waitFor(async () => !(await rows.innerText()).includes("Do you want to proceed?"), 15_000, "the page's terminal to follow");
    const audit = sb.query<{ kind: string }>("SELECT kind FROM audit_events WHERE kind LIKE 'terminal_%' ORDER BY id").map((r) => r.kind);
    expect(audit[0]).toBe("terminal_takeover");
    expect(audit).toContain("terminal_input");
    await context.close();
    daemon.kill("SIGTERM");
    await daemon.exited;
  }, 240_000);
});
