// Can this machine sandbox an agent? Answered by a trial run of bubblewrap with the same kind of
// arguments an agent gets (a kernel without unprivileged user namespaces, a container that forbids
// mounts, or a missing bwrap all fail there), once per daemon run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bwrapArgs } from "./bwrap.ts";
import { buildPolicy } from "./policy.ts";

export type SandboxAvailability = { ok: true; bwrap: string } | { ok: false; reason: string; fix: string };

const TRIAL_TIMEOUT_MS = 10_000;
let cached: Promise<SandboxAvailability> | null = null;

/** The answer for this process (the first call runs the trial; later ones share it). */
export function sandboxAvailability(path = process.env.PATH ?? "/usr/bin:/bin"): Promise<SandboxAvailability> {
  cached ??= trial(path);
  return cached;
}

/** Forget the answer (a test, or a reload after the user installed bubblewrap). */
export function resetSandboxAvailability(): void {
  cached = null;
}

async function trial(path: string): Promise<SandboxAvailability> {
  if (process.platform !== "linux") return { ok: false, reason: `no sandbox on ${process.platform} (bubblewrap is Linux only)`, fix: 'set [sandbox] mode = "off" to run agents unsandboxed' };
  const bwrap = Bun.which("bwrap", { PATH: path });
  if (!bwrap) return { ok: false, reason: "bubblewrap (bwrap) is not installed", fix: "install it (Debian/Ubuntu: apt-get install bubblewrap), then kas daemon reload" };
  const dir = mkdtempSync(join(tmpdir(), "kasmos-sandbox-trial-"));
  try {
    const home = join(dir, "home");
    const policy = buildPolicy({ home, cwd: dir, gitCommonDir: null, runDir: dir, cliState: [], programs: [], path, cliEnv: [], config: { write: [], read: [], env: [], network: "on" } });
    const proc = Bun.spawn([bwrap, ...bwrapArgs(policy, []), "/bin/sh", "-c", "echo sandboxed"], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), TRIAL_TIMEOUT_MS);
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    if (code === 0 && out.trim() === "sandboxed") return { ok: true, bwrap };
    const why = err.trim().split("\n")[0] || `exit status ${code}`;
    return {
      ok: false,
      reason: `bubblewrap cannot run here: ${why}`,
      fix: /user namespace|Operation not permitted|setting up uid map/i.test(why)
        ? "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu), or set [sandbox] mode = \"off\""
        : 'see the reason above, or set [sandbox] mode = "off" to run agents unsandboxed',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
