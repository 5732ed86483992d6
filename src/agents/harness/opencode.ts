// opencode (`opencode`). Facts this file relies on (1.18.x, checked against the real CLI):
// - `opencode --prompt "<text>"` opens the TUI with a first message; --model provider/model.
// - No first-run gates once a provider is configured; no folder trust.
// - Two TUIs started at the same instant in a project opencode has never opened can hang after "init":
//   the runner starts the first opencode agent of a project alone (firstStartAlone) and the others
//   only once it is up.
import type { Harness } from "./types.ts";

export const opencode: Harness = {
  name: "opencode",
  minVersion: "1.18.0",
  reportsTurns: false,
  command({ words, profile, pointer }) {
    const env: Record<string, string> = {};
    if (profile.skipPermissions) env.OPENCODE_PERMISSION = JSON.stringify({ "*": "allow" });
    return {
      argv: [...words, ...(profile.model ? ["--model", profile.model] : []), ...profile.flags, "--prompt", pointer],
      // Unattended: every tool runs without asking (the config's own permission rules otherwise).
      env,
      files: {},
    };
  },
  async preflight() {
    return { ok: true, notes: [] };
  },
  dialogs: [{ kind: "permission", pattern: /Permission required|Allow once|Always allow/i, what: "opencode asks for permission" }],
  noise: /^[\s│┃╭╮╰╯─>]*$/,
};
