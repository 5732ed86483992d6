// Screenshots of the dashboard's pages for README (docs/web-*.png): a sandboxed daemon (temp HOME, its
// own tmux server) with scripted agents at work, pages opened in Debian's chromium. Run after
// `bun run build`: bun scripts/web-screenshots.ts. Everything it starts is stopped by PID at the end.
import { Database } from "bun:sqlite";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPlanned, FAKE_AGENT, fakeAgentConfig, SMALL_PLAN, WAVES_PLAN } from "../test/helpers/agents.ts";
import { makeGitRepo, ROOT, Sandbox } from "../test/helpers/env.ts";
import { launchBrowser } from "../test/web/browser.ts";
import { loginLink, startWeb } from "../test/web/web-helpers.ts";

const out = join(ROOT, "docs");
const sb = new Sandbox("kshot-");
const chrome = await launchBrowser();
try {
  const shop = makeGitRepo(sb.dir, "shop");
  const docs = makeGitRepo(sb.dir, "docs-site");
  // docs-site's agents fail at once: an attention item with its fix.
  mkdirSync(join(docs, ".kasmos"), { recursive: true });
  writeFileSync(join(docs, ".kasmos", "config.toml"), `default_program = "env FAKE_MODE=die ${FAKE_AGENT}"\n`);
  sb.writeConfig(fakeAgentConfig("FAKE_SLOW_WAVE=600", '[budget]\nday_usd = 20\ntask_usd = 40\n\n[pricing."claude-sonnet-4"]\ninput = 3\noutput = 15\ncache_read = 0.3\n'));
  await sb.foreground();
  for (const r of [shop, docs]) if ((await sb.run(["daemon", "add", r])).code !== 0) throw new Error(`cannot add ${r}`);
  // The repo's own default_program runs only once approved.
  if ((await sb.run(["daemon", "trust", "docs-site"])).code !== 0) throw new Error("cannot trust docs-site");
  await createPlanned(sb, shop, "login-throttle", WAVES_PLAN);
  await sb.run(["task", "create", "search-box", "--description", "a search box on the catalogue page"], { cwd: shop });
  await createPlanned(sb, docs, "fix-typos", SMALL_PLAN);
  await sb.waitFor(() => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM agents WHERE role = 'coder' AND wave = 1 AND state = 'running'")[0]!.n === 2, 60_000, "two wave coders");
  await sb.waitFor(() => sb.query<{ n: number }>("SELECT COUNT(*) AS n FROM tasks WHERE attention != ''")[0]!.n > 0, 60_000, "an attention item");
  // Two weeks of spend for the usage page (the scripted agents report none).
  const db = new Database(join(sb.configDir, "kasmos.db"));
  const roles = ["planner", "coder", "reviewer", "master"];
  for (let day = 13; day >= 0; day--) {
    for (const [i, role] of roles.entries()) {
      const at = new Date(Date.now() - day * 86_400_000 - i * 60_000).toISOString();
      const scale = i === 1 ? 1 + ((day * 5) % 9) : 1 + (day % 3);
      db.query("INSERT INTO agent_usage (agent_id, project, task, role, model, input, output, cache_write, cache_read, updated_at) VALUES (?, ?, ?, ?, 'claude-sonnet-4', ?, ?, 0, ?, ?)").run(100_000 + day * 10 + i, i % 2 ? "docs-site" : "shop", "login-throttle", role, 40_000 * scale, 9_000 * scale, 200_000 * scale, at);
    }
  }
  db.close();

  const web = await startWeb(sb);
  const coder = sb.query<{ title: string }>("SELECT title FROM agents WHERE role = 'coder' AND wave = 1 AND state = 'running' ORDER BY id")[0]!.title;
  await sb.run(["agent", "send", coder, "Also cover the lockout message in the tests."], { cwd: shop });
  const shots: [string, string, string, { width: number; height: number }][] = [
    ["web-fleet.png", "/", "[data-repo]", { width: 1100, height: 900 }],
    ["web-task.png", "/task/shop/login-throttle", "#h-diff", { width: 1100, height: 1000 }],
    ["web-agent.png", `/agent/shop/${encodeURIComponent(coder)}`, "#term-status", { width: 1100, height: 700 }],
    ["web-usage.png", "/usage", ".bars li", { width: 1100, height: 800 }],
    ["web-events.png", "/events?project=shop&task=login-throttle", "#event-log li", { width: 1100, height: 700 }],
    ["web-fleet-phone.png", "/", "[data-repo]", { width: 390, height: 844 }],
  ];
  for (const [file, path, ready, viewport] of shots) {
    const context = await chrome.browser.newContext({ viewport, colorScheme: "light" });
    const page = await context.newPage();
    await page.goto(await loginLink(sb));
    await page.waitForURL((u) => u.pathname === "/");
    await page.goto(`${web.url}${path}`);
    await page.locator(ready).first().waitFor({ timeout: 15_000 });
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 15_000 });
    await Bun.sleep(500); // the page's first reload after the stream connects
    await page.screenshot({ path: join(out, file), fullPage: false });
    await context.close();
    console.log(`wrote docs/${file}`);
  }
} finally {
  await chrome.close();
  await sb.cleanup();
}
