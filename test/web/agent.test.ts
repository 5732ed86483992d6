// The Agent page's terminal in a real browser against the compiled daemon and a scripted agent asleep
// in its tmux pane: what reaches the pane shows in xterm.js as it is printed, typing is refused until
// take-over, then reaches the pane and is audited; handing back makes it read-only again.
import { beforeEach, describe, expect, test } from "bun:test";
import { makeGitRepo, type Sandbox } from "../helpers/env.ts";
import { createPlanned, fakeAgentConfig, WAVES_PLAN } from "../helpers/agents.ts";
import { browserAndSandbox, type RunningBrowser } from "./browser.ts";
import { startWeb } from "./web-helpers.ts";

const hooks = browserAndSandbox("kwa-");
let sb: Sandbox;
let chrome: RunningBrowser;
beforeEach(() => {
  sb = hooks.sb();
  chrome = hooks.chrome();
});

describe("agent page (chromium)", () => {
  test("the terminal streams what the pane prints; typing only after take-over, then it reaches the pane and is audited", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    // The wave coder sleeps in its pane: a live terminal whose tty echoes what is typed into it.
    sb.writeConfig(fakeAgentConfig("FAKE_SLOW_WAVE=120"));
    await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    await createPlanned(sb, repo, "feat", WAVES_PLAN);
    let title = "";
    await sb.waitFor(() => {
      title = sb.query<{ title: string }>("SELECT title FROM agents WHERE role = 'coder' AND wave = 1 AND state = 'running' ORDER BY id")[0]?.title ?? "";
      return title !== "";
    }, 60_000, "the coder to run");
    // Its pane has started (the fake agent's first line) before the page opens.
    await sb.waitFor(async () => (await sb.run(["agent", "capture", title], { cwd: repo })).stdout.includes("starting"), 30_000, "the coder's first line");

    const web = await startWeb(sb);
    const context = await chrome.browser.newContext({ viewport: { width: 1000, height: 800 } });
    const page = await context.newPage();
    await page.goto(web.login_url);
    await page.waitForURL((u) => u.pathname === "/");
    await page.goto(`${web.url}/agent/shop/${encodeURIComponent(title)}`);
    const screen = page.locator("#terminal .xterm-rows");
    // The screen as it was: the agent's first line.
    await page.locator("#term-status", { hasText: "read-only" }).waitFor({ timeout: 15_000 });
    await screen.filter({ hasText: "starting" }).waitFor({ timeout: 15_000 });

    // Output printed from now on arrives on the open page (a prompt typed by the CLI, echoed by the tty).
    expect((await sb.run(["agent", "send", title, "printed-after-the-page-opened"], { cwd: repo })).code).toBe(0);
    await page.locator("#terminal .xterm-rows", { hasText: "printed-after-the-page-opened" }).waitFor({ timeout: 15_000 });

    // Read-only: the route refuses typing (the page does not even send it).
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const keys = (text: string) => fetch(`${web.url}/v1/repos/shop/instances/${encodeURIComponent(title)}/keys`, { method: "POST", headers: { cookie, origin: web.url, "content-type": "application/json" }, body: JSON.stringify({ text }) });
    expect((await keys("refused")).status).toBe(409);
    await page.locator("#terminal").click();
    await page.keyboard.type("not-taken-over");
    expect(sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'terminal_input'")[0]!.n).toBe(0);

    // Take over (confirmed), type, and it reaches the pane.
    page.once("dialog", (d) => void d.accept());
    await page.locator("#takeover").click();
    await page.locator("#term-status", { hasText: "typing" }).waitFor({ timeout: 10_000 });
    await page.locator("#terminal").click();
    await page.keyboard.type("typed-after-takeover");
    await page.locator("#terminal .xterm-rows", { hasText: "typed-after-takeover" }).waitFor({ timeout: 15_000 });
    await sb.waitFor(async () => (await sb.run(["agent", "capture", title], { cwd: repo })).stdout.includes("typed-after-takeover"), 15_000, "the typing to reach the pane");
    const pane = (await sb.run(["agent", "capture", title], { cwd: repo })).stdout;
    expect(pane).not.toContain("not-taken-over");
    const audit = sb.query<{ kind: string; message: string }>("SELECT kind, message FROM audit_events WHERE kind LIKE 'terminal_%' ORDER BY id");
    expect(audit[0]!.kind).toBe("terminal_takeover");
    expect(audit[0]!.message).toContain("127.0.0.1");
    expect(audit.filter((r) => r.kind === "terminal_input").length).toBeGreaterThan(0);
    expect(audit.some((r) => r.message.includes("typed-after"))).toBe(false); // lengths, never the text

    // Handed back: read-only again.
    await page.locator("#takeover").click();
    await page.locator("#term-status", { hasText: "read-only" }).waitFor({ timeout: 10_000 });
    expect((await keys("refused-again")).status).toBe(409);

    // The CLI does the same: refused until kas agent takeover, then typed (audited as the socket's).
    const refused = await sb.run(["agent", "type", title, "from-the-cli"], { cwd: repo });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("take it over first");
    expect((await sb.run(["agent", "takeover", title], { cwd: repo })).code).toBe(0);
    await page.locator("#term-status", { hasText: "typing" }).waitFor({ timeout: 10_000 }); // the open page follows
    expect((await sb.run(["agent", "type", title, "from-the-cli", "--enter"], { cwd: repo })).code).toBe(0);
    await page.locator("#terminal .xterm-rows", { hasText: "from-the-cli" }).waitFor({ timeout: 15_000 });
    expect((await sb.run(["agent", "takeover", title, "--release"], { cwd: repo })).code).toBe(0);
    expect(sb.query<{ message: string }>("SELECT message FROM audit_events WHERE kind = 'terminal_input' ORDER BY id DESC LIMIT 1")[0]!.message).toContain("by the control socket");
    await context.close();
  }, 180_000);
});
