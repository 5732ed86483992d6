// Debian's chromium driven by playwright-core for the dashboard tests: one headless browser server per
// test file, killed by its PID when the file ends.
import { afterAll, afterEach, beforeAll, beforeEach } from "bun:test";
import { existsSync } from "node:fs";
import { type Browser, type BrowserServer, chromium } from "playwright-core";
import { Sandbox } from "../helpers/env.ts";

export const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p)) ?? null;

export interface RunningBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<RunningBrowser> {
  if (CHROMIUM === null) throw new Error("chromium is not installed (sh scripts/setup.sh installs it with apt-get)");
  // --no-sandbox: the tests may run as root, where chromium's own sandbox refuses to start.
  const server: BrowserServer = await chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const pid = server.process().pid;
  const browser = await chromium.connect(server.wsEndpoint());
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      await Promise.race([server.close().catch(() => undefined), Bun.sleep(5000)]);
      if (pid !== undefined) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    },
  };
}

/**
 * The hooks of a browser test file: one chromium for the file, a fresh sandbox (daemon home) per test,
 * both cleaned up. Read them through the getters inside tests.
 */
export function browserAndSandbox(prefix: string): { chrome(): RunningBrowser; sb(): Sandbox } {
  let chrome: RunningBrowser | null = null;
  let sb: Sandbox | null = null;
  beforeAll(async () => {
    chrome = await launchBrowser();
  });
  afterAll(async () => {
    await chrome?.close();
  });
  beforeEach(() => {
    sb = new Sandbox(prefix);
  });
  afterEach(async () => {
    await sb?.cleanup();
  });
  return { chrome: () => chrome!, sb: () => sb! };
}
