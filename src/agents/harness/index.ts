// The harness for a program: by the basename of its first word (`/usr/local/bin/claude` → claude);
// any other program runs under generic. The built-ins are registered here, one per name of the list
// in registry.ts (the compiler holds the two together); a CLI kasmos does not ship registers its own
// harness the same way (registerHarness).
import { claude } from "./claude.ts";
import { codex } from "./codex.ts";
import { generic } from "./generic.ts";
import { opencode } from "./opencode.ts";
import { type BuiltInHarnessName, registeredHarness, registerHarness } from "./registry.ts";
import type { Harness } from "./types.ts";

export { harnessNames, registerHarness } from "./registry.ts";

const BUILT_IN: { [N in BuiltInHarnessName]: Harness<N> } = { claude, codex, opencode, generic };
for (const h of Object.values(BUILT_IN)) registerHarness(h);

/** The harness of that name; generic for a name no harness has (an agent row written by another version). */
export function harnessOf(name: string): Harness {
  return registeredHarness(name) ?? generic;
}

export function harnessNameFor(executable: string): string {
  const base = (executable.split(/[\\/]/).pop() ?? "").toLowerCase().replace(/\.(exe|cmd)$/, "");
  return registeredHarness(base) ? base : generic.name;
}

export function harnessFor(executable: string): Harness {
  return harnessOf(harnessNameFor(executable));
}
