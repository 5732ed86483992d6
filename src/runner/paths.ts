// Where agents' files live under the config folder: prompts and per-run files (gc sweeps both).
import { join } from "node:path";
import { configDir } from "../config/paths.ts";

/** The folder of agents' prompt files (one sub-folder per project; gc sweeps it). */
export function promptsDir(): string {
  return join(configDir(), "prompts");
}

/** Where an agent's prompt is written (and read back for its reminder and its usage lookup). */
export function promptFileOf(project: string, title: string): string {
  return join(promptsDir(), project, `${title}.md`);
}

/** The folder of agents' per-run files (one sub-folder per project, then per title; gc sweeps it). */
export function runsDir(): string {
  return join(configDir(), "run");
}

/** An agent's per-run files: its CLI's generated settings, and the exit status its pane's shell writes. */
export function runDirOf(project: string, title: string): string {
  return join(runsDir(), project, title);
}
