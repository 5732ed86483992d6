// Build-time only (imported `with { type: "macro" }` by assets.ts): bundles the page's script with
// `bun build` and reads its stylesheet, so the compiled kasmos carries them as string constants — no
// files beside the binary, no CDN. Bun.build itself cannot run inside a macro (the bundler waits on
// the macro), hence the CLI in a child process.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface DashboardAssets {
  /** Every page's script but the Agent page's. */
  js: string;
  /** The Agent page's script (with xterm.js). */
  agentJs: string;
  css: string;
}

function bundle(entry: string): string {
  const r = Bun.spawnSync([process.execPath, "build", entry, "--minify", "--target=browser", "--format=esm"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, BUN_BE_BUN: "1" },
  });
  if (r.exitCode !== 0) throw new Error(`bundling ${entry} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

export function dashboardAssets(): DashboardAssets {
  const dir = join(import.meta.dir, "page");
  const xtermCss = readFileSync(join(import.meta.dir, "..", "..", "node_modules", "@xterm", "xterm", "css", "xterm.css"), "utf8");
  return { js: bundle(join(dir, "main.ts")), agentJs: bundle(join(dir, "agent-main.ts")), css: `${xtermCss}\n${readFileSync(join(dir, "style.css"), "utf8")}` };
}
