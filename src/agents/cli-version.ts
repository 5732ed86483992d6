// An installed agent CLI against the newest version kasmos was tested with (its harness's
// testedVersion: the pinned CLI of the real-CLI tests). A newer CLI may show screens no harness knows
// (CLIs change their TUIs often): doctor and the daemon log say so, nothing is refused.
import type { Harness } from "./harness/types.ts";
import { parseVersion, versionAtLeast } from "./harness/util.ts";

/** The words doctor and the daemon log use when `version` is newer than the harness was tested with; null when it is not. */
export function newerThanTested(h: Harness, version: readonly number[]): string | null {
  const tested = h.testedVersion;
  if (!tested || versionAtLeast(parseVersion(tested) ?? [0, 0, 0], version.join("."))) return null;
  return `${h.name} ${version.join(".")} is newer than ${tested}, the newest version kasmos was tested with (it may show screens kasmos does not know)`;
}

/** `<program> --version` → its version, without blocking (bounded: a CLI that hangs counts as unknown). */
export async function installedVersion(executable: string, timeoutMs = 15_000): Promise<number[] | null> {
  try {
    const p = Bun.spawn([executable, "--version"], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    const out = await new Response(p.stdout).text();
    const code = await p.exited;
    clearTimeout(timer);
    return code === 0 ? parseVersion(out) : null;
  } catch {
    return null;
  }
}
