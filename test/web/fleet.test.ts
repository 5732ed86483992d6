// The fleet page in a real browser (Debian chromium through playwright-core) against the compiled
// daemon with scripted agents: the login link's cookie, a task moving planning → done on an open page
// with no reload, a failed coder's attention item and its restart button, a phone-sized viewport, and
// a cross-site page's POST refused.
import { beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, makeGitRepo, type Sandbox } from "../helpers/env.ts";
import { createPlanned, fakeAgentConfig, SMALL_PLAN, WAVES_PLAN } from "../helpers/agents.ts";
import { browserAndSandbox, type RunningBrowser } from "./browser.ts";
import { startWeb } from "./web-helpers.ts";

const hooks = browserAndSandbox("kwb-");
let sb: Sandbox;
let chrome: RunningBrowser;
beforeEach(() => {
  sb = hooks.sb();
  chrome = hooks.chrome();
});

/** A browser context logged in through the one-time link, on the fleet page. */
async function openFleet(loginUrl: string, viewport = { width: 1200, height: 800 }) {
  const context = await chrome.browser.newContext({ viewport });
  const page = await context.newPage();
  // Every status a task row or chip showed, and every navigation: proof of "live, without reload".
  // (In-page code as text: the test program has no DOM types.)
  await page.addInitScript(`
    window.seen = [];
    new MutationObserver(() => {
      for (const el of document.querySelectorAll("[data-status],[data-state]")) {
        const s = el.dataset.status ?? el.dataset.state ?? "";
        if (!window.seen.includes(s)) window.seen.push(s);
      }
    }).observe(document, { subtree: true, childList: true });
  `);
  let navigations = 0;
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  await page.goto(loginUrl);
  await page.waitForURL((u) => u.pathname === "/");
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 15_000 });
  return { context, page, navigations: () => navigations };
}

describe("fleet page (chromium)", () => {
  test("login link → HttpOnly SameSite=Strict cookie; a task goes planning → done on the open page without reload", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    const planFile = join(sb.dir, "plan.md");
    writeFileSync(planFile, SMALL_PLAN);
    sb.writeConfig(fakeAgentConfig(`FAKE_PLAN=${planFile} FAKE_REVIEW_ROUNDS=0`));
    await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    const web = await startWeb(sb);
    const { context, page, navigations } = await openFleet(web.login_url);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "kasmos_session");
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe("Strict");
    await page.locator('[data-repo="shop"]').waitFor();
    const navigationsBefore = navigations();

    expect((await sb.run(["task", "create", "feat"], { cwd: repo })).code).toBe(0);
    // The task page open in a second tab, live too.
    const taskTab = await context.newPage();
    await taskTab.goto(`${web.url}/task/shop/feat`);
    await taskTab.locator('#h-task [data-status="ready"]').waitFor({ timeout: 15_000 });
    expect((await sb.run(["task", "transition", "feat", "plan_start"], { cwd: repo })).code).toBe(0);
    await page.locator('[data-repo="shop"] [data-state="done"]').waitFor({ timeout: 90_000 });
    const seen = (await page.evaluate("window.seen")) as string[];
    expect(seen).toContain("planning");
    expect(seen).toContain("done");
    expect(navigations()).toBe(navigationsBefore);
    // The transitions arrived as events too.
    await page.locator(".events", { hasText: "plan_transition" }).waitFor({ timeout: 15_000 });
    // The task page's timeline shows every transition the store recorded, without a reload.
    await taskTab.locator('#h-task [data-status="done"]').waitFor({ timeout: 15_000 });
    const moves = sb.query<{ m: string }>("SELECT from_status || ' → ' || to_status AS m FROM audit_events WHERE kind = 'plan_transition' AND task = 'feat' ORDER BY id").map((r) => r.m);
    expect(moves.length).toBeGreaterThanOrEqual(5);
    const timeline = (await taskTab.locator(".timeline li[data-kind=plan_transition]").allInnerTexts()).reverse();
    expect(timeline.length).toBe(moves.length);
    moves.forEach((m, i) => expect(timeline[i]).toContain(m));
    // The branch's changes against the default branch: the coder's file, its hunk coloured as added.
    const file = taskTab.locator('.dfile[data-path="all.txt"]');
    await file.waitFor({ timeout: 15_000 });
    await file.locator("summary").click();
    await file.locator(".dpatch .da", { hasText: "+everything" }).first().waitFor({ timeout: 15_000 });
    await expect(file.locator(".dpatch .da").first().innerText()).resolves.toBe("+everything");
    await context.close();
  }, 120_000);

  test("a failed coder's attention item has a restart button; clicking it (confirmed) restarts the agent", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    sb.writeConfig(fakeAgentConfig("FAKE_MODE=die"));
    await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    const web = await startWeb(sb);
    const { context, page } = await openFleet(web.login_url);
    await createPlanned(sb, repo, "feat", SMALL_PLAN);
    const button = page.locator('[data-task="shop/feat"] button', { hasText: "Restart" });
    await button.waitFor({ timeout: 60_000 });
    const before = sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'agent_restarted'")[0]!.n;
    let asked = "";
    page.once("dialog", (d) => {
      asked = d.message();
      void d.accept();
    });
    // Keyboard only: Tab from the top of the page reaches the button (bounded), Enter presses it.
    await page.locator("body").click({ position: { x: 1, y: 1 } });
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = (await page.evaluate("document.activeElement?.tagName === 'BUTTON' && document.activeElement.textContent.startsWith('Restart')")) as boolean;
    }
    expect(reached).toBe(true);
    await page.keyboard.press("Enter");
    await sb.waitFor(() => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_events WHERE kind = 'agent_restarted'")[0]!.n > before, 30_000, "the restart");
    expect(asked).toContain("Restart agent");
    await context.close();
  }, 120_000);

  test("a phone-sized viewport renders every page without horizontal scrolling; light and dark follow the system", async () => {
    const name = "a-repository-with-a-rather-long-name-for-a-phone";
    const repo = makeGitRepo(sb.dir, name);
    await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    const task = "a-task-name-that-goes-on-and-on-and-on-without-a-break";
    expect((await sb.run(["task", "create", task, "--description", "a description long enough to wrap over several lines of a phone's narrow screen"], { cwd: repo })).code).toBe(0);
    const web = await startWeb(sb);
    const { context, page } = await openFleet(web.login_url, { width: 360, height: 740 });
    await page.locator("[data-repo]").waitFor();
    const pages: [string, string][] = [["/", "[data-repo]"], [`/task/${name}/${task}`, "#h-task"], ["/usage", ".chart"], [`/events?project=${name}&task=${task}`, "#event-log li"]];
    // Light and dark follow the system.
    const background = () => page.evaluate("getComputedStyle(document.body).backgroundColor") as Promise<string>;
    await page.emulateMedia({ colorScheme: "light" });
    const light = await background();
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await background();
    expect(light).not.toBe(dark);
    await page.emulateMedia({ colorScheme: "light" });
    for (const [path, ready] of pages) {
      await page.goto(`${web.url}${path}`);
      await page.locator(ready).first().waitFor({ timeout: 15_000 });
      const widths = (await page.evaluate("({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })")) as { scroll: number; client: number };
      expect(`${path}: ${widths.scroll}`).toBe(`${path}: ${widths.client}`);
    }
    await context.close();
  }, 60_000);

  test("task page: the actions its state allows, each confirmed; a refused one says why", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    expect((await sb.run(["task", "create", "feat"], { cwd: repo })).code).toBe(0);
    const web = await startWeb(sb);
    const { context, page } = await openFleet(web.login_url);
    await page.goto(`${web.url}/task/shop/feat`);
    await page.locator('#h-task [data-status="ready"]').waitFor({ timeout: 15_000 });
    // ready allows plan_start, implement_start, mark_done, cancel, resume (the lifecycle table), never the daemon's own.
    const offered = await page.locator(".actions button[data-event]").evaluateAll((els) => els.map((e) => e.getAttribute("data-event")));
    expect(offered).toEqual(["plan_start", "implement_start", "mark_done", "cancel", "resume"]);
    // Dismissed: nothing happens.
    page.once("dialog", (d) => void d.dismiss());
    await page.locator('button[data-event="cancel"]').click();
    await Bun.sleep(300);
    expect(sb.query<{ status: string }>("SELECT status FROM tasks WHERE name = 'feat'")[0]!.status).toBe("ready");
    // implement_start without a plan: refused, with the reason on the page.
    page.once("dialog", (d) => void d.accept());
    await page.locator('button[data-event="implement_start"]').click();
    await page.locator(".notice", { hasText: "refused" }).waitFor({ timeout: 10_000 });
    // Accepted: cancelled, and the page follows.
    page.once("dialog", (d) => void d.accept());
    await page.locator('button[data-event="cancel"]').click();
    await page.locator('#h-task [data-status="cancelled"]').waitFor({ timeout: 10_000 });
    expect(await page.locator(".actions button[data-event]").evaluateAll((els) => els.map((e) => e.getAttribute("data-event")))).toEqual(["reopen"]);
    await context.close();
  }, 60_000);

  test("task page: a long history opens on its 50 newest timeline entries; 'older' shows the next page", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    expect((await sb.run(["task", "create", "long"], { cwd: repo })).code).toBe(0);
    // History: 60 signals the task's state refuses (each queued, then failed: two entries apiece).
    for (let i = 0; i < 60; i++) expect((await api(sb.socket, "POST", "/v1/repos/shop/signals", { type: "implement_finished", task: "long" })).status).toBe(201);
    await sb.waitFor(() => sb.query<{ n: number }>("SELECT count(*) AS n FROM audit_events WHERE task = 'long'")[0]!.n >= 120, 30_000, "the refused signals to be recorded");
    const web = await startWeb(sb);
    const { context, page } = await openFleet(web.login_url);
    await page.goto(`${web.url}/task/shop/long`);
    const heading = page.locator("#h-timeline");
    const stored = () => sb.query<{ n: number }>("SELECT count(*) AS n FROM audit_events WHERE task = 'long'")[0]!.n;
    await sb.waitFor(async () => Number(/\((\d+)\)/.exec(await heading.innerText())?.[1] ?? 0) === stored(), 15_000, "the timeline to hold the whole history");
    const total = Number(/\((\d+)\)/.exec(await heading.innerText())![1]);
    expect(await page.locator(".timeline li").count()).toBe(50);
    await page.locator('button[data-key="older"]', { hasText: `show 50 older of ${total - 50}` }).click();
    await page.locator(".timeline li").nth(99).waitFor({ timeout: 5_000 });
    expect(await page.locator(".timeline li").count()).toBe(100);
    for (let i = 0; i < 10 && (await page.locator('button[data-key="older"]').count()) > 0; i++) await page.locator('button[data-key="older"]').click();
    await page.locator(".timeline li").nth(total - 1).waitFor({ timeout: 5_000 });
    expect(await page.locator(".timeline li").count()).toBe(total);
    expect(await page.locator('button[data-key="older"]').count()).toBe(0);
    await context.close();
  }, 90_000);

  test("usage page: limits against today's spend, a task on budget hold, and its resume (confirmed)", async () => {
    const repo = makeGitRepo(sb.dir, "shop");
    sb.writeConfig(fakeAgentConfig("FAKE_SLOW_WAVE=120", "[budget]\ntask_tokens = 1000\nday_usd = 50\n"));
    await sb.foreground();
    expect((await sb.run(["daemon", "add", repo])).code).toBe(0);
    await createPlanned(sb, repo, "feat", WAVES_PLAN);
    await sb.waitFor(() => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM agents WHERE task = 'feat' AND role = 'coder' AND state = 'running'")[0]!.n > 0, 60_000, "a coder at work");
    // Its tokens cross the task limit (the scripted agents report none of their own), and the task is
    // on hold as the budget guard leaves it (set here as test/e2e/restart-refusals.test.ts does).
    const agentId = sb.query<{ id: number }>("SELECT id FROM agents WHERE task = 'feat' AND role = 'coder' ORDER BY id")[0]!.id;
    const db = new Database(join(sb.configDir, "kasmos.db"));
    db.exec("PRAGMA busy_timeout = 5000");
    db.query("INSERT INTO agent_usage (agent_id, project, task, role, model, input, output, cache_write, cache_read, updated_at) VALUES (?, 'shop', 'feat', 'coder', 'm', 4000, 1000, 0, 0, ?)").run(agentId, new Date().toISOString());
    db.query("UPDATE tasks SET hold = 'task tokens 5000 reached its budget task_tokens = 1000', attention = 'on hold: task tokens 5000 reached its budget task_tokens = 1000 — raise [budget] task_tokens (daemon.toml or .kasmos/config.toml) and kas daemon reload, or run kas task resume feat' WHERE name = 'feat'").run();
    db.close();
    const web = await startWeb(sb);
    const { context, page } = await openFleet(web.login_url);
    // The fleet page offers the attention item's own fix: resume.
    await page.locator('[data-task="shop/feat"] button', { hasText: "Resume feat" }).waitFor({ timeout: 15_000 });
    await page.goto(`${web.url}/usage`);
    await page.locator("#h-budget").waitFor({ timeout: 15_000 });
    await expect(page.locator("#h-budget + p").innerText()).resolves.toContain("$50 a day");
    const held = page.locator('#holds [data-task="shop/feat"]');
    await held.waitFor({ timeout: 15_000 });
    await expect(held.innerText()).resolves.toContain("5.0k tokens");
    page.once("dialog", (d) => void d.accept());
    await held.locator("button", { hasText: "resume" }).click();
    await page.locator(".notice", { hasText: "resume feat" }).waitFor({ timeout: 10_000 });
    await sb.waitFor(() => sb.query<{ hold: string }>("SELECT hold FROM tasks WHERE name = 'feat'")[0]!.hold === "", 15_000, "the hold lifted");
    await page.locator("#h-budget ~ p", { hasText: "No task on hold." }).waitFor({ timeout: 15_000 });
    await context.close();
  }, 120_000);

  test("a page of another site cannot POST with the session (cookie withheld, Origin refused)", async () => {
    await sb.foreground();
    const web = await startWeb(sb);
    const { context, page } = await openFleet(web.login_url);
    // Another site (localhost is not 127.0.0.1 to a browser) that posts a form to the dashboard.
    const evil = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => new Response(`<form id="f" method="POST" action="${web.url}/v1/scan" enctype="text/plain"><input name="{}" value=""></form><script>document.getElementById("f").submit()</script>`, { headers: { "content-type": "text/html" } }),
    });
    try {
      const posted = page.waitForResponse((r) => r.url() === `${web.url}/v1/scan`);
      await page.goto(`http://localhost:${evil.port}/`);
      const res = await posted;
      expect([401, 403]).toContain(res.status());
    } finally {
      evil.stop(true);
      await context.close();
    }
  }, 60_000);
});
