// opencode (`opencode`). Facts this file relies on (1.18.x, checked against the real CLI):
// - `opencode --prompt "<text>"` opens the TUI with a first message; --model provider/model; --auto
//   answers its permission prompts itself (reading the prompt file outside the repo asks for
//   "Access external directory" otherwise).
// - No first-run gates once a provider is configured; no folder trust. Writes only .git/opencode in the repo.
// - Turn ends are not reported to kasmos: its plugin mechanism would work (OPENCODE_CONFIG_CONTENT), but
//   any plugin makes every start install @opencode-ai/plugin from npm under a cross-process lock first
//   (a 70 s stall without a registry), so the pane watcher decides (output silence).
// - Two TUIs started at the same instant in a project opencode has never opened were reported to hang
//   after "init" (not reproduced here in 12 paired starts): the runner spaces opencode starts in one
//   repo by staggerMs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readOpencodeSession } from "../opencode-usage.ts";
import type { Harness } from "./types.ts";
import { agentHome } from "./util.ts";

/** opencode's data folder (its session database lives there). */
function opencodeDataDir(env: Record<string, string | undefined>): string {
  return join(env.XDG_DATA_HOME?.trim() || join(agentHome(env), ".local", "share"), "opencode");
}

export const opencode: Harness = {
  name: "opencode",
  minVersion: "1.18.0",
  reportsTurns: false,
  staggerMs: 3000,
  command({ words, profile, pointer }) {
    return {
      argv: [...words, ...(profile.model ? ["--model", profile.model] : []), ...(profile.skipPermissions ? ["--auto"] : []), ...profile.flags, "--prompt", pointer],
      env: {},
      files: {},
    };
  },
  // Totals of the session this run created (its first message names the prompt file), from opencode's database.
  readUsage: async (ctx, cursor) => {
    const r = await readOpencodeSession(join(opencodeDataDir(ctx.env), "opencode.db"), ctx.roots, ctx.cwd, ctx.promptFile, ctx.model);
    return r.totals || r.rejected.length > 0 ? { totals: r.totals ?? {}, cursor, rejected: r.rejected } : null;
  },
  recordRoots: (env) => [opencodeDataDir(env)],
  async preflight(ctx) {
    // A provider option written "{env:NAME}" (opencode.json) needs NAME in the agent's environment.
    const file = join(ctx.env.XDG_CONFIG_HOME?.trim() || join(agentHome(ctx.env), ".config"), "opencode", "opencode.json");
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return { ok: true, notes: [] };
    }
    const missing = [...new Set([...text.matchAll(/\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!))].filter((n) => !(ctx.env[n] ?? ""));
    if (missing.length === 0) return { ok: true, notes: [] };
    return {
      ok: false,
      refusal: {
        reason: `${file} reads ${missing.map((n) => `{env:${n}}`).join(", ")} but ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not set (opencode would fail to reach its provider)`,
        fix: `set ${missing.join(", ")} in the daemon's environment (export before kas daemon start, or Environment= in the systemd unit), then restart the daemon`,
      },
    };
  },
  dialogs: [
    { kind: "permission", pattern: /Permission required|Allow once\s+Allow always/i, what: "opencode asks for permission" },
    { kind: "error", pattern: /API key is missing|Model not found: |Failed to initialize provider|AI_LoadAPIKeyError|ProviderInitError/, what: "opencode shows a fatal error" },
  ],
  noise: /^[\s│┃╭╮╰╯─>]*$/,
};
