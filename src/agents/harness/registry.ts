// The one list of agent CLIs kasmos knows, by name: the built-ins below and any harness registered
// beside them (registerHarness, from a module loaded before the command runs). What the daemon
// accepts as a report's `cli`, what `kasmos agent hook` forwards and which harness reads a report all
// come from it. This file holds names and registrations only, no harness: `kasmos agent hook` runs on
// every tool call of every agent and asks it for names without loading the harnesses (index.ts
// registers the built-ins).
import type { Harness } from "./types.ts";

export const BUILT_IN_HARNESS_NAMES = ["claude", "codex", "opencode", "generic"] as const;
export type BuiltInHarnessName = (typeof BUILT_IN_HARNESS_NAMES)[number];

const registered = new Map<string, Harness>();

/** Add a harness. A name is registered once (a harness never replaces another) and is a plain word. */
export function registerHarness(h: Harness): void {
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(h.name)) throw new Error(`harness name ${JSON.stringify(h.name)}: use lower-case letters, digits, - and _`);
  if (registered.has(h.name)) throw new Error(`a harness named ${h.name} is already registered`);
  registered.set(h.name, h);
}

/** The registered harness of that name (built-ins once index.ts is loaded). */
export function registeredHarness(name: string): Harness | undefined {
  return registered.get(name);
}

/** Every name, the built-ins first. */
export function harnessNames(): string[] {
  return [...new Set<string>([...BUILT_IN_HARNESS_NAMES, ...registered.keys()])];
}

export function isHarnessName(name: string): boolean {
  return registered.has(name) || (BUILT_IN_HARNESS_NAMES as readonly string[]).includes(name);
}

/** "claude, codex, opencode or generic". */
export function harnessNamesInWords(): string {
  const names = harnessNames();
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names.join("");
}
