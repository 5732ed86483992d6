// The harness for a program: by the basename of its first word (`/usr/local/bin/claude` → claude).
import { claude } from "./claude.ts";
import { codex } from "./codex.ts";
import { generic } from "./generic.ts";
import { opencode } from "./opencode.ts";
import type { Harness, HarnessName } from "./types.ts";

export const HARNESSES: Record<HarnessName, Harness> = { claude, codex, opencode, generic };

export function harnessNameFor(executable: string): HarnessName {
  const base = (executable.split(/[\\/]/).pop() ?? "").toLowerCase().replace(/\.(exe|cmd)$/, "");
  switch (base) {
    case "claude":
    case "opencode":
    case "codex":
      return base;
    default:
      return "generic";
  }
}

export function harnessFor(executable: string): Harness {
  return HARNESSES[harnessNameFor(executable)];
}
