// Any other CLI: the prompt file is its last argument (KASMOS_PROMPT_FILE is set too). kasmos knows
// nothing of its screens, so the pane watcher decides when it is idle (output silence).
import type { Harness } from "./types.ts";
import { activityByName } from "./util.ts";

export const generic: Harness<"generic"> = {
  name: "generic",
  minVersion: null,
  reportsTurns: false,
  command({ words, profile, promptFile }) {
    // A relative path starting with "-" would read as an option. The model is not passed: unknown CLI; use flags.
    const file = promptFile.startsWith("-") ? `./${promptFile}` : promptFile;
    return { argv: [...words, ...profile.flags, file], env: {}, files: {} };
  },
  // A wrapper may report by name (`kasmos agent hook --cli generic --event idle`).
  activityFromEvent: activityByName,
  async preflight() {
    return { ok: true, notes: [] };
  },
  dialogs: [],
};
