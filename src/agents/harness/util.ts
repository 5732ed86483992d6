// Small pieces the harnesses share.
import { homedir } from "node:os";
import type { ActivityReading } from "./types.ts";

/** The argv a CLI runs to report one event to the daemon (its hook wiring puts this in the CLI's settings). */
export function hookArgv(hookCommand: readonly string[], cli: string, event: string): string[] {
  return [...hookCommand, "--cli", cli, "--event", event];
}

/** A string field of a report's payload, "" when absent or not a string. */
export function payloadString(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * Reports named after the activity itself (working, idle, waiting, ended), as plugins and wrappers
 * calling `kasmos agent hook` send them; payload.message is the note.
 */
export function activityByName(event: string, payload: Record<string, unknown>): ActivityReading | null {
  switch (event) {
    case "working":
    case "idle":
    case "waiting":
    case "ended":
      return { activity: event, note: payloadString(payload.message) };
    default:
      return null;
  }
}

/** A word for `sh -c` (hook commands are run by the CLI through a shell). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9._\/:=@%+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

export function shellLine(argv: readonly string[]): string {
  return argv.map(shellWord).join(" ");
}

/** The agent's HOME (the environment it will get), else the daemon's. */
export function agentHome(env: Record<string, string | undefined>): string {
  const h = env.HOME?.trim();
  return h ? h : homedir();
}

/** "2.1.328 (Claude Code)" → [2, 1, 328]; null when no version is found. */
export function parseVersion(text: string): number[] | null {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export function versionAtLeast(have: number[], min: string): boolean {
  const want = parseVersion(min) ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const a = have[i] ?? 0;
    const b = want[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}
